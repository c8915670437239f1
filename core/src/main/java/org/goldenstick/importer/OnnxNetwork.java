package org.goldenstick.importer;

import java.util.ArrayList;
import java.util.List;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * A network imported from an ONNX graph ({@link OnnxImport}): an ordinary {@link Module} whose children are the engine's
 * leaf layers (Conv2d, Linear, BatchNorm2d, ReLU, pools, ...) with trainable weights, and whose {@code forward} runs the
 * ONNX nodes in graph order: a layer call per layer node, a tensor op ({@code add}, {@code mul}, {@code concat},
 * {@code reshape}, {@code matmul}...) per arithmetic or shape node, constants as buffers. Tracing ({@code ModelGraph}),
 * SimQAT, SCOP and the ONNX exporter therefore see it as they see any network written by hand.
 *
 * <pre>{@code
 * ImportedNetwork imp = OnnxImport.load(Path.of("mobilenet.onnx"));
 * OnnxNetwork net = imp.module();
 * Tensor logits = net.forward(Tensor.zeros(8, 3, 32, 32));
 * }</pre>
 */
public final class OnnxNetwork extends Module {
    /** A computation on the tensors of the forward's value table. */
    sealed interface Step permits Call, Apply, Load {
        int out();
    }

    /** Calls the child layer {@code child} on value {@code in}. */
    record Call(String child, int in, int out) implements Step {}

    /** A tensor op on several values. */
    record Apply(String op, int[] ins, int out, Op fn) implements Step {}

    /** Puts the buffer {@code buffer} (a constant operand) in the value table. */
    record Load(String buffer, int out) implements Step {}

    /** The runtime computation of an {@link Apply} step. */
    @FunctionalInterface
    interface Op {
        Tensor apply(Tensor[] args);
    }

    private final List<Step> steps = new ArrayList<>();
    private final String source;
    private int slots = 1;
    private int output = -1;
    private int[] sampleShape;
    private int[] outputShape;

    OnnxNetwork(String source) {
        this.source = source;
    }

    // ---------------------------------------------------------------- building (OnnxImport only)

    int newSlot() {
        return slots++;
    }

    void addLayer(String name, Layer layer, int in, int out) {
        registerChild(name, layer);
        steps.add(new Call(name, in, out));
    }

    /** Registers {@code module}, which an {@link Apply} step runs (a module of several inputs, such as an {@code nn.Add}). */
    void addModule(String name, Module module) {
        registerChild(name, module);
    }

    void addConstant(String name, Tensor value, int out) {
        registerBuffer(name, value);
        steps.add(new Load(name, out));
    }

    void addOp(String op, int[] ins, int out, Op fn) {
        steps.add(new Apply(op, ins.clone(), out, fn));
    }

    void finish(int output, int[] sampleShape, int[] outputShape) {
        this.output = output;
        this.sampleShape = sampleShape.clone();
        this.outputShape = outputShape.clone();
    }

    // ---------------------------------------------------------------- running

    @Override
    public Tensor forward(Tensor x) {
        Tensor[] env = new Tensor[slots];
        env[0] = x;
        for (Step s : steps) {
            env[s.out()] = switch (s) {
                case Call c -> children().get(c.child()).forward(env[c.in()]);
                case Load l -> buffer(l.buffer());
                case Apply a -> {
                    Tensor[] args = new Tensor[a.ins().length];
                    for (int i = 0; i < args.length; i++) args[i] = env[a.ins()[i]];
                    yield a.fn().apply(args);
                }
            };
        }
        return env[output];
    }

    /** One sample's shape (no batch axis), from the ONNX graph input. */
    @Override
    public int[] exampleInputShape() {
        return sampleShape.clone();
    }

    /** The output's shape for one sample at import time (batch axis included, 1 for a symbolic batch). */
    public int[] exampleOutputShape() {
        return outputShape.clone();
    }

    /** The file (or description) the network was imported from. */
    public String source() {
        return source;
    }

    @Override
    public String describe() {
        return "OnnxNetwork(" + source + ", " + children().size() + " layers, " + steps.size() + " steps)";
    }
}
