package org.goldenstick.qat.slb;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.quant.QuantDtype;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.LossFunction;
import org.goldenstick.train.SGD;
import org.junit.jupiter.api.Test;

class SlbDataParallelTest {
    private static Module slbLeNet(long seed) {
        var s = new SlbQuantAwareTraining();
        // the int8 classifier fake-quantizes its activations on each shard's own range: exact equivalence needs a weight-only network
        s.setClassifierQuantDtype(org.goldenstick.quant.QuantDtype.INT1);
        s.setWeightQuantDtype(QuantDtype.INT2);
        Module m = s.apply(new LeNet5(1, 8, 10, new Random(seed)));
        TemperatureScheduler.applyTo(m, s.config().withEpochSize(10).withHasTrainedEpoch(0).withTFactor(1.5), 3); // soft phase, T = 1.5^1
        m.train();
        return m;
    }

    @Test
    void threeWorkersMatchSingleWorkerOnTheSameGlobalBatches() throws Exception {
        Module single = slbLeNet(0), master = slbLeNet(0);
        master.loadStateDict(single.stateDict(), true);
        TemperatureScheduler.applyTo(master, SlbConfig.defaults().withEpochSize(10).withHasTrainedEpoch(0).withTFactor(1.5), 3);
        var optSingle = new SGD(single.parameters(), SGD.Options.momentum(0.05, 0.9));
        var optMaster = new SGD(master.parameters(), SGD.Options.momentum(0.05, 0.9));
        LossFunction ce = LossFunction.crossEntropy();
        Random rng = new Random(11);
        try (var dp = new DataParallel(master, () -> slbLeNet(42), 3, optMaster, ce)) {
            for (int step = 0; step < 4; step++) {
                int n = 10 + step; // shards of unequal size
                int[] labels = new int[n];
                for (int i = 0; i < n; i++) labels[i] = rng.nextInt(10);
                Batch b = new Batch(Tensor.randn(rng, n, 1, 8, 8), labels);
                optSingle.zeroGrad();
                Tensor l = ce.compute(single.forward(b.inputs()), b);
                l.backward();
                optSingle.step();
                double dpLoss = dp.step(b);
                assertEquals(l.item(), dpLoss, 1e-5, "loss at step " + step);
            }
        }
        var a = single.stateDict();
        var b = master.stateDict();
        double maxDiff = 0, maxChange = 0;
        Module init = slbLeNet(0);
        for (var e : a.entrySet()) {
            float[] x = e.getValue().data(), y = b.get(e.getKey()).data(), z = init.stateDict().get(e.getKey()).data();
            for (int i = 0; i < x.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
                maxChange = Math.max(maxChange, Math.abs(x[i] - z[i]));
            }
        }
        assertTrue(maxChange > 1e-2, "training moved the weights: " + maxChange);
        assertTrue(maxDiff < 1e-4, "data-parallel and single-worker parameters differ by " + maxDiff);
    }

    @Test
    void replicasMustNotShareTensorsWithTheMaster() {
        Module master = slbLeNet(0);
        var opt = new SGD(master.parameters(), SGD.Options.momentum(0.05, 0.9));
        assertThrows(IllegalArgumentException.class, () -> new DataParallel(master, () -> master, 2, opt, LossFunction.crossEntropy()));
    }
}
