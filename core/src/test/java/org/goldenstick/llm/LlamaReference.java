package org.goldenstick.llm;

import org.goldenstick.tensor.RopeScaling;
import java.util.Map;
import org.goldenstick.tensor.Tensor;

/**
 * An independent float64 Llama forward written with plain loops from the Hugging Face definitions
 * (LlamaRMSNorm, rotate-half RoPE with llama3/linear scaling, GQA with repeat_kv, SwiGLU), reading weights
 * by their Hugging Face names. Used only to check the engine.
 */
final class LlamaReference {
    private LlamaReference() {}

    /** Logits [T][V] for one sequence. */
    static double[][] logits(LlamaConfig c, Map<String, Tensor> w, int[] ids) {
        int t = ids.length, d = c.hiddenSize(), hd = c.headDim(), nh = c.numAttentionHeads(), nkv = c.numKeyValueHeads();
        double[][] x = new double[t][d];
        float[] emb = w.get("model.embed_tokens.weight").data();
        for (int i = 0; i < t; i++) for (int j = 0; j < d; j++) x[i][j] = emb[ids[i] * d + j];
        double[] inv = invFreq(c);
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[][] h = rms(x, w.get(p + "input_layernorm.weight"), c.rmsNormEps());
            double[][] q = lin(h, w.get(p + "self_attn.q_proj.weight"));
            double[][] k = lin(h, w.get(p + "self_attn.k_proj.weight"));
            double[][] v = lin(h, w.get(p + "self_attn.v_proj.weight"));
            for (int i = 0; i < t; i++) {
                for (int a = 0; a < nh; a++) rope(q[i], a * hd, hd, i, inv);
                for (int a = 0; a < nkv; a++) rope(k[i], a * hd, hd, i, inv);
            }
            double[][] att = new double[t][nh * hd];
            for (int a = 0; a < nh; a++) {
                int g = a / (nh / nkv);
                for (int i = 0; i < t; i++) {
                    double[] s = new double[i + 1];
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int e = 0; e < hd; e++) dot += q[i][a * hd + e] * k[j][g * hd + e];
                        s[j] = dot / Math.sqrt(hd);
                        mx = Math.max(mx, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j <= i; j++) z += s[j] = Math.exp(s[j] - mx);
                    for (int j = 0; j <= i; j++) for (int e = 0; e < hd; e++) att[i][a * hd + e] += s[j] / z * v[j][g * hd + e];
                }
            }
            add(x, lin(att, w.get(p + "self_attn.o_proj.weight")));
            h = rms(x, w.get(p + "post_attention_layernorm.weight"), c.rmsNormEps());
            double[][] gate = lin(h, w.get(p + "mlp.gate_proj.weight")), up = lin(h, w.get(p + "mlp.up_proj.weight"));
            for (int i = 0; i < t; i++) for (int j = 0; j < gate[i].length; j++) gate[i][j] = gate[i][j] / (1 + Math.exp(-gate[i][j])) * up[i][j];
            add(x, lin(gate, w.get(p + "mlp.down_proj.weight")));
        }
        double[][] h = rms(x, w.get("model.norm.weight"), c.rmsNormEps());
        Tensor head = c.tieWordEmbeddings() ? w.get("model.embed_tokens.weight") : w.get("lm_head.weight");
        return lin(h, head);
    }

    static double[] invFreq(LlamaConfig c) {
        int hd = c.headDim();
        double[] inv = new double[hd / 2];
        for (int i = 0; i < inv.length; i++) {
            double f = Math.pow(c.ropeTheta(), -2.0 * i / hd);
            if (c.ropeScaling() instanceof RopeScaling.Linear l) f /= l.factor();
            if (c.ropeScaling() instanceof RopeScaling.Llama3 s) {
                // Meta's apply_scaling from llama-models, written independently of the engine.
                double wav = 2 * Math.PI / f;
                double lowW = s.originalMaxPositionEmbeddings() / s.lowFreqFactor(), highW = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
                if (wav < highW) {
                    // high frequency: unchanged
                } else if (wav > lowW) {
                    f = f / s.factor();
                } else {
                    double sm = (s.originalMaxPositionEmbeddings() / wav - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                    f = (1 - sm) * f / s.factor() + sm * f;
                }
            }
            inv[i] = f;
        }
        return inv;
    }

    private static void rope(double[] v, int off, int hd, int pos, double[] inv) {
        int half = hd / 2;
        for (int i = 0; i < half; i++) {
            double a = v[off + i], b = v[off + i + half], ang = pos * inv[i];
            v[off + i] = a * Math.cos(ang) - b * Math.sin(ang);
            v[off + i + half] = b * Math.cos(ang) + a * Math.sin(ang);
        }
    }

    private static double[][] rms(double[][] x, Tensor weight, double eps) {
        float[] g = weight.data();
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            double ss = 0;
            for (double v : x[i]) ss += v * v;
            double r = 1 / Math.sqrt(ss / x[i].length + eps);
            out[i] = new double[x[i].length];
            for (int j = 0; j < x[i].length; j++) out[i][j] = x[i][j] * r * g[j];
        }
        return out;
    }

    /** x [T, in] · Wᵀ with W [out, in]. */
    private static double[][] lin(double[][] x, Tensor weight) {
        int out = weight.dim(0), in = weight.dim(1);
        float[] w = weight.data();
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++)
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int j = 0; j < in; j++) s += x[i][j] * w[o * in + j];
                y[i][o] = s;
            }
        return y;
    }

    private static void add(double[][] x, double[][] y) {
        for (int i = 0; i < x.length; i++) for (int j = 0; j < x[i].length; j++) x[i][j] += y[i][j];
    }
}
