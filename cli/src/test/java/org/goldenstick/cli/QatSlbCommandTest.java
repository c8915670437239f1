package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gstick qat --algo slb}: JSON keys of SimQAT plus weight_bits, packed deploy file, ONNX Runtime agreement. */
class QatSlbCommandTest {
    @TempDir
    Path dir;

    @Test
    void slbJsonHasWeightBitsAndPackedDeployFile() throws Exception {
        PrintStream saved = System.out;
        var buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            int code = Main.commandLine().execute("qat", "--algo", "slb", "--weight-bits", "2", "--act-bits", "8", "--model", "lenet", "--dataset", "digits",
                    "--epochs", "6", "--qat-epochs", "2", "--limit-train", "600", "--bench-seconds", "0", "--out", dir.toString(), "--json");
            assertEquals(0, code);
        } finally {
            System.setOut(saved);
        }
        String stdout = buf.toString(StandardCharsets.UTF_8);
        JsonNode j = new ObjectMapper().readTree(stdout);
        for (String k : new String[] {"fp32_accuracy", "fake_quant_accuracy", "quant_accuracy", "fp32_bytes", "deploy_bytes", "onnx_path", "onnx_runtime_accuracy",
                "onnx_agreement", "int8_images_per_second"}) {
            assertTrue(j.has(k), "missing " + k + " in " + stdout);
        }
        assertEquals(2, j.get("weight_bits").asInt());
        assertTrue(j.get("onnx_agreement").asDouble() >= 0.99, stdout);
        assertTrue(j.get("quant_accuracy").asDouble() > 0.5, stdout);
        try (SafetensorsFile f = SafetensorsFile.open(Path.of(j.get("deploy_path").asText()))) {
            assertEquals("SLB", f.metadata().get("gstick.algorithm"));
            // conv1 of LeNet (QuantDequant, PackedConv2d, QuantDequant with A8): 6·1·5·5 weights at 2 bits = 38 bytes
            assertEquals(38, f.uint8("conv1.1.weight_packed").length);
        }
        assertTrue(Files.exists(Path.of(j.get("onnx_path").asText())));
    }

    @Test
    void badWeightBitsFailBeforeTraining() {
        var err = new ByteArrayOutputStream();
        var cl = Main.commandLine();
        cl.setErr(new java.io.PrintWriter(err, true));
        assertNotEquals(0, cl.execute("qat", "--algo", "slb", "--weight-bits", "8", "--out", dir.toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("weight_quant_dtype"), err.toString(StandardCharsets.UTF_8));
        assertFalse(Files.exists(dir.resolve("lenet-digits-fp32.safetensors")), "no training happened");
    }
}
