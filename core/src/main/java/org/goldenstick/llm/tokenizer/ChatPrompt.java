package org.goldenstick.llm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.goldenstick.formats.gguf.GgufFile;
import org.goldenstick.formats.gguf.GgufFormatException;

/**
 * A model's chat template with the special-token strings it refers to ({@code bos_token}, {@code eos_token}),
 * found where the model keeps them: in a folder, {@code chat_template.jinja} or tokenizer_config.json
 * {@code chat_template} (a string, or a list of named templates of which {@code default} is used) with its
 * {@code bos_token}/{@code eos_token}; in a GGUF file, {@code tokenizer.chat_template} with the strings of
 * {@code tokenizer.ggml.bos_token_id}/{@code eos_token_id}.
 *
 * <pre>{@code
 * ChatPrompt chat = ChatPrompt.of(Path.of("Qwen2.5-0.5B-Instruct")).orElseThrow();
 * String prompt = chat.render(List.of(new ChatTemplate.Message("user", "Hi")), true);
 * int[] ids = tokenizer.encodeWithSpecialTokens(prompt, false);   // the template writes any BOS itself
 * }</pre>
 *
 * @param template the parsed template
 * @param bosToken the string {@code bos_token} renders as ("" if none)
 * @param eosToken the string {@code eos_token} renders as ("" if none)
 * @param origin   where the template was found (for messages)
 */
public record ChatPrompt(ChatTemplate template, String bosToken, String eosToken, String origin) {

    /** The template of a model folder or GGUF file, or empty when it has none. */
    public static Optional<ChatPrompt> of(Path model) {
        if (Files.isRegularFile(model) && model.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf")) return ofGguf(model);
        if (!Files.isDirectory(model)) return Optional.empty();
        Path config = model.resolve("tokenizer_config.json");
        JsonNode cfg = null;
        if (Files.isRegularFile(config)) {
            try {
                cfg = new ObjectMapper().readTree(org.goldenstick.formats.TextFiles.read(config));
            } catch (IOException | IllegalArgumentException e) {
                throw new TokenizerException(config + ": cannot read tokenizer_config.json: " + e.getMessage(), e);
            }
        }
        String bos = cfg == null ? "" : tokenString(cfg.path("bos_token"));
        String eos = cfg == null ? "" : tokenString(cfg.path("eos_token"));
        Path jinja = model.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            try {
                return Optional.of(parsed(Files.readString(jinja), bos, eos, jinja.toString()));
            } catch (IOException e) {
                throw new TokenizerException(jinja + ": cannot read: " + e.getMessage(), e);
            }
        }
        if (cfg == null) return Optional.empty();
        JsonNode t = cfg.path("chat_template");
        if (t.isTextual()) return Optional.of(parsed(t.asText(), bos, eos, config + " chat_template"));
        if (t.isArray()) {
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText()) && named.path("template").isTextual())
                    return Optional.of(parsed(named.get("template").asText(), bos, eos, config + " chat_template 'default'"));
            }
            throw new TokenizerException(config + ": chat_template is a list without a 'default' entry");
        }
        return Optional.empty();
    }

    private static Optional<ChatPrompt> ofGguf(Path file) {
        try (GgufFile g = GgufFile.open(file)) {
            if (!g.has("tokenizer.chat_template")) return Optional.empty();
            String[] tokens = g.has("tokenizer.ggml.tokens") ? g.getArray("tokenizer.ggml.tokens").strings() : new String[0];
            return Optional.of(parsed(g.getString("tokenizer.chat_template"), tokenOf(g, "tokenizer.ggml.bos_token_id", tokens),
                    tokenOf(g, "tokenizer.ggml.eos_token_id", tokens), file + " tokenizer.chat_template"));
        } catch (GgufFormatException | IllegalStateException e) {
            throw new TokenizerException(file + ": " + e.getMessage(), e);
        }
    }

    private static String tokenOf(GgufFile g, String key, String[] tokens) {
        if (!g.has(key)) return "";
        long id = g.getLong(key);
        return id >= 0 && id < tokens.length ? tokens[(int) id] : "";
    }

    /** tokenizer_config.json writes a token as a string or as an AddedToken object with "content". */
    private static String tokenString(JsonNode n) {
        if (n.isTextual()) return n.asText();
        if (n.isObject() && n.path("content").isTextual()) return n.get("content").asText();
        return "";
    }

    private static ChatPrompt parsed(String source, String bos, String eos, String origin) {
        try {
            return new ChatPrompt(ChatTemplate.parse(source), bos, eos, origin);
        } catch (TokenizerException e) {
            throw new TokenizerException(origin + ": " + e.getMessage(), e);
        }
    }

    /** Renders the conversation; {@code addGenerationPrompt} opens the assistant's turn. */
    public String render(List<ChatTemplate.Message> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * As {@link #render(List, boolean)} with more template variables (e.g. {@code enable_thinking}, or
     * {@code strftime_now} with a fixed clock; by default it reads the system clock, as transformers does).
     */
    public String render(List<ChatTemplate.Message> messages, boolean addGenerationPrompt, Map<String, ?> variables) {
        Map<String, Object> vars = new HashMap<>();
        vars.put("bos_token", bosToken);
        vars.put("eos_token", eosToken);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("strftime_now", ChatTemplate.strftimeNow(java.time.Clock.systemDefaultZone()));
        vars.putAll(variables);
        try {
            return template.render(messages, vars);
        } catch (TokenizerException e) {
            throw new TokenizerException(origin + ": " + e.getMessage(), e);
        }
    }
}
