package org.goldenstick.llm.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A BPE tokenizer in one of the two flavours LLMs use.
 *
 * <ul>
 *   <li>{@link Flavor#SENTENCEPIECE} (Llama 1/2, Mistral): the text gets a leading {@code ▁} and every space
 *       becomes {@code ▁}; the whole text is one word made of Unicode characters; characters missing from the
 *       vocabulary fall back to {@code <0xXX>} byte tokens.</li>
 *   <li>{@link Flavor#BYTE_LEVEL} (GPT-2, Llama 3, Qwen2, DeepSeek, Falcon, StarCoder, Command-R, our own demo
 *       tokenizer): a {@link PreTokenizer} splits the text into words; each word's UTF-8 bytes are mapped to
 *       printable characters ({@link ByteLevel}) and merged.</li>
 * </ul>
 *
 * Merges are chosen by {@link Merges#ranks()} (Hugging Face {@code merges}, lower rank first) or by
 * {@link Merges#scores()} (SentencePiece / GGUF {@code tokenizer.ggml.scores}, a pair may merge when the
 * concatenation is a token, higher score first). Build instances with {@link HfTokenizerJson},
 * {@link GgufTokenizer} or {@link Tokenizers#load}.
 */
public final class BpeTokenizer implements Tokenizer {

    /** How text becomes initial symbols and how ids become text. */
    public enum Flavor { SENTENCEPIECE, BYTE_LEVEL }

    /** An ordered token pair. */
    public record Pair(String left, String right) {}

    /** Merge priorities: either by rank (HF merges list) or by the score of the merged token. */
    public record Merges(Map<Pair, Integer> ranks, float[] scores) {
        public static Merges byRank(Map<Pair, Integer> ranks) {
            // Not Map.copyOf: its open addressing degrades badly on the clustered hashes of token pairs.
            return new Merges(java.util.Collections.unmodifiableMap(new HashMap<>(ranks)), null);
        }

        public static Merges byScore(float[] scores) {
            return new Merges(null, scores.clone());
        }
    }

    /**
     * Everything that defines a tokenizer.
     *
     * @param tokens       vocabulary, index = id
     * @param addedTokens  tokens recognised verbatim in the input before BPE (HF {@code added_tokens})
     * @param controlIds   ids that decode to nothing (BOS, EOS, padding, …)
     * @param addPrefixSpace SentencePiece: prepend {@code ▁}; byte level: prepend a space if the text has none
     * @param preTokenizer byte level: how the text is cut into words and byte-mapped (null = the whole text is one word)
     * @param ignoreMerges a word that is itself a token is emitted as is (Llama 3)
     * @param unkId        id for unknown symbols without byte fallback, or -1
     */
    public record Spec(Flavor flavor, List<String> tokens, Merges merges, Map<String, Integer> addedTokens,
                       Set<Integer> controlIds, boolean addPrefixSpace, PreTokenizer preTokenizer, boolean byteFallback,
                       boolean ignoreMerges, int unkId, int bosId, int eosId) {}

    private static final int WORD_CACHE_LIMIT = 200_000;

    private final Spec spec;
    private final String[] idToToken;
    private final Map<String, Integer> tokenToId;
    private final int[] byteTokens = new int[256];
    private final Pattern addedPattern;
    // Built on first use of encodeWithSpecialTokens (benign race: both threads build the same values).
    private volatile Map<String, Integer> specialTokens;
    private volatile Pattern specialPattern;
    private final Map<String, int[]> wordCache = new ConcurrentHashMap<>();

    public BpeTokenizer(Spec spec) {
        this.spec = spec;
        this.idToToken = spec.tokens().toArray(new String[0]);
        this.tokenToId = new HashMap<>(idToToken.length * 2);
        for (int i = 0; i < idToToken.length; i++) {
            if (idToToken[i] == null) throw new TokenizerException("token " + i + " is null");
            tokenToId.putIfAbsent(idToToken[i], i);
        }
        for (var e : spec.addedTokens().entrySet()) {
            if (e.getValue() < 0 || e.getValue() >= idToToken.length)
                throw new TokenizerException("added token '" + e.getKey() + "' has id " + e.getValue() + " outside the vocabulary of " + idToToken.length);
        }
        for (int b = 0; b < 256; b++) {
            String key = spec.flavor() == Flavor.BYTE_LEVEL ? String.valueOf(ByteLevel.charOf(b)) : String.format("<0x%02X>", b);
            byteTokens[b] = tokenToId.getOrDefault(key, -1);
        }
        if (spec.flavor() == Flavor.BYTE_LEVEL) {
            int missing = 0, first = -1;
            for (int b = 0; b < 256; b++) {
                if (byteTokens[b] >= 0) continue;
                missing++;
                if (first < 0) first = b;
            }
            // Real vocabularies lack a few bytes (gpt-neox, StarCoder: 0xC0/0xC1/0xF5-0xFF, never in UTF-8; Falcon:
            // some control bytes), but a vocabulary without most of them is not byte level.
            if (missing > 32) throw new TokenizerException("byte-level vocabulary lacks the tokens of " + missing + " of the 256 bytes (first: byte " + first + " '" + ByteLevel.charOf(first) + "')");
        }
        if (spec.merges().scores() != null && spec.merges().scores().length != idToToken.length)
            throw new TokenizerException("scores has " + spec.merges().scores().length + " entries but the vocabulary has " + idToToken.length);
        this.addedPattern = alternation(spec.addedTokens().keySet());
    }

    public Spec spec() {
        return spec;
    }

    @Override
    public int[] encode(String text, boolean addBos) {
        return encode(text, addBos, addedPattern, spec.addedTokens());
    }

    @Override
    public int[] encodeWithSpecialTokens(String text, boolean addBos) {
        Map<String, Integer> special = specialTokens;
        if (special == null) {
            special = new HashMap<>(spec.addedTokens());
            for (int id : spec.controlIds()) if (!idToToken[id].isEmpty()) special.putIfAbsent(idToToken[id], id);
            specialPattern = alternation(special.keySet());
            specialTokens = special;
        }
        return encode(text, addBos, specialPattern, special);
    }

    private int[] encode(String text, boolean addBos, Pattern verbatim, Map<String, Integer> verbatimIds) {
        IntList out = new IntList(text.length() / 3 + 4);
        if (addBos && spec.bosId() >= 0) out.add(spec.bosId());
        if (verbatim == null) {
            encodeSegment(text, true, out);
        } else {
            Matcher m = verbatim.matcher(text);
            int pos = 0;
            boolean first = true;
            while (m.find()) {
                if (m.start() > pos) encodeSegment(text.substring(pos, m.start()), first, out);
                out.add(verbatimIds.get(m.group()));
                pos = m.end();
                first = false;
            }
            if (pos < text.length()) encodeSegment(text.substring(pos), first, out);
        }
        return out.toArray();
    }

    /** Longest strings first, so that a token which is a prefix of another does not win. */
    private static Pattern alternation(java.util.Collection<String> strings) {
        if (strings.isEmpty()) return null;
        return Pattern.compile(strings.stream()
                .sorted(Comparator.comparingInt(String::length).reversed().thenComparing(Comparator.naturalOrder()))
                .map(Pattern::quote).collect(Collectors.joining("|")));
    }

    private void encodeSegment(String text, boolean atStart, IntList out) {
        if (text.isEmpty()) return;
        if (spec.flavor() == Flavor.SENTENCEPIECE) {
            String s = (spec.addPrefixSpace() ? " " + text : text).replace(' ', '\u2581');
            List<String> symbols = new ArrayList<>(s.length());
            s.codePoints().forEach(cp -> symbols.add(Character.toString(cp)));
            emit(BpeMerger.merge(symbols, this::priority), out);
            return;
        }
        String t = spec.addPrefixSpace() && atStart && !text.startsWith(" ") ? " " + text : text;
        if (spec.preTokenizer() == null) {
            encodeMappedWord(ByteLevel.encode(t), out);
            return;
        }
        for (String word : spec.preTokenizer().split(t)) encodeMappedWord(word, out);
    }

    /** BPE on one pre-tokenized word whose bytes are already {@link ByteLevel}-mapped. */
    private void encodeMappedWord(String mapped, IntList out) {
        int[] cached = wordCache.get(mapped);
        if (cached == null) {
            IntList ids = new IntList(mapped.length());
            Integer whole = spec.ignoreMerges() ? tokenToId.get(mapped) : null;
            if (whole != null) {
                ids.add(whole);
            } else {
                List<String> symbols = new ArrayList<>(mapped.length());
                for (int i = 0; i < mapped.length(); i++) symbols.add(String.valueOf(mapped.charAt(i)));
                emit(BpeMerger.merge(symbols, this::priority), ids);
            }
            cached = ids.toArray();
            if (wordCache.size() > WORD_CACHE_LIMIT) wordCache.clear();
            wordCache.put(mapped, cached);
        }
        out.addAll(cached);
    }

    private double priority(String left, String right) {
        Merges merges = spec.merges();
        if (merges.ranks() != null) {
            Integer rank = merges.ranks().get(new Pair(left, right));
            return rank == null ? Double.NaN : -rank;
        }
        Integer id = tokenToId.get(left + right);
        return id == null ? Double.NaN : merges.scores()[id];
    }

    private void emit(List<String> symbols, IntList out) {
        boolean lastWasUnk = false;
        for (String s : symbols) {
            Integer id = tokenToId.get(s);
            if (id != null) {
                out.add(id);
                lastWasUnk = false;
                continue;
            }
            byte[] bytes;
            if (spec.flavor() == Flavor.BYTE_LEVEL) {
                bytes = new byte[s.length()];
                for (int i = 0; i < s.length(); i++) bytes[i] = (byte) ByteLevel.byteOf(s.charAt(i));
            } else {
                bytes = s.getBytes(StandardCharsets.UTF_8);
            }
            if (spec.flavor() == Flavor.BYTE_LEVEL) {
                // A byte the vocabulary has no token for is dropped, as llama.cpp and Hugging Face (without an
                // unknown token) do.
                for (byte b : bytes) if (byteTokens[b & 0xFF] >= 0) out.add(byteTokens[b & 0xFF]);
                lastWasUnk = false;
            } else if (spec.byteFallback()) {
                for (byte b : bytes) {
                    if (byteTokens[b & 0xFF] < 0) throw new TokenizerException("no byte-fallback token for byte 0x" + Integer.toHexString(b & 0xFF));
                    out.add(byteTokens[b & 0xFF]);
                }
                lastWasUnk = false;
            } else if (spec.unkId() >= 0) {
                if (!lastWasUnk) out.add(spec.unkId());
                lastWasUnk = true;
            } else {
                throw new TokenizerException("symbol '" + s + "' is not in the vocabulary and there is no unknown token or byte fallback");
            }
        }
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            if (id < 0 || id >= idToToken.length) throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + idToToken.length);
            if (spec.controlIds().contains(id)) continue;
            String t = idToToken[id];
            if (spec.flavor() == Flavor.BYTE_LEVEL) {
                ByteLevel.decodeInto(t, bytes);
            } else if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">") && spec.byteFallback() && byteTokens[Integer.parseInt(t.substring(3, 5), 16)] == id) {
                bytes.write(Integer.parseInt(t.substring(3, 5), 16));
            } else {
                bytes.writeBytes(t.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8));
            }
        }
        String s = bytes.toString(StandardCharsets.UTF_8);
        if (spec.flavor() == Flavor.SENTENCEPIECE && spec.addPrefixSpace() && s.startsWith(" ")) s = s.substring(1);
        return s;
    }

    @Override
    public int vocabSize() {
        return idToToken.length;
    }

    @Override
    public int bosId() {
        return spec.bosId();
    }

    @Override
    public int eosId() {
        return spec.eosId();
    }

    @Override
    public String tokenString(int id) {
        if (id < 0 || id >= idToToken.length) throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + idToToken.length);
        return idToToken[id];
    }

    @Override
    public int tokenId(String token) {
        return tokenToId.getOrDefault(token, -1);
    }

    /** A growable int array (avoids boxing on hot paths). */
    static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) {
            a = new int[Math.max(4, capacity)];
        }

        void add(int v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, a.length * 2);
            a[n++] = v;
        }

        void addAll(int[] vs) {
            if (n + vs.length > a.length) a = java.util.Arrays.copyOf(a, Math.max(a.length * 2, n + vs.length));
            System.arraycopy(vs, 0, a, n, vs.length);
            n += vs.length;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
