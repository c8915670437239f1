package org.goldenstick.prune;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.train.Checkpoints;

/**
 * Saves and loads pruned networks. Saving is an ordinary {@link Checkpoints#save} (atomic safetensors). Loading
 * takes a freshly built <em>unpruned</em> network of the same architecture and rebuilds every Conv2d (ungrouped or
 * depthwise), BatchNorm2d and Linear whose weight shape in the file differs, with the file's shape (same kernel, stride, padding), before
 * loading the tensors strictly — so the pruned architecture comes from the file, not from a side list.
 *
 * <pre>{@code
 * PrunedCheckpoints.save(pruned, Path.of("resnet20-scop.safetensors"), Map.of("prune_rate", "0.45"));
 * Module back = PrunedCheckpoints.load(ResNet.resnet20(1, 10, 16, new Random(0)), file);
 * }</pre>
 */
public final class PrunedCheckpoints {
    private PrunedCheckpoints() {}

    public static void save(Module pruned, Path file, Map<String, String> metadata) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.putIfAbsent("format", "gstick-pruned");
        Checkpoints.save(pruned, file, meta);
    }

    /** Reshapes {@code template} to the file's tensor shapes, loads the weights, and returns {@code template}. */
    public static Module load(Module template, Path file) throws IOException {
        Random rng = new Random(0);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (Map.Entry<String, Module> e : template.namedModules().entrySet()) {
                String p = e.getKey();
                if (p.isEmpty() || !f.contains(p + ".weight")) continue;
                int[] s = f.entry(p + ".weight").shape();
                switch (e.getValue()) {
                    case Conv2d c -> {
                        if (s.length != 4) throw new IllegalArgumentException(file + ": " + p + ".weight should be 4-d for a Conv2d, got " + java.util.Arrays.toString(s));
                        boolean depthwise = c.groups() == c.inChannels() && c.outChannels() == c.inChannels() && c.groups() > 1;
                        if (depthwise && s[0] != c.outChannels() && s[1] == 1) {
                            template.replaceChild(p, new Conv2d(s[0], s[0], c.kernelH(), c.kernelW(), c.strideH(), c.strideW(), c.paddingH(), c.paddingW(),
                                    c.dilationH(), c.dilationW(), s[0], c.hasBias(), rng));
                        } else if (s[0] != c.outChannels() || s[1] != c.inChannels() / c.groups()) {
                            if (c.groups() != 1) throw new IllegalArgumentException(file + ": grouped conv " + p + " cannot change shape");
                            template.replaceChild(p, new Conv2d(s[1], s[0], c.kernelH(), c.kernelW(), c.strideH(), c.strideW(), c.paddingH(), c.paddingW(),
                                    c.dilationH(), c.dilationW(), 1, c.hasBias(), rng));
                        }
                    }
                    case BatchNorm2d b -> {
                        if (s[0] != b.numFeatures()) template.replaceChild(p, new BatchNorm2d(s[0], b.momentum(), b.eps()));
                    }
                    case Linear l -> {
                        if (s.length != 2) throw new IllegalArgumentException(file + ": " + p + ".weight should be 2-d for a Linear, got " + java.util.Arrays.toString(s));
                        if (s[0] != l.outFeatures() || s[1] != l.inFeatures()) template.replaceChild(p, new Linear(s[1], s[0], l.bias() != null, rng));
                    }
                    default -> {}
                }
            }
        }
        Checkpoints.load(template, file);
        return template;
    }
}
