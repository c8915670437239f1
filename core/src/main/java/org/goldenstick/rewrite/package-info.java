/**
 * The unified compression API and network rewriting.
 *
 * <p>{@link org.goldenstick.rewrite.CompAlgo} is the one shape every algorithm takes: {@code apply} (rewrite the
 * network for compression-aware training or calibration), {@code callbacks}/{@code loss} (plug into the trainer),
 * {@code convert} (the deploy network) and automatic deploy export at the end of training. Configurations are
 * validated when built with {@link org.goldenstick.rewrite.ConfigValidation}, which raises
 * {@link org.goldenstick.rewrite.ConfigException} naming the field, the value and what is allowed.
 *
 * <p>{@link org.goldenstick.rewrite.Rewriter} applies {@link org.goldenstick.rewrite.RewriteRules} to a network from its
 * traced {@link org.goldenstick.graph.ModelGraph}: fusion of layer-type chains matched on the graph (Conv2d → BatchNorm2d
 * where the conv feeds only the BN), wrapping by exact layer class, skip patterns on dotted layer names, the layers and ops
 * that keep the quantization grid, the ops an algorithm supports; rules never name a network class. Replacements are made
 * by dotted name and a replaced layer forwards its calls to its replacement, so networks that call their layers through
 * fields are rewritten too; a re-trace checks that every replacement runs. It returns a
 * {@link org.goldenstick.rewrite.RewriteReport} listing what was wrapped, fused or left in FP32 and why; an unsupported op
 * or a layer that would be wrapped but is never called is an error naming it.
 */
package org.goldenstick.rewrite;
