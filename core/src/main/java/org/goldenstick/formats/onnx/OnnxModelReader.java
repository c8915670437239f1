package org.goldenstick.formats.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads the parts of a {@code ModelProto} this project uses: IR version, opset imports, and the main graph
 * (nodes with op type, inputs, outputs and attributes; initializers; typed inputs/outputs). Unknown fields
 * are skipped.
 *
 * <pre>{@code
 * OnnxModel m = OnnxModelReader.read(Path.of("model.onnx"));
 * OnnxNode first = m.graph().nodes().getFirst();
 * }</pre>
 */
public final class OnnxModelReader {
    private OnnxModelReader() {}

    public static OnnxModel read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 8) throw new OnnxFormatException(file + ": " + size + " bytes is more than a protobuf message can hold (2 GB)");
        return parse(Files.readAllBytes(file), file.toString());
    }

    /** Parses {@code bytes}; {@code source} names them in error messages. */
    public static OnnxModel parse(byte[] bytes, String source) throws OnnxFormatException {
        return OnnxProto.decodeModel(bytes, new OnnxProto.Where(source, ""));
    }
}
