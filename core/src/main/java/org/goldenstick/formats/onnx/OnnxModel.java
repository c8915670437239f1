package org.goldenstick.formats.onnx;

import java.util.Map;

/**
 * A {@code ModelProto}: IR version, operator-set imports (domain → version, "" is the default domain)
 * and the main graph.
 *
 * <pre>{@code
 * OnnxModel m = OnnxModelReader.read(Path.of("model.onnx"));
 * long opset = m.opset("");
 * }</pre>
 */
public record OnnxModel(long irVersion, String producerName, Map<String, Long> opsetImports, OnnxGraph graph) {
    public OnnxModel {
        opsetImports = Map.copyOf(opsetImports);
        if (producerName == null) producerName = "";
    }

    /** The imported version of {@code domain} ("" or "ai.onnx" for the default domain), or -1. */
    public long opset(String domain) {
        Long v = opsetImports.get(domain);
        if (v == null && domain.isEmpty()) v = opsetImports.get("ai.onnx");
        return v == null ? -1 : v;
    }
}
