package org.goldenstick.llm.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Trains a byte-level BPE vocabulary (GPT-2 style) and writes it as a Hugging Face {@code tokenizer.json}.
 * Deterministic: the most frequent adjacent pair wins, ties go to the smaller (left id, right id).
 *
 * <pre>{@code
 * BpeTrainer.Result r = BpeTrainer.train(List.of(corpus), new BpeTrainer.Options(4096, 2, List.of("<s>", "</s>")));
 * r.write(Path.of("tokenizer.json"));
 * Tokenizer tok = r.tokenizer();
 * }</pre>
 */
public final class BpeTrainer {

    /**
     * @param vocabSize     target size including special tokens and the 256 byte tokens
     * @param minFrequency  a pair seen fewer times is never merged
     * @param specialTokens control tokens given the first ids (the first is BOS, the second EOS)
     */
    public record Options(int vocabSize, int minFrequency, List<String> specialTokens) {
        public Options {
            specialTokens = List.copyOf(specialTokens);
            if (vocabSize < 256 + specialTokens.size()) throw new IllegalArgumentException("vocabSize " + vocabSize + " is below the 256 byte tokens + " + specialTokens.size() + " special tokens");
            if (minFrequency < 1) throw new IllegalArgumentException("minFrequency must be >= 1, got " + minFrequency);
        }
    }

    /** A trained vocabulary: tokens by id and the merges in rank order. */
    public record Result(List<String> tokens, List<BpeTokenizer.Pair> merges, List<String> specialTokens) {

        /** The Hugging Face tokenizer.json text. */
        public String toJson() {
            JsonNodeFactory f = JsonNodeFactory.instance;
            ObjectNode root = f.objectNode();
            root.put("version", "1.0");
            root.putNull("truncation");
            root.putNull("padding");
            ArrayNode added = root.putArray("added_tokens");
            for (int i = 0; i < specialTokens.size(); i++) {
                ObjectNode a = added.addObject();
                a.put("id", i).put("content", specialTokens.get(i)).put("single_word", false).put("lstrip", false)
                        .put("rstrip", false).put("normalized", false).put("special", true);
            }
            root.putNull("normalizer");
            ObjectNode pre = root.putObject("pre_tokenizer");
            pre.put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", true);
            if (!specialTokens.isEmpty()) {
                ObjectNode post = root.putObject("post_processor");
                post.put("type", "TemplateProcessing");
                ArrayNode single = post.putArray("single");
                single.addObject().putObject("SpecialToken").put("id", specialTokens.get(0)).put("type_id", 0);
                single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
                ArrayNode pair = post.putArray("pair");
                pair.addObject().putObject("SpecialToken").put("id", specialTokens.get(0)).put("type_id", 0);
                pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
                pair.addObject().putObject("SpecialToken").put("id", specialTokens.get(0)).put("type_id", 1);
                pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
                ObjectNode st = post.putObject("special_tokens").putObject(specialTokens.get(0));
                st.put("id", specialTokens.get(0));
                st.putArray("ids").add(0);
                st.putArray("tokens").add(specialTokens.get(0));
            } else {
                root.putNull("post_processor");
            }
            ObjectNode dec = root.putObject("decoder");
            dec.put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true).put("use_regex", true);
            ObjectNode model = root.putObject("model");
            model.put("type", "BPE").putNull("dropout").putNull("unk_token").putNull("continuing_subword_prefix")
                    .putNull("end_of_word_suffix").put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
            ObjectNode vocab = model.putObject("vocab");
            for (int i = 0; i < tokens.size(); i++) vocab.put(tokens.get(i), i);
            ArrayNode merges = model.putArray("merges");
            for (BpeTokenizer.Pair p : this.merges) merges.addArray().add(p.left()).add(p.right());
            try {
                return new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(root);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Writes tokenizer.json atomically. */
        public void write(Path file) {
            try {
                org.goldenstick.formats.AtomicFiles.writeString(file, toJson());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + file, e);
            }
        }

        /** The tokenizer this vocabulary defines (exactly what reading the written JSON gives). */
        public BpeTokenizer tokenizer() {
            try {
                return HfTokenizerJson.parse(new ObjectMapper().readTree(toJson()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private BpeTrainer() {}

    /** Trains on the given texts (each pre-tokenized with the GPT-2 regex, as the tokenizer will be). */
    public static Result train(List<String> texts, Options options) {
        Pattern split = Pattern.compile(PreTokenizer.GPT2_REGEX, Pattern.UNICODE_CHARACTER_CLASS | Pattern.UNICODE_CASE);
        // Word counts in a sorted map so that ids (and hence tie-breaks) do not depend on hashing.
        Map<String, Integer> counts = new HashMap<>();
        for (String text : texts) {
            Matcher m = split.matcher(text);
            while (m.find()) if (m.end() > m.start()) counts.merge(ByteLevel.encode(m.group()), 1, Integer::sum);
        }
        TreeMap<String, Integer> sorted = new TreeMap<>(counts);

        List<String> vocab = new ArrayList<>(options.specialTokens());
        Set<String> seen = new HashSet<>(vocab);
        int[] byteId = new int[512];
        for (int b = 0; b < 256; b++) {
            String c = String.valueOf(ByteLevel.charOf(b));
            if (!seen.add(c)) throw new IllegalArgumentException("special token '" + c + "' collides with a byte token");
            byteId[ByteLevel.charOf(b)] = vocab.size();
            vocab.add(c);
        }

        int nw = sorted.size();
        int[][] words = new int[nw][];
        long[] freq = new long[nw];
        int w = 0;
        for (var e : sorted.entrySet()) {
            String s = e.getKey();
            int[] sym = new int[s.length()];
            for (int i = 0; i < s.length(); i++) sym[i] = byteId[s.charAt(i)];
            words[w] = sym;
            freq[w] = e.getValue();
            w++;
        }

        Map<Long, long[]> pairCount = new HashMap<>();
        Map<Long, Set<Integer>> where = new HashMap<>();
        for (int i = 0; i < nw; i++) {
            int[] s = words[i];
            for (int j = 0; j + 1 < s.length; j++) {
                long key = key(s[j], s[j + 1]);
                pairCount.computeIfAbsent(key, k -> new long[1])[0] += freq[i];
                where.computeIfAbsent(key, k -> new HashSet<>()).add(i);
            }
        }
        // Max count first; ties: smaller left id, then smaller right id (key order).
        PriorityQueue<long[]> queue = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(b[0], a[0]) : Long.compare(a[1], b[1]));
        for (var e : pairCount.entrySet()) queue.add(new long[] {e.getValue()[0], e.getKey()});

        List<BpeTokenizer.Pair> merges = new ArrayList<>();
        while (vocab.size() < options.vocabSize() && !queue.isEmpty()) {
            long[] top = queue.poll();
            long[] cur = pairCount.get(top[1]);
            long current = cur == null ? 0 : cur[0];
            if (current != top[0]) {
                if (current > 0) queue.add(new long[] {current, top[1]});
                continue;
            }
            if (current < options.minFrequency()) break;
            int a = (int) (top[1] >>> 32), b = (int) top[1];
            int newId = vocab.size();
            vocab.add(vocab.get(a) + vocab.get(b));
            merges.add(new BpeTokenizer.Pair(vocab.get(a), vocab.get(b)));
            Set<Integer> affected = where.remove(top[1]);
            pairCount.remove(top[1]);
            Set<Long> grown = new HashSet<>();
            List<Integer> order = new ArrayList<>(affected);
            java.util.Collections.sort(order);
            for (int wi : order) {
                int[] s = words[wi];
                long f = freq[wi];
                // Remove this word's old pairs, merge, add its new pairs.
                for (int j = 0; j + 1 < s.length; j++) {
                    long k = key(s[j], s[j + 1]);
                    if (k == top[1]) continue;
                    long[] c = pairCount.get(k);
                    if (c != null) c[0] -= f;
                }
                int[] out = new int[s.length];
                int n = 0;
                for (int j = 0; j < s.length; j++) {
                    if (j + 1 < s.length && s[j] == a && s[j + 1] == b) {
                        out[n++] = newId;
                        j++;
                    } else {
                        out[n++] = s[j];
                    }
                }
                s = java.util.Arrays.copyOf(out, n);
                words[wi] = s;
                for (int j = 0; j + 1 < s.length; j++) {
                    long k = key(s[j], s[j + 1]);
                    pairCount.computeIfAbsent(k, kk -> new long[1])[0] += f;
                    where.computeIfAbsent(k, kk -> new HashSet<>()).add(wi);
                    if (s[j] == newId || s[j + 1] == newId) grown.add(k);
                }
            }
            for (long k : grown) {
                long[] c = pairCount.get(k);
                if (c != null && c[0] > 0) queue.add(new long[] {c[0], k});
            }
        }
        return new Result(List.copyOf(vocab), List.copyOf(merges), options.specialTokens());
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }
}
