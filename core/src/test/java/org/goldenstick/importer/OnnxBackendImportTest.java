package org.goldenstick.importer;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.goldenstick.data.DataPaths;
import org.goldenstick.formats.onnx.OnnxModelReader;
import org.goldenstick.formats.onnx.OnnxNode;
import org.goldenstick.formats.onnx.OnnxTensor;
import org.goldenstick.formats.onnx.OnnxTestCase;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Every ONNX backend test of libonnx-testdata (fetched to data-cache/onnx-testdata) whose nodes all have op types the
 * importer supports, run through {@link OnnxImport}: the imported network's output must equal the test's expected
 * output (computed by the ONNX reference, which ONNX Runtime matches), |ours − expected| ≤ 1e-4 + 1e-4·|expected|, or
 * the import must fail with an {@link OnnxImportException} naming the node and the op (the attribute forms the
 * engine has no layer for). Graph inputs after the first are bound as constants (they are the weights there).
 */
class OnnxBackendImportTest {
    static final double ATOL = 1e-4, RTOL = 1e-4;

    static Path root() {
        return DataPaths.cached("onnx-testdata", "onnx-testdata");
    }

    /** What happened to one test: "ok", or the reason it is not imported. */
    static String run(Path dir) throws IOException {
        OnnxTestCase tc;
        try {
            tc = OnnxTestCase.load(dir);
        } catch (org.goldenstick.formats.onnx.OnnxFormatException e) {
            return "skipped: test data of a type the reader does not hold (" + e.getMessage() + ")";  // STRING, sequence, optional
        }
        int compared = 0;
        for (OnnxTestCase.DataSet ds : tc.dataSets()) {
            if (ds.inputs().isEmpty()) return "skipped: a graph without input";
            Map<String, OnnxTensor> bound = new LinkedHashMap<>();
            for (int i = 1; i < ds.inputs().size(); i++) bound.put(tc.feedNames().get(i), ds.inputs().get(i));
            OnnxTensor x = ds.inputs().get(0);
            ImportedNetwork imp;
            try {
                imp = OnnxImport.fromModel(tc.model(), dir.getFileName().toString(), bound, x.intDims());
            } catch (OnnxImportException e) {
                return "unsupported: " + e.getMessage();
            }
            Tensor got;
            try (var off = GradMode.off()) {
                got = imp.module().eval().forward(x.toTensor());
            }
            OnnxTensor expected = ds.outputs().get(0);
            assertArrayEquals(expected.intDims(), got.shape(), tc.name() + " output shape");
            float[] e = expected.toFloats(), g = got.data();
            for (int k = 0; k < e.length; k++) {
                double tol = ATOL + RTOL * Math.abs(e[k]);
                boolean same = Float.isInfinite(e[k]) ? e[k] == g[k] : Math.abs(g[k] - e[k]) <= tol;
                if (!same) fail(tc.name() + " element " + k + ": got " + g[k] + ", expected " + e[k]);
            }
            compared += Math.max(1, e.length);  // an empty output: its shape was compared
        }
        assertTrue(compared > 0, tc.name() + ": nothing compared");
        return "ok";
    }

    /** The test folders under {@code sub} whose every node is of a supported op type (and with float inputs). */
    static List<Path> candidates(String sub) throws IOException {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(root().resolve(sub))) {
            for (Path d : s.sorted().toList()) {
                if (!Files.exists(d.resolve("model.onnx"))) continue;
                var m = OnnxModelReader.read(d.resolve("model.onnx"));
                boolean all = !m.graph().nodes().isEmpty();
                for (OnnxNode n : m.graph().nodes()) all &= OnnxImport.supportedOps().contains(n.opType());
                if (all) out.add(d);
            }
        }
        return out;
    }

    static Map<String, String> runAll(String sub) throws IOException {
        Map<String, String> results = new TreeMap<>();
        for (Path d : candidates(sub)) {
            String r;
            try {
                r = run(d);
            } catch (IOException | RuntimeException | AssertionError e) {
                r = "FAILED: " + e;
            }
            results.put(d.getFileName().toString(), r);
        }
        return results;
    }

    /** Every supported op type has backend tests that import and match; the others fail with a clear message. */
    @Test
    void nodeTests() throws IOException {
        Map<String, String> r = runAll("node");
        List<String> failed = new ArrayList<>(), ok = new ArrayList<>();
        r.forEach((k, v) -> {
            if (v.startsWith("FAILED")) failed.add(k + ": " + v);
            if (v.equals("ok")) ok.add(k);
            if (v.startsWith("unsupported")) assertTrue(v.contains(k + ":"), "the error names the model: " + v);
        });
        assertTrue(failed.isEmpty(), "backend tests that import but compute something else:\n" + String.join("\n", failed));
        System.err.printf("ONNX backend node tests through the importer: %d match, %d refused with a message, %d skipped%n", ok.size(),
                r.values().stream().filter(v -> v.startsWith("unsupported")).count(), r.values().stream().filter(v -> v.startsWith("skipped")).count());
        // each op of the list has passing backend tests (Constant/Shape/Gather/Cast/ConstantOfShape are folded at import
        // time; their own tests have a constant output, so they are covered by the folding tests and the pytorch models)
        for (String op : List.of("conv", "gemm", "matmul", "add", "sub", "mul", "div", "relu", "clip", "leakyrelu", "sigmoid", "hardsigmoid", "hardswish",
                "tanh", "batchnorm", "maxpool_2d", "averagepool_2d", "globalaveragepool", "flatten", "reshape", "concat", "transpose", "squeeze",
                "unsqueeze", "identity", "dropout", "constant_pad", "softmax")) {
            assertTrue(ok.stream().anyMatch(n -> n.startsWith("test_" + op) || n.startsWith("test_basic_" + op)), "no passing backend test for " + op + ": " + r);
        }
        assertTrue(ok.size() >= 137, "only " + ok.size() + " backend tests match: " + ok);
    }

    /** The PyTorch-converted models (opset 6) whose ops are on the list: the 2-D ones import and match. */
    @Test
    void pytorchConvertedModels() throws IOException {
        Map<String, String> r = new TreeMap<>(runAll("pytorch-converted"));
        r.putAll(runAll("pytorch-operator"));
        List<String> failed = new ArrayList<>();
        r.forEach((k, v) -> {
            if (v.startsWith("FAILED")) failed.add(k + ": " + v);
        });
        assertTrue(failed.isEmpty(), String.join("\n", failed));
        for (String name : List.of("test_Conv2d", "test_Conv2d_depthwise", "test_Conv2d_depthwise_padded", "test_Conv2d_depthwise_strided",
                "test_Conv2d_depthwise_with_multiplier", "test_Conv2d_dilated", "test_Conv2d_groups", "test_Conv2d_no_bias", "test_Conv2d_padding",
                "test_Conv2d_strided", "test_AvgPool2d", "test_AvgPool2d_stride", "test_AvgPool1d", "test_BatchNorm2d_eval", "test_BatchNorm2d_momentum_eval",
                "test_ConstantPad2d", "test_ZeroPad2d", "test_LeakyReLU", "test_Linear", "test_Linear_no_bias", "test_MaxPool2d", "test_PixelShuffle",
                "test_ReLU", "test_Sigmoid", "test_Softmax", "test_Tanh", "test_softmax_lastdim", "test_softmax_functional_dim3", "test_operator_clip",
                "test_operator_concat2", "test_operator_conv", "test_operator_flatten", "test_operator_mm", "test_operator_permute2", "test_operator_view",
                "test_operator_addmm")) {
            assertEquals("ok", r.get(name), name);
        }
        long ok = r.values().stream().filter("ok"::equals).count();
        System.err.printf("pytorch-converted/operator models through the importer: %d of %d candidates match%n", ok, r.size());
    }
}
