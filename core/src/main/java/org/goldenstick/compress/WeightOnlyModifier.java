package org.goldenstick.compress;

import java.util.List;
import org.goldenstick.ptq.PTQConfig;
import org.goldenstick.ptq.WeightScheme;

/**
 * The weight-only post-training modifiers (RTN, GPTQ, AWQ): a weight scheme and the linears left in floating point.
 *
 * <pre>{@code
 * PTQConfig c = new GptqModifier(WeightScheme.of(4, 128, true), WeightMethod.Gptq.defaults(), List.of("lm_head")).config();
 * }</pre>
 */
public sealed interface WeightOnlyModifier extends Modifier permits RtnModifier, GptqModifier, AwqModifier {
    WeightScheme scheme();

    /** Patterns of the linear layers left in floating point. */
    List<String> ignore();

    /** The weight-only configuration (scheme and skip list) the modifier runs. */
    default PTQConfig config() {
        return PTQConfig.rtn(scheme()).withSkip(ignore());
    }

    @Override
    default boolean needsTraining() {
        return false;
    }

    /** Checks a modifier's scheme and ignore patterns now (naming the modifier) and returns an immutable copy of the list. */
    static List<String> validated(String modifier, WeightScheme scheme, List<String> ignore) {
        if (scheme == null) throw new IllegalArgumentException(modifier + ": scheme is null");
        List<String> copy = List.copyOf(ignore);
        PTQConfig.rtn(scheme).withSkip(copy);
        return copy;
    }
}
