package org.goldenstick.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.goldenstick.tensor.Tensor;

/**
 * An independent float64 forward of each supported family, written with plain loops from the Hugging Face
 * {@code transformers} modeling files (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM,
 * GemmaForCausalLM, Phi3ForCausalLM) and reading config.json and the weights by their Hugging Face names. It shares
 * no code with the engine: the family's differences are decided here from {@code model_type}, not from the engine's
 * family description. Used only to check the engine.
 */
final class FamilyReference {
    private final String type;
    private final JsonNode c;
    private final Map<String, Tensor> w;
    private final int d, layers, nh, nkv, hd, inter, window;
    private final double eps;
    private final double[] invFreq;

    FamilyReference(JsonNode config, Map<String, Tensor> weights) {
        this.c = config;
        this.w = weights;
        type = config.get("model_type").asText();
        d = config.get("hidden_size").asInt();
        layers = config.get("num_hidden_layers").asInt();
        nh = config.get("num_attention_heads").asInt();
        nkv = config.get("num_key_value_heads").asInt();
        hd = config.has("head_dim") ? config.get("head_dim").asInt() : d / nh;
        inter = config.get("intermediate_size").asInt();
        eps = config.get("rms_norm_eps").asDouble();
        // Mistral and Phi-3 mask keys older than sliding_window; Qwen2 only with use_sliding_window (off here)
        window = (type.equals("mistral") || type.equals("phi3")) && config.hasNonNull("sliding_window") ? config.get("sliding_window").asInt() : 0;
        invFreq = invFreq();
    }

    private double[] invFreq() {
        double theta = c.get("rope_theta").asDouble();
        double[] inv = new double[hd / 2];
        JsonNode rs = c.get("rope_scaling");
        for (int i = 0; i < inv.length; i++) {
            double f = 1.0 / Math.pow(theta, 2.0 * i / hd);
            if (rs != null && !rs.isNull() && "llama3".equals(rs.path("rope_type").asText())) {
                // transformers' _compute_llama3_parameters: long wavelengths divided by factor, a smooth blend between
                double factor = rs.get("factor").asDouble(), lo = rs.get("low_freq_factor").asDouble(), hi = rs.get("high_freq_factor").asDouble();
                double old = rs.get("original_max_position_embeddings").asDouble();
                double wavelen = 2 * Math.PI / f;
                if (wavelen > old / lo) {
                    f = f / factor;
                } else if (wavelen >= old / hi) {
                    double smooth = (old / wavelen - lo) / (hi - lo);
                    f = (1 - smooth) * f / factor + smooth * f;
                }
            }
            inv[i] = f;
        }
        return inv;
    }

    /** Logits [T][V] for one sequence starting at position 0. */
    double[][] logits(int[] ids) {
        int t = ids.length;
        boolean gemma = type.equals("gemma"), phi3 = type.equals("phi3");
        double[][] x = new double[t][d];
        float[] emb = w.get("model.embed_tokens.weight").data();
        double scale = gemma ? Math.sqrt(d) : 1;
        for (int i = 0; i < t; i++) for (int j = 0; j < d; j++) x[i][j] = emb[ids[i] * d + j] * scale;
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            double[][] h = rms(x, p + "input_layernorm.weight", gemma);
            double[][] q, k, v;
            if (phi3) {
                double[][] qkv = lin(h, p + "self_attn.qkv_proj");
                q = cols(qkv, 0, nh * hd);
                k = cols(qkv, nh * hd, nkv * hd);
                v = cols(qkv, nh * hd + nkv * hd, nkv * hd);
            } else {
                q = lin(h, p + "self_attn.q_proj");
                k = lin(h, p + "self_attn.k_proj");
                v = lin(h, p + "self_attn.v_proj");
            }
            if (type.equals("qwen3")) {
                perHeadRms(q, nh, p + "self_attn.q_norm.weight");
                perHeadRms(k, nkv, p + "self_attn.k_norm.weight");
            }
            for (int i = 0; i < t; i++) {
                for (int a = 0; a < nh; a++) rope(q[i], a * hd, i);
                for (int a = 0; a < nkv; a++) rope(k[i], a * hd, i);
            }
            double[][] att = new double[t][nh * hd];
            for (int a = 0; a < nh; a++) {
                int g = a / (nh / nkv);
                for (int i = 0; i < t; i++) {
                    int first = window > 0 ? Math.max(0, i - window + 1) : 0;
                    double[] s = new double[i + 1];
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = first; j <= i; j++) {
                        double dot = 0;
                        for (int e = 0; e < hd; e++) dot += q[i][a * hd + e] * k[j][g * hd + e];
                        s[j] = dot / Math.sqrt(hd);
                        mx = Math.max(mx, s[j]);
                    }
                    double z = 0;
                    for (int j = first; j <= i; j++) z += s[j] = Math.exp(s[j] - mx);
                    for (int j = first; j <= i; j++) for (int e = 0; e < hd; e++) att[i][a * hd + e] += s[j] / z * v[j][g * hd + e];
                }
            }
            add(x, lin(att, p + "self_attn.o_proj"));
            h = rms(x, p + "post_attention_layernorm.weight", gemma);
            double[][] gate, up;
            if (phi3) {
                double[][] gu = lin(h, p + "mlp.gate_up_proj");
                gate = cols(gu, 0, inter);
                up = cols(gu, inter, inter);
            } else {
                gate = lin(h, p + "mlp.gate_proj");
                up = lin(h, p + "mlp.up_proj");
            }
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < inter; j++) {
                    double g = gate[i][j];
                    double act = gemma ? 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g))) : g / (1 + Math.exp(-g));
                    gate[i][j] = act * up[i][j];
                }
            }
            add(x, lin(gate, p + "mlp.down_proj"));
        }
        double[][] h = rms(x, "model.norm.weight", gemma);
        String head = w.containsKey("lm_head.weight") ? "lm_head" : "model.embed_tokens";
        return lin(h, head);
    }

    /** Mean next-token NLL of one window (positions 0..T-2 predict 1..T-1), summed; returns {sum, count}. */
    double[] nll(int[] ids) {
        double[][] lg = logits(ids);
        double sum = 0;
        for (int i = 0; i + 1 < ids.length; i++) {
            double mx = Double.NEGATIVE_INFINITY, z = 0;
            for (double v : lg[i]) mx = Math.max(mx, v);
            for (double v : lg[i]) z += Math.exp(v - mx);
            sum -= lg[i][ids[i + 1]] - mx - Math.log(z);
        }
        return new double[] {sum, ids.length - 1};
    }

    /** The greedy continuation of {@code prompt}: up to {@code n} argmax tokens, stopping after {@code eos}. */
    int[] greedy(int[] prompt, int n, int eos) {
        int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + n);
        int len = prompt.length;
        for (int s = 0; s < n; s++) {
            double[][] lg = logits(java.util.Arrays.copyOf(seq, len));
            double[] last = lg[len - 1];
            int best = 0;
            for (int i = 1; i < last.length; i++) if (last[i] > last[best]) best = i;
            seq[len++] = best;
            if (best == eos) break;
        }
        return java.util.Arrays.copyOfRange(seq, prompt.length, len);
    }

    private void rope(double[] v, int off, int pos) {
        int half = hd / 2;
        for (int i = 0; i < half; i++) {
            double a = v[off + i], b = v[off + i + half], ang = pos * invFreq[i];
            v[off + i] = a * Math.cos(ang) - b * Math.sin(ang);
            v[off + i + half] = b * Math.cos(ang) + a * Math.sin(ang);
        }
    }

    /** LlamaRMSNorm (x·w) or GemmaRMSNorm (x·(1 + w)) of each row. */
    private double[][] rms(double[][] x, String name, boolean plusOne) {
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i].clone();
            normalize(out[i], 0, x[i].length, w.get(name).data(), plusOne ? 1 : 0);
        }
        return out;
    }

    /** Qwen3's q_norm/k_norm: an RMSNorm over each head's head_dim values, in place. */
    private void perHeadRms(double[][] x, int heads, String name) {
        for (double[] row : x) for (int a = 0; a < heads; a++) normalize(row, a * hd, hd, w.get(name).data(), 0);
    }

    /** v[off, off+n) ← v / √(mean(v²) + eps) · (base + g). */
    private void normalize(double[] v, int off, int n, float[] g, double base) {
        double ss = 0;
        for (int e = off; e < off + n; e++) ss += v[e] * v[e];
        double r = 1 / Math.sqrt(ss / n + eps);
        for (int e = 0; e < n; e++) v[off + e] = v[off + e] * r * (base + g[e]);
    }

    /** x [T, in] · Wᵀ (+ b) with W [out, in] = {@code name.weight}, b = {@code name.bias} if the checkpoint has it. */
    private double[][] lin(double[][] x, String name) {
        Tensor weight = w.get(name + ".weight");
        Tensor bias = w.get(name + ".bias");
        int out = weight.dim(0), in = weight.dim(1);
        float[] wd = weight.data();
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++)
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias.data()[o];
                for (int j = 0; j < in; j++) s += x[i][j] * wd[o * in + j];
                y[i][o] = s;
            }
        return y;
    }

    private static double[][] cols(double[][] x, int from, int width) {
        double[][] out = new double[x.length][];
        for (int i = 0; i < x.length; i++) out[i] = java.util.Arrays.copyOfRange(x[i], from, from + width);
        return out;
    }

    private static void add(double[][] x, double[][] y) {
        for (int i = 0; i < x.length; i++) for (int j = 0; j < x[i].length; j++) x[i][j] += y[i][j];
    }
}
