package org.goldenstick.formats.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * One ONNX backend test folder ({@code model.onnx} plus {@code test_data_set_N/input_K.pb, output_K.pb}),
 * as shipped by Debian's libonnx-testdata (fetched to {@code data-cache/onnx-testdata/node}).
 *
 * <pre>{@code
 * for (OnnxTestCase tc : OnnxTestCase.list(nodeDir, "test_qlinearmatmul_")) {
 *     for (OnnxTestCase.DataSet ds : tc.dataSets()) {
 *         OnnxTensor a = ds.inputs().get(0);          // feeds in graph-input order (initializers excluded)
 *         OnnxTensor expected = ds.outputs().get(0);
 *     }
 * }
 * }</pre>
 */
public record OnnxTestCase(String name, OnnxModel model, List<String> feedNames, List<DataSet> dataSets) {
    /** Inputs (in {@link #feedNames()} order) and expected outputs (in graph-output order) of one data set. */
    public record DataSet(Path dir, List<OnnxTensor> inputs, List<OnnxTensor> outputs) {
        public DataSet {
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
        }
    }

    public OnnxTestCase {
        feedNames = List.copyOf(feedNames);
        dataSets = List.copyOf(dataSets);
    }

    /** Loads the test in {@code dir}; a folder without data sets is an error. */
    public static OnnxTestCase load(Path dir) throws IOException {
        OnnxModel model = OnnxModelReader.read(dir.resolve("model.onnx"));
        List<String> feeds = new ArrayList<>();
        for (OnnxValueInfo v : model.graph().inputs()) {
            if (model.graph().initializer(v.name()).isEmpty()) feeds.add(v.name());
        }
        List<Path> setDirs;
        try (Stream<Path> s = Files.list(dir)) {
            setDirs = s.filter(p -> p.getFileName().toString().startsWith("test_data_set_") && Files.isDirectory(p)).sorted().toList();
        }
        if (setDirs.isEmpty()) throw new OnnxFormatException(dir + ": no test_data_set_* folder");
        List<DataSet> sets = new ArrayList<>();
        for (Path sd : setDirs) {
            List<OnnxTensor> in = new ArrayList<>();
            for (int i = 0; Files.exists(sd.resolve("input_" + i + ".pb")); i++) in.add(OnnxTensorReader.read(sd.resolve("input_" + i + ".pb")));
            List<OnnxTensor> out = new ArrayList<>();
            for (int i = 0; Files.exists(sd.resolve("output_" + i + ".pb")); i++) out.add(OnnxTensorReader.read(sd.resolve("output_" + i + ".pb")));
            if (out.isEmpty()) throw new OnnxFormatException(sd + ": no output_0.pb");
            sets.add(new DataSet(sd, in, out));
        }
        return new OnnxTestCase(dir.getFileName().toString(), model, feeds, sets);
    }

    /** The tests under {@code nodeDir} whose folder names start with one of {@code prefixes}, sorted by name. */
    public static List<OnnxTestCase> list(Path nodeDir, String... prefixes) throws IOException {
        List<Path> dirs;
        try (Stream<Path> s = Files.list(nodeDir)) {
            dirs = s.filter(p -> {
                String n = p.getFileName().toString();
                for (String pre : prefixes) if (n.startsWith(pre)) return true;
                return false;
            }).sorted().toList();
        }
        List<OnnxTestCase> out = new ArrayList<>();
        for (Path d : dirs) out.add(load(d));
        return out;
    }
}
