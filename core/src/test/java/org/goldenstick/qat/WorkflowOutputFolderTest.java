package org.goldenstick.qat;

import org.goldenstick.progress.ProgressListener;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.goldenstick.nn.Module;
import org.goldenstick.prune.ScopWorkflow;
import org.goldenstick.train.Recipes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Finding 5 of the reliability trial: {@code qat}/{@code prune} wrote {@code --out} file by file, so a failed or
 * killed rerun left the new FP32 checkpoint beside the previous run's int8 files. The folder is now replaced whole.
 */
class WorkflowOutputFolderTest {
    @TempDir
    Path tmp;

    private List<String> list(Path p) throws IOException {
        try (Stream<Path> s = Files.list(p)) {
            return s.map(q -> q.getFileName().toString()).sorted().toList();
        }
    }

    private Path previousRun() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("run"));
        Files.writeString(out.resolve("lenet-digits-simqat-w8a8.safetensors"), "previous run");
        Files.writeString(out.resolve("lenet-digits-fp32.safetensors"), "previous run");
        Files.writeString(out.resolve("lenet-digits-scop-r0.10.onnx"), "another run, other name");
        return out;
    }

    @Test
    void aFailedQatRerunLeavesThePreviousFolderWhole() throws Exception {
        Path out = previousRun();
        Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits").withEpochs(1).withLimitTrain(128).withLimitTest(64);
        var opts = QatWorkflow.Options.defaults("lenet", "digits", out).withFp32(spec).withQatEpochs(1).withBenchSeconds(0);
        // fails after the FP32 checkpoint is written (as a full disk or a kill would)
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> QatWorkflow.run(opts, s -> new org.goldenstick.rewrite.CompAlgo() {
            @Override
            public Module apply(Module network, org.goldenstick.rewrite.ApplyOptions options) {
                throw new IllegalStateException("no space left on device (simulated)");
            }
        }, ProgressListener.SILENT));
        assertTrue(e.getMessage().contains("simulated"));
        assertEquals(List.of("lenet-digits-fp32.safetensors", "lenet-digits-scop-r0.10.onnx", "lenet-digits-simqat-w8a8.safetensors"), list(out));
        assertEquals("previous run", Files.readString(out.resolve("lenet-digits-fp32.safetensors")), "not the new FP32 beside the old int8");
        assertEquals(List.of("run"), list(tmp), "no temporary left");

        QatWorkflow.Result r = QatWorkflow.run(opts, s -> new SimQAT(Map.of()), ProgressListener.SILENT);
        List<Path> written = new java.util.ArrayList<>(r.exported());
        written.add(r.fp32Checkpoint());
        for (Path p : written) {
            assertTrue(p.startsWith(out.toAbsolutePath()) && Files.size(p) > 1000, p.toString());
        }
        assertTrue(list(out).contains("lenet-digits-scop-r0.10.onnx"), "files of runs under other names are kept: " + list(out));
        for (String n : list(out)) {
            if (!n.startsWith("lenet-digits-scop")) assertFalse(Files.readString(out.resolve(n), java.nio.charset.StandardCharsets.ISO_8859_1).equals("previous run"), n + " is left from the previous run beside the new one");
        }
        assertEquals(List.of("run"), list(tmp));
    }

    @Test
    void aPruneRunSwapsTheFolderInWhole() throws Exception {
        Path out = previousRun();
        Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits").withEpochs(1).withLimitTrain(128).withLimitTest(64);
        var o = new ScopWorkflow.Options(spec, 0.25, 0, 0.01, 0, 0.2, null, out, 0);
        ScopWorkflow.Result r = ScopWorkflow.run(o, ProgressListener.SILENT);
        assertTrue(Files.isRegularFile(r.prunedCheckpoint()) && Files.isRegularFile(r.onnx()) && Files.isRegularFile(r.fp32Checkpoint()));
        assertTrue(r.onnx().startsWith(out.toAbsolutePath()), r.onnx().toString());
        assertTrue(Files.size(out.resolve("lenet-digits-fp32.safetensors")) > 1000, "the FP32 checkpoint of this run replaced the old one");
        assertEquals("another run, other name", Files.readString(out.resolve("lenet-digits-scop-r0.10.onnx")));
        assertEquals(List.of("run"), list(tmp));
        assertThrows(IllegalArgumentException.class, () -> new ScopWorkflow.Options(spec, 0.25, 0, 0.01, 0, 0.2, null, out, -1));
        assertThrows(IllegalArgumentException.class, () -> QatWorkflow.Options.defaults("lenet", "digits", out).withBenchSeconds(-1));
    }
}
