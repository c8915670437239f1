package org.goldenstick.formats.onnx;

import java.util.List;
import java.util.Optional;

/**
 * A {@code GraphProto}: nodes in topological order, initializers (weights), inputs and outputs.
 *
 * <pre>{@code
 * for (OnnxNode n : model.graph().nodes()) System.out.println(n.opType());
 * }</pre>
 */
public record OnnxGraph(String name, List<OnnxNode> nodes, List<OnnxTensor> initializers, List<OnnxValueInfo> inputs, List<OnnxValueInfo> outputs) {
    public OnnxGraph {
        nodes = List.copyOf(nodes);
        initializers = List.copyOf(initializers);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    public Optional<OnnxTensor> initializer(String name) {
        return initializers.stream().filter(t -> t.name().equals(name)).findFirst();
    }
}
