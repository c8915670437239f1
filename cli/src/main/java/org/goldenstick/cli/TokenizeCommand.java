package org.goldenstick.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.goldenstick.llm.DemoModel;
import org.goldenstick.llm.tokenizer.ChatPrompt;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code gstick tokenize}: token ids of a text with a model's tokenizer, to compare with other tools. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Tokenize a text file with a model folder's tokenizer.json, or the vocabulary of a .gguf file, and print the ids.")
public final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--model", description = "Model folder or .gguf file (a model or a vocabulary-only GGUF) (default: models/" + DemoModel.NAME + ").")
    Path model;
    @Option(names = "--text", description = "Text file (default: heldout.txt in the model folder, or beside the .gguf file).")
    Path text;
    // Explicit default and fallback values: with only the field initialiser, --no-bos still printed the BOS.
    @Option(names = "--bos", negatable = true, defaultValue = "true", fallbackValue = "true", description = "Prepend the BOS token (default: ${DEFAULT-VALUE}); --no-bos to leave it out.")
    boolean bos;
    @Option(names = "--json", description = "Print one JSON object with tokens and ids (default: ids separated by spaces).")
    boolean json;
    @Mixin
    ChatOptions chatOptions = new ChatOptions();

    /** The {@code --json} object: how many ids, the ids, and with {@code --chat} the rendered prompt. */
    record TokenizeJson(int tokens, int[] ids, String chatPrompt, java.util.Map<String, String> nullReasons) {}

    @Override
    public Integer call() throws Exception {
        Path dir = DemoModel.resolve(model);
        Tokenizer tok = Tokenizers.load(dir);
        String s = Files.readString(DemoModel.heldoutText(dir, text), StandardCharsets.UTF_8);
        ChatPrompt chat = chatOptions.prompt(dir);
        String chatText = chat == null ? null : chatOptions.render(chat, s);
        // The template writes any BOS itself; --bos then does not add another.
        int[] ids = chat == null ? tok.encode(s, bos) : tok.encodeWithSpecialTokens(chatText, false);
        if (json) {
            var why = new Json.Reasons();
            Json.print(new TokenizeJson(ids.length, ids, why.present("chat_prompt", chatText, "no --chat"), why.map()));
            return 0;
        }
        StringBuilder sb = new StringBuilder(ids.length * 6 + 16);
        for (int i = 0; i < ids.length; i++) sb.append(i == 0 ? "" : " ").append(ids[i]);
        System.out.println(sb);
        return 0;
    }
}
