package org.goldenstick.llm.tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Collectors;

/**
 * How a byte-level BPE tokenizer cuts text into words before merging: a sequence of steps, each applied to
 * every piece the previous steps produced.
 *
 * <ul>
 *   <li>{@link Step.Split}: a regex cuts a piece into its matches <em>and</em> the stretches between them
 *       (Hugging Face {@code Split} with behaviour {@code Isolated}; llama.cpp's {@code regex_exprs}). A match
 *       never crosses a piece boundary, and lookaheads and {@code \z} see only the piece.</li>
 *   <li>{@link Step.ByteMap}: each piece's UTF-8 bytes become the printable characters of {@link ByteLevel}.
 *       Steps after it see the mapped text (Falcon's tokenizer.json runs {@code Digits} after
 *       {@code ByteLevel}); without an explicit one the map is applied last.</li>
 * </ul>
 *
 * {@link #forGguf(String)} knows llama.cpp's {@code tokenizer.ggml.pre} names; {@link HfTokenizerJson} builds
 * the steps from a tokenizer.json {@code pre_tokenizer}.
 *
 * <pre>{@code
 * PreTokenizer qwen = PreTokenizer.forGguf("qwen2");
 * List<String> words = qwen.split("Hello 123");   // ["Hello", "Ġ", "1", "2", "3"] (byte-mapped)
 * }</pre>
 */
public final class PreTokenizer {

    /** One step of the sequence. */
    public sealed interface Step {
        /** Cut each piece at the matches of {@code pattern}, keeping matches and gaps. */
        record Split(Pattern pattern) implements Step {}

        /** Map each piece's UTF-8 bytes to {@link ByteLevel} characters. */
        record ByteMap() implements Step {}
    }

    /** The GPT-2 regex (also the one Hugging Face's {@code ByteLevel(use_regex=true)} applies). */
    public static final String GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    /** The Llama 3 regex as its tokenizer.json writes it. */
    public static final String LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    // Contractions spelled case by case rather than with (?i:…): under Java's Unicode case folding (?i:'s) would
    // also take "'ſ" (long s), which llama.cpp's rewritten regexes do not.
    private static final String CONTRACTIONS_ANY_CASE = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
    private static final String GPT2_LLAMACPP = GPT2_REGEX;
    private static final String LLAMA3_LLAMACPP = CONTRACTIONS_ANY_CASE
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2_LLAMACPP = CONTRACTIONS_ANY_CASE
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN35_LLAMACPP = CONTRACTIONS_ANY_CASE
            + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    // Letters of the scripts DeepSeek-LLM's tokenizer treats as words (Latin, Greek, Cyrillic, Armenian, Georgian,
    // Cherokee, Glagolitic, Coptic, Deseret, Osage, Old Hungarian, Warang Citi, Adlam and their compatibility forms).
    private static final String DEEPSEEK_LETTERS = "A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af"
            + "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481"
            + "\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b"
            + "\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d"
            + "\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec"
            + "\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d"
            + "\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee"
            + "\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06"
            + "\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\\x{10400}-\\x{1044f}\\x{104b0}-\\x{104d3}\\x{104d8}-\\x{104fb}"
            + "\\x{10c80}-\\x{10cb2}\\x{10cc0}-\\x{10cf2}\\x{118a0}-\\x{118df}\\x{1e900}-\\x{1e943}";
    private static final String CJK_HANGUL = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";

    /** A llama.cpp pre-tokenizer: its names, its regexes (Java syntax) and whether whole-word tokens skip merging. */
    private record Known(List<String> names, List<String> regexes, boolean ignoreMerges) {}

    private static final List<Known> KNOWN = List.of(
            new Known(List.of("gpt-2", "phi-2", "mpt", "olmo"), List.of(GPT2_LLAMACPP), false),
            // What llama.cpp applies for an explicit "default" (and, with a warning, for a missing key).
            new Known(List.of("default"), List.of("[\\p{P}$+<=>^~|]+", GPT2_LLAMACPP, "\\p{N}+", "[0-9][0-9][0-9]"), false),
            new Known(List.of("llama-bpe", "llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe"), List.of(LLAMA3_LLAMACPP), true),
            new Known(List.of("qwen2", "deepseek-r1-qwen", "stablelm2"), List.of(QWEN2_LLAMACPP), false),
            new Known(List.of("qwen35"), List.of(QWEN35_LLAMACPP), false),
            new Known(List.of("deepseek-llm"), List.of("[\\r\\n]", "\\s?[" + DEEPSEEK_LETTERS + "]+",
                    "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+", "\\s+\\z", CJK_HANGUL, "\\p{N}+"), false),
            new Known(List.of("deepseek-coder"), List.of("[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK_HANGUL, "\\p{N}"), false),
            new Known(List.of("falcon"), List.of("[\\p{P}$+<=>^~|`]+", GPT2_LLAMACPP, "[0-9][0-9][0-9]"), false),
            new Known(List.of("starcoder", "refact", "command-r", "smollm", "codeshell"), List.of("\\p{N}", GPT2_LLAMACPP), false));

    private static final Map<String, Known> BY_NAME = new LinkedHashMap<>();

    static {
        for (Known k : KNOWN) for (String n : k.names()) BY_NAME.put(n, k);
    }

    private final List<Step> steps;
    private final String ggufName;
    private final boolean ignoreMerges;

    private PreTokenizer(List<Step> steps, String ggufName, boolean ignoreMerges) {
        List<Step> s = new ArrayList<>(steps);
        if (s.stream().noneMatch(x -> x instanceof Step.ByteMap)) s.add(new Step.ByteMap());
        if (s.stream().filter(x -> x instanceof Step.ByteMap).count() > 1) throw new TokenizerException("pre-tokenizer maps bytes more than once");
        this.steps = List.copyOf(s);
        this.ggufName = ggufName;
        this.ignoreMerges = ignoreMerges;
    }

    /** The names {@link #forGguf} accepts. */
    public static List<String> ggufNames() {
        return List.copyOf(BY_NAME.keySet());
    }

    /**
     * llama.cpp's pre-tokenizer for {@code tokenizer.ggml.pre = name}. {@code null} (key absent, as in GGUF files
     * converted before the key existed, e.g. llama.cpp's gpt-neox vocabulary) means the GPT-2 regex, the
     * pre-tokenizer of the tokenizers those files were converted from; llama.cpp instead warns and applies its
     * "default" rules, which split punctuation from the word before it.
     */
    public static PreTokenizer forGguf(String name) {
        String n = name == null ? "gpt-2" : name;
        Known k = BY_NAME.get(n);
        if (k == null) throw new TokenizerException("key 'tokenizer.ggml.pre' = '" + n + "' is not supported (supported: "
                + String.join(", ", BY_NAME.keySet()) + ")");
        List<Step> steps = new ArrayList<>();
        for (String r : k.regexes()) steps.add(new Step.Split(compile(r)));
        return new PreTokenizer(steps, k.names().get(0), k.ignoreMerges());
    }

    /** Steps read from a tokenizer.json; the GGUF name is recognised when the regexes equal a known one's. */
    public static PreTokenizer of(List<Step> steps) {
        List<String> regexes = new ArrayList<>();
        boolean mapLast = true;
        for (int i = 0; i < steps.size(); i++) {
            if (steps.get(i) instanceof Step.Split sp) regexes.add(canonical(sp.pattern().pattern()));
            else mapLast = i == steps.size() - 1;
        }
        String name = null;
        if (mapLast) {
            for (Known k : KNOWN) {
                if (k.regexes().stream().map(PreTokenizer::canonical).toList().equals(regexes)) {
                    name = k.names().get(0);
                    break;
                }
            }
        }
        return new PreTokenizer(steps, name, false);
    }

    /** A regex as Java compiles it for pre-tokenizers (Unicode classes: {@code \s}, {@code \p{L}}, …). */
    public static Pattern compile(String regex) {
        try {
            return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS | Pattern.UNICODE_CASE);
        } catch (PatternSyntaxException e) {
            throw new TokenizerException("pre-tokenizer regex does not compile: " + e.getDescription() + " in '" + regex + "'");
        }
    }

    private static String canonical(String regex) {
        return regex.replace("(?i:'s|'t|'re|'ve|'m|'ll|'d)", CONTRACTIONS_ANY_CASE);
    }

    public List<Step> steps() {
        return steps;
    }

    /** llama.cpp's name for this pre-tokenizer ({@code tokenizer.ggml.pre}), or null when none matches. */
    public String ggufName() {
        return ggufName;
    }

    /** llama.cpp sets {@code ignore_merges} with the Llama 3 pre-tokenizer: a word that is a token is kept whole. */
    public boolean ignoreMerges() {
        return ignoreMerges;
    }

    /** The byte-mapped words of {@code text}, in order; their concatenation maps back to the text. */
    public List<String> split(String text) {
        List<String> pieces = new ArrayList<>();
        pieces.add(text);
        for (Step step : steps) {
            List<String> next = new ArrayList<>(pieces.size() * 2);
            switch (step) {
                case Step.ByteMap m -> {
                    for (String p : pieces) next.add(ByteLevel.encode(p));
                }
                case Step.Split s -> {
                    for (String p : pieces) cut(s.pattern(), p, next);
                }
            }
            pieces = next;
        }
        return pieces;
    }

    private static void cut(Pattern pattern, String piece, List<String> out) {
        Matcher m = pattern.matcher(piece);
        int pos = 0;
        while (m.find()) {
            if (m.end() == m.start()) continue;
            if (m.start() > pos) out.add(piece.substring(pos, m.start()));
            out.add(m.group());
            pos = m.end();
        }
        if (pos < piece.length()) out.add(piece.substring(pos));
    }

    @Override
    public String toString() {
        return (ggufName != null ? ggufName + " " : "") + steps.stream().map(s -> s instanceof Step.Split sp ? "Split(" + sp.pattern().pattern() + ")" : "ByteMap")
                .collect(Collectors.joining(", ", "[", "]"));
    }
}
