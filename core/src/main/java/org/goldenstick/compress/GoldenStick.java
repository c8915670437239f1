package org.goldenstick.compress;

import java.util.ArrayList;
import java.util.List;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Module;
import org.goldenstick.prune.PrunerFtCompressAlgo;
import org.goldenstick.prune.PrunerKfCompressAlgo;
import org.goldenstick.ptq.CalibratedWeightOnly;
import org.goldenstick.ptq.NetworkHelper;
import org.goldenstick.ptq.PtqAlgorithm;
import org.goldenstick.ptq.RoundToNearest;
import org.goldenstick.ptq.SmoothQuant;
import org.goldenstick.ptq.WeightMethod;
import org.goldenstick.qat.SimQAT;
import org.goldenstick.qat.slb.SlbConfig;
import org.goldenstick.qat.slb.SlbQuantAwareTraining;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.Adam;
import org.goldenstick.train.LossFunction;
import org.goldenstick.train.SGD;
import org.goldenstick.train.TrainCallback;
import org.goldenstick.train.Trainer;

/**
 * The one verb: {@link #compress} runs a {@link Recipe} on a model. Each modifier is carried out with the library's
 * algorithm classes — all {@link CompAlgo}s (the upstream-shaped API: {@link SimQAT}, {@link SlbQuantAwareTraining},
 * {@link PrunerKfCompressAlgo} + {@link PrunerFtCompressAlgo}, {@link SmoothQuant}, {@link RoundToNearest},
 * {@link CalibratedWeightOnly}) — in the recipe's order:
 * <ul>
 *   <li>QAT (SimQAT, SLB): {@code apply}, fine-tune with the algorithm's callbacks and loss, {@code convert} to the deploy
 *       network;</li>
 *   <li>SCOP: knockoff training of the kfscales, channel removal, fine-tuning;</li>
 *   <li>SmoothQuant, RTN, GPTQ, AWQ ({@link CalibratedWeightOnly}): calibrate (all but RTN) and convert the linears to
 *       int8 / packed low-bit layers; an AWQ modifier directly followed by a GPTQ one runs as one pass (AWQ's scales,
 *       then GPTQ rounding).</li>
 * </ul>
 *
 * <pre>{@code
 * Recipe recipe = Recipe.load(Path.of("simqat.yaml"));
 * Module int8 = GoldenStick.compress(net, recipe, CompressInputs.training(loader, 2, 0.005)).model();
 *
 * LlamaModel llm = HfCheckpoint.load(dir);
 * LlamaHelper helper = new LlamaHelper(llm, 256, text -> tokenizer.encode(text, true));
 * GoldenStick.compress(llm, Recipe.of(new RtnModifier(WeightScheme.int8PerChannel(), List.of("lm_head"))), CompressInputs.none());
 * }</pre>
 */
public final class GoldenStick {
    private GoldenStick() {}

    /** What {@link #compress} produced: the compressed network and the algorithm object of each modifier, in order. */
    public record Result(Module model, List<Object> algorithms) {}

    /**
     * Runs {@code recipe} on {@code model} and returns the compressed network (QAT and PTQ modifiers change the network
     * in place; SCOP returns a new, smaller one). Everything a modifier needs is checked before the first one runs.
     */
    public static Result compress(Module model, Recipe recipe, CompressInputs inputs) {
        if (model == null) throw new IllegalArgumentException("compress: model is null");
        for (Modifier m : recipe.modifiers()) {
            if (m.needsTraining() && inputs.training() == null) {
                throw new IllegalArgumentException("compress: " + m.recipeName() + " fine-tunes the network; pass CompressInputs.training(data, epochs, lr)");
            }
            if ((m instanceof SmoothQuantModifier || m instanceof GptqModifier || m instanceof AwqModifier) && inputs.calibration() == null) {
                throw new IllegalArgumentException("compress: " + m.recipeName() + " calibrates on sample inputs; pass CompressInputs.calibration(helper, samples)");
            }
        }
        List<Modifier> mods = recipe.modifiers();
        for (int i = 0; i < mods.size(); i++) {
            if (mods.get(i) instanceof AwqModifier a && i + 1 < mods.size() && mods.get(i + 1) instanceof GptqModifier g
                    && (!a.scheme().equals(g.scheme()) || !a.ignore().equals(g.ignore()))) {
                throw new IllegalArgumentException("compress: AWQModifier then GPTQModifier run as one pass and need the same scheme and ignore list; got "
                        + a.scheme() + " " + a.ignore() + " and " + g.scheme() + " " + g.ignore());
            }
        }
        Module net = model;
        List<Object> algorithms = new ArrayList<>();
        for (int i = 0; i < mods.size(); i++) {
            Modifier m = mods.get(i);
            switch (m) {
                case SimQatModifier q -> {
                    SimQAT algo = new SimQAT(q.config());
                    net = quantizationAware(algo, net, inputs.training());
                    algorithms.add(algo);
                }
                case SlbModifier s -> {
                    SlbConfig c = s.config();
                    if (c.epochSize() < 0) c = c.withEpochSize(inputs.training().epochs());
                    if (c.hasTrainedEpoch() < 0) c = c.withHasTrainedEpoch(0);
                    SlbQuantAwareTraining algo = new SlbQuantAwareTraining(c);
                    algo.setSkipLayers(s.ignore());
                    net = quantizationAware(algo, net, inputs.training());
                    algorithms.add(algo);
                }
                case ScopModifier p -> {
                    PrunerKfCompressAlgo kf = new PrunerKfCompressAlgo(java.util.Map.of("seed", p.seed(), "skip_layers", p.ignore()));
                    Module kfNet = kf.apply(net);
                    if (p.knockoffEpochs() > 0) {
                        List<Tensor> kfscales = new ArrayList<>();
                        kfNet.namedParameters().forEach((n, t) -> {
                            if (n.endsWith("kfscale")) kfscales.add(t);
                        });
                        if (kfscales.isEmpty()) throw new IllegalStateException("SCOPModifier: no prunable convolution: " + kf.skipped());
                        Trainer.Builder tb = Trainer.builder(kfNet, new Adam(kfscales, new Adam.Options(p.knockoffLr(), 0.9, 0.999, 1e-8, 0))).epochs(p.knockoffEpochs());
                        for (TrainCallback cb : kf.callbacks()) tb.callback(cb);
                        tb.build().fit(inputs.training().data());
                    }
                    PrunerFtCompressAlgo ft = new PrunerFtCompressAlgo(java.util.Map.of("prune_rate", p.pruneRate(), "skip_layers", p.ignore()));
                    net = ft.apply(kfNet);
                    fineTune(net, ft, inputs.training());
                    algorithms.add(kf);
                    algorithms.add(ft);
                }
                case SmoothQuantModifier s -> {
                    SmoothQuant algo = new SmoothQuant(s.config(), s.mappings());
                    net = postTraining(algo, net, inputs.calibration());
                    algorithms.add(algo);
                }
                case RtnModifier r -> {
                    RoundToNearest algo = new RoundToNearest(r.config());
                    net = postTraining(algo, net, inputs.calibration());
                    algorithms.add(algo);
                }
                case AwqModifier a -> {
                    WeightMethod.Awq method = a.method();
                    if (i + 1 < mods.size() && mods.get(i + 1) instanceof GptqModifier g) {
                        method = method.then(g.method());
                        i++; // the GPTQ modifier is part of this pass
                    }
                    CalibratedWeightOnly algo = new CalibratedWeightOnly(a.config(), method);
                    net = postTraining(algo, net, inputs.calibration());
                    algorithms.add(algo);
                }
                case GptqModifier g -> {
                    CalibratedWeightOnly algo = new CalibratedWeightOnly(g.config(), g.method());
                    net = postTraining(algo, net, inputs.calibration());
                    algorithms.add(algo);
                }
            }
        }
        return new Result(net, List.copyOf(algorithms));
    }

    private static Module quantizationAware(CompAlgo algo, Module net, CompressInputs.Training t) {
        Module q = algo.apply(net);
        fineTune(q, algo, t);
        return algo.convert(q);
    }

    private static void fineTune(Module net, CompAlgo algo, CompressInputs.Training t) {
        if (t.epochs() == 0) return;
        SGD opt = new SGD(net.parameters(), new SGD.Options(t.lr(), 0.9, 0, 5e-4, true));
        Trainer.Builder tb = Trainer.builder(net, opt).epochs(t.epochs()).loss(algo.loss(LossFunction.crossEntropy()));
        for (TrainCallback cb : algo.callbacks()) tb.callback(cb);
        tb.build().fit(t.data());
    }

    private static Module postTraining(PtqAlgorithm algo, Module net, CompressInputs.Calibration c) {
        NetworkHelper helper = c == null ? null : c.helper();
        algo.apply(net, helper, c == null ? List.of() : c.samples());
        return algo.convert(net);
    }

    /** Fails clearly on training data without a single batch (instead of silently training nothing). */
    static void requireBatches(Iterable<Batch> data) {
        if (!data.iterator().hasNext()) throw new IllegalArgumentException("compress: the training data has no batch");
    }
}
