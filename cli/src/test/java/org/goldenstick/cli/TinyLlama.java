package org.goldenstick.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.tokenizer.BpeTrainer;

/** A tiny random Llama folder with a freshly trained BPE tokenizer and its held-out text, for the LLM command tests. */
record TinyLlama(Path dir, String text) {
    /** The companion files of the tiny models: a BPE tokenizer.json (BOS 0, EOS 1) trained on heldout.txt, in {@code tmp/src}. */
    record Companions(Path dir, String text, int vocabSize) {}

    static Companions companions(Path tmp) throws Exception {
        StringBuilder sb = new StringBuilder();
        String[] words = {"the", "whale", "ship", "sea", "captain", "of", "and", "a", "white", "ocean", "to", "sail"};
        java.util.Random rng = new java.util.Random(1);
        for (int i = 0; i < 400; i++) sb.append(words[rng.nextInt(words.length)]).append(i % 9 == 8 ? ".\n" : " ");
        String text = sb.toString();
        BpeTrainer.Result vocab = BpeTrainer.train(List.of(text), new BpeTrainer.Options(300, 2, List.of("<s>", "</s>")));
        Path src = Files.createDirectories(tmp.resolve("src"));
        vocab.write(src.resolve("tokenizer.json"));
        Files.writeString(src.resolve("heldout.txt"), text);
        return new Companions(src, text, vocab.tokens().size());
    }

    static TinyLlama create(Path tmp) throws Exception {
        Companions comp = companions(tmp);
        Path src = comp.dir();
        String text = comp.text();
        int v = comp.vocabSize();
        LlamaConfig c = new LlamaConfig(32, 64, 2, 4, 2, 8, 1e-5, 10000.0, null, v, 128, true, 0, new int[] {1}, "float32",
                List.of("LlamaForCausalLM"), Map.of());
        LlamaModel m = LlamaModel.withRandomWeights(c, 3);
        Path dir = tmp.resolve("tiny");
        HfCheckpoint.save(m, dir, DType.F32, src, false);
        return new TinyLlama(dir, text);
    }
}
