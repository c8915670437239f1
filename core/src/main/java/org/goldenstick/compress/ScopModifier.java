package org.goldenstick.compress;

import java.util.List;
import org.goldenstick.rewrite.ConfigValidation;
import org.goldenstick.rewrite.LayerFilter;

/**
 * SCOP channel pruning: knockoff training of the kfscales ({@code knockoffEpochs} with Adam at {@code knockoffLr}), then
 * removal of {@code int(pruneRate·C)} channels per channel group, then fine-tuning. A channel group with a layer that
 * matches {@code ignore} (regexes on the dotted layer path) is left whole.
 *
 * <pre>{@code
 * new ScopModifier(0.45, 1, 0.01, 0)
 * }</pre>
 */
public record ScopModifier(double pruneRate, int knockoffEpochs, double knockoffLr, long seed, List<String> ignore) implements Modifier {
    private static final ConfigValidation V = new ConfigValidation("SCOPModifier");

    public ScopModifier {
        V.floatInRange("prune_rate", pruneRate, 0.0, 1.0, false);
        if (knockoffEpochs < 0) throw V.valueError("knockoff_epochs", knockoffEpochs, "must be an int >= 0");
        if (!(knockoffLr > 0)) throw V.valueError("knockoff_lr", knockoffLr, "must be a float > 0");
        ignore = List.copyOf(ignore);
        LayerFilter.ignoring("SCOPModifier", "ignore", ignore); // validates the patterns now
    }

    /** Every prunable channel group is pruned. */
    public ScopModifier(double pruneRate, int knockoffEpochs, double knockoffLr, long seed) {
        this(pruneRate, knockoffEpochs, knockoffLr, seed, List.of());
    }

    @Override
    public String recipeName() {
        return "SCOPModifier";
    }
}
