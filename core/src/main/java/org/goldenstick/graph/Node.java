package org.goldenstick.graph;

import java.util.Arrays;
import java.util.List;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * One node of a {@link ModelGraph}: the network input, a leaf-layer call, a tensor op run between layers (add, mul,
 * concat, reshape, activation functions...), or a tensor the forward used without computing it (a constant, or a
 * parameter used directly).
 *
 * @param id position in execution order (also the index in {@link ModelGraph#nodes()})
 * @param kind what the node is
 * @param op the tape's op name for {@link Kind#OP} nodes ({@code "add"}, {@code "concat"}, {@code "reshape"}...); the
 *     layer's class simple name for {@link Kind#LAYER}; {@code "input"}, {@code "constant"} or {@code "parameter"} otherwise
 * @param path the layer's dotted module name ({@code "layer1.0.conv1"}) for LAYER and PARAMETER nodes (for a parameter:
 *     its dotted parameter name); for OP nodes the dotted name of the module the op most likely ran in (the longest
 *     common prefix of its producing layers' names, {@code ""} at the root; for an op a module of several inputs ran as
 *     its whole computation, such as an {@link org.goldenstick.nn.Add}, that module's name); null for INPUT and CONSTANT
 * @param layer the layer instance for LAYER nodes; for OP nodes the module of several inputs that ran the op (an
 *     {@link org.goldenstick.nn.Add}), else null
 * @param inputs producer node ids, in argument order (for LAYER nodes: the one input)
 * @param shape the output tensor's shape (the traced batch size included)
 * @param value the tensor for CONSTANT and PARAMETER nodes, else null
 */
public record Node(int id, Kind kind, String op, String path, Module layer, List<Integer> inputs, int[] shape, Tensor value) {
    public enum Kind { INPUT, LAYER, OP, CONSTANT, PARAMETER }

    public Node {
        inputs = List.copyOf(inputs);
        shape = shape.clone();
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    public boolean isLayer() {
        return kind == Kind.LAYER;
    }

    public boolean isOp(String name) {
        return kind == Kind.OP && op.equals(name);
    }

    /** True for a LAYER node whose layer is an instance of {@code type}. */
    public boolean isLayer(Class<?> type) {
        return kind == Kind.LAYER && type.isInstance(layer);
    }

    /** A readable name: the dotted module name for layers, {@code op#id@scope} for ops. */
    public String name() {
        return switch (kind) {
            case LAYER, PARAMETER -> path;
            case OP -> op + "#" + id + (path == null || path.isEmpty() ? "" : "@" + path);
            default -> op + "#" + id;
        };
    }

    @Override
    public String toString() {
        return "%" + id + " = " + (kind == Kind.LAYER ? path + ":" + op : name()) + inputs.stream().map(i -> "%" + i).toList() + " " + Arrays.toString(shape);
    }
}
