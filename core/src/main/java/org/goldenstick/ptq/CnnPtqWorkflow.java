package org.goldenstick.ptq;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.tensor.Tensor;

/**
 * Post-training int8 quantization of a CNN as one call: {@link CnnPtq} apply + calibrate, with optional accuracy control
 * (NNCF's idea): when the top-1 accuracy on a validation set drops by more than {@code maxDropPoints}, the quantized
 * layers are ranked by sensitivity ({@link CnnPtq#rankLayers}) and the most sensitive are kept in float (each with the
 * activations right after it, {@link CnnPtq#floatGroups}), one more at a time, quantizing again from the float network each time, until the drop fits or every layer is float. Then the
 * per-layer SQNR table is measured and the network converted to int8.
 *
 * <pre>{@code
 * CnnPtqWorkflow.Result r = CnnPtqWorkflow.quantize(net, calibImages, validation, CnnPtqConfig.defaults(), 0.5, ProgressListener.SILENT);
 * Module int8 = r.deploy();
 * List<String> keptFloat = r.keptFloat();
 * }</pre>
 */
public final class CnnPtqWorkflow {
    private CnnPtqWorkflow() {}

    /**
     * @param deploy            the int8 network (the input network, rewritten in place)
     * @param algorithm         the algorithm of the last attempt (its export writes the files)
     * @param keptFloat         layers accuracy control kept in float, most sensitive first (empty without it)
     * @param fp32Validation    float top-1 accuracy on the validation set, NaN without one
     * @param quantValidation   fake-quant top-1 accuracy on the validation set after the last attempt, NaN without one
     * @param dropMet           whether the drop fits {@code maxDropPoints} (true when no control was asked)
     * @param sqnr              each quantized layer's output SQNR against float, in call order
     * @param attempts          quantization passes run (1 without accuracy control)
     */
    public record Result(Module deploy, CnnPtq algorithm, List<String> keptFloat, double fp32Validation, double quantValidation, boolean dropMet,
                         List<CnnPtq.LayerSqnr> sqnr, int attempts) {}

    /**
     * Quantizes {@code network} in place.
     *
     * @param calibration   calibration images {@code [N, C, H, W]} (the first {@link CnnPtqConfig#calibrationSamples} are used)
     * @param validation    labelled images for accuracy control and the SQNR table, or null (then the table uses the calibration images)
     * @param maxDropPoints the largest validation accuracy drop allowed, in points; null for no accuracy control
     */
    public static Result quantize(Module network, Tensor calibration, Batch validation, CnnPtqConfig config, Double maxDropPoints, ProgressListener progress) {
        ProgressListener p = ProgressListener.orSilent(progress);
        if (maxDropPoints != null && validation == null) throw new IllegalArgumentException("accuracy control (max drop " + maxDropPoints + ") needs a validation set");
        if (maxDropPoints != null && !(maxDropPoints >= 0)) throw new IllegalArgumentException("max drop must be >= 0 points, got " + maxDropPoints);
        int[] sample = Arrays.copyOfRange(calibration.shape(), 1, calibration.rank());
        ApplyOptions shape = ApplyOptions.of(Map.of("input_shape", sample));
        Map<String, Module> originals = new LinkedHashMap<>();
        network.namedModules().forEach((k, m) -> {
            if (!k.isEmpty() && m instanceof Layer) originals.put(k, m);
        });
        List<Batch> val = validation == null ? List.of() : split(validation, config.batchSize());
        double fp32 = validation == null ? Double.NaN : CnnPtq.accuracy(network, val);
        List<String> kept = new ArrayList<>();
        List<String> ranking = null;
        Map<String, List<String>> groups = null;
        int attempts = 0;
        while (true) {
            List<String> skip = new ArrayList<>();
            for (String k : kept) skip.addAll(groups.get(k));
            CnnPtq algo = new CnnPtq(config.plusExactLayers(skip));
            algo.apply(network, shape);
            algo.calibrate(network, calibration, p);
            attempts++;
            double acc = validation == null ? Double.NaN : CnnPtq.accuracy(network, val);
            boolean fits = maxDropPoints == null || 100 * (fp32 - acc) <= maxDropPoints + 1e-9;
            if (maxDropPoints != null) {
                p.printf("accuracy control: %d layer(s) in float %s, validation %.2f%% (float %.2f%%, drop %.2f points, allowed %.2f)%n",
                        kept.size(), kept, 100 * acc, 100 * fp32, 100 * (fp32 - acc), maxDropPoints);
            }
            String next = null;
            if (!fits) {
                if (ranking == null) {
                    ranking = algo.rankLayers(network, validation.inputs(), 300);
                    groups = algo.floatGroups(network);
                }
                for (String r : ranking) if (!kept.contains(r)) {
                    next = r;
                    break;
                }
                // the last quantized layer stays: with none left there is no int8 network to return
                if (kept.size() + 1 >= ranking.size()) next = null;
            }
            if (fits || next == null) {
                List<CnnPtq.LayerSqnr> table = algo.layerSqnr(network, validation != null ? validation.inputs() : calibration, 300);
                Module deploy = algo.convert(network);
                return new Result(deploy, algo, List.copyOf(kept), fp32, acc, fits, table, attempts);
            }
            kept.add(next);
            restore(network, originals);
        }
    }

    /** Puts the float layers back at their paths (the rewrite replaced them; their own tensors were never written). */
    private static void restore(Module network, Map<String, Module> originals) {
        for (var e : originals.entrySet()) {
            if (network.module(e.getKey()) != e.getValue()) network.replaceChild(e.getKey(), e.getValue());
        }
    }

    private static List<Batch> split(Batch b, int size) {
        List<Tensor> xs = CnnPtq.batches(b.inputs(), b.inputs().dim(0), size);
        List<Batch> out = new ArrayList<>();
        int s = 0;
        for (Tensor x : xs) {
            int n = x.dim(0);
            out.add(new Batch(x, Arrays.copyOfRange(b.labels(), s, s + n)));
            s += n;
        }
        return out;
    }
}
