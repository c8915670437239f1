package org.goldenstick.formats.onnx;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every node test of libonnx-testdata must decode (model, inputs, outputs), except STRING/unsupported-type tensors. */
class OnnxTestDataParseTest {
    @Test
    void allNodeTestsDecode() throws IOException {
        Path node = OnnxNodeConformanceTest.nodeDir();
        List<Path> dirs;
        try (Stream<Path> s = Files.list(node)) {
            dirs = s.filter(Files::isDirectory).sorted().toList();
        }
        int ok = 0;
        List<String> unsupported = new ArrayList<>();
        int nonTensor = 0;
        for (Path d : dirs) {
            OnnxModel model = OnnxModelReader.read(d.resolve("model.onnx"));
            if (Stream.concat(model.graph().inputs().stream(), model.graph().outputs().stream()).anyMatch(v -> v.elemType() == null)) {
                nonTensor++; // sequence/optional/map values: their .pb files are not TensorProtos
                continue;
            }
            try {
                OnnxTestCase tc = OnnxTestCase.load(d);
                assertFalse(tc.model().graph().nodes().isEmpty(), d + ": no nodes");
                assertFalse(tc.model().opsetImports().isEmpty(), d + ": no opset import");
                for (OnnxTestCase.DataSet ds : tc.dataSets()) {
                    for (OnnxTensor t : ds.outputs()) assertEquals(t.numel() * t.dataType().byteSize(), t.rawData().length);
                }
                ok++;
            } catch (OnnxFormatException e) {
                String m = e.getMessage();
                assertTrue(m.contains("STRING") || m.contains("unsupported data_type") || m.contains("unsupported elem_type"), "unexpected failure: " + m);
                unsupported.add(d.getFileName().toString());
            }
        }
        System.err.printf("libonnx-testdata node tests: %d decoded, %d with unsupported tensor types, %d with non-tensor values%n", ok, unsupported.size(), nonTensor);
        assertTrue(dirs.size() > 900, "libonnx-testdata 1.12 has 932 node tests, found " + dirs.size());
        assertTrue(unsupported.size() < 60, "only string/exotic-type tests are skipped: " + unsupported);
        assertTrue(nonTensor < 80, "non-tensor tests: " + nonTensor);
        assertEquals(dirs.size(), ok + unsupported.size() + nonTensor);
        assertTrue(ok > 800, "decoded " + ok);
    }
}
