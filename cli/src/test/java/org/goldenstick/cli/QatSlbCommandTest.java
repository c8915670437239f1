package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.quant.QuantParamsIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gstick qat --algo slb}: JSON keys of SimQAT plus weight_bits, packed deploy file, ONNX Runtime agreement. */
class QatSlbCommandTest {
    @TempDir
    Path dir;

    @Test
    void slbJsonHasWeightBitsAndPackedDeployFile() throws Exception {
        JsonNode j = CliRunner.json("qat", "--algo", "slb", "--weight-bits", "2", "--act-bits", "8", "--model", "lenet", "--dataset", "digits",
                "--epochs", "6", "--qat-epochs", "2", "--limit-train", "600", "--bench-seconds", "0", "--out", dir.toString(), "--json");
        for (String k : new String[] {"fp32_accuracy", "fake_quant_accuracy", "compressed_accuracy", "fp32_bytes", "compressed_bytes", "onnx", "onnx_runtime_accuracy",
                "onnx_agreement", "compressed_images_per_second"}) {
            assertTrue(j.has(k), "missing " + k + " in " + j);
        }
        assertEquals(2, j.get("weight_bits").asInt());
        assertEquals(8, j.get("classifier_bits").asInt());
        // the 2-bit layers between 8-bit grids run as the int8 layers they export as, so ONNX Runtime's fused integer
        // kernels compute the same values (while they ran as float convolutions: 98.1-100 % over runs); the exact
        // layer-level comparison with ONNX Runtime is SlbConvertTest's
        assertTrue(j.get("onnx_agreement").asDouble() >= 0.995, j.toString());
        assertEquals(j.get("compressed_accuracy").asDouble(), j.get("onnx_runtime_accuracy").asDouble(), 0.03, j.toString());
        assertTrue(j.get("compressed_accuracy").asDouble() > 0.5, j.toString());
        try (SafetensorsFile f = SafetensorsFile.open(Path.of(j.get("out").asText()))) {
            assertEquals("SLB", f.metadata().get("gstick.algorithm"));
            // conv1 of LeNet (PackedConv2d with its A8 input and output grids): 6·1·5·5 weights at 2 bits = 38 bytes
            assertEquals(38, f.uint8("conv1.weight_packed").length);
            assertTrue(f.metadata().containsKey("conv1.input_quant") || f.metadata().keySet().stream().anyMatch(k -> k.startsWith("conv1.input_quant")), f.metadata().keySet().toString());
            // fc1 (16·2·2 -> 120) packed at 2 bits too; conv2 quantized that edge already (through ReLU, max-pool and
            // flatten), so fc1's input grid is conv2's output grid, named so that fc1 runs as its int8 form;
            // the classifier fc3 (84 -> 10) is int8
            assertEquals(64 * 120 * 2 / 8, f.uint8("fc1.weight_packed").length);
            assertEquals(QuantParamsIO.read("conv2.output_quant", f), QuantParamsIO.read("fc1.input_quant", f));
            assertEquals(84 * 10, f.int8("fc3.weight").length);
        }
        assertTrue(Files.exists(Path.of(j.get("onnx").asText())));
    }

    @Test
    void badWeightBitsFailBeforeTrainingNamingTheOption() {
        String err = CliRunner.failure("qat", "--algo", "slb", "--weight-bits", "3", "--out", dir.toString());
        assertTrue(err.contains("--weight-bits must be 1, 2 or 4, got 3"), err);
        for (String internal : new String[] {"QuantDtype", "String", "weight_quant_dtype", "SlbQuantAwareTraining"}) assertFalse(err.contains(internal), err);
        err = CliRunner.failure("qat", "--algo", "slb", "--classifier-bits", "3", "--out", dir.toString());
        assertTrue(err.contains("--classifier-bits must be 8, 4, 2 or 1, got 3"), err);
        assertFalse(Files.exists(dir.resolve("lenet-digits-fp32.safetensors")), "no training happened");
    }
}
