package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.goldenstick.data.DataPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gstick ptq} and {@code gstick eval-embeddings} on the fetched all-MiniLM-L6-v2, and their bad-input errors. */
class PtqCommandTest {
    static Path minilm(String f) {
        return DataPaths.cached("minilm-onnx", "onnx-models/all-minilm-l6-v2/" + f);
    }

    static Path chapters(Path dir, String name, int from, int to) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i <= to; i++) sb.append(Files.readString(DataPaths.cached("moby-dick", "moby-dick/chapter_" + i + ".txt"))).append('\n');
        return Files.writeString(dir.resolve(name), sb);
    }

    @Test
    void int8DynamicOnMiniLmHoldsOnHeldOutText(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("q.onnx"), calib = chapters(dir, "calib.txt", 1, 3), held = chapters(dir, "held.txt", 100, 102);
        var docs = JsonOutputTest.documentedKeys();
        String[] ptqArgs = {"ptq", "--onnx", minilm("model.onnx").toString(), "--tokenizer", minilm("tokenizer.json").toString(),
                "--calib", calib.toString(), "--method", "int8-dynamic", "--out", out.toString(), "--json", "--report", dir.resolve("report").toString()};
        String ptqOut = CliRunner.stdout(ptqArgs);
        JsonOutputTest.checkKeys(docs, "ptq", ptqOut);
        assertTrue(java.nio.file.Files.readString(dir.resolve("report/index.html")).contains("src=\"size.png\"") && java.nio.file.Files.size(dir.resolve("report/size.png")) > 0,
                "the --report page and its size chart");
        JsonNode r = new com.fasterxml.jackson.databind.ObjectMapper().readTree(ptqOut);
        assertEquals(36, r.get("quantized_nodes").asInt());
        assertEquals(5, r.get("protected_units").size(), "the default integer-mixed kernel quantizes the 5 most sensitive inputs per token: " + r);
        assertTrue(r.get("output_bytes").asLong() <= 0.26 * r.get("input_bytes").asLong(), r.toString());
        String[] evalArgs = {"eval-embeddings", "--model", out.toString(), "--ref", minilm("model.onnx").toString(), "--tokenizer",
                minilm("tokenizer.json").toString(), "--text", held.toString(), "--sentences", "64", "--rounds", "1", "--threads", "1", "--json"};
        String evalOut = CliRunner.stdout(evalArgs);
        JsonOutputTest.checkKeys(docs, "eval-embeddings", evalOut);
        JsonNode e = new com.fasterxml.jackson.databind.ObjectMapper().readTree(evalOut);
        assertEquals(64, e.get("sentences").asInt());
        assertTrue(e.get("mean_cosine").asDouble() >= 0.997, e.toString());
        assertTrue(e.get("min_cosine").asDouble() > 0.98, e.toString());
        assertTrue(e.get("spearman").asDouble() > 0.99, e.toString());
    }

    @Test
    void badInputsFailWithTheFileNamedAndWriteNothing(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("q.onnx"), calib = chapters(dir, "calib.txt", 1, 1);
        String model = minilm("model.onnx").toString(), tok = minilm("tokenizer.json").toString();
        Path bpe = DataPaths.cached("llama2-tokenizer", "tokenizers/llama2/tokenizer.json");
        String err = CliRunner.failure("ptq", "--onnx", model, "--tokenizer", bpe.toString(), "--calib", calib.toString(), "--method", "int8-dynamic", "--out", out.toString());
        assertTrue(err.contains("not 'WordPiece'"), err);
        Path notOnnx = Files.writeString(dir.resolve("model.onnx"), "{\"not\": \"onnx\"}");
        err = CliRunner.failure("ptq", "--onnx", notOnnx.toString(), "--tokenizer", tok, "--calib", calib.toString(), "--method", "int4", "--out", out.toString());
        assertTrue(err.contains("model.onnx") && err.contains("not a readable ONNX model"), err);
        Path empty = Files.writeString(dir.resolve("empty.txt"), "\n\n");
        err = CliRunner.failure("ptq", "--onnx", model, "--tokenizer", tok, "--calib", empty.toString(), "--method", "int4", "--out", out.toString());
        assertTrue(err.contains("empty.txt"), err);
        err = CliRunner.failure("ptq", "--onnx", model, "--tokenizer", tok, "--calib", calib.toString(), "--method", "int3", "--out", out.toString());
        assertTrue(err.contains("unknown method 'int3'"), err);
        assertFalse(Files.exists(out));
    }
}
