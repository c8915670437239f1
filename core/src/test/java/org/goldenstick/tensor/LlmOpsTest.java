package org.goldenstick.tensor;

import static org.goldenstick.GradCheck.check;
import static org.goldenstick.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;

class LlmOpsTest {
    // ---------------------------------------------------------------- embedding

    @Test
    void embeddingGathersRowsAndScatterAddsGradients() {
        Tensor w = param(1, 6, 4);
        int[] ids = {5, 0, 2, 2, 5, 1};
        Tensor y = Functional.embedding(ids, new int[] {2, 3}, w);
        assertArrayEquals(new int[] {2, 3, 4}, y.shape());
        for (int i = 0; i < ids.length; i++)
            for (int j = 0; j < 4; j++) assertEquals(w.get(ids[i], j), y.data()[i * 4 + j]);
        check("embedding (repeated ids)", t -> Functional.embedding(ids, new int[] {2, 3}, t[0]), w);
        w.zeroGrad();
        Functional.embedding(ids, new int[] {6}, w).sum().backward();
        assertEquals(2f, w.grad().get(5, 0)); // id 5 appears twice
        assertEquals(0f, w.grad().get(3, 0)); // id 3 never read
    }

    @Test
    void embeddingErrorsNameTheId() {
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.embedding(new int[] {1, 9}, new int[] {2}, Tensor.zeros(6, 4)));
        assertTrue(e.getMessage().contains("id 9") && e.getMessage().contains("[6, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Functional.embedding(new int[] {-1}, new int[] {1}, Tensor.zeros(6, 4)));
        var s = assertThrows(IllegalArgumentException.class, () -> Functional.embedding(new int[] {1, 2, 3}, new int[] {2, 2}, Tensor.zeros(6, 4)));
        assertTrue(s.getMessage().contains("[2, 2]"), s.getMessage());
    }

    // ---------------------------------------------------------------- RMSNorm

    @Test
    void rmsNormMatchesFloat64ReferenceAndFiniteDifferences() {
        Tensor x = param(1, 2, 3, 8), w = param(2, 8);
        float eps = 1e-5f;
        Tensor y = Functional.rmsNorm(x, w, eps);
        for (int r = 0; r < 6; r++) {
            double ss = 0;
            for (int j = 0; j < 8; j++) ss += Math.pow(x.data()[r * 8 + j], 2);
            double inv = 1 / Math.sqrt(ss / 8 + eps);
            for (int j = 0; j < 8; j++) assertEquals(x.data()[r * 8 + j] * inv * w.data()[j], y.data()[r * 8 + j], 1e-5);
        }
        check("rmsNorm", t -> Functional.rmsNorm(t[0], t[1], eps), x, w);
        check("rmsNorm without weight", t -> Functional.rmsNorm(t[0], null, 1e-6f), param(3, 5, 6));
        check("rmsNorm many rows", t -> Functional.rmsNorm(t[0], t[1], eps), param(4, 300, 4), param(5, 4));
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.rmsNorm(Tensor.zeros(2, 8), Tensor.zeros(7), 1e-5f));
        assertTrue(e.getMessage().contains("rmsNorm") && e.getMessage().contains("[7]") && e.getMessage().contains("[2, 8]"), e.getMessage());
    }

    // ---------------------------------------------------------------- rotary embedding

    /** Llama 3.1 apply_scaling, written as Meta's reference loop, in float64. */
    static double[] referenceInvFreq(int d, double theta, RopeScaling sc) {
        double[] f = new double[d / 2];
        for (int i = 0; i < d / 2; i++) {
            double freq = 1.0 / Math.pow(theta, (double) (2 * i) / d);
            if (sc instanceof RopeScaling.Linear l) freq = freq / l.factor();
            else if (sc instanceof RopeScaling.Llama3 l3) {
                double lowWavelen = l3.originalMaxPositionEmbeddings() / l3.lowFreqFactor();
                double highWavelen = l3.originalMaxPositionEmbeddings() / l3.highFreqFactor();
                double wavelen = 2 * Math.PI / freq;
                if (wavelen < highWavelen) {
                    // unchanged
                } else if (wavelen > lowWavelen) {
                    freq = freq / l3.factor();
                } else {
                    double smooth = (l3.originalMaxPositionEmbeddings() / wavelen - l3.lowFreqFactor()) / (l3.highFreqFactor() - l3.lowFreqFactor());
                    freq = (1 - smooth) * freq / l3.factor() + smooth * freq;
                }
            }
            f[i] = freq;
        }
        return f;
    }

    /** HF apply_rotary_pos_emb with rotate_half, in float64. */
    static double[] referenceRope(Tensor x, double[] invFreq, int posOffset) {
        int[] s = x.shape();
        int rows = s[0] * s[1], t = s[2], d = s[3], half = d / 2;
        double[] y = new double[x.numel()];
        for (int r = 0; r < rows; r++)
            for (int ti = 0; ti < t; ti++)
                for (int j = 0; j < d; j++) {
                    int base = (r * t + ti) * d;
                    double angle = (posOffset + ti) * invFreq[j % half];
                    double rotated = j < half ? -x.data()[base + j + half] : x.data()[base + j - half];
                    y[base + j] = x.data()[base + j] * Math.cos(angle) + rotated * Math.sin(angle);
                }
        return y;
    }

    @Test
    void ropeFrequenciesPlainLlama3AndLinear() {
        double[] plain = RopeTable.create(4, 8, 10000, null).invFreq();
        assertArrayEquals(new double[] {1.0, 0.01}, plain, 1e-15);
        RopeScaling l3 = new RopeScaling.Llama3(8.0, 1.0, 4.0, 8192);
        double[] scaled = RopeTable.create(128, 16, 500000, l3).invFreq();
        double[] ref = referenceInvFreq(128, 500000, l3);
        assertArrayEquals(ref, scaled, 1e-15);
        assertEquals(1.0, scaled[0], 1e-15, "high frequencies are kept");
        assertEquals(1.0 / Math.pow(500000, 126.0 / 128) / 8, scaled[63], 1e-20, "low frequencies are divided by factor");
        boolean smoothed = false;
        double[] base = RopeTable.create(128, 16, 500000, null).invFreq();
        for (int i = 0; i < 64; i++) smoothed |= scaled[i] != base[i] && Math.abs(scaled[i] - base[i] / 8) > 1e-12 * base[i];
        assertTrue(smoothed, "some frequencies fall in the interpolated band");
        double[] lin = RopeTable.create(8, 4, 10000, new RopeScaling.Linear(4)).invFreq();
        assertArrayEquals(referenceInvFreq(8, 10000, new RopeScaling.Linear(4)), lin, 1e-15);
    }

    @Test
    void rotaryMatchesRotateHalfReferenceAndFiniteDifferences() {
        RopeTable table = RopeTable.create(8, 32, 10000, new RopeScaling.Llama3(8.0, 1.0, 4.0, 16));
        Tensor x = param(1, 2, 3, 5, 8);
        for (int off : new int[] {0, 7}) {
            double[] ref = referenceRope(x, table.invFreq(), off);
            Tensor y = Functional.rotaryEmbedding(x, table, off);
            for (int i = 0; i < ref.length; i++) assertEquals(ref[i], y.data()[i], 1e-5, "rope offset " + off + " at " + i);
            check("rotaryEmbedding offset " + off, t -> Functional.rotaryEmbedding(t[0], table, off), x);
        }
        // rotate_half pairs element 0 with element D/2, not with element 1 (the interleaved GPT-J layout)
        RopeTable t4 = RopeTable.create(4, 4, 10000, null);
        Tensor e0 = Tensor.of(new float[] {1, 0, 0, 0}, 1, 1, 1, 4);
        Tensor r = Functional.rotaryEmbedding(e0, t4, 2);
        assertArrayEquals(new float[] {(float) Math.cos(2), 0f, (float) Math.sin(2), 0f}, r.data(), 1e-7f);
    }

    @Test
    void rotaryAndScalingErrors() {
        RopeTable table = RopeTable.create(8, 4, 10000, null);
        var pos = assertThrows(IllegalArgumentException.class, () -> Functional.rotaryEmbedding(Tensor.zeros(1, 1, 3, 8), table, 2));
        assertTrue(pos.getMessage().contains("4 positions"), pos.getMessage());
        var dim = assertThrows(IllegalArgumentException.class, () -> Functional.rotaryEmbedding(Tensor.zeros(1, 1, 2, 6), table, 0));
        assertTrue(dim.getMessage().contains("[1, 1, 2, 6]") && dim.getMessage().contains("8"), dim.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new RopeScaling.Llama3(8, 4, 1, 8192));
        assertThrows(IllegalArgumentException.class, () -> RopeTable.create(7, 4, 10000, null));
    }

    // ---------------------------------------------------------------- attention

    /** Direct attention in float64 with GQA and the offset causal mask. */
    static double[] referenceAttention(Tensor q, Tensor k, Tensor v, boolean causal, int posOffset, int window) {
        int b = q.dim(0), h = q.dim(1), t = q.dim(2), d = q.dim(3), hkv = k.dim(1), s = k.dim(2);
        double[] out = new double[b * h * t * d];
        for (int bi = 0; bi < b; bi++)
            for (int hi = 0; hi < h; hi++) {
                int kh = hi / (h / hkv);
                for (int ti = 0; ti < t; ti++) {
                    double[] sc = new double[s];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int si = 0; si < s; si++) {
                        if (causal && si > ti + posOffset || window > 0 && si <= ti + posOffset - window) {
                            sc[si] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int j = 0; j < d; j++) dot += (double) q.get(bi, hi, ti, j) * k.get(bi, kh, si, j);
                        sc[si] = dot / Math.sqrt(d);
                        max = Math.max(max, sc[si]);
                    }
                    double sum = 0;
                    for (int si = 0; si < s; si++) sum += sc[si] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(sc[si] - max);
                    for (int j = 0; j < d; j++) {
                        double acc = 0;
                        for (int si = 0; si < s; si++) if (sc[si] != Double.NEGATIVE_INFINITY) acc += Math.exp(sc[si] - max) / sum * v.get(bi, kh, si, j);
                        out[((bi * h + hi) * t + ti) * d + j] = acc;
                    }
                }
            }
        return out;
    }

    record AttnCase(String name, int b, int h, int hkv, int t, int s, int d, boolean causal, int posOffset, int window) {}

    static final AttnCase[] ATTN = {
        new AttnCase("MHA full", 2, 2, 2, 3, 4, 5, false, 0, 0),
        new AttnCase("GQA causal prefill", 1, 4, 2, 4, 4, 6, true, 0, 0),
        new AttnCase("GQA causal with cache", 2, 4, 1, 3, 5, 4, true, 2, 0),
        new AttnCase("decode step", 1, 2, 1, 1, 6, 4, true, 5, 0),
        new AttnCase("keys longer than a vector", 1, 2, 1, 3, 40, 8, true, 37, 0),
        new AttnCase("long full rows", 1, 1, 1, 2, 35, 4, false, 0, 0),
        new AttnCase("sliding window prefill", 1, 4, 2, 6, 6, 4, true, 0, 3),
        new AttnCase("sliding window with cache", 2, 2, 1, 3, 9, 4, true, 6, 4),
    };

    @Test
    void attentionMatchesFloat64ReferenceOnBothKernelPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            boolean was = Kernels.useVector(vector);
            try {
                int seed = 0;
                for (AttnCase c : ATTN) {
                    Tensor q = param(++seed, c.b, c.h, c.t, c.d), k = param(++seed, c.b, c.hkv, c.s, c.d), v = param(++seed, c.b, c.hkv, c.s, c.d);
                    double[] ref = referenceAttention(q, k, v, c.causal, c.posOffset, c.window);
                    Tensor y = Functional.scaledDotProductAttention(q, k, v, c.causal, c.posOffset, c.window);
                    assertArrayEquals(new int[] {c.b, c.h, c.t, c.d}, y.shape());
                    for (int i = 0; i < ref.length; i++) assertEquals(ref[i], y.data()[i], 1e-5, c.name + " vector=" + vector + " at " + i);
                    try (var ignored = GradMode.off()) { // the no-grad path uses scratch buffers instead of kept probabilities
                        Tensor z = Functional.scaledDotProductAttention(q, k, v, c.causal, c.posOffset, c.window);
                        assertArrayEquals(y.data(), z.data(), c.name);
                    }
                }
            } finally {
                Kernels.useVector(was);
            }
        }
    }

    @Test
    void attentionGradientsForQKV() {
        int seed = 50;
        for (AttnCase c : ATTN) {
            check("sdpa " + c.name, t -> Functional.scaledDotProductAttention(t[0], t[1], t[2], c.causal, c.posOffset, c.window),
                    param(++seed, c.b, c.h, c.t, c.d), param(++seed, c.b, c.hkv, c.s, c.d), param(++seed, c.b, c.hkv, c.s, c.d));
        }
    }

    @Test
    void causalPrefillEqualsTokenByTokenDecode() {
        Tensor q = param(1, 1, 4, 5, 8), k = param(2, 1, 2, 5, 8), v = param(3, 1, 2, 5, 8);
        Tensor full = Functional.scaledDotProductAttention(q, k, v, true, 0);
        for (int t = 0; t < 5; t++) {
            Tensor step = Functional.scaledDotProductAttention(q.slice(2, t, t + 1), k.slice(2, 0, t + 1), v.slice(2, 0, t + 1), true, t);
            Tensor expect = full.slice(2, t, t + 1);
            assertArrayEquals(expect.data(), step.data(), 1e-6f, "token " + t);
        }
    }

    @Test
    void attentionErrorsNameShapes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Functional.scaledDotProductAttention(Tensor.zeros(1, 3, 2, 4), Tensor.zeros(1, 2, 2, 4), Tensor.zeros(1, 2, 2, 4), true, 0));
        assertTrue(e.getMessage().contains("multiple") && e.getMessage().contains("[1, 3, 2, 4]") && e.getMessage().contains("[1, 2, 2, 4]"), e.getMessage());
        var d = assertThrows(IllegalArgumentException.class,
                () -> Functional.scaledDotProductAttention(Tensor.zeros(1, 2, 2, 4), Tensor.zeros(1, 2, 2, 8), Tensor.zeros(1, 2, 2, 8), false, 0));
        assertTrue(d.getMessage().contains("[1, 2, 2, 4]") && d.getMessage().contains("[1, 2, 2, 8]"), d.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Functional.scaledDotProductAttention(Tensor.zeros(1, 2, 2, 4), Tensor.zeros(1, 2, 3, 4), Tensor.zeros(1, 2, 2, 4), false, 0));
        assertThrows(IllegalArgumentException.class,
                () -> Functional.scaledDotProductAttention(Tensor.zeros(1, 2, 2, 4), Tensor.zeros(1, 2, 2, 4), Tensor.zeros(1, 2, 2, 4), true, -1));
    }
}
