package org.goldenstick.formats.onnx;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.tensor.Tensor;

/**
 * Builds an ONNX model (IR version 10, default-domain opset 21 unless changed) node by node and writes it
 * atomically. The protobuf is encoded by field number; no generated classes are involved.
 *
 * <pre>{@code
 * OnnxModelWriter w = new OnnxModelWriter("mlp");
 * w.addInput("x", OnnxDataType.FLOAT, "N", 4);                 // symbolic batch dimension
 * w.addInitializer("W", weight);                               // float Tensor [3, 4]
 * w.addInitializer("b", bias);
 * w.addNode("Gemm", List.of("x", "W", "b"), List.of("y"), OnnxAttribute.ofInt("transB", 1));
 * w.addOutput("y", OnnxDataType.FLOAT, "N", 3);
 * w.write(Path.of("mlp.onnx"));
 * }</pre>
 */
public final class OnnxModelWriter {
    /** IR version written by default (ONNX 1.16+). */
    public static final long IR_VERSION = 10;
    /** Default-domain opset written by default. */
    public static final long OPSET = 21;

    private final String graphName;
    private long irVersion = IR_VERSION;
    private String producerName = "golden-stick-java";
    private final Map<String, Long> opsets = new LinkedHashMap<>();
    private final List<OnnxNode> nodes = new ArrayList<>();
    private final List<OnnxTensor> initializers = new ArrayList<>();
    private final List<OnnxValueInfo> inputs = new ArrayList<>();
    private final List<OnnxValueInfo> outputs = new ArrayList<>();
    private final Set<String> initializerNames = new HashSet<>();
    private final Set<String> nodeNames = new HashSet<>();
    private int autoNames;

    public OnnxModelWriter(String graphName) {
        this.graphName = graphName;
        opsets.put("", OPSET);
    }

    public OnnxModelWriter irVersion(long v) {
        irVersion = v;
        return this;
    }

    public OnnxModelWriter producerName(String name) {
        producerName = name;
        return this;
    }

    /** Sets the imported opset version of {@code domain} ("" for the default ONNX domain). */
    public OnnxModelWriter opset(String domain, long version) {
        opsets.put(domain, version);
        return this;
    }

    // ---------------------------------------------------------------- graph inputs and outputs

    /** A graph input; dims are Integer/Long (fixed) or String (symbolic, e.g. "N"). */
    public OnnxModelWriter addInput(String name, OnnxDataType type, Object... dims) {
        inputs.add(OnnxValueInfo.of(name, type, dims));
        return this;
    }

    /** A graph output; dims are Integer/Long (fixed) or String (symbolic). */
    public OnnxModelWriter addOutput(String name, OnnxDataType type, Object... dims) {
        outputs.add(OnnxValueInfo.of(name, type, dims));
        return this;
    }

    // ---------------------------------------------------------------- initializers

    public OnnxModelWriter addInitializer(OnnxTensor t) {
        if (t.name().isEmpty()) throw new IllegalArgumentException("initializer needs a name");
        if (!initializerNames.add(t.name())) throw new IllegalArgumentException("initializer '" + t.name() + "' added twice");
        initializers.add(t);
        return this;
    }

    /** A float32 initializer with the shape of {@code t}. */
    public OnnxModelWriter addInitializer(String name, Tensor t) {
        return addInitializer(OnnxTensor.of(name, t));
    }

    public OnnxModelWriter addInitializer(String name, float[] data, long... dims) {
        return addInitializer(OnnxTensor.ofFloats(name, data, dims));
    }

    /** An INT8 initializer. */
    public OnnxModelWriter addInitializer(String name, byte[] int8, long... dims) {
        return addInitializer(OnnxTensor.ofInt8(name, int8, dims));
    }

    /** An INT4 initializer (values in [−8, 7], stored two per byte). */
    public OnnxModelWriter addInitializerInt4(String name, int[] int4, long... dims) {
        return addInitializer(OnnxTensor.ofInt4(name, int4, dims));
    }

    /** A UINT8 initializer (values 0..255 as Java byte bit patterns). */
    public OnnxModelWriter addInitializerUint8(String name, byte[] uint8, long... dims) {
        return addInitializer(OnnxTensor.ofUint8(name, uint8, dims));
    }

    public OnnxModelWriter addInitializer(String name, int[] int32, long... dims) {
        return addInitializer(OnnxTensor.ofInt32(name, int32, dims));
    }

    public OnnxModelWriter addInitializer(String name, long[] int64, long... dims) {
        return addInitializer(OnnxTensor.ofInt64(name, int64, dims));
    }

    /** A rank-0 float initializer (e.g. a quantization scale). */
    public OnnxModelWriter addScalar(String name, float v) {
        return addInitializer(OnnxTensor.ofFloats(name, new float[] {v}));
    }

    // ---------------------------------------------------------------- nodes

    /** Adds a default-domain node with a generated name; returns that name. Use "" for an omitted optional input. */
    public String addNode(String opType, List<String> inputs, List<String> outputs, OnnxAttribute... attrs) {
        String name;
        do {
            name = opType + "_" + autoNames++;
        } while (nodeNames.contains(name));
        return addNode(name, opType, "", inputs, outputs, attrs);
    }

    /** Adds a node with an explicit name and domain; returns the name. */
    public String addNode(String name, String opType, String domain, List<String> inputs, List<String> outputs, OnnxAttribute... attrs) {
        if (!name.isEmpty() && !nodeNames.add(name)) throw new IllegalArgumentException("node name '" + name + "' used twice");
        if (outputs.isEmpty()) throw new IllegalArgumentException("node '" + name + "' (" + opType + ") has no outputs");
        nodes.add(OnnxNode.of(name, opType, domain, inputs, outputs, Arrays.asList(attrs)));
        return name;
    }

    public int nodeCount() {
        return nodes.size();
    }

    // ---------------------------------------------------------------- output

    /** The model built so far, after checking that every node input is produced before it is used. */
    public OnnxModel build() {
        Set<String> known = new HashSet<>(initializerNames);
        for (OnnxValueInfo v : inputs) known.add(v.name());
        for (OnnxNode n : nodes) {
            for (String in : n.inputs()) {
                if (!in.isEmpty() && !known.contains(in)) {
                    throw new IllegalStateException("graph '" + graphName + "': node '" + n.name() + "' (" + n.opType() + ") reads '" + in + "', which no input, initializer or earlier node provides");
                }
            }
            known.addAll(n.outputs());
        }
        for (OnnxValueInfo v : outputs) {
            if (!known.contains(v.name())) throw new IllegalStateException("graph '" + graphName + "': output '" + v.name() + "' is not produced by any node");
        }
        return new OnnxModel(irVersion, producerName, opsets, new OnnxGraph(graphName, nodes, initializers, inputs, outputs));
    }

    /** The serialised ModelProto. */
    public byte[] toBytes() {
        return OnnxProto.encodeModel(build(), "0.1.0");
    }

    /** Writes the model atomically (temporary file in the same folder, then an atomic rename). */
    public void write(Path path) throws IOException {
        AtomicFiles.write(path, toBytes());
    }

    /** Serialises an already-built model. */
    public static byte[] toBytes(OnnxModel model) {
        return OnnxProto.encodeModel(model, "0.1.0");
    }
}
