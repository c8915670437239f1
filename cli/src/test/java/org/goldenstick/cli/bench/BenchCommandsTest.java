package org.goldenstick.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Smoke tests of the kernel benchmarks' JSON output on tiny cases (speed is never asserted). */
class BenchCommandsTest {
    private static JsonNode runJson(String... args) throws Exception {
        PrintStream saved = System.out;
        var buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertEquals(0, new CommandLine(new BenchCommand()).execute(args), "exit code");
        } finally {
            System.setOut(saved);
        }
        return new ObjectMapper().readTree(buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void gemmPrintsOneObjectPerSizeAndThreadCountWithTheRequiredFields() throws Exception {
        JsonNode rows = runJson("gemm", "--json", "--sizes", "16,40", "--threads", "1,2", "--seconds", "0.01", "--warmup", "0.01").get("cases");
        assertEquals(4, rows.size());
        for (JsonNode r : rows) {
            for (String k : new String[] {"size", "threads", "gflops", "openblas_gflops", "ratio"}) assertTrue(r.has(k), k + " in " + r);
            assertTrue(r.get("gflops").asDouble() > 0 && r.get("openblas_gflops").asDouble() > 0, r.toString());
            assertEquals(r.get("gflops").asDouble() / r.get("openblas_gflops").asDouble(), r.get("ratio").asDouble(), 0.01 * r.get("ratio").asDouble() + 1e-3);
        }
        assertEquals(40, rows.get(2).get("size").asInt());
        assertEquals(2, rows.get(3).get("threads").asInt());
    }

    @Test
    void gemvReportsEveryKernelForEachThreadCount() throws Exception {
        JsonNode rows = runJson("gemv", "--json", "--rows", "64", "--cols", "256", "--matrices", "1", "--threads", "1",
                "--gemm-m", "8", "--low-bits", "4,1", "--seconds", "0.01", "--warmup", "0.01").get("cases");
        // fp32, w8a16, w4a16 (GB/s and Gweights/s), packed 4/1 bit (two each), gemm (two); groups of 128 (the default) are whole blocks of 32,
        // so also w8a16 and w8a8-block off-heap, Q8_0 with float and int8 activations, and w4 with int8-block activations
        assertEquals(4 + 2 * 2 + 2 + 4 + 1, rows.size());
        for (JsonNode r : rows) assertTrue(r.get("value").asDouble() > 0, r.toString());
        java.util.Map<String, Double> byKernel = new java.util.HashMap<>();
        for (JsonNode r : rows) byKernel.put(r.get("kernel").asText(), r.get("value").asDouble());
        assertEquals(byKernel.get("gemv_w4a16_weights") / 2, byKernel.get("gemv_w4a16"), 1e-9 * byKernel.get("gemv_w4a16"), "half a byte per weight");
        for (String k : new String[] {"gemv_w8a16_offheap", "gemv_w8a8_block_offheap", "gemv_q8_0_float_acts", "gemv_q8_0_int8_acts", "gemv_w4a8_block_weights"}) assertTrue(byKernel.containsKey(k), k);
    }

    /** Several --model folders are benched together in alternating rounds; one thread adds decode tokens per CPU-second. */
    @Test
    void llmBenchesSeveralModelsInAlternatingRoundsWithCpuTimeAtOneThread() throws Exception {
        java.nio.file.Path demo = org.goldenstick.data.DataPaths.root().resolve("models/gstick-llama-demo");
        int saved = org.goldenstick.tensor.kernel.Parallel.threads();
        org.goldenstick.tensor.kernel.Parallel.setThreads(1);
        try {
            JsonNode models = runJson("llm", "--json", "--model", demo.toString(), "--model", demo.toString(), "--no-synthetic", "--prompt", "8", "--seconds", "0.3",
                    "--rounds", "2").get("models");
            assertEquals(2, models.size());
            for (JsonNode m : models) {
                assertTrue(m.get("decode_tokens_per_second").asDouble() > 0, m.toString());
                assertTrue(m.get("decode_tokens_per_cpu_second").asDouble() > 0, m.toString());
            }
        } finally {
            org.goldenstick.tensor.kernel.Parallel.setThreads(saved);
        }
        assertTrue(runJson("llm", "--json", "--model", demo.toString(), "--no-synthetic", "--prompt", "8", "--seconds", "0.2", "--rounds", "1")
                .get("models").get(0).get("decode_tokens_per_cpu_second").isNull() == (org.goldenstick.tensor.kernel.Parallel.threads() > 1));
    }
}
