package org.goldenstick.formats.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a serialized {@code TensorProto} (e.g. the {@code input_N.pb}/{@code output_N.pb} of the ONNX
 * backend test vectors), accepting {@code raw_data} or the typed {@code *_data} fields.
 *
 * <pre>{@code
 * OnnxTensor expected = OnnxTensorReader.read(dir.resolve("test_data_set_0/output_0.pb"));
 * }</pre>
 */
public final class OnnxTensorReader {
    private OnnxTensorReader() {}

    public static OnnxTensor read(Path file) throws IOException {
        return parse(Files.readAllBytes(file), file.toString());
    }

    /** Parses {@code bytes}; {@code source} names them in error messages. */
    public static OnnxTensor parse(byte[] bytes, String source) throws OnnxFormatException {
        OnnxProto.Where w = new OnnxProto.Where(source, "TensorProto");
        try {
            return OnnxProto.decodeTensor(CodedInputStream.newInstance(bytes), w);
        } catch (InvalidProtocolBufferException e) {
            throw w.error("not a valid TensorProto: " + e.getMessage());
        } catch (OnnxFormatException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw w.error("cannot decode: " + e);
        }
    }

    /** Serialises {@code t} as a {@code TensorProto} (raw_data layout). */
    public static byte[] toBytes(OnnxTensor t) {
        return OnnxProto.encodeTensor(t);
    }
}
