package org.goldenstick.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.goldenstick.llm.DemoModel;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.Sampler;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.goldenstick.ptq.QuantizedCheckpoints;
import org.goldenstick.llm.tokenizer.ChatPrompt;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code gstick generate}: continue a prompt with a (float or quantized) Llama model, streaming the text; with
 * {@code --chat} the prompt is a user message in the model's chat template and only the reply is printed.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a prompt (KV-cached, multi-threaded); greedy, temperature and top-p sampling.")
public final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", description = "Model folder, float or quantized (default: models/" + DemoModel.NAME + ").")
    Path model;
    @Option(names = "--prompt", description = "The prompt (default: '${DEFAULT-VALUE}').")
    String prompt = "The";
    @Option(names = "--max-new-tokens", description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    int maxNewTokens = 64;
    @Option(names = "--temperature", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature = 0.8;
    @Option(names = "--top-p", description = "Nucleus sampling mass, 1 = off (default: ${DEFAULT-VALUE}).")
    double topP = 0.95;
    @Option(names = "--seed", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--json", description = "Print one JSON object (text, tokens_per_second, ...) instead of streaming the text.")
    boolean json;
    @Mixin
    ChatOptions chatOptions = new ChatOptions();

    /**
     * The {@code --json} object: {@code text} is the continuation only (without the prompt); {@code tokens_per_second}
     * counts new tokens over the whole call, prefill included.
     */
    record GenerateJson(Path model, String prompt, String chatPrompt, String text, int promptTokens, int newTokens, double seconds, double tokensPerSecond, String sampler,
                        java.util.Map<String, String> nullReasons) {}

    @Override
    public Integer call() throws Exception {
        if (maxNewTokens < 0) throw new IllegalArgumentException("--max-new-tokens must be >= 0, got " + maxNewTokens);
        Sampler sampler = Sampler.of(temperature, topP, seed);
        Path dir = DemoModel.resolve(model);
        Tokenizer tok = Tokenizers.load(dir);
        ChatPrompt chat = chatOptions.prompt(dir);
        LlamaModel m = QuantizedCheckpoints.loadModel(dir);
        // A chat template writes the BOS itself (as Hugging Face's apply_chat_template, then no special tokens added).
        String chatText = chat == null ? null : chatOptions.render(chat, prompt);
        int[] ids = chat == null ? tok.encode(prompt, true) : tok.encodeWithSpecialTokens(chatText, false);
        // The template's end-of-turn string (Qwen's <|im_end|>, Llama 3's <|eot_id|> as eos_token) also ends the reply.
        int turnEnd = chat == null || chat.eosToken().isEmpty() ? -1 : tok.tokenId(chat.eosToken());
        if (ids.length == 0) throw new IllegalArgumentException("the prompt encodes to no tokens and the tokenizer has no BOS");
        int maxPos = m.config().maxPositionEmbeddings();
        if (ids.length + (long) maxNewTokens > maxPos) {
            // generation would stop early without saying why: say it before starting
            throw new IllegalArgumentException("--max-new-tokens " + maxNewTokens + " plus the prompt's " + ids.length + " tokens exceed the model's max_position_embeddings "
                    + maxPos + "; use --max-new-tokens " + Math.max(0, maxPos - ids.length) + " or less");
        }
        if (!json && chat == null) {
            System.out.print(prompt);
            System.out.flush();
        }
        List<Integer> out = new ArrayList<>();
        String[] shown = {""};
        long t0 = System.nanoTime();
        int[] gen = m.generate(ids, maxNewTokens, sampler, t -> {
            if (json) return;
            // Decode the whole continuation each time so multi-token characters print correctly.
            out.add(t);
            String text = tok.decode(out.stream().mapToInt(Integer::intValue).toArray());
            if (text.startsWith(shown[0])) System.out.print(text.substring(shown[0].length()));
            shown[0] = text;
            System.out.flush();
        }, t -> t == tok.eosId() || t == turnEnd || m.config().isEos(t));
        double sec = (System.nanoTime() - t0) / 1e9;
        double tps = gen.length / Math.max(1e-9, sec);
        if (json) {
            var why = new Json.Reasons();
            Json.print(new GenerateJson(dir, prompt, why.present("chat_prompt", chatText, "no --chat"), tok.decode(gen), ids.length, gen.length, sec, tps,
                    sampler.toString(), why.map()));
            return 0;
        }
        System.out.println();
        System.err.printf(Locale.ROOT, "generate: %d prompt + %d new tokens in %.2f s (%.1f tokens/s incl. prefill; %s)%n",
                ids.length, gen.length, sec, tps, sampler);
        return 0;
    }
}
