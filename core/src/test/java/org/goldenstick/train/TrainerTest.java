package org.goldenstick.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.Sequential;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class TrainerTest {
    /** Two Gaussian blobs in 2-D, class = which blob. */
    static List<Batch> blobs(int batches, int batchSize, long seed) {
        Random r = new Random(seed);
        List<Batch> out = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            float[] x = new float[batchSize * 2];
            int[] y = new int[batchSize];
            for (int i = 0; i < batchSize; i++) {
                y[i] = r.nextInt(2);
                x[2 * i] = (float) (r.nextGaussian() * 0.5 + (y[i] == 0 ? -1.5 : 1.5));
                x[2 * i + 1] = (float) (r.nextGaussian() * 0.5 + (y[i] == 0 ? 1 : -1));
            }
            out.add(new Batch(Tensor.of(x, batchSize, 2), y));
        }
        return out;
    }

    static Module mlp(long seed) {
        Random r = new Random(seed);
        return new Sequential(new Linear(2, 8, r), new ReLU(), new Linear(8, 2, r));
    }

    @Test
    void learnsASeparableProblem() {
        Module model = mlp(0);
        List<Batch> data = blobs(10, 16, 1);
        double before = Evaluator.evaluate(model, data).meanLoss();
        TrainResult r = Trainer.builder(model, new SGD(model.parameters(), SGD.Options.momentum(0.1, 0.9))).epochs(5).build().fit(data);
        Evaluator.Result after = Evaluator.evaluate(model, blobs(5, 16, 2));
        assertTrue(after.meanLoss() < before / 2, "loss " + before + " -> " + after.meanLoss());
        assertTrue(after.accuracy() > 0.95, "accuracy " + after.accuracy());
        assertEquals(5, r.epochsRun());
        assertEquals(50, r.steps());
        assertEquals(800, r.samples());
        assertEquals(5, r.epochLosses().size());
        assertTrue(r.epochLosses().get(4) < r.epochLosses().get(0));
    }

    @Test
    void callbacksRunInDocumentedOrder() {
        Module model = mlp(0);
        List<String> events = new ArrayList<>();
        TrainCallback recorder = new TrainCallback() {
            public void onTrainBegin(TrainContext c) { events.add("trainBegin"); }
            public void onTrainEnd(TrainContext c) { events.add("trainEnd"); }
            public void onEpochBegin(TrainContext c) { events.add("epochBegin" + c.epoch()); }
            public void onEpochEnd(TrainContext c) { events.add("epochEnd" + c.epochNumber()); }
            public void onStepBegin(TrainContext c) { events.add("stepBegin" + c.epoch() + "." + c.step() + "@" + c.globalStep()); }
            public void onAfterBackward(TrainContext c) { events.add("backward" + (c.model().parameters().get(0).hasGrad() ? "+grad" : "")); }
            public void onStepEnd(TrainContext c) { events.add("stepEnd" + c.step()); }
        };
        Trainer.builder(model, new SGD(model.parameters(), SGD.Options.plain(0.01))).epochs(2).callback(recorder).build().fit(blobs(2, 4, 0));
        assertEquals(List.of("trainBegin",
                "epochBegin0", "stepBegin0.0@0", "backward+grad", "stepEnd0", "stepBegin0.1@1", "backward+grad", "stepEnd1", "epochEnd1",
                "epochBegin1", "stepBegin1.0@2", "backward+grad", "stepEnd0", "stepBegin1.1@3", "backward+grad", "stepEnd1", "epochEnd2",
                "trainEnd"), events);
    }

    @Test
    void callbackCanReplaceTheBatch() {
        Module model = mlp(0);
        List<Integer> seenByLoss = new ArrayList<>();
        TrainCallback doubler = new TrainCallback() {
            public void onStepBegin(TrainContext c) {
                Batch b = c.batch();
                c.setBatch(new Batch(Tensor.concat(0, b.inputs(), b.inputs()), concat(b.labels(), b.labels())));
            }
        };
        LossFunction ce = LossFunction.crossEntropy();
        TrainResult r = Trainer.builder(model, new SGD(model.parameters(), SGD.Options.plain(0.01)))
                .loss((out, b) -> { seenByLoss.add(out.dim(0)); return ce.compute(out, b); })
                .callback(doubler).build().fit(blobs(3, 4, 0));
        assertEquals(List.of(8, 8, 8), seenByLoss);
        assertEquals(24, r.samples());
    }

    static int[] concat(int[] a, int[] b) {
        int[] c = new int[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void stopTrainingEndsTheRunAndStillCallsTrainEnd() {
        Module model = mlp(0);
        AtomicInteger ends = new AtomicInteger();
        TrainResult r = Trainer.builder(model, new SGD(model.parameters(), SGD.Options.plain(0.01))).epochs(10)
                .callback(new TrainCallback() {
                    public void onStepEnd(TrainContext c) { if (c.globalStep() == 3) c.stopTraining(); }
                    public void onTrainEnd(TrainContext c) { ends.incrementAndGet(); }
                }).build().fit(blobs(2, 4, 0));
        assertEquals(3, r.steps());
        assertEquals(2, r.epochsRun());
        assertTrue(r.stoppedEarly());
        assertEquals(1, ends.get());
    }

    @Test
    void scheduleSetsTheLearningRateBeforeEachStep() {
        Module model = mlp(0);
        List<Double> lrs = new ArrayList<>();
        Trainer.builder(model, new SGD(model.parameters(), SGD.Options.plain(0.8))).epochs(3)
                .schedule(new LrSchedule.StepLR(1, 0.5))
                .callback(new TrainCallback() {
                    public void onStepBegin(TrainContext c) { lrs.add(c.learningRate()); }
                }).build().fit(blobs(2, 4, 0));
        assertEquals(List.of(0.8, 0.8, 0.4, 0.4, 0.2, 0.2), lrs);
    }

    @Test
    void nonFiniteLossStopsWithEpochAndStep() {
        Module model = mlp(0);
        AtomicInteger calls = new AtomicInteger();
        LossFunction ce = LossFunction.crossEntropy();
        LossFunction poisoned = (out, b) -> calls.incrementAndGet() == 6 ? ce.compute(out, b).mul(Float.NaN) : ce.compute(out, b);
        var ex = assertThrows(NonFiniteLossException.class, () -> Trainer.builder(model, new SGD(model.parameters(), SGD.Options.plain(0.01)))
                .epochs(3).loss(poisoned).build().fit(blobs(4, 4, 0)));
        // Call 6 is the second step (index 1) of the second epoch (index 1).
        assertEquals(1, ex.epoch());
        assertEquals(1, ex.step());
        assertTrue(ex.getMessage().contains("epoch 2/3") && ex.getMessage().contains("step 2/4") && ex.getMessage().contains("NaN"), ex.getMessage());
    }

    @Test
    void divergingTrainingIsCaught() {
        Module model = new Linear(2, 2, new Random(0));
        var ex = assertThrows(NonFiniteLossException.class, () -> Trainer.builder(model, new SGD(model.parameters(), SGD.Options.plain(100)))
                .epochs(50).loss((out, b) -> out.square().mean()).build().fit(blobs(4, 8, 0)));
        assertFalse(Double.isFinite(ex.loss()));
    }

    @Test
    void evaluatorRestoresModesAndRecordsNoGraph() {
        Module model = mlp(0);
        model.train();
        model.module("1").eval();  // a mixed tree must come back exactly
        Evaluator.Result r = Evaluator.evaluate(model, blobs(2, 5, 0));
        assertEquals(10, r.count());
        assertTrue(model.isTraining());
        assertFalse(model.module("1").isTraining());
        assertTrue(model.module("0").isTraining());
        for (Tensor p : model.parameters()) assertFalse(p.hasGrad());
    }

    @Test
    void epochEvaluationRunsOnScheduleAndKeepsTrainingMode() {
        Module model = mlp(0);
        List<Batch> test = blobs(2, 8, 5);
        List<Integer> seen = new ArrayList<>();
        var eval = new EpochEvaluation(test, 2, e -> seen.add(e.epoch()));
        List<Boolean> trainingAtStep = new ArrayList<>();
        Trainer.builder(model, new SGD(model.parameters(), SGD.Options.momentum(0.1, 0.9))).epochs(5).callback(eval)
                .callback(new TrainCallback() {
                    public void onStepBegin(TrainContext c) { trainingAtStep.add(c.model().isTraining()); }
                }).build().fit(blobs(4, 8, 1));
        assertEquals(List.of(2, 4, 5), seen, "every 2nd epoch and the last");
        assertFalse(trainingAtStep.contains(false), "evaluation must not leave the model in eval mode");
        assertEquals(Evaluator.evaluate(model, test).accuracy(), eval.history().getLast().result().accuracy(), 1e-12);
        assertTrue(eval.bestAccuracy() > 0.9);
    }

    @Test
    void frozenParametersDoNotAccumulateGradients() {
        // Loss Σ output: the bias gradient is exactly the batch size (8) at every step; accumulated it would grow.
        Linear model = new Linear(2, 2, new Random(0));
        Tensor frozen = model.bias();
        float[] before = frozen.data().clone();
        List<Float> biasGrads = new ArrayList<>();
        Trainer.builder(model, new SGD(List.of(model.weight()), SGD.Options.plain(0.01))).epochs(1).loss((out, b) -> out.sum())
                .callback(new TrainCallback() {
                    public void onAfterBackward(TrainContext c) { biasGrads.add(frozen.gradArray()[0]); }
                }).build().fit(blobs(3, 8, 1));
        assertArrayEquals(before, frozen.data());
        assertEquals(List.of(8f, 8f, 8f), biasGrads);
    }

    @Test
    void evaluatorAccuracyCountsArgmaxHits() {
        // A fixed "model" scoring class 1 whenever x0 > 0.
        Module sign = new Module() {
            @Override
            public Tensor forward(Tensor x) {
                float[] d = x.data(), o = new float[x.dim(0) * 2];
                for (int i = 0; i < x.dim(0); i++) o[2 * i + (d[2 * i] > 0 ? 1 : 0)] = 1;
                return Tensor.of(o, x.dim(0), 2);
            }
        };
        Batch b = new Batch(Tensor.of(new float[] {1, 0, -1, 0, 2, 0, -3, 0}, 4, 2), new int[] {1, 1, 1, 0});
        assertEquals(0.75, Evaluator.evaluate(sign, List.of(b)).accuracy(), 1e-12);
    }
}
