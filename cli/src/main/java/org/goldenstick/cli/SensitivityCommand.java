package org.goldenstick.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.goldenstick.ptq.LlamaHelper;
import org.goldenstick.ptq.PTQConfig;
import org.goldenstick.ptq.Sensitivity;
import org.goldenstick.ptq.WeightScheme;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gstick sensitivity}: quantizes one layer unit at a time (RTN at 4 and at 8 bits, the rest in float) and
 * reports its effect on the KL divergence from FP32 over calibration text — a table with a bar chart, or JSON. The
 * same scan drives {@code gstick quantize --bits-budget B}.
 */
@Command(name = "sensitivity", mixinStandardHelpOptions = true,
        description = {"Per-layer quantization sensitivity of a Llama folder: KLD vs FP32 with one layer unit quantized.",
                "Each unit (qkv, o, gate_up, down) is quantized at 4 and at 8 bits with the rest in float. Table with a bar chart, or --json."})
public final class SensitivityCommand implements Callable<Integer> {
    record SensitivityJson(String model, int groupSize, List<UnitJson> units) {}

    record UnitJson(String unit, long params, double kldW4, double kldW8, List<String> layers) {}

    @Option(names = "--model", description = "Hugging Face model folder: llama, mistral, qwen2, qwen3, gemma or phi3 (default: models/gstick-llama-demo)")
    Path model;

    @Option(names = "--calib", description = "calibration text file or folder (default: <model>/calib.txt, else <model>/heldout.txt)")
    Path calib;

    @Option(names = "--calib-samples", defaultValue = "8", description = "calibration samples (default: ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--seq-len", defaultValue = "256", description = "tokens per sample (default: ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--group-size", defaultValue = "128", description = "group size of the 4/8-bit trial (0 = per channel; layers it does not divide use per channel) (default: ${DEFAULT-VALUE})")
    int groupSize;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @picocli.CommandLine.Mixin
    ReportOption report;

    @Override
    public Integer call() throws Exception {
        report.check();
        Path dir = model != null ? model : Path.of(System.getProperty("gstick.root", ".")).resolve("models/gstick-llama-demo");
        if (!Files.isRegularFile(dir.resolve("config.json"))) throw new IllegalArgumentException(dir + ": not a model folder (no config.json)");
        Path text = calib != null ? calib : Files.isRegularFile(dir.resolve("calib.txt")) ? dir.resolve("calib.txt") : dir.resolve("heldout.txt");
        if (!Files.exists(text)) throw new IllegalArgumentException(text + ": calibration text not found (--calib)");
        WeightScheme w4 = WeightScheme.of(4, groupSize, true);
        LlamaModel m = HfCheckpoint.load(dir);
        Tokenizer tok = Tokenizers.load(dir);
        LlamaHelper h = new LlamaHelper(m, Math.min(seqLen, m.config().maxPositionEmbeddings()), t -> tok.encode(t, true));
        List<Sensitivity.Unit> units = Sensitivity.scan(m, h.calibrationSamples(text, samples), org.goldenstick.ptq.PtqAlgorithm.targets(m, PTQConfig.rtn()), w4, CliProgress.of(json));
        if (report.wanted()) report.write(org.goldenstick.cli.report.Reports.sensitivity(dir.toString(), groupSize, samples, units));
        if (json) {
            List<UnitJson> rows = new java.util.ArrayList<>();
            for (Sensitivity.Unit u : units) rows.add(new UnitJson(u.name(), u.params(), u.kld4(), u.kld8(), u.layers()));
            Json.print(new SensitivityJson(dir.toString(), groupSize, rows));
            return 0;
        }
        double max = 0;
        for (Sensitivity.Unit u : units) max = Math.max(max, u.kld4());
        System.out.printf(Locale.ROOT, "%-36s %10s %12s %12s  %s%n", "unit", "params", "KLD W4", "KLD W8", "W4 sensitivity");
        for (Sensitivity.Unit u : units) {
            int bar = max == 0 ? 0 : (int) Math.round(40 * u.kld4() / max);
            System.out.printf(Locale.ROOT, "%-36s %10d %12.6f %12.6f  %s%n", u.name(), u.params(), u.kld4(), u.kld8(), "#".repeat(bar));
        }
        return 0;
    }
}
