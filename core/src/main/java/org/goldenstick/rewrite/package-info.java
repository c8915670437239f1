/**
 * The unified compression API and network rewriting.
 *
 * <p>{@link org.goldenstick.rewrite.CompAlgo} is the one shape every algorithm takes: {@code apply} (rewrite the
 * network for compression-aware training or calibration), {@code callbacks}/{@code loss} (plug into the trainer),
 * {@code convert} (the deploy network) and automatic deploy export at the end of training. Configurations are
 * validated when built with {@link org.goldenstick.rewrite.ConfigValidation}, which raises
 * {@link org.goldenstick.rewrite.ConfigException} naming the field, the value and what is allowed.
 *
 * <p>{@link org.goldenstick.rewrite.Rewriter} applies {@link org.goldenstick.rewrite.RewriteRules} to a module tree:
 * fusion of layer chains (consecutive children of sequential containers, or named children of structured blocks),
 * wrapping by exact layer class, skip patterns on dotted layer paths; it returns a
 * {@link org.goldenstick.rewrite.RewriteReport} listing what was wrapped, fused or left in FP32 and why.
 */
package org.goldenstick.rewrite;
