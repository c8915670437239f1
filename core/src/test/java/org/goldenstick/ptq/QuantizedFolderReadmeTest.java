package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.goldenstick.llm.DemoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A quantized folder carries its own model card, never the float model's (whose perplexity would be wrong for it). */
class QuantizedFolderReadmeTest {
    @TempDir
    Path tmp;

    @Test
    void quantizedFolderHasItsOwnReadmeWithoutTheFloatNumbers() throws Exception {
        Path demo = DemoModel.resolve(null);
        String floatCard = Files.readString(demo.resolve("README.md"));
        assertTrue(floatCard.contains("perplexity"), "precondition: the float card states its perplexity");
        Path out = tmp.resolve("w8");
        RoundToNearest.quantizeCheckpoint(demo, out, PTQConfig.rtn());
        String card = Files.readString(out.resolve("README.md"));
        assertFalse(card.equals(floatCard), "the float card was copied");
        assertTrue(card.contains("(quantized)") && card.contains("pack-quantized") && card.contains("gstick eval --model"), card);
        for (String line : floatCard.lines().filter(l -> l.matches(".*\\d+\\.\\d+.*") && l.toLowerCase().contains("perplexity")).toList()) {
            assertFalse(card.contains(line), "float number copied: " + line);
        }
        assertTrue(Files.exists(out.resolve("tokenizer.json")), "the other companion files are still copied");
    }
}
