package org.goldenstick.ptq;

import org.goldenstick.quant.QuantDtype;
import java.util.List;
import java.util.Objects;
import org.goldenstick.rewrite.LayerFilter;

/**
 * Configuration of post-training quantization for LLMs. Every combination is checked when the record is built,
 * so an invalid configuration fails before any work starts.
 *
 * <pre>{@code
 * PTQConfig rtn = PTQConfig.rtn();                                  // W8A16, lm_head kept in float
 * PTQConfig w4 = PTQConfig.rtn(WeightScheme.of(4, 128, true));      // W4A16, groups of 128
 * PTQConfig sq = PTQConfig.smoothQuant(0.85)                        // W8A8 with smoothing
 *         .withActGranularity(ActGranularity.PER_TENSOR);
 * PTQConfig deploy = rtn.withMode(PTQMode.DEPLOY);
 * PTQConfig w4h8 = PTQConfig.rtn(WeightScheme.of(4, 128, true))     // W4A16 with an int8 per-channel lm_head
 *         .withHead(WeightScheme.int8PerChannel());
 * }</pre>
 *
 * <p><b>The LM head.</b> {@code head} null (the default) keeps {@code lm_head} as the skip list says: in float under the
 * default skip lists, as compressed-tensors' usual {@code ignore} and vLLM expect. A {@code head} scheme quantizes
 * {@code lm_head} with that scheme whatever the skip list says (e.g. int8 in a W4 model, as llama.cpp keeps a
 * higher-precision output tensor); a model whose head is tied to the embeddings gets its own quantized copy of the
 * table, written untied ({@code tie_word_embeddings: false}), and the embedding stays float.
 *
 * <p><b>Skip list.</b> {@code skip} holds regular expressions matched with {@link java.util.regex.Matcher#find()}
 * (unanchored) against a linear layer's dotted Hugging Face name, e.g. {@code model.layers.3.mlp.down_proj}.
 * A plain name therefore behaves like upstream's {@code opname_blacklist} substring test; anchor with
 * {@code ^...$} for an exact match. Upstream prefixed names with {@code "root."}; we do not.
 *
 * @param mode           QUANTIZE (calibrate, quantize, save) or DEPLOY (build placeholders, load a quantized checkpoint)
 * @param backend        CPU (quantize and deploy), NONE (quantize only), ASCEND (rejected: this build runs on CPU)
 * @param skip           regexes of linear layers to leave in floating point
 * @param weights        how weights are stored: bits 4/8, group size (0 = per channel), symmetric or not; W8A8 needs
 *                       {@link WeightScheme#int8PerChannel()}
 * @param actDtype       null: activations stay floating point (weight-only, e.g. W8A16); {@link QuantDtype#INT8}: W8A8
 * @param outliers       SMOOTH (SmoothQuant) or NONE (no smoothing: RTN, or naive W8A8)
 * @param alpha          SmoothQuant migration strength in [0, 1]: s = max|X|^α / max|W|^(1−α)
 * @param actGranularity PER_TOKEN (dynamic, default) or PER_TENSOR (static, from calibration); W8A8 only
 * @param head           null: {@code lm_head} follows the skip list (float by default); else the scheme {@code lm_head} is
 *                       quantized with (weight-only only)
 */
public record PTQConfig(PTQMode mode, BackendTarget backend, List<String> skip, WeightScheme weights, QuantDtype actDtype,
                        OutlierSuppression outliers, double alpha, ActGranularity actGranularity, WeightScheme head) {

    /** The output projection's Hugging Face name, in every supported family. */
    public static final String HEAD = "lm_head";

    /**
     * Default SmoothQuant α = 0.5: upstream 0.5 fixed it there, and it is the SmoothQuant paper's general sweet spot.
     * The SmoothQuant repository's Llama-2 results use 0.85 (trained Llamas have small weights on their outlier
     * channels, so the weights can absorb more); on our test models with injected outliers 0.5 recovered the most
     * (docs/ptq.md has the sweep). Pass {@code --alpha 0.85} for Llama-2-like checkpoints.
     */
    public static final double DEFAULT_ALPHA = 0.5;

    /** Default skip list of W8A16: the LM head stays in floating point, as upstream's RTN examples do. */
    public static final List<String> DEFAULT_SKIP_W8A16 = List.of("lm_head");

    /**
     * Default skip list of W8A8: the LM head and the MLP down projection. No norm precedes {@code down_proj}, so it
     * cannot be smoothed by folding, and its input (the SwiGLU product) carries the largest activation outliers in
     * real Llamas; upstream's SmoothQuant example skipped it ({@code w2}) as well. {@code o_proj} is quantized W8A8
     * without smoothing.
     */
    public static final List<String> DEFAULT_SKIP_W8A8 = List.of("lm_head", "down_proj");

    public PTQConfig {
        Objects.requireNonNull(mode, "PTQConfig.mode");
        Objects.requireNonNull(backend, "PTQConfig.backend");
        Objects.requireNonNull(skip, "PTQConfig.skip");
        Objects.requireNonNull(weights, "PTQConfig.weights");
        if (actDtype != null && actDtype != QuantDtype.INT8) throw new IllegalArgumentException("PTQConfig: activations are float (null) or INT8, got " + actDtype);
        Objects.requireNonNull(outliers, "PTQConfig.outliers");
        Objects.requireNonNull(actGranularity, "PTQConfig.actGranularity");
        skip = List.copyOf(skip);
        if (backend == BackendTarget.ASCEND) {
            throw new IllegalArgumentException("PTQConfig: backend ASCEND is not supported: this build quantizes and deploys to CPU only (use BackendTarget.CPU)");
        }
        if (mode == PTQMode.DEPLOY && backend == BackendTarget.NONE) {
            throw new IllegalArgumentException("PTQConfig: mode DEPLOY needs a backend to run on, got NONE (use BackendTarget.CPU)");
        }
        if (actDtype == QuantDtype.INT8 && !weights.equals(WeightScheme.int8PerChannel())) {
            throw new IllegalArgumentException("PTQConfig: W8A8 needs 8-bit symmetric per-channel weights, got " + weights);
        }
        if (outliers == OutlierSuppression.SMOOTH && actDtype != QuantDtype.INT8) {
            throw new IllegalArgumentException("PTQConfig: outlier suppression SMOOTH (SmoothQuant) needs int8 activations (W8A8), but the activations are float");
        }
        if (actGranularity == ActGranularity.PER_TENSOR && actDtype != QuantDtype.INT8) {
            throw new IllegalArgumentException("PTQConfig: actGranularity PER_TENSOR only applies to int8 activations (W8A8), but the activations are float");
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("PTQConfig: alpha must be in [0, 1], got " + alpha);
        }
        if (head != null && actDtype != null) {
            throw new IllegalArgumentException("PTQConfig: a quantized head applies to weight-only quantization (W8A16/W4A16); W8A8 keeps lm_head in float");
        }
        LayerFilter.ignoring("PTQConfig", "skip", skip); // the one layer-selection mechanism validates the patterns
    }

    /** Round-to-nearest W8A16: per-channel int8 weights, float activations, no calibration data. */
    public static PTQConfig rtn() {
        return new PTQConfig(PTQMode.QUANTIZE, BackendTarget.CPU, DEFAULT_SKIP_W8A16, WeightScheme.int8PerChannel(), null,
                OutlierSuppression.NONE, DEFAULT_ALPHA, ActGranularity.PER_TOKEN, null);
    }

    /** Round-to-nearest weight-only quantization with {@code weights} (e.g. W4 groups of 128), float activations. */
    public static PTQConfig rtn(WeightScheme weights) {
        return rtn().withWeights(weights);
    }

    public PTQConfig withWeights(WeightScheme w) {
        return new PTQConfig(mode, backend, skip, w, actDtype, outliers, alpha, actGranularity, head);
    }

    /** SmoothQuant W8A8 with the given α, per-token dynamic activations. */
    public static PTQConfig smoothQuant(double alpha) {
        return new PTQConfig(PTQMode.QUANTIZE, BackendTarget.CPU, DEFAULT_SKIP_W8A8, WeightScheme.int8PerChannel(), QuantDtype.INT8,
                OutlierSuppression.SMOOTH, alpha, ActGranularity.PER_TOKEN, null);
    }

    /** SmoothQuant W8A8 with {@link #DEFAULT_ALPHA}. */
    public static PTQConfig smoothQuant() {
        return smoothQuant(DEFAULT_ALPHA);
    }

    /** W8A8 with the same settings as {@link #smoothQuant()} but no smoothing (the baseline SmoothQuant fixes). */
    public static PTQConfig naiveW8A8() {
        return smoothQuant().withOutliers(OutlierSuppression.NONE);
    }

    /** {@code lm_head} quantized with {@code h} (its own copy when tied to the embeddings), or null: as the skip list says. */
    public PTQConfig withHead(WeightScheme h) {
        return new PTQConfig(mode, backend, skip, weights, actDtype, outliers, alpha, actGranularity, h);
    }

    public PTQConfig withMode(PTQMode m) {
        return new PTQConfig(m, backend, skip, weights, actDtype, outliers, alpha, actGranularity, head);
    }

    public PTQConfig withBackend(BackendTarget b) {
        return new PTQConfig(mode, b, skip, weights, actDtype, outliers, alpha, actGranularity, head);
    }

    public PTQConfig withSkip(List<String> s) {
        return new PTQConfig(mode, backend, s, weights, actDtype, outliers, alpha, actGranularity, head);
    }

    public PTQConfig withOutliers(OutlierSuppression o) {
        return new PTQConfig(mode, backend, skip, weights, actDtype, o, alpha, actGranularity, head);
    }

    public PTQConfig withAlpha(double a) {
        return new PTQConfig(mode, backend, skip, weights, actDtype, outliers, a, actGranularity, head);
    }

    public PTQConfig withActGranularity(ActGranularity g) {
        return new PTQConfig(mode, backend, skip, weights, actDtype, outliers, alpha, g, head);
    }

    /** True for W8A8 (int8 activations). */
    public boolean quantizesActivations() {
        return actDtype == QuantDtype.INT8;
    }

    /** The method name used in files and reports: {@code rtn}, {@code smoothquant} or {@code w8a8} (naive). */
    public String methodName() {
        if (!quantizesActivations()) return "rtn";
        return outliers == OutlierSuppression.SMOOTH ? "smoothquant" : "w8a8";
    }

    /** Whether the linear layer with this dotted name is left in floating point. */
    public boolean skips(String layerName) {
        if (head != null && layerName.equals(HEAD)) return false;
        return !layers().selects(layerName);
    }

    /** The scheme a weight-only run quantizes the linear layer {@code layerName} with, or null if it stays float. */
    public WeightScheme schemeFor(String layerName) {
        if (head != null && layerName.equals(HEAD)) return head;
        return skips(layerName) ? null : weights;
    }

    /** The skip list as the library's {@link LayerFilter} (its ignore patterns). */
    public LayerFilter layers() {
        return LayerFilter.ignoring(skip);
    }
}
