package org.goldenstick.importer;

/**
 * An ONNX graph the importer cannot turn into an engine network: an unsupported op, attribute or attribute value, a
 * weight that is computed instead of constant, a shape it cannot handle. The message names the node (its name, or its
 * position when unnamed), the op type and, where one is at fault, the attribute.
 */
public final class OnnxImportException extends IllegalArgumentException {
    public OnnxImportException(String message) {
        super(message);
    }
}
