package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.goldenstick.formats.onnx.OnnxModelReader;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.DeployIO;
import org.goldenstick.rewrite.ConfigException;
import org.goldenstick.train.LossFunction;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.train.Recipes;
import org.goldenstick.train.TrainCallback;
import org.goldenstick.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimQATWorkflowTest {
    @TempDir
    Path dir;

    @Test
    void invalidConfigFailsBeforeTrainingStarts() throws Exception {
        var opts = QatWorkflow.Options.defaults("lenet", "digits", dir.resolve("run")).withBenchSeconds(0);
        ConfigException e = assertThrows(ConfigException.class,
                () -> QatWorkflow.run(opts, spec -> new SimQAT(Map.of("freeze_bn", -1)), ProgressListener.SILENT));
        assertEquals("freeze_bn", e.field());
        assertFalse(Files.exists(dir.resolve("run")), "nothing trained or written");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(0, files.count(), "no temporary left");
        }
    }

    @Test
    void deployModelIsExportedAutomaticallyAtTrainEnd() throws Exception {
        Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits").withEpochs(1).withLimitTrain(128);
        Recipes.Data data = Recipes.data(spec);
        Module net = Recipes.newModel(spec, data);
        Path prefix = dir.resolve("auto/lenet");
        SimQAT algo = new SimQAT(Map.of("save_deploy_model", true, "save_deploy_model_path", prefix.toString()));
        algo.apply(net);
        List<TrainCallback> cbs = algo.callbacks();
        assertEquals(1, cbs.size());
        Trainer.Builder b = Recipes.trainer(spec, net, ProgressListener.SILENT).loss(algo.loss(LossFunction.crossEntropy()));
        cbs.forEach(b::callback);
        b.build().fit(Recipes.trainLoader(spec, data));
        Path st = Path.of(prefix + ".safetensors"), onnx = Path.of(prefix + ".onnx");
        assertTrue(Files.size(st) > 1000 && Files.size(onnx) > 1000);
        assertEquals("SimQAT", org.goldenstick.formats.safetensors.SafetensorsFile.open(st).metadata().get("gstick.algorithm"));
        assertFalse(OnnxModelReader.read(onnx).graph().nodes().isEmpty());
        assertEquals(DeployIO.FORMAT, org.goldenstick.formats.safetensors.SafetensorsFile.open(st).metadata().get(DeployIO.FORMAT_KEY));
    }
}
