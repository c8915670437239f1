package org.goldenstick.train;

import org.goldenstick.progress.ProgressListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.goldenstick.data.DataPaths;
import org.goldenstick.nn.Module;

/**
 * FP32 checkpoints shared by the accuracy-tier tests. A ResNet-20 Fashion-MNIST recipe costs tens of CPU minutes,
 * and SimQAT, SLB and SCOP all start from the same trained network, so it is trained once per recipe and kept under
 * {@code data-cache/checkpoints/} (ignored by git), keyed by every field of the spec.
 */
public final class Fp32Checkpoints {
    private Fp32Checkpoints() {}

    /**
     * The ResNet-20 Fashion-MNIST baseline of the accuracy tier: the recipe cut to 6 epochs (about 25 minutes on two
     * cores, where the full 10 reach 93.23 %), so that SimQAT, SLB and SCOP fit one sitting.
     */
    public static Recipes.Spec resnet20Fashion() {
        return Recipes.Spec.defaults("resnet20", "fashion-mnist").withEpochs(6);
    }

    /** The checkpoint for {@code spec}, training and caching it first if no earlier run left one. */
    public static synchronized Path trained(Recipes.Spec spec, ProgressListener progress) throws IOException {
        Path file = DataPaths.cacheDir().resolve("checkpoints").resolve(key(spec) + ".safetensors");
        if (Files.isRegularFile(file)) return file;
        Files.createDirectories(file.getParent());
        Recipes.Data data = Recipes.data(spec);
        Module model = Recipes.newModel(spec, data);
        Recipes.Outcome o = Recipes.train(spec, model, data, List.of(), progress);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("spec", spec.toString());
        meta.put("test_accuracy", String.format(Locale.ROOT, "%.4f", o.testAccuracy()));
        Checkpoints.save(model, file, meta); // writes to a temporary file and moves it, so a killed run leaves no half file
        return file;
    }

    static String key(Recipes.Spec s) {
        return String.format(Locale.ROOT, "%s-%s-e%d-b%d-lr%s-m%s-wd%s-wu%d-s%d-n%d-w%d", s.model(), s.dataset(), s.epochs(), s.batchSize(),
                s.lr(), s.momentum(), s.weightDecay(), s.warmupEpochs(), s.seed(), s.limitTrain(), s.width());
    }
}
