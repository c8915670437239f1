package org.goldenstick.ptq.onnx;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.goldenstick.formats.onnx.OnnxAttribute;
import org.goldenstick.formats.onnx.OnnxDataType;
import org.goldenstick.formats.onnx.OnnxModelWriter;

/**
 * A small random BERT-family encoder written with the project's ONNX writer (opset 21: LayerNormalization, Gelu),
 * with its own WordPiece tokenizer.json: a model of another depth, width, head count and vocabulary than
 * all-MiniLM-L6-v2, so that the ONNX PTQ is checked on a graph it was not written against.
 */
final class TinyBert {
    private TinyBert() {}

    record Files2(Path model, Path tokenizer, int matmuls) {}

    static final String[] WORDS = ("the of and a to in that his it i he but as is with was for all this at by whale not from on so him be one you "
            + "there now had have or were they which me then my their upon like are when into no some out more ship what sea up man old if "
            + "ahab would been over these other such only any boat last time its yet very long two though great head still those must said "
            + "after most who see way seemed about where ye let thou like down here white before hand while thing whales through again "
            + "call ishmael years ago never mind how precisely having little money purse nothing particular interest shore thought sail").split(" ");

    /** Writes {@code model.onnx} and {@code tokenizer.json} into {@code dir}. */
    static Files2 write(Path dir, int layers, int hidden, int heads, int ffn, long seed) throws IOException {
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        for (char c = 'a'; c <= 'z'; c++) vocab.add(String.valueOf(c));
        for (char c = 'a'; c <= 'z'; c++) vocab.add("##" + c);
        for (char c = '0'; c <= '9'; c++) vocab.add(String.valueOf(c));
        for (char c : ".,;:!?'\"-—()".toCharArray()) vocab.add(String.valueOf(c));
        for (String w : WORDS) if (!vocab.contains(w)) vocab.add(w);
        for (int i = 0; vocab.size() < 400; i++) vocab.add("##x" + i);   // filler: the word table reaches 400 rows
        int v = vocab.size();
        Path tok = dir.resolve("tokenizer.json");
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.put("version", "1.0");
        root.putObject("truncation").put("max_length", 64);
        root.putObject("normalizer").put("type", "BertNormalizer").put("clean_text", true).put("handle_chinese_chars", true).put("lowercase", true).putNull("strip_accents");
        root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "[CLS]").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        single.addObject().putObject("SpecialToken").put("id", "[SEP]").put("type_id", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "WordPiece").put("unk_token", "[UNK]").put("continuing_subword_prefix", "##").put("max_input_chars_per_word", 100);
        ObjectNode vj = model.putObject("vocab");
        for (int i = 0; i < v; i++) vj.put(vocab.get(i), i);
        Files.writeString(tok, om.writeValueAsString(root));

        Random rnd = new Random(seed);
        OnnxModelWriter w = new OnnxModelWriter("tiny-bert");
        w.addInput("input_ids", OnnxDataType.INT64, "batch", "seq");
        w.addInput("attention_mask", OnnxDataType.INT64, "batch", "seq");
        w.addInput("token_type_ids", OnnxDataType.INT64, "batch", "seq");
        int dh = hidden / heads;
        w.addInitializer("word_embeddings", gauss(rnd, v * hidden, 0.5f), v, hidden);
        w.addInitializer("position_embeddings", gauss(rnd, 128 * hidden, 0.1f), 128, hidden);
        w.addInitializer("token_type_embeddings", gauss(rnd, 2 * hidden, 0.1f), 2, hidden);
        w.addInitializer("idx1", new long[] {1});
        w.addInitializer("zero", new long[] {0}, new long[0]);
        w.addInitializer("one", new long[] {1}, new long[0]);
        w.addInitializer("axes12", new long[] {1, 2}, 2);
        w.addInitializer("f1", new float[] {1f}, new long[0]);
        w.addInitializer("fneg", new float[] {-10000f}, new long[0]);
        w.addInitializer("inv_sqrt_dh", new float[] {(float) (1 / Math.sqrt(dh))}, new long[0]);
        w.addInitializer("heads_shape", new long[] {0, 0, heads, dh}, 4);
        w.addInitializer("hidden_shape", new long[] {0, 0, hidden}, 3);
        w.addNode("Shape", List.of("input_ids"), List.of("ids_shape"));
        w.addNode("Gather", List.of("ids_shape", "one"), List.of("seq_len"), OnnxAttribute.ofInt("axis", 0));
        w.addNode("Range", List.of("zero", "seq_len", "one"), List.of("positions"));
        w.addNode("/embeddings/word/Gather", "Gather", "", List.of("word_embeddings", "input_ids"), List.of("e_word"));
        w.addNode("/embeddings/pos/Gather", "Gather", "", List.of("position_embeddings", "positions"), List.of("e_pos"));
        w.addNode("/embeddings/type/Gather", "Gather", "", List.of("token_type_embeddings", "token_type_ids"), List.of("e_type"));
        w.addNode("Add", List.of("e_word", "e_pos"), List.of("e_sum1"));
        w.addNode("Add", List.of("e_sum1", "e_type"), List.of("e_sum"));
        String x = layerNorm(w, rnd, "e_sum", "emb_ln", hidden);
        w.addNode("Cast", List.of("attention_mask"), List.of("mask_f"), OnnxAttribute.ofInt("to", OnnxDataType.FLOAT.code()));
        w.addNode("Sub", List.of("f1", "mask_f"), List.of("mask_inv"));
        w.addNode("Mul", List.of("mask_inv", "fneg"), List.of("mask_add2"));
        w.addNode("Unsqueeze", List.of("mask_add2", "axes12"), List.of("mask_add"));
        int matmuls = 0;
        for (int l = 0; l < layers; l++) {
            String p = "/encoder/layer." + l;
            String q = dense(w, rnd, p + "/attention/q", x, hidden, hidden);
            String k = dense(w, rnd, p + "/attention/k", x, hidden, hidden);
            String val = dense(w, rnd, p + "/attention/v", x, hidden, hidden);
            matmuls += 3;
            w.addNode("Reshape", List.of(q, "heads_shape"), List.of(p + "_q4"));
            w.addNode("Transpose", List.of(p + "_q4"), List.of(p + "_qt"), OnnxAttribute.ofInts("perm", 0, 2, 1, 3));
            w.addNode("Reshape", List.of(k, "heads_shape"), List.of(p + "_k4"));
            w.addNode("Transpose", List.of(p + "_k4"), List.of(p + "_kt"), OnnxAttribute.ofInts("perm", 0, 2, 3, 1));
            w.addNode("Reshape", List.of(val, "heads_shape"), List.of(p + "_v4"));
            w.addNode("Transpose", List.of(p + "_v4"), List.of(p + "_vt"), OnnxAttribute.ofInts("perm", 0, 2, 1, 3));
            w.addNode("MatMul", List.of(p + "_qt", p + "_kt"), List.of(p + "_scores_raw"));
            w.addNode("Mul", List.of(p + "_scores_raw", "inv_sqrt_dh"), List.of(p + "_scores_s"));
            w.addNode("Add", List.of(p + "_scores_s", "mask_add"), List.of(p + "_scores"));
            w.addNode("Softmax", List.of(p + "_scores"), List.of(p + "_probs"), OnnxAttribute.ofInt("axis", -1));
            w.addNode("MatMul", List.of(p + "_probs", p + "_vt"), List.of(p + "_ctx4"));
            w.addNode("Transpose", List.of(p + "_ctx4"), List.of(p + "_ctxt"), OnnxAttribute.ofInts("perm", 0, 2, 1, 3));
            w.addNode("Reshape", List.of(p + "_ctxt", "hidden_shape"), List.of(p + "_ctx"));
            String o = dense(w, rnd, p + "/attention/output", p + "_ctx", hidden, hidden);
            w.addNode("Add", List.of(o, x), List.of(p + "_res1"));
            String h1 = layerNorm(w, rnd, p + "_res1", p + "_ln1", hidden);
            String up = dense(w, rnd, p + "/intermediate", h1, hidden, ffn);
            w.addNode("Gelu", List.of(up), List.of(p + "_gelu"));
            String down = dense(w, rnd, p + "/output", p + "_gelu", ffn, hidden);
            matmuls += 3;
            w.addNode("Add", List.of(down, h1), List.of(p + "_res2"));
            x = layerNorm(w, rnd, p + "_res2", p + "_ln2", hidden);
        }
        w.addNode("Identity", List.of(x), List.of("last_hidden_state"));
        w.addOutput("last_hidden_state", OnnxDataType.FLOAT, "batch", "seq", hidden);
        Path m = dir.resolve("model.onnx");
        w.write(m);
        return new Files2(m, tok, matmuls);
    }

    private static String dense(OnnxModelWriter w, Random rnd, String name, String x, int in, int out) {
        w.addInitializer(name + ".weight", gauss(rnd, in * out, (float) (1 / Math.sqrt(in))), in, out);
        w.addInitializer(name + ".bias", gauss(rnd, out, 0.02f), out);
        w.addNode(name + "/MatMul", "MatMul", "", List.of(x, name + ".weight"), List.of(name + "_mm"));
        w.addNode(name + "/Add", "Add", "", List.of(name + "_mm", name + ".bias"), List.of(name + "_out"));
        return name + "_out";
    }

    private static String layerNorm(OnnxModelWriter w, Random rnd, String x, String name, int hidden) {
        float[] g = new float[hidden];
        for (int i = 0; i < hidden; i++) g[i] = 1 + 0.1f * (float) rnd.nextGaussian();
        w.addInitializer(name + ".gamma", g, hidden);
        w.addInitializer(name + ".beta", gauss(rnd, hidden, 0.05f), hidden);
        w.addNode(name + "/LayerNorm", "LayerNormalization", "", List.of(x, name + ".gamma", name + ".beta"), List.of(name + "_out"),
                OnnxAttribute.ofInt("axis", -1), OnnxAttribute.ofFloat("epsilon", 1e-12f));
        return name + "_out";
    }

    static float[] gauss(Random rnd, int n, float std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian() * std;
        return a;
    }

}
