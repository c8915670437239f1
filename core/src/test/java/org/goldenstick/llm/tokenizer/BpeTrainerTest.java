package org.goldenstick.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {
    @TempDir
    Path dir;

    private static final String TEXT = """
            It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.
            However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is
            so well fixed in the minds of the surrounding families, that he is considered the rightful property of some one or
            other of their daughters. Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in
            my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery
            part of the world. Ünïcödé wörds, 数字 12345, emoji 🙂🙂 and tabs\tand  double  spaces.
            """;

    private static BpeTrainer.Result train(int vocab) {
        return BpeTrainer.train(List.of(TEXT, TEXT.toUpperCase()), new BpeTrainer.Options(vocab, 2, List.of("<s>", "</s>")));
    }

    @Test
    void trainingIsDeterministicAndLearnsFrequentPairs() {
        BpeTrainer.Result a = train(400), b = train(400);
        assertEquals(a.tokens(), b.tokens());
        assertEquals(a.merges(), b.merges());
        assertEquals(List.of("<s>", "</s>"), a.tokens().subList(0, 2));
        assertTrue(a.merges().size() > 50, "merges: " + a.merges().size());
        // The most frequent adjacent byte pair of the corpus, counted independently, must be the first merge.
        java.util.Map<String, Integer> pairs = new java.util.HashMap<>();
        var m = java.util.regex.Pattern.compile(PreTokenizer.GPT2_REGEX, java.util.regex.Pattern.UNICODE_CHARACTER_CLASS).matcher(TEXT + TEXT.toUpperCase());
        while (m.find()) {
            String w = ByteLevel.encode(m.group());
            for (int i = 0; i + 1 < w.length(); i++) pairs.merge(w.substring(i, i + 2), 1, Integer::sum);
        }
        int best = pairs.values().stream().max(Integer::compare).orElseThrow();
        BpeTokenizer.Pair first = a.merges().get(0);
        assertEquals(best, pairs.get(first.left() + first.right()));
        // Merged tokens shorten the text.
        BpeTokenizer tok = a.tokenizer();
        assertTrue(tok.encode(TEXT, false).length < TEXT.getBytes(StandardCharsets.UTF_8).length * 0.6);
    }

    @Test
    void decodeInvertsEncodeOnArbitraryText() {
        BpeTokenizer tok = train(500).tokenizer();
        Random rng = new Random(11);
        int[][] ranges = {{0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x24F}, {0x370, 0x3FF}, {0x4E00, 0x4FFF}, {0x1F300, 0x1F64F}, {0x300, 0x36F}, {0x2000, 0x206F}};
        for (int trial = 0; trial < 300; trial++) {
            StringBuilder sb = new StringBuilder();
            int len = rng.nextInt(40);
            for (int i = 0; i < len; i++) {
                int[] r = ranges[rng.nextInt(ranges.length)];
                int cp = r[0] + rng.nextInt(r[1] - r[0] + 1);
                if (Character.isSurrogate((char) cp)) continue;
                sb.appendCodePoint(cp);
            }
            if (rng.nextInt(4) == 0) sb.append(TEXT, 0, rng.nextInt(TEXT.length()));
            String s = sb.toString();
            int[] ids = tok.encode(s, false);
            assertEquals(s, tok.decode(ids), "round trip of " + s);
            int[] withBos = tok.encode(s, true);
            assertEquals(0, withBos[0]);
            assertEquals(s, tok.decode(withBos), "BOS decodes to nothing");
        }
        assertEquals("", tok.decode(tok.encode("", false)));
        assertEquals(0, tok.encode("", false).length);
    }

    @Test
    void writtenJsonLoadsBackToTheSameTokenizer() throws Exception {
        BpeTrainer.Result r = train(450);
        Path f = dir.resolve("tokenizer.json");
        r.write(f);
        Tokenizer loaded = Tokenizers.load(dir);
        assertEquals(r.tokens().size(), loaded.vocabSize());
        assertEquals(0, loaded.bosId());
        assertEquals(1, loaded.eosId());
        assertArrayEquals(r.tokenizer().encode(TEXT, true), loaded.encode(TEXT, true));
        // Special tokens written in the text are recognised as such.
        int[] ids = loaded.encode("a</s>b", false);
        assertTrue(java.util.Arrays.stream(ids).anyMatch(i -> i == 1), java.util.Arrays.toString(ids));
        assertTrue(Files.readString(f).contains("\"ByteLevel\""));
    }
}
