package org.goldenstick.ptq;

import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.HalfFloats;
import org.goldenstick.quant.QuantMath;

/**
 * How linear weights are stored as integers: {@code bits} (4 or 8), {@code groupSize} consecutive input columns per
 * scale (0 = one scale per output channel), symmetric or asymmetric (with a zero point). The arithmetic is the one
 * compressed-tensors' {@code calculate_qparams} defines, so files we write dequantize the same everywhere:
 *
 * <ul>
 *   <li>grid {@code [−2^(b−1), 2^(b−1) − 1]} (signed; [−8, 7] for 4 bits);
 *   <li>the range always contains 0: {@code lo = min(min w, 0)}, {@code hi = max(max w, 0)};
 *   <li>symmetric: {@code scale = max(|lo|, hi) / ((2^b − 1) / 2)} (max/7.5 at 4 bits, max/127.5 at 8 bits — the
 *       same as our int8 convention), zero point 0;
 *   <li>asymmetric: {@code scale = (hi − lo) / (2^b − 1)}, {@code zp = round(clamp(qmin − lo / scale, qmin, qmax))};
 *   <li>the scale is rounded to the dtype it is stored in (the checkpoint's weight dtype, as llm-compressor
 *       stores it) before any code is computed;
 *   <li>{@code q = clamp(round(w / scale) + zp, qmin, qmax)}, {@code w ≈ (q − zp) · scale}.
 * </ul>
 * Deviations: rounding is half away from zero (our int8 convention; compressed-tensors rounds half to even — only
 * exact ties differ, and both dequantize identically), and an all-zero group gets scale 1 (compressed-tensors: the
 * dtype's epsilon; either way every code is the zero point).
 *
 * <p>With {@link ScaleRule#GGML} ({@link #ggml(int)}: groups of 32, symmetric) the scale is the one ggml's reference
 * quantizers pick for a block, rounded to fp16 as the block stores it, so each group is exactly one GGUF block
 * ({@code gstick export --format gguf --from-quantized} copies the codes): at 4 bits (Q4_0) the value of largest
 * magnitude {@code m} gives {@code scale = m / −8} — negative when {@code m > 0}, so that {@code m} lands exactly on code
 * −8 and the grid's extra negative step is spent on the larger side; at 8 bits (Q8_0) {@code scale = max|w| / 127}.
 * Codes are then the nearest point of that (fp16) grid; ggml itself rounds with the unrounded scale, so its codes can
 * differ from ours where fp16 rounding moves a value across a rounding boundary (ours is then the nearer one).
 *
 * <pre>{@code
 * WeightScheme w4 = WeightScheme.of(4, 128, true);       // W4A16, groups of 128, symmetric
 * float[] sz = new float[2];
 * w4.params(-0.3f, 0.5f, DType.F32, sz);                 // sz = {scale, zero point}
 * int q = w4.code(0.1f, sz[0], (int) sz[1]);
 * }</pre>
 *
 * @param bits      4 or 8
 * @param groupSize input columns per scale (a multiple of 8), or 0 for per output channel
 * @param symmetric true for zero point 0
 * @param rule      how a group's scale is chosen: compressed-tensors' min/max rule, or ggml's block rule
 */
public record WeightScheme(int bits, int groupSize, boolean symmetric, ScaleRule rule) {
    /** How a group's scale (and zero point) is computed from its values. */
    public enum ScaleRule {
        /** compressed-tensors' {@code calculate_qparams} (the default). */
        MIN_MAX,
        /** ggml's Q4_0 (4 bits) / Q8_0 (8 bits) block scale, fp16; groups of 32, symmetric. */
        GGML
    }

    /** The ggml block size a {@link ScaleRule#GGML} scheme's groups have (Q4_0 and Q8_0 blocks). */
    public static final int GGML_BLOCK = 32;

    public WeightScheme {
        if (bits != 4 && bits != 8) throw new IllegalArgumentException("weight bits must be 4 or 8, got " + bits);
        if (groupSize < 0 || (groupSize > 0 && groupSize % 8 != 0)) throw new IllegalArgumentException("group size must be 0 (per channel) or a positive multiple of 8 (32, 64, 128), got " + groupSize);
        java.util.Objects.requireNonNull(rule, "WeightScheme.rule");
        if (rule == ScaleRule.GGML && (groupSize != GGML_BLOCK || !symmetric)) {
            throw new IllegalArgumentException("the ggml scale rule (Q4_0/Q8_0 blocks) needs symmetric groups of " + GGML_BLOCK + ", got group size " + groupSize + (symmetric ? "" : ", asymmetric"));
        }
    }

    /** A scheme with compressed-tensors' min/max scale rule. */
    public WeightScheme(int bits, int groupSize, boolean symmetric) {
        this(bits, groupSize, symmetric, ScaleRule.MIN_MAX);
    }

    public static WeightScheme of(int bits, int groupSize, boolean symmetric) {
        return new WeightScheme(bits, groupSize, symmetric);
    }

    /**
     * ggml's block layout: 4 bits → Q4_0, 8 bits → Q8_0 (symmetric groups of 32, ggml's fp16 scale; see the class
     * comment).
     */
    public static WeightScheme ggml(int bits) {
        return new WeightScheme(bits, GGML_BLOCK, true, ScaleRule.GGML);
    }

    /** Per-channel symmetric int8: what W8A16 has always been. */
    public static WeightScheme int8PerChannel() {
        return new WeightScheme(8, 0, true);
    }

    /**
     * The LM head's scheme for {@code headBits} beside linears quantized with {@code body}: {@code body} itself when the
     * bits match, else int8 per output channel (Q8_0 blocks when {@code body} uses ggml's blocks), as llama.cpp keeps a
     * higher-precision output tensor in a 4-bit file. A 4-bit head beside 8-bit layers is refused.
     *
     * <pre>{@code
     * WeightScheme.forHead(8, WeightScheme.of(4, 128, true));   // int8 per channel
     * }</pre>
     */
    public static WeightScheme forHead(int headBits, WeightScheme body) {
        if (headBits != 4 && headBits != 8) throw new IllegalArgumentException("--head-bits must be 4 or 8, got " + headBits);
        if (headBits == body.bits()) return body;
        if (headBits == 4) throw new IllegalArgumentException("--head-bits 4 needs --bits 4 (a 4-bit head takes the layers' --group-size); with --bits 8 use --head-bits 8");
        return body.rule() == ScaleRule.GGML ? ggml(8) : int8PerChannel();
    }

    /** A short name for reports: {@code int8 per channel}, {@code int4 g128}, {@code int4 g128 asym}, {@code Q8_0 blocks}. */
    public String label() {
        if (rule == ScaleRule.GGML) return (bits == 4 ? "Q4_0" : "Q8_0") + " blocks";
        return "int" + bits + (groupSize == 0 ? " per channel" : " g" + groupSize) + (symmetric ? "" : " asym");
    }

    public int qmin() {
        return -(1 << (bits - 1));
    }

    public int qmax() {
        return (1 << (bits - 1)) - 1;
    }

    /** The group size for a layer with {@code cols} inputs; fails naming the layer if it does not divide them. */
    public int groupFor(int cols, String layer) {
        if (groupSize == 0) return cols;
        if (cols % groupSize != 0) throw new IllegalArgumentException(layer + ": group size " + groupSize + " does not divide in_features=" + cols + " (use a divisor, 0 for per channel, or --skip the layer)");
        return groupSize;
    }

    /** compressed-tensors' strategy name: {@code channel} or {@code group}. */
    public String strategy() {
        return groupSize == 0 ? "channel" : "group";
    }

    /** Storage bits per weight including the scales (and zero points) for a layer with {@code cols} inputs, scales at 16 bits. */
    public double bitsPerWeight(int cols) {
        int g = groupSize == 0 ? cols : groupSize;
        return bits + (16.0 + (symmetric ? 0 : bits)) / g;
    }

    /** Rounds a scale to what a {@code dtype} tensor stores. */
    public static float roundTo(float v, DType dtype) {
        return switch (dtype) {
            case BF16 -> HalfFloats.bf16ToFloat(HalfFloats.toBf16(v));
            case F16 -> HalfFloats.f16ToFloat(HalfFloats.toF16(v));
            default -> v;
        };
    }

    /**
     * Scale and zero point for values in {@code [min, max]}, into {@code out[0]}, {@code out[1]}; {@code scaleDtype} is
     * what the scale is rounded to (the {@link ScaleRule#GGML} rule always rounds to fp16, what a block stores).
     */
    public void params(float min, float max, DType scaleDtype, float[] out) {
        if (rule == ScaleRule.GGML) {
            // ggml-quants.c quantize_row_q4_0_ref: d = max / -8 (max = the value of largest magnitude);
            // quantize_row_q8_0_ref: d = amax / 127; the block stores d as fp16
            float d = bits == 4 ? (Math.abs(min) > Math.abs(max) ? min : max) / -8f : Math.max(Math.abs(min), Math.abs(max)) / 127f;
            float s = roundTo(d, DType.F16);
            out[0] = s != 0 && Float.isFinite(s) ? s : 1f;
            out[1] = 0;
            return;
        }
        double lo = Math.min(min, 0), hi = Math.max(max, 0);
        double scale, zp = 0;
        if (symmetric) {
            scale = Math.max(-lo, hi) / ((qmax() - qmin()) / 2.0);
        } else {
            scale = (hi - lo) / (qmax() - qmin());
        }
        float s = roundTo((float) scale, scaleDtype);
        if (!(s > 0) || !Float.isFinite(s)) s = 1f;
        if (!symmetric) zp = QuantMath.roundHalfAway(Math.max(qmin(), Math.min(qmax(), qmin() - lo / s)));
        out[0] = s;
        out[1] = (float) zp;
    }

    /** The code of {@code v}. */
    public int code(float v, float scale, int zp) {
        return QuantMath.quantizeValue(v, scale, zp, qmin(), qmax());
    }

    /** {@code (code(v) − zp) · scale}: the value the stored code stands for. */
    public float fakeQuant(float v, float scale, int zp) {
        return (code(v, scale, zp) - zp) * scale;
    }

    /**
     * Quantizes a row-major {@code [rows, cols]} matrix: fills {@code q [rows·cols]}, {@code scales} and (asymmetric)
     * {@code zeroPoints [rows·groups]}. NaN/Inf fail naming {@code what}, the row and the column.
     */
    public void quantize(float[] w, int rows, int cols, DType scaleDtype, byte[] q, float[] scales, byte[] zeroPoints, String what) {
        quantize(w, rows, cols, scaleDtype, q, scales, zeroPoints, what, 0);
    }

    /** As above, for rows {@code firstRow, firstRow + 1, ...} of a larger matrix (the row numbers errors name). */
    public void quantize(float[] w, int rows, int cols, DType scaleDtype, byte[] q, float[] scales, byte[] zeroPoints, String what, int firstRow) {
        if (equals(int8PerChannel()) && scaleDtype == DType.F32) {
            // the vectorised int8 quantizer computes exactly this math for per-channel symmetric int8
            Int8.quantizeRows(w, 0, rows, cols, q, 0, scales, 0, what, firstRow);
            return;
        }
        int gs = groupFor(cols, what), groups = cols / gs;
        float[] sz = new float[2];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int c0 = r * cols + g * gs;
                float mn = Float.POSITIVE_INFINITY, mx = Float.NEGATIVE_INFINITY;
                for (int c = 0; c < gs; c++) {
                    float v = w[c0 + c];
                    if (!Float.isFinite(v)) throw new IllegalArgumentException(what + ": non-finite value " + v + " at row " + (firstRow + r) + ", column " + (g * gs + c));
                    mn = Math.min(mn, v);
                    mx = Math.max(mx, v);
                }
                params(mn, mx, scaleDtype, sz);
                int zp = (int) sz[1];
                scales[r * groups + g] = sz[0];
                if (zeroPoints != null) zeroPoints[r * groups + g] = (byte) zp;
                for (int c = 0; c < gs; c++) q[c0 + c] = (byte) code(w[c0 + c], sz[0], zp);
            }
        }
    }
}
