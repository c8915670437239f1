package org.goldenstick.compress;

/**
 * One step of a compression {@link Recipe}, as a typed record (llm-compressor's "modifier"). The set is closed: each
 * record knows how {@link GoldenStick#compress} runs it. To add an algorithm, write a record here that
 * holds its validated configuration, add it to {@code permits}, give it a recipe name in {@link RecipeReader} and a
 * case in {@link GoldenStick#compress}; the compiler then finds every switch that must handle it.
 *
 * <pre>{@code
 * Modifier m = new RtnModifier(WeightScheme.int8PerChannel(), List.of("lm_head"));
 * }</pre>
 */
public sealed interface Modifier permits SimQatModifier, SlbModifier, ScopModifier, SmoothQuantModifier, WeightOnlyModifier {
    /** The name this modifier has in recipe files (e.g. {@code SimQATModifier}). */
    String recipeName();

    /** Whether it works on a trained CNN with fine-tuning (QAT, pruning) rather than on an LLM (weight-only modifiers say false). */
    default boolean needsTraining() {
        return !(this instanceof SmoothQuantModifier);
    }
}
