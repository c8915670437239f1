package org.goldenstick.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * llama.cpp's tokenizer test vectors (tests/test-tokenizer-0 with add_special=false, parse_special=false):
 * every .inp case must encode to exactly the ids of the matching .out line.
 */
class LlamaCppVectorsTest {

    /** Every vocabulary llama.cpp ships test vectors for that we support (phi-3 shares llama-spm's inputs). */
    static final List<String> VOCABS = List.of("llama-spm", "phi-3", "gpt-2", "llama-bpe", "qwen2", "qwen35", "deepseek-llm",
            "deepseek-coder", "falcon", "starcoder", "refact", "command-r", "mpt");

    private static void checkAll(String vocab) {
        Path gguf = TokenizerData.vocab(vocab);
        checkAgainst(TokenizerData.load(gguf), vocab, TokenizerData.vectors(gguf));
    }

    private static void checkAgainst(Tokenizer tok, String vocab, List<LlamaCppVectors.Case> cases) {
        assertTrue(cases.size() >= 30, "expected the full vector set, got " + cases.size());
        List<String> failures = new ArrayList<>();
        for (LlamaCppVectors.Case c : cases) {
            int[] got = tok.encode(c.input(), false);
            if (!Arrays.equals(c.expected(), got)) failures.add("'" + c.input() + "': expected " + Arrays.toString(c.expected()) + " got " + Arrays.toString(got));
        }
        assertEquals(List.of(), failures, vocab + ": " + failures.size() + " of " + cases.size() + " cases differ");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabs")
    void matchesLlamaCpp(String vocab) {
        checkAll(vocab);
    }

    static List<String> vocabs() {
        return VOCABS;
    }

    /**
     * llama.cpp ships no vectors for gpt-neox (its GGUF predates {@code tokenizer.ggml.pre}); its vocabulary and
     * merges are those of the mpt file, whose vectors therefore apply.
     */
    @Test
    void gptNeoxWithoutPreKeyMatchesTheMptVectors() throws Exception {
        BpeTokenizer neox = (BpeTokenizer) TokenizerData.load(TokenizerData.vocab("gpt-neox"));
        BpeTokenizer mpt = (BpeTokenizer) TokenizerData.load(TokenizerData.vocab("mpt"));
        assertEquals(mpt.spec().tokens(), neox.spec().tokens(), "gpt-neox and mpt share the vocabulary");
        assertEquals(mpt.spec().merges().ranks(), neox.spec().merges().ranks(), "gpt-neox and mpt share the merges");
        assertEquals("gpt-2", neox.spec().preTokenizer().ggufName());
        checkAgainst(neox, "gpt-neox", TokenizerData.vectors(TokenizerData.vocab("mpt")));
    }

    /**
     * The vectors tell the pre-tokenizers apart: each vocabulary fails some cases under GPT-2's rules (so passing
     * them exercises its own rules), and the mpt/gpt-neox vocabulary fails under llama.cpp's "default" rules (so
     * reading a missing key as GPT-2 is a choice the vectors confirm).
     */
    @Test
    void vectorsFailUnderAnotherPreTokenizer() {
        for (String vocab : List.of("llama-bpe", "qwen2", "qwen35", "deepseek-llm", "deepseek-coder", "falcon", "starcoder", "command-r")) {
            assertTrue(differing(vocab, PreTokenizer.forGguf("gpt-2")) > 0, vocab + " passes under gpt-2 rules too");
        }
        assertTrue(differing("mpt", PreTokenizer.forGguf("default")) > 0, "mpt passes under llama.cpp's default rules too");
    }

    private static int differing(String vocab, PreTokenizer pre) {
        Path gguf = TokenizerData.vocab(vocab);
        BpeTokenizer.Spec s = ((BpeTokenizer) TokenizerData.load(gguf)).spec();
        BpeTokenizer other = new BpeTokenizer(new BpeTokenizer.Spec(s.flavor(), s.tokens(), s.merges(), s.addedTokens(), s.controlIds(),
                s.addPrefixSpace(), pre, s.byteFallback(), s.ignoreMerges(), s.unkId(), s.bosId(), s.eosId()));
        int n = 0;
        for (LlamaCppVectors.Case c : TokenizerData.vectors(gguf)) if (!Arrays.equals(c.expected(), other.encode(c.input(), false))) n++;
        return n;
    }

    /**
     * tokenizer.json written from each byte-level GGUF vocabulary (what {@code quantize --model FILE.gguf} leaves in its
     * output folder) reads back as a tokenizer that still passes llama.cpp's vectors.
     */
    @Test
    void tokenizerJsonWrittenFromAByteLevelVocabularyPassesItsVectors() throws Exception {
        int written = 0;
        for (String vocab : VOCABS) {
            Path gguf = TokenizerData.vocab(vocab);
            BpeTokenizer tok = (BpeTokenizer) TokenizerData.load(gguf);
            if (tok.spec().flavor() != BpeTokenizer.Flavor.BYTE_LEVEL) {
                assertThrows(TokenizerException.class, () -> HfTokenizerJson.toJson(tok), vocab + ": SentencePiece vocabularies are refused");
                continue;
            }
            BpeTokenizer back = HfTokenizerJson.parse(new com.fasterxml.jackson.databind.ObjectMapper().readTree(HfTokenizerJson.toJson(tok)));
            assertEquals(tok.spec().preTokenizer().ggufName(), back.spec().preTokenizer().ggufName(), vocab);
            checkAgainst(back, vocab + " via tokenizer.json", TokenizerData.vectors(gguf));
            written++;
        }
        assertTrue(written >= 10, "byte-level vocabularies checked: " + written);
    }

    @Test
    void unknownPreTokenizerIsAClearErrorListingTheSupportedOnes() {
        TokenizerException e = assertThrows(TokenizerException.class, () -> PreTokenizer.forGguf("chameleon"));
        assertTrue(e.getMessage().contains("'chameleon'"), e.getMessage());
        for (String name : List.of("qwen2", "deepseek-llm", "deepseek-coder", "falcon", "starcoder", "command-r", "gpt-2", "llama-bpe"))
            assertTrue(e.getMessage().contains(name), e.getMessage());
    }

    @Test
    void decodeInvertsEncodeOnVectorInputs() {
        for (String vocab : VOCABS) {
            Path gguf = TokenizerData.vocab(vocab);
            Tokenizer tok = TokenizerData.load(gguf);
            for (LlamaCppVectors.Case c : TokenizerData.vectors(gguf)) {
                String back = tok.decode(c.expected());
                // SentencePiece adds a space before the text and the decoder strips one: lossless except when
                // the text itself begins with a space that llama.cpp's ids then carry as an extra '▁'.
                assertEquals(c.input(), back, vocab + ": decode of llama.cpp's ids for '" + c.input() + "'");
            }
        }
    }

    @Test
    void bosIsPrependedOnRequest() {
        Tokenizer tok = TokenizerData.load(TokenizerData.vocab("llama-spm"));
        assertEquals(1, tok.bosId());
        assertEquals(2, tok.eosId());
        assertArrayEquals(new int[] {1, 15043, 3186}, tok.encode("Hello world", true));
    }
}
