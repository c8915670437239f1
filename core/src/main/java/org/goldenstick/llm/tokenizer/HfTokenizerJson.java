package org.goldenstick.llm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a Hugging Face {@code tokenizer.json} with a BPE model: the SentencePiece style of Llama 2
 * (normalizer {@code Prepend("▁")} + {@code Replace(" ", "▁")}, {@code byte_fallback}) and the byte-level
 * style of GPT-2 / Llama 3 / Qwen2 / DeepSeek / Falcon ({@code ByteLevel} pre-tokenizer in a {@code Sequence}
 * with regex {@code Split}s, {@code Digits} and {@code Punctuation}; see {@link PreTokenizer}).
 *
 * <pre>{@code
 * BpeTokenizer tok = HfTokenizerJson.load(Path.of("tokenizer.json"));
 * }</pre>
 */
public final class HfTokenizerJson {
    private HfTokenizerJson() {}

    public static BpeTokenizer load(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(org.goldenstick.formats.TextFiles.read(file));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new TokenizerException(file + ": cannot read tokenizer.json: not valid JSON: " + e.getOriginalMessage() + " (line " + e.getLocation().getLineNr() + ")", e);
        } catch (IOException | IllegalArgumentException e) {
            throw new TokenizerException(file + ": cannot read tokenizer.json: " + e.getMessage(), e);
        }
        try {
            return parse(root);
        } catch (TokenizerException e) {
            throw new TokenizerException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * A {@code tokenizer.json} for a byte-level BPE tokenizer, e.g. one read from a GGUF vocabulary, that {@link #load}
     * reads back as the same tokenizer: its pre-tokenizer steps as a {@code Sequence} of {@code Split}s and a
     * {@code ByteLevel}, every token in {@code model.vocab}, merges in rank order, control tokens as special {@code added_tokens}, user-defined ones as non-special, and a
     * {@code TemplateProcessing} post-processor putting BOS first when the tokenizer has one. SentencePiece-style
     * vocabularies (merging by score) are refused: their merges list would have to be derived from the scores.
     *
     * <pre>{@code
     * String json = HfTokenizerJson.toJson(GgufTokenizer.load(Path.of("model.gguf")));
     * }</pre>
     */
    public static String toJson(BpeTokenizer tok) {
        BpeTokenizer.Spec spec = tok.spec();
        if (spec.flavor() != BpeTokenizer.Flavor.BYTE_LEVEL || spec.merges().ranks() == null) {
            throw new TokenizerException("writing tokenizer.json: only byte-level BPE vocabularies (GGUF tokenizer.ggml.model 'gpt2') are supported; this one is " + spec.flavor());
        }
        if (spec.preTokenizer() == null) throw new TokenizerException("writing tokenizer.json: the byte-level tokenizer has no pre-tokenizer");
        com.fasterxml.jackson.databind.node.JsonNodeFactory f = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance;
        com.fasterxml.jackson.databind.node.ObjectNode root = f.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        var added = root.putArray("added_tokens");
        java.util.TreeMap<Integer, Boolean> addedIds = new java.util.TreeMap<>();
        spec.controlIds().forEach(id -> addedIds.put(id, true));
        spec.addedTokens().values().forEach(id -> addedIds.putIfAbsent(id, false));
        for (var e : addedIds.entrySet()) {
            added.addObject().put("id", e.getKey()).put("content", spec.tokens().get(e.getKey())).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", e.getValue());
        }
        root.putNull("normalizer");
        // each regex step as an Isolated Split, the byte map as ByteLevel without its own regex: what load() reads back
        var seq = root.putObject("pre_tokenizer").put("type", "Sequence").putArray("pretokenizers");
        for (PreTokenizer.Step step : spec.preTokenizer().steps()) {
            switch (step) {
                case PreTokenizer.Step.Split sp -> {
                    var split = seq.addObject().put("type", "Split");
                    split.putObject("pattern").put("Regex", sp.pattern().pattern());
                    split.put("behavior", "Isolated").put("invert", false);
                }
                case PreTokenizer.Step.ByteMap bm -> seq.addObject().put("type", "ByteLevel").put("add_prefix_space", spec.addPrefixSpace()).put("trim_offsets", true).put("use_regex", false);
            }
        }
        if (spec.bosId() >= 0) {
            String bos = spec.tokens().get(spec.bosId());
            var post = root.putObject("post_processor").put("type", "TemplateProcessing");
            var single = post.putArray("single");
            single.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            var pair = post.putArray("pair");
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 1);
            pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
            var st = post.putObject("special_tokens").putObject(bos);
            st.put("id", bos);
            st.putArray("ids").add(spec.bosId());
            st.putArray("tokens").add(bos);
        } else {
            root.putNull("post_processor");
        }
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true).put("use_regex", true);
        var model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        if (spec.unkId() >= 0) model.put("unk_token", spec.tokens().get(spec.unkId()));
        else model.putNull("unk_token");
        model.putNull("continuing_subword_prefix").putNull("end_of_word_suffix").put("fuse_unk", false).put("byte_fallback", spec.byteFallback())
                .put("ignore_merges", spec.ignoreMerges());
        var vocab = model.putObject("vocab");
        for (int i = 0; i < spec.tokens().size(); i++) {
            if (vocab.has(spec.tokens().get(i))) throw new TokenizerException("writing tokenizer.json: token '" + spec.tokens().get(i) + "' appears twice (ids " + vocab.get(spec.tokens().get(i)) + " and " + i + ")");
            vocab.put(spec.tokens().get(i), i);
        }
        List<Map.Entry<BpeTokenizer.Pair, Integer>> byRank = new ArrayList<>(spec.merges().ranks().entrySet());
        byRank.sort(Map.Entry.comparingByValue());
        var merges = model.putArray("merges");
        for (var e : byRank) merges.addArray().add(e.getKey().left()).add(e.getKey().right());
        try {
            return new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static BpeTokenizer parse(JsonNode root) {
        if (root == null || !root.isObject()) throw new TokenizerException("top level is not a JSON object");
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) throw new TokenizerException("field 'model' is missing");
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) throw new TokenizerException("model.type '" + type + "' is not supported (only BPE)");
        if (!model.path("continuing_subword_prefix").isNull() && !model.path("continuing_subword_prefix").isMissingNode() && !model.path("continuing_subword_prefix").asText().isEmpty())
            throw new TokenizerException("model.continuing_subword_prefix is not supported");
        JsonNode vocab = model.get("vocab");
        if (vocab == null || !vocab.isObject()) throw new TokenizerException("field 'model.vocab' is missing or not an object");

        // Vocabulary: model.vocab plus added tokens; ids must be dense 0..n-1.
        Map<Integer, String> byId = new HashMap<>();
        var it = vocab.fields();
        while (it.hasNext()) {
            var e = it.next();
            if (!e.getValue().canConvertToInt()) throw new TokenizerException("model.vocab['" + e.getKey() + "'] is not an integer id");
            putId(byId, e.getValue().asInt(), e.getKey(), "model.vocab");
        }
        Map<String, Integer> added = new LinkedHashMap<>();
        Set<Integer> control = new HashSet<>();
        JsonNode addedTokens = root.path("added_tokens");
        if (!addedTokens.isMissingNode() && !addedTokens.isNull() && !addedTokens.isArray()) throw new TokenizerException("field 'added_tokens' is not an array");
        for (JsonNode a : addedTokens) {
            if (!a.path("id").canConvertToInt() || !a.path("content").isTextual()) throw new TokenizerException("added_tokens entry " + a + " lacks id/content");
            int id = a.get("id").asInt();
            String content = a.get("content").asText();
            if (!content.equals(byId.get(id))) putId(byId, id, content, "added_tokens");
            added.put(content, id);
            if (a.path("special").asBoolean(false)) control.add(id);
        }
        int n = byId.size();
        List<String> tokens = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String t = byId.get(i);
            if (t == null) throw new TokenizerException("vocabulary ids are not dense: id " + i + " is missing (" + n + " tokens)");
            tokens.add(t);
        }

        // Merges: ["a b", ...] (classic) or [["a","b"], ...] (tokenizers >= 0.20).
        JsonNode mergesNode = model.path("merges");
        if (!mergesNode.isArray()) throw new TokenizerException("field 'model.merges' is missing or not an array");
        Map<BpeTokenizer.Pair, Integer> ranks = new HashMap<>(mergesNode.size() * 2);
        int rank = 0;
        for (JsonNode m : mergesNode) {
            String l, r;
            if (m.isTextual()) {
                String s = m.asText();
                int sp = s.indexOf(' ', 1);
                if (sp < 0) throw new TokenizerException("model.merges[" + rank + "] '" + s + "' is not 'left right'");
                l = s.substring(0, sp);
                r = s.substring(sp + 1);
            } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
                l = m.get(0).asText();
                r = m.get(1).asText();
            } else {
                throw new TokenizerException("model.merges[" + rank + "] is neither a string nor a pair of strings");
            }
            ranks.putIfAbsent(new BpeTokenizer.Pair(l, r), rank);
            rank++;
        }

        boolean byteFallback = model.path("byte_fallback").asBoolean(false);
        boolean ignoreMerges = model.path("ignore_merges").asBoolean(false);
        int unkId = -1;
        if (model.path("unk_token").isTextual()) {
            String unk = model.get("unk_token").asText();
            Integer id = vocab.has(unk) ? Integer.valueOf(vocab.get(unk).asInt()) : added.get(unk);
            if (id == null) throw new TokenizerException("model.unk_token '" + unk + "' is not in the vocabulary");
            unkId = id;
        }

        // Normalizer and pre-tokenizer decide the flavour.
        boolean[] prepend = {false};
        boolean[] spaceToMeta = {false};
        readNormalizer(root.path("normalizer"), prepend, spaceToMeta);
        List<PreTokenizer.Step> steps = new ArrayList<>();
        boolean[] byteLevel = {false};
        boolean[] bytePrefixSpace = {false};
        boolean[] metaspace = {false};
        readPreTokenizer(root.path("pre_tokenizer"), steps, byteLevel, bytePrefixSpace, metaspace);

        BpeTokenizer.Flavor flavor;
        boolean addPrefix;
        if (byteLevel[0]) {
            flavor = BpeTokenizer.Flavor.BYTE_LEVEL;
            addPrefix = bytePrefixSpace[0];
        } else if (metaspace[0] || spaceToMeta[0] || byteFallback) {
            flavor = BpeTokenizer.Flavor.SENTENCEPIECE;
            addPrefix = prepend[0] || metaspace[0];
            if (!steps.isEmpty()) throw new TokenizerException("a Split/Digits/Punctuation pre-tokenizer without ByteLevel is not supported");
        } else {
            throw new TokenizerException("cannot tell the BPE flavour: neither a ByteLevel pre-tokenizer nor a SentencePiece normalizer/Metaspace/byte_fallback");
        }

        int bos = specialId(root, added, true);
        int eos = specialId(root, added, false);
        return new BpeTokenizer(new BpeTokenizer.Spec(flavor, tokens, BpeTokenizer.Merges.byRank(ranks), added, control,
                addPrefix, flavor == BpeTokenizer.Flavor.BYTE_LEVEL ? PreTokenizer.of(steps) : null, byteFallback, ignoreMerges, unkId, bos, eos));
    }

    private static void putId(Map<Integer, String> byId, int id, String token, String where) {
        if (id < 0) throw new TokenizerException(where + ": token '" + token + "' has negative id " + id);
        String old = byId.put(id, token);
        if (old != null && !old.equals(token)) throw new TokenizerException(where + ": id " + id + " is used by both '" + old + "' and '" + token + "'");
    }

    private static void readNormalizer(JsonNode n, boolean[] prepend, boolean[] spaceToMeta) {
        if (n.isMissingNode() || n.isNull()) return;
        String type = n.path("type").asText("");
        switch (type) {
            case "Sequence" -> {
                for (JsonNode c : n.path("normalizers")) readNormalizer(c, prepend, spaceToMeta);
            }
            case "Prepend" -> {
                if (!"\u2581".equals(n.path("prepend").asText())) throw new TokenizerException("normalizer Prepend('" + n.path("prepend").asText() + "') is not supported (only '▁')");
                prepend[0] = true;
            }
            case "Replace" -> {
                String pattern = n.path("pattern").path("String").asText(null);
                if (!" ".equals(pattern) || !"\u2581".equals(n.path("content").asText()))
                    throw new TokenizerException("normalizer Replace " + n + " is not supported (only ' ' -> '▁')");
                spaceToMeta[0] = true;
            }
            case "NFC", "NFKC", "NFD", "NFKD", "Lowercase", "Strip", "StripAccents", "BertNormalizer", "Precompiled" ->
                    throw new TokenizerException("normalizer '" + type + "' is not supported");
            default -> throw new TokenizerException("unknown normalizer type '" + type + "'");
        }
    }

    // Hugging Face's Punctuation pre-tokenizer cuts at ASCII punctuation (which includes $+<=>^`|~, Unicode
    // symbols) and at Unicode punctuation.
    private static final String PUNCTUATION_CLASS = "[\\p{P}$+<=>^`|~]";

    private static void readPreTokenizer(JsonNode n, List<PreTokenizer.Step> steps, boolean[] byteLevel, boolean[] prefixSpace, boolean[] metaspace) {
        if (n.isMissingNode() || n.isNull()) return;
        String type = n.path("type").asText("");
        switch (type) {
            case "Sequence" -> {
                for (JsonNode c : n.path("pretokenizers")) readPreTokenizer(c, steps, byteLevel, prefixSpace, metaspace);
            }
            case "ByteLevel" -> {
                byteLevel[0] = true;
                prefixSpace[0] = n.path("add_prefix_space").asBoolean(false);
                if (n.path("use_regex").asBoolean(true)) steps.add(new PreTokenizer.Step.Split(PreTokenizer.compile(PreTokenizer.GPT2_REGEX)));
                steps.add(new PreTokenizer.Step.ByteMap());
            }
            case "Split" -> {
                if (n.path("invert").asBoolean(false)) throw new TokenizerException("pre_tokenizer Split with invert=true is not supported");
                JsonNode p = n.path("pattern");
                String regex;
                if (p.has("Regex")) regex = p.get("Regex").asText();
                else if (p.has("String")) regex = Pattern.quote(p.get("String").asText());
                else throw new TokenizerException("pre_tokenizer Split has no pattern");
                steps.add(new PreTokenizer.Step.Split(PreTokenizer.compile(grouped(regex, n.path("behavior").asText("Isolated"), "Split"))));
            }
            case "Digits" -> steps.add(new PreTokenizer.Step.Split(PreTokenizer.compile(n.path("individual_digits").asBoolean(false) ? "\\p{N}" : "\\p{N}+")));
            case "Punctuation" -> steps.add(new PreTokenizer.Step.Split(PreTokenizer.compile(grouped(PUNCTUATION_CLASS, n.path("behavior").asText("Isolated"), "Punctuation"))));
            case "Metaspace" -> {
                String scheme = n.path("prepend_scheme").asText(n.path("add_prefix_space").asBoolean(true) ? "always" : "never");
                if (!"\u2581".equals(n.path("replacement").asText("\u2581"))) throw new TokenizerException("Metaspace replacement other than '▁' is not supported");
                if (n.path("split").asBoolean(false)) throw new TokenizerException("Metaspace with split=true is not supported");
                metaspace[0] = !scheme.equals("never");
            }
            default -> throw new TokenizerException("pre_tokenizer type '" + type + "' is not supported (supported: Sequence, ByteLevel, Split, Digits, Punctuation, Metaspace)");
        }
    }

    /** A delimiter regex under a split behaviour: Isolated keeps each match; Contiguous joins adjacent matches. */
    private static String grouped(String regex, String behavior, String what) {
        return switch (behavior) {
            case "Isolated" -> regex;
            case "Contiguous" -> "(?:" + regex + ")+";
            default -> throw new TokenizerException("pre_tokenizer " + what + " with behavior '" + behavior + "' is not supported (Isolated, Contiguous)");
        };
    }

    /** BOS: the special token the post-processor puts before $A; EOS: a conventional end token. */
    private static int specialId(JsonNode root, Map<String, Integer> added, boolean bos) {
        if (bos) {
            JsonNode single = root.path("post_processor").path("single");
            if (single.isArray() && single.size() > 0 && single.get(0).has("SpecialToken")) {
                Integer id = added.get(single.get(0).get("SpecialToken").path("id").asText());
                if (id != null) return id;
            }
            for (String name : List.of("<s>", "<|begin_of_text|>", "<bos>")) if (added.containsKey(name)) return added.get(name);
            return -1;
        }
        for (String name : List.of("</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>")) if (added.containsKey(name)) return added.get(name);
        return -1;
    }
}
