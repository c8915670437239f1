package org.goldenstick.formats.onnx;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    /** Runs one test case; returns the number of output values compared. */
    static int runTest(OnnxTestCase tc) {
        int compared = 0;
        for (OnnxTestCase.DataSet ds : tc.dataSets()) {
            Map<String, Tensor> feeds = new LinkedHashMap<>();
            for (int i = 0; i < ds.inputs().size(); i++) feeds.put(tc.feedNames().get(i), ds.inputs().get(i).toTensor());
            List<Tensor> outs = new OnnxOpAdapter(tc.model()).run(feeds);
            for (int i = 0; i < ds.outputs().size(); i++) {
                Tensor got = i < outs.size() ? outs.get(i) : null;
                if (got == null) continue; // training-mode running statistics (see OnnxOpAdapter)
                OnnxTensor expected = ds.outputs().get(i);
                assertArrayEquals(expected.intDims(), got.shape(), tc.name() + " output " + i + " shape");
                float[] e = expected.toFloats();
                float[] g = got.data();
                for (int k = 0; k < e.length; k++) {
                    double tol = ATOL + RTOL * Math.abs(e[k]);
                    if (!(Math.abs(g[k] - e[k]) <= tol)) {
                        fail(tc.name() + " output " + i + " element " + k + ": got " + g[k] + ", expected " + e[k]);
                    }
                }
                compared += e.length;
            }
        }
        return compared;
    }

    /** Runs every test whose name starts with a prefix; returns the number of tests run. */
    static int runAll(String... prefixes) throws IOException {
        List<OnnxTestCase> cases = OnnxTestCase.list(nodeDir(), prefixes);
        assertFalse(cases.isEmpty(), "no tests named " + String.join(", ", prefixes));
        for (OnnxTestCase tc : cases) assertTrue(runTest(tc) > 0, tc.name() + ": nothing compared");
        return cases.size();
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
