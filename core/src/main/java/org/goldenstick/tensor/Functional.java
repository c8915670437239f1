package org.goldenstick.tensor;

import java.util.Random;

/**
 * The differentiable operators of the engine as static functions, in the style of {@code torch.nn.functional}.
 * Every function returns a new tensor and joins autograd; shapes are checked up front and a mismatch names the
 * op and the shapes at fault.
 *
 * <pre>{@code
 * Tensor h = Functional.conv2d(x, w, b, Conv2dSpec.of(1, 1, 1, 1));   // [N, O, H, W]
 * h = Functional.relu(Functional.batchNorm(h, gamma, beta, runMean, runVar, true, 0.1f, 1e-5f));
 * h = Functional.maxPool2d(h, 2, 2, 2, 2, 0, 0);
 * Tensor loss = Functional.crossEntropy(logits, labels);
 * loss.backward();
 * }</pre>
 */
public final class Functional {
    private Functional() {}

    // ---------------------------------------------------------------- convolution and pooling

    /**
     * 2-D convolution (cross-correlation, as in PyTorch and ONNX).
     *
     * @param x    input {@code [N, C, H, W]}
     * @param w    weight {@code [O, C/groups, kH, kW]}
     * @param bias {@code [O]} or null
     * @return {@code [N, O, OH, OW]} with {@code OH = (H + padTop + padBottom − dilationH·(kH−1) − 1)/strideH + 1}
     */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec) {
        return Conv.conv2d(x, w, bias, spec);
    }

    /** Max pooling over {@code [N, C, H, W]}; padding counts as −∞ and is at most half the kernel. */
    public static Tensor maxPool2d(Tensor x, int kH, int kW, int sH, int sW, int pH, int pW) {
        return Pooling.maxPool2d(x, kH, kW, sH, sW, pH, pW);
    }

    /**
     * Average pooling over {@code [N, C, H, W]}. With {@code countIncludePad} the divisor is {@code kH·kW},
     * otherwise the number of window elements inside the input.
     */
    public static Tensor avgPool2d(Tensor x, int kH, int kW, int sH, int sW, int pH, int pW, boolean countIncludePad) {
        return Pooling.avgPool2d(x, kH, kW, sH, sW, pH, pW, countIncludePad);
    }

    /** Average pooling to a fixed output size {@code [N, C, outH, outW]} with PyTorch's bin boundaries. */
    public static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        return Pooling.adaptiveAvgPool2d(x, outH, outW);
    }

    // ---------------------------------------------------------------- normalisation

    /**
     * Batch normalisation of {@code [N, C]} or {@code [N, C, H, W]} per channel.
     *
     * <p>Training normalises with the batch mean and biased variance and updates the running statistics in place
     * (PyTorch convention: {@code running = (1 − momentum)·running + momentum·batch}, unbiased variance). Eval
     * normalises with the running statistics. {@code gamma}/{@code beta} may be null (no affine transform); the
     * running statistics may be null in training (not tracked).
     */
    public static Tensor batchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                   boolean training, float momentum, float eps) {
        return Normalization.batchNorm(x, gamma, beta, runningMean, runningVar, training, momentum, eps);
    }

    /**
     * {@code relu(batchNorm(...))} as one op (same arguments as {@link #batchNorm}): the same values and gradients, bit
     * for bit, in fewer passes over memory (the normalised activation before the ReLU and its gradient are never
     * stored). While a trace records ({@link OpTrace#active()}) it runs as the two ops, so a traced graph sees them.
     *
     * <pre>{@code
     * Tensor h = Functional.batchNormRelu(conv, gamma, beta, runMean, runVar, true, 0.1f, 1e-5f);
     * }</pre>
     */
    public static Tensor batchNormRelu(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                       boolean training, float momentum, float eps) {
        if (OpTrace.active()) return relu(batchNorm(x, gamma, beta, runningMean, runningVar, training, momentum, eps));
        return Normalization.batchNorm(x, gamma, beta, runningMean, runningVar, training, momentum, eps, 0f, Float.POSITIVE_INFINITY, null);
    }

    /** {@code relu6(batchNorm(...))} as one op; see {@link #batchNormRelu}. */
    public static Tensor batchNormRelu6(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                        boolean training, float momentum, float eps) {
        if (OpTrace.active()) return relu6(batchNorm(x, gamma, beta, runningMean, runningVar, training, momentum, eps));
        return Normalization.batchNorm(x, gamma, beta, runningMean, runningVar, training, momentum, eps, 0f, 6f, null);
    }

    /**
     * Picks the fake-quantization grid of a batch norm's output from the batch's output range ({@link #batchNormGrid}).
     */
    @FunctionalInterface
    public interface OutputGrid {
        /**
         * @return {@code {scale, nudgedMin, nudgedMax}} of the grid {@code floor((clamp(y, nmin, nmax) − nmin)/scale + 0.5)·scale + nmin}
         *     (scale 0: all zeros), or null to leave the output unquantized (e.g. during a quantizer's delay)
         */
        float[] choose(float outputMin, float outputMax);
    }

    /**
     * Training-mode batch norm whose output goes straight onto a fake-quantization grid, as one op: {@code grid} is shown
     * the range of the normalised batch and returns the grid (or null: plain batch norm); the gradient is the
     * straight-through one (passed where nmin ≤ BN(x) ≤ nmax) taken through batch norm. Gives the bits of batch norm
     * followed by the separate fake quantization ({@code quant.FakeQuantize}) without storing the normalised
     * activation or its gradient. While a trace records, or in eval mode, use the separate ops instead (this op
     * refuses eval mode).
     *
     * <pre>{@code
     * Tensor q = Functional.batchNormGrid(conv, gamma, beta, runMean, runVar, 0.1f, 1e-5f, (lo, hi) -> grid(lo, hi));
     * }</pre>
     */
    public static Tensor batchNormGrid(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                       float momentum, float eps, OutputGrid grid) {
        if (grid == null) throw new IllegalArgumentException("batchNormGrid: grid is null");
        return Normalization.batchNorm(x, gamma, beta, runningMean, runningVar, true, momentum, eps, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, grid);
    }

    // ---------------------------------------------------------------- activations

    public static Tensor relu(Tensor x) {
        return Activations.relu(x);
    }

    /** min(max(x, 0), 6). */
    public static Tensor relu6(Tensor x) {
        return Activations.relu6(x);
    }

    /** x for x &gt; 0, slope·x otherwise. */
    public static Tensor leakyRelu(Tensor x, float slope) {
        return Activations.leakyRelu(x, slope);
    }

    /** Exact GELU, x·Φ(x) with the erf form of the normal CDF. */
    public static Tensor gelu(Tensor x) {
        return Activations.gelu(x);
    }

    /** GELU's tanh approximation, as PyTorch's {@code gelu(approximate="tanh")} (Gemma's {@code gelu_pytorch_tanh}). */
    public static Tensor geluTanh(Tensor x) {
        return Activations.geluTanh(x);
    }

    /** SiLU / swish: x·σ(x). */
    public static Tensor silu(Tensor x) {
        return Activations.silu(x);
    }

    /** PyTorch hardsigmoid: relu6(x + 3)/6. */
    public static Tensor hardSigmoid(Tensor x) {
        return Activations.hardSigmoid(x);
    }

    /** PyTorch hardswish: x·relu6(x + 3)/6. */
    public static Tensor hardSwish(Tensor x) {
        return Activations.hardSwish(x);
    }

    public static Tensor sigmoid(Tensor x) {
        return x.sigmoid();
    }

    public static Tensor tanh(Tensor x) {
        return x.tanh();
    }

    /** Softmax along {@code axis} (negative counts from the end), numerically stable. */
    public static Tensor softmax(Tensor x, int axis) {
        return Activations.softmax(x, axis);
    }

    /** Log-softmax along {@code axis}, computed as x − max − log Σ exp(x − max). */
    public static Tensor logSoftmax(Tensor x, int axis) {
        return Activations.logSoftmax(x, axis);
    }

    /** Inverted dropout; the identity when not training or when p = 0. */
    public static Tensor dropout(Tensor x, float p, boolean training, Random rng) {
        return Activations.dropout(x, p, training, rng);
    }

    // ---------------------------------------------------------------- losses

    /**
     * Mean cross-entropy of {@code logits [N, C]} (or {@code [..., C]}, one target per row) against class indices;
     * a target outside [0, C) is an error.
     */
    public static Tensor crossEntropy(Tensor logits, int[] targets) {
        return Losses.crossEntropy(logits, targets, Losses.NO_IGNORE);
    }

    /**
     * Cross-entropy that skips rows whose target is {@code ignoreIndex} (e.g. −100 for padding in LM training);
     * the mean is over the remaining rows (0 if none remain).
     */
    public static Tensor crossEntropy(Tensor logits, int[] targets, int ignoreIndex) {
        return Losses.crossEntropy(logits, targets, ignoreIndex);
    }

    /** Mean squared error over all elements of two same-shaped tensors. */
    public static Tensor mseLoss(Tensor a, Tensor b) {
        return Losses.mseLoss(a, b);
    }

    // ---------------------------------------------------------------- language-model ops

    /**
     * Looks up rows of {@code weight [V, D]}: the result has shape {@code [idsShape..., D]}. The gradient is
     * scatter-added into the rows that were read; an id outside [0, V) is an error naming it.
     *
     * <pre>{@code
     * Tensor h = Functional.embedding(tokenIds, new int[] {batch, seqLen}, embedTokens);   // [B, T, D]
     * }</pre>
     */
    public static Tensor embedding(int[] ids, int[] idsShape, Tensor weight) {
        return Embedding.lookup(ids, idsShape, weight);
    }

    /**
     * Llama RMSNorm over the last axis: {@code x · rsqrt(mean(x²) + eps) · weight} with {@code weight [D]} (may be
     * null); the mean of squares is accumulated in float64.
     */
    public static Tensor rmsNorm(Tensor x, Tensor weight, float eps) {
        return Normalization.rmsNorm(x, weight, eps);
    }

    /**
     * Rotary position embedding of {@code x [B, H, T, D]} in the Hugging Face rotate-half convention: position of
     * token t is {@code posOffset + t} (the number of cached tokens during incremental decoding).
     */
    public static Tensor rotaryEmbedding(Tensor x, RopeTable table, int posOffset) {
        return Rotary.apply(x, table, posOffset);
    }

    /**
     * {@code softmax(q·kᵀ/√D + mask)·v} for {@code q [B, H, T, D]} and {@code k, v [B, Hkv, S, D]}, returning
     * {@code [B, H, T, D]}. Grouped-query attention when {@code H} is a multiple of {@code Hkv} (query head h uses
     * key/value head {@code h/(H/Hkv)}). With {@code causal}, query t attends to keys {@code s ≤ t + posOffset},
     * where {@code posOffset} is the number of cached positions before the queries (0 for a plain prefill).
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, boolean causal, int posOffset) {
        return Attention.sdpa(q, k, v, causal, posOffset, 0);
    }

    /**
     * As {@link #scaledDotProductAttention(Tensor, Tensor, Tensor, boolean, int)} with a sliding window: query row r
     * (position {@code r + posOffset}) attends only to keys c with {@code r + posOffset - c < window}; 0 = no window.
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, boolean causal, int posOffset, int window) {
        return Attention.sdpa(q, k, v, causal, posOffset, window);
    }
}
