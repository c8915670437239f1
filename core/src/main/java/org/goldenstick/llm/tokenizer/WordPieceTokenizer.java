package org.goldenstick.llm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The BERT WordPiece tokenizer of a Hugging Face {@code tokenizer.json} ({@code model.type = "WordPiece"}):
 * {@code BertNormalizer} (control-character cleaning, CJK splitting, accent stripping, lower case),
 * {@code BertPreTokenizer} (whitespace, then each punctuation character alone), greedy longest-match-first
 * WordPiece with the {@code ##} continuation prefix, {@code [CLS] … [SEP]} around the sequence, truncation to
 * {@code truncation.max_length}, and padding of a batch to its longest row with attention mask and token
 * type ids, the inputs of a BERT-family encoder graph.
 *
 * <pre>{@code
 * WordPieceTokenizer tok = WordPieceTokenizer.load(Path.of("tokenizer.json"));
 * WordPieceTokenizer.Batch b = tok.encodeBatch(List.of("Call me Ishmael.", "Some years ago"));
 * long[] ids = b.inputIds();          // [2, b.length()] row-major, [PAD] after each row's [SEP]
 * }</pre>
 */
public final class WordPieceTokenizer implements Tokenizer {
    /** One encoded sequence (no padding). */
    public record Encoding(int[] ids, int[] attentionMask, int[] typeIds) {}

    /** A padded batch, each array row-major {@code [rows, length]}: the inputs of an encoder graph. */
    public record Batch(int rows, int length, long[] inputIds, long[] attentionMask, long[] tokenTypeIds) {}

    private final Map<String, Integer> vocab;
    private final String[] byId;
    private final int unkId, clsId, sepId, padId;
    private final String prefix;
    private final int maxCharsPerWord;
    private final int maxLength;
    private final boolean cleanText, chineseChars, stripAccents, lowercase;

    private WordPieceTokenizer(Map<String, Integer> vocab, String unk, String prefix, int maxCharsPerWord, String cls, String sep, String pad,
                               int maxLength, boolean cleanText, boolean chineseChars, boolean stripAccents, boolean lowercase) {
        this.vocab = vocab;
        int max = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        this.byId = new String[max + 1];
        vocab.forEach((k, v) -> byId[v] = k);
        this.unkId = need(vocab, unk, "model.unk_token");
        this.clsId = need(vocab, cls, "the [CLS] token");
        this.sepId = need(vocab, sep, "the [SEP] token");
        this.padId = vocab.getOrDefault(pad, 0);
        this.prefix = prefix;
        this.maxCharsPerWord = maxCharsPerWord;
        this.maxLength = maxLength;
        this.cleanText = cleanText;
        this.chineseChars = chineseChars;
        this.stripAccents = stripAccents;
        this.lowercase = lowercase;
    }

    private static int need(Map<String, Integer> vocab, String token, String what) {
        Integer id = vocab.get(token);
        if (id == null) throw new TokenizerException(what + " '" + token + "' is not in the vocabulary");
        return id;
    }

    /** Reads {@code tokenizer.json}; fails with the file and field named if it is not a BERT WordPiece tokenizer. */
    public static WordPieceTokenizer load(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new TokenizerException(file + ": cannot read tokenizer.json: " + e.getMessage(), e);
        }
        try {
            return parse(root);
        } catch (TokenizerException e) {
            throw new TokenizerException(file + ": " + e.getMessage(), e);
        }
    }

    static WordPieceTokenizer parse(JsonNode root) {
        if (root == null || !root.isObject()) throw new TokenizerException("top level is not a JSON object");
        JsonNode model = root.path("model");
        String type = model.path("type").asText("");
        if (!type.equals("WordPiece")) {
            throw new TokenizerException("model.type is '" + (type.isEmpty() ? "(missing)" : type) + "', not 'WordPiece': this is not a BERT-family tokenizer");
        }
        JsonNode v = model.get("vocab");
        if (v == null || !v.isObject() || v.isEmpty()) throw new TokenizerException("field 'model.vocab' is missing, empty or not an object");
        Map<String, Integer> vocab = new HashMap<>();
        var it = v.fields();
        while (it.hasNext()) {
            var e = it.next();
            if (!e.getValue().canConvertToInt()) throw new TokenizerException("model.vocab['" + e.getKey() + "'] is not an integer id");
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        for (JsonNode t : root.path("added_tokens")) vocab.putIfAbsent(t.path("content").asText(), t.path("id").asInt());

        JsonNode norm = root.path("normalizer");
        String normType = norm.path("type").asText("");
        if (!normType.equals("BertNormalizer")) throw new TokenizerException("normalizer.type is '" + normType + "', only 'BertNormalizer' is supported");
        boolean lower = norm.path("lowercase").asBoolean(true);
        JsonNode strip = norm.path("strip_accents");
        boolean stripAccents = strip.isBoolean() ? strip.asBoolean() : lower;   // null: follows lowercase, as in BERT
        String pre = root.path("pre_tokenizer").path("type").asText("");
        if (!pre.equals("BertPreTokenizer")) throw new TokenizerException("pre_tokenizer.type is '" + pre + "', only 'BertPreTokenizer' is supported");

        String cls = "[CLS]", sep = "[SEP]";
        JsonNode post = root.path("post_processor");
        switch (post.path("type").asText("")) {
            case "BertProcessing" -> {
                cls = post.path("cls").path(0).asText(cls);
                sep = post.path("sep").path(0).asText(sep);
            }
            case "TemplateProcessing" -> {
                List<String> specials = new ArrayList<>();
                boolean seenSequence = false;
                for (JsonNode piece : post.path("single")) {
                    if (piece.has("Sequence")) seenSequence = true;
                    else if (piece.has("SpecialToken")) specials.add((seenSequence ? ">" : "<") + piece.path("SpecialToken").path("id").asText());
                }
                if (specials.size() != 2 || !specials.get(0).startsWith("<") || !specials.get(1).startsWith(">")) {
                    throw new TokenizerException("post_processor.single is not '<special> $A <special>' (found " + specials + ")");
                }
                cls = specials.get(0).substring(1);
                sep = specials.get(1).substring(1);
            }
            default -> throw new TokenizerException("post_processor.type '" + post.path("type").asText("(missing)") + "' is not BertProcessing or TemplateProcessing");
        }
        int maxLength = root.path("truncation").isObject() ? root.path("truncation").path("max_length").asInt(512) : Integer.MAX_VALUE;
        String pad = root.path("padding").isObject() ? root.path("padding").path("pad_token").asText("[PAD]") : "[PAD]";
        return new WordPieceTokenizer(vocab, model.path("unk_token").asText("[UNK]"), model.path("continuing_subword_prefix").asText("##"),
                model.path("max_input_chars_per_word").asInt(100), cls, sep, pad, maxLength,
                norm.path("clean_text").asBoolean(true), norm.path("handle_chinese_chars").asBoolean(true), stripAccents, lower);
    }

    /** {@code truncation.max_length} of the tokenizer.json (special tokens included), or {@code Integer.MAX_VALUE}. */
    public int maxLength() {
        return maxLength;
    }

    public int padId() {
        return padId;
    }

    // ---------------------------------------------------------------- normalizer and pre-tokenizer

    /** The BertNormalizer output. */
    public String normalize(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 8);
        text.codePoints().forEach(cp -> {
            if (cleanText) {
                if (cp == 0 || cp == 0xFFFD || isControl(cp)) return;
                if (isBertWhitespace(cp)) cp = ' ';
            }
            if (chineseChars && isCjk(cp)) sb.append(' ').appendCodePoint(cp).append(' ');
            else sb.appendCodePoint(cp);
        });
        String s = sb.toString();
        if (stripAccents) {
            String d = Normalizer.normalize(s, Normalizer.Form.NFD);
            StringBuilder out = new StringBuilder(d.length());
            d.codePoints().filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK).forEach(out::appendCodePoint);
            s = out.toString();
        }
        if (lowercase) {
            // Per character (full mapping, no context), so the result does not depend on neighbouring letters.
            StringBuilder out = new StringBuilder(s.length());
            s.codePoints().forEach(cp -> {
                if (cp < 128) out.append((char) (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
                else out.append(new String(Character.toChars(cp)).toLowerCase(Locale.ROOT));
            });
            s = out.toString();
        }
        return s;
    }

    /** The BertPreTokenizer words of already normalized text: split at whitespace, each punctuation mark alone. */
    public static List<String> splitWords(String normalized) {
        List<String> words = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        normalized.codePoints().forEach(cp -> {
            if (Character.isWhitespace(cp) || Character.getType(cp) == Character.SPACE_SEPARATOR) {
                flush(words, cur);
            } else if (isPunctuation(cp)) {
                flush(words, cur);
                words.add(new String(Character.toChars(cp)));
            } else {
                cur.appendCodePoint(cp);
            }
        });
        flush(words, cur);
        return words;
    }

    private static void flush(List<String> words, StringBuilder cur) {
        if (!cur.isEmpty()) {
            words.add(cur.toString());
            cur.setLength(0);
        }
    }

    private static boolean isBertWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.UNASSIGNED || t == Character.PRIVATE_USE || t == Character.SURROGATE;
    }

    private static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION, Character.END_PUNCTUATION,
                 Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION, Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F)
                || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    // ---------------------------------------------------------------- WordPiece

    /** The WordPiece ids of one pre-tokenized word: greedy longest match first, or [UNK] for the whole word. */
    private void wordPieces(String word, IntList out) {
        int[] cps = word.codePoints().toArray();
        if (cps.length > maxCharsPerWord) {
            out.add(unkId);
            return;
        }
        int mark = out.size();
        int start = 0;
        while (start < cps.length) {
            int end = cps.length;
            int found = -1;
            while (start < end) {
                String piece = new String(cps, start, end - start);
                Integer id = vocab.get(start == 0 ? piece : prefix + piece);
                if (id != null) {
                    found = id;
                    break;
                }
                end--;
            }
            if (found < 0) {
                out.truncate(mark);
                out.add(unkId);
                return;
            }
            out.add(found);
            start = end;
        }
    }

    /** The ids of {@code text} between [CLS] and [SEP], truncated to {@code maxLength} (≥ 2) ids in all. */
    public Encoding encode(String text, int maxLength) {
        if (maxLength < 2) throw new IllegalArgumentException("maxLength " + maxLength + " leaves no room for [CLS] and [SEP]");
        IntList ids = new IntList();
        ids.add(clsId);
        for (String w : splitWords(normalize(text))) {
            wordPieces(w, ids);
            if (ids.size() >= maxLength - 1) break;
        }
        ids.truncate(Math.min(ids.size(), maxLength - 1));
        ids.add(sepId);
        int[] a = ids.toArray();
        int[] mask = new int[a.length];
        Arrays.fill(mask, 1);
        return new Encoding(a, mask, new int[a.length]);
    }

    /** {@link #encode(String, int)} with the tokenizer.json's truncation length. */
    public Encoding encode(String text) {
        return encode(text, maxLength);
    }

    /** Encodes each text (truncated to {@code maxLength}) and pads to the longest row with [PAD], mask 0. */
    public Batch encodeBatch(List<String> texts, int maxLength) {
        if (texts.isEmpty()) throw new IllegalArgumentException("encodeBatch: no texts");
        List<Encoding> enc = texts.stream().map(t -> encode(t, maxLength)).toList();
        int len = enc.stream().mapToInt(e -> e.ids().length).max().orElseThrow();
        int rows = enc.size();
        long[] ids = new long[rows * len], mask = new long[rows * len], types = new long[rows * len];
        Arrays.fill(ids, padId);
        for (int r = 0; r < rows; r++) {
            Encoding e = enc.get(r);
            for (int i = 0; i < e.ids().length; i++) {
                ids[r * len + i] = e.ids()[i];
                mask[r * len + i] = e.attentionMask()[i];
                types[r * len + i] = e.typeIds()[i];
            }
        }
        return new Batch(rows, len, ids, mask, types);
    }

    public Batch encodeBatch(List<String> texts) {
        return encodeBatch(texts, maxLength);
    }

    // ---------------------------------------------------------------- Tokenizer

    @Override
    public int[] encode(String text, boolean addBos) {
        if (addBos) return encode(text, Integer.MAX_VALUE).ids();
        IntList ids = new IntList();
        for (String w : splitWords(normalize(text))) wordPieces(w, ids);
        return ids.toArray();
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            if (id == clsId || id == sepId || id == padId) continue;
            String t = tokenString(id);
            if (t.startsWith(prefix)) sb.append(t, prefix.length(), t.length());
            else {
                if (!sb.isEmpty()) sb.append(' ');
                sb.append(t);
            }
        }
        return sb.toString();
    }

    @Override
    public int vocabSize() {
        return byId.length;
    }

    @Override
    public int bosId() {
        return clsId;
    }

    @Override
    public int eosId() {
        return sepId;
    }

    @Override
    public String tokenString(int id) {
        if (id < 0 || id >= byId.length || byId[id] == null) throw new IllegalArgumentException("id " + id + " is not in the vocabulary (size " + byId.length + ")");
        return byId[id];
    }

    @Override
    public int tokenId(String token) {
        return vocab.getOrDefault(token, -1);
    }

    /** A growable int array (no boxing on the per-word path). */
    private static final class IntList {
        private int[] a = new int[64];
        private int n;

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, 2 * n);
            a[n++] = v;
        }

        int size() {
            return n;
        }

        void truncate(int size) {
            n = size;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
