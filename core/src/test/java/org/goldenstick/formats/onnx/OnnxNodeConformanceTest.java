package org.goldenstick.formats.onnx;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.goldenstick.data.DataPaths;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Runs the ONNX backend node tests (Debian libonnx-testdata 1.12, fetched to data-cache/onnx-testdata)
 * for the ops our engine implements, through {@link OnnxOpAdapter}, on the scalar and the vector kernels.
 * Tolerance: |ours − expected| ≤ 1e-4 + 1e-4·|expected|.
 */
class OnnxNodeConformanceTest {
    static final double ATOL = 1e-4, RTOL = 1e-4;

    static Path nodeDir() {
        return DataPaths.cached("onnx-testdata", "onnx-testdata/node");
    }

    /** Test folders whose names start with one of the prefixes. */
    static List<Path> tests(String... prefixes) throws IOException {
        try (Stream<Path> s = Files.list(nodeDir())) {
            return s.filter(p -> {
                String n = p.getFileName().toString();
                for (String pre : prefixes) if (n.startsWith(pre)) return true;
                return false;
            }).sorted().toList();
        }
    }

    /** Runs one test folder; returns the number of output values compared. */
    static int runTest(Path dir) throws IOException {
        OnnxModel model = OnnxModelReader.read(dir.resolve("model.onnx"));
        List<String> feedNames = new ArrayList<>();
        for (OnnxValueInfo v : model.graph().inputs()) {
            if (model.graph().initializer(v.name()).isEmpty()) feedNames.add(v.name());
        }
        int compared = 0;
        List<Path> sets;
        try (Stream<Path> s = Files.list(dir)) {
            sets = s.filter(p -> p.getFileName().toString().startsWith("test_data_set_")).sorted().toList();
        }
        assertFalse(sets.isEmpty(), dir + ": no test_data_set_*");
        for (Path set : sets) {
            Map<String, Tensor> feeds = new LinkedHashMap<>();
            for (int i = 0; i < feedNames.size(); i++) {
                Path f = set.resolve("input_" + i + ".pb");
                if (Files.exists(f)) feeds.put(feedNames.get(i), OnnxTensorReader.read(f).toTensor());
            }
            List<Tensor> outs = new OnnxOpAdapter(model).run(feeds);
            for (int i = 0; i < outs.size(); i++) {
                Path f = set.resolve("output_" + i + ".pb");
                if (!Files.exists(f)) continue;
                Tensor got = outs.get(i);
                if (got == null) continue; // e.g. training-mode running statistics (see OnnxOpAdapter)
                OnnxTensor expected = OnnxTensorReader.read(f);
                assertArrayEquals(expected.intDims(), got.shape(), dir.getFileName() + " output " + i + " shape");
                float[] e = expected.toFloats();
                float[] g = got.data();
                for (int k = 0; k < e.length; k++) {
                    double tol = ATOL + RTOL * Math.abs(e[k]);
                    if (!(Math.abs(g[k] - e[k]) <= tol)) {
                        fail(dir.getFileName() + " output " + i + " element " + k + ": got " + g[k] + ", expected " + e[k]);
                    }
                }
                compared += e.length;
            }
        }
        return compared;
    }

    static int runAll(String... prefixes) throws IOException {
        List<Path> dirs = tests(prefixes);
        assertFalse(dirs.isEmpty(), "no tests named " + String.join(", ", prefixes));
        int values = 0;
        for (Path d : dirs) {
            int n = runTest(d);
            assertTrue(n > 0, d.getFileName() + ": nothing compared");
            values += n;
        }
        return dirs.size();
    }

    @ParameterizedTest(name = "vector kernels: {0}")
    @ValueSource(booleans = {false, true})
    void convTests(boolean vector) throws IOException {
        boolean before = Kernels.vector();
        Kernels.useVector(vector);
        try {
            assertEquals(6, runAll("test_conv_", "test_basic_conv_"), "2 basic + 4 conv tests in libonnx-testdata 1.12");
        } finally {
            Kernels.useVector(before);
        }
    }

    @ParameterizedTest(name = "vector kernels: {0}")
    @ValueSource(booleans = {false, true})
    void gemmAndMatMulTests(boolean vector) throws IOException {
        boolean before = Kernels.vector();
        Kernels.useVector(vector);
        try {
            assertEquals(11, runAll("test_gemm_"));
            assertEquals(3, runAll("test_matmul_2d", "test_matmul_3d", "test_matmul_4d"));
        } finally {
            Kernels.useVector(before);
        }
    }

    @ParameterizedTest(name = "vector kernels: {0}")
    @ValueSource(booleans = {false, true})
    void batchNormAndSoftmaxTests(boolean vector) throws IOException {
        boolean before = Kernels.vector();
        Kernels.useVector(vector);
        try {
            assertEquals(4, runAll("test_batchnorm_"));
            assertEquals(14, runAll("test_softmax_"), "7 single-node and 7 expanded (ReduceMax/Sub/Exp/ReduceSum/Div) graphs");
        } finally {
            Kernels.useVector(before);
        }
    }
}
