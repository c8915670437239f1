package org.goldenstick.importer;

/**
 * The result of {@link OnnxImport#load}: the network as an engine module, one sample's input shape (no batch axis),
 * the ONNX graph's input and output names, and the opset it was written for.
 *
 * <pre>{@code
 * ImportedNetwork imp = OnnxImport.load(Path.of("model.onnx"));
 * ModelGraph g = ModelGraph.trace(imp.module(), imp.inputShape());
 * }</pre>
 */
public record ImportedNetwork(OnnxNetwork module, int[] inputShape, String inputName, String outputName, long opset) {
    public ImportedNetwork {
        inputShape = inputShape.clone();
    }

    @Override
    public int[] inputShape() {
        return inputShape.clone();
    }

    /** The number of classes for a classifier: the last axis of the output. */
    public int outputWidth() {
        int[] s = module.exampleOutputShape();
        return s[s.length - 1];
    }
}
