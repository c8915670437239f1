package org.goldenstick.qat.slb;

import java.util.LinkedHashMap;
import java.util.Map;
import org.goldenstick.quant.QuantDtype;
import org.goldenstick.rewrite.ConfigException;
import org.goldenstick.rewrite.ConfigValidation;

/**
 * SLB settings (upstream {@code SlbQuantConfig}, spec §6.1). Every value is validated on construction with an error
 * naming the field, the value and the allowed range. {@code epochSize} and {@code hasTrainedEpoch} are −1 until set
 * ({@link SlbQuantAwareTraining#callbacks()} refuses to run without them, as upstream).
 *
 * <p>{@code classifierQuantDtype} is ours: upstream leaves Linear layers in float. Here every Linear layer is quantized:
 * hidden ones with the SLB search at the network's weight bits, the classifier (the Linear layer whose output is the
 * network's output) with int8 fake quantization by default (deployed as an int8 layer), or with the SLB search at
 * INT1/INT2/INT4 when set so.
 *
 * <p>{@code initFromWeights} is ours (not upstream): true initialises the level logits from the trained float weight
 * (nearest level of {@code w / scale}, with a fixed per-channel scale that is deployed); false re-initialises them
 * He-normal and uses no scale, exactly as upstream.
 *
 * <pre>{@code
 * SlbConfig c = SlbConfig.defaults().withWeightQuantDtype(QuantDtype.INT2).withEpochSize(10).withHasTrainedEpoch(0);
 * }</pre>
 */
public record SlbConfig(QuantDtype weightQuantDtype, QuantDtype actQuantDtype, boolean enableActQuant, boolean enableBnCalibration,
        int epochSize, int hasTrainedEpoch, double tStartVal, double tStartTime, double tEndTime, double tFactor, boolean initFromWeights,
        QuantDtype classifierQuantDtype) {

    static final ConfigValidation V = new ConfigValidation("SlbQuantAwareTraining");

    public SlbConfig {
        if (weightQuantDtype == null) throw V.typeError("weight_quant_dtype", null, "a QuantDtype");
        if (!lowBit(weightQuantDtype)) {
            throw V.valueError("weight_quant_dtype", weightQuantDtype, "only INT1, INT2 or INT4 (1, 2 or 4 weight bits) are supported");
        }
        if (actQuantDtype == null) throw V.typeError("act_quant_dtype", null, "a QuantDtype");
        if (actQuantDtype != QuantDtype.INT8) throw V.valueError("act_quant_dtype", actQuantDtype, "only INT8 is supported");
        if (epochSize != -1 && epochSize <= 0) throw V.valueError("epoch_size", epochSize, "must be an int > 0");
        if (hasTrainedEpoch != -1 && hasTrainedEpoch < 0) throw V.valueError("has_trained_epoch", hasTrainedEpoch, "must be an int >= 0");
        if (!(tStartVal > 0) || !Double.isFinite(tStartVal)) throw V.valueError("t_start_val", tStartVal, "must be a finite float > 0");
        if (!(tStartTime >= 0 && tStartTime <= 1)) throw V.valueError("t_start_time", tStartTime, "must be in [0.0, 1.0]");
        if (!(tEndTime >= 0 && tEndTime <= 1)) throw V.valueError("t_end_time", tEndTime, "must be in [0.0, 1.0]");
        if (!(tFactor > 0) || !Double.isFinite(tFactor)) throw V.valueError("t_factor", tFactor, "must be a finite float > 0");
        if (classifierQuantDtype == null) throw V.typeError("classifier_quant_dtype", null, "INT8, INT4, INT2 or INT1");
        if (classifierQuantDtype != QuantDtype.INT8 && !lowBit(classifierQuantDtype)) {
            throw V.valueError("classifier_quant_dtype", classifierQuantDtype, "only INT8 (default), INT4, INT2 or INT1 are supported");
        }
    }

    private static boolean lowBit(QuantDtype d) {
        return d == QuantDtype.INT1 || d == QuantDtype.INT2 || d == QuantDtype.INT4;
    }

    /** Bits of the classifier's weights: 8 (int8 fake quantization, deployed as an int8 layer) or 1/2/4 (SLB search). */
    public int classifierBits() { return classifierQuantDtype.bits(); }

    /** Upstream defaults: W INT1, A INT8, act quant off, BN calibration off, epochs unset, T from 1.0, 0.2 → 0.6, ×1.2. */
    public static SlbConfig defaults() {
        return new SlbConfig(QuantDtype.INT1, QuantDtype.INT8, false, false, -1, -1, 1.0, 0.2, 0.6, 1.2, true, QuantDtype.INT8);
    }

    public int weightBits() { return weightQuantDtype.bits(); }

    public SlbConfig withWeightQuantDtype(QuantDtype d) { return new SlbConfig(d, actQuantDtype, enableActQuant, enableBnCalibration, epochSize, hasTrainedEpoch, tStartVal, tStartTime, tEndTime, tFactor, initFromWeights, classifierQuantDtype); }
    public SlbConfig withActQuantDtype(QuantDtype d) { return new SlbConfig(weightQuantDtype, d, enableActQuant, enableBnCalibration, epochSize, hasTrainedEpoch, tStartVal, tStartTime, tEndTime, tFactor, initFromWeights, classifierQuantDtype); }
    public SlbConfig withEnableActQuant(boolean b) { return new SlbConfig(weightQuantDtype, actQuantDtype, b, enableBnCalibration, epochSize, hasTrainedEpoch, tStartVal, tStartTime, tEndTime, tFactor, initFromWeights, classifierQuantDtype); }
    public SlbConfig withEnableBnCalibration(boolean b) { return new SlbConfig(weightQuantDtype, actQuantDtype, enableActQuant, b, epochSize, hasTrainedEpoch, tStartVal, tStartTime, tEndTime, tFactor, initFromWeights, classifierQuantDtype); }
    public SlbConfig withEpochSize(int e) { if (e <= 0) throw V.valueError("epoch_size", e, "must be an int > 0"); return new SlbConfig(weightQuantDtype, actQuantDtype, enableActQuant, enableBnCalibration, e, hasTrainedEpoch, tStartVal, tStartTime, tEndTime, tFactor, initFromWeights, classifierQuantDtype); }
    public SlbConfig withHasTrainedEpoch(int e) { if (e < 0) throw V.valueError("has_trained_epoch", e, "must be an int >= 0"); return new SlbConfig(weightQuantDtype, actQuantDtype, enableActQuant, enableBnCalibration, epochSize, e, tStartVal, tStartTime, tEndTime, tFactor, initFromWeights, classifierQuantDtype); }
    public SlbConfig withTStartVal(double v) { return new SlbConfig(weightQuantDtype, actQuantDtype, enableActQuant, enableBnCalibration, epochSize, hasTrainedEpoch, v, tStartTime, tEndTime, tFactor, initFromWeights, classifierQuantDtype); }
    public SlbConfig withTStartTime(double v) { return new SlbConfig(weightQuantDtype, actQuantDtype, enableActQuant, enableBnCalibration, epochSize, hasTrainedEpoch, tStartVal, v, tEndTime, tFactor, initFromWeights, classifierQuantDtype); }
    public SlbConfig withTEndTime(double v) { return new SlbConfig(weightQuantDtype, actQuantDtype, enableActQuant, enableBnCalibration, epochSize, hasTrainedEpoch, tStartVal, tStartTime, v, tFactor, initFromWeights, classifierQuantDtype); }
    public SlbConfig withTFactor(double v) { return new SlbConfig(weightQuantDtype, actQuantDtype, enableActQuant, enableBnCalibration, epochSize, hasTrainedEpoch, tStartVal, tStartTime, tEndTime, v, initFromWeights, classifierQuantDtype); }
    public SlbConfig withClassifierQuantDtype(QuantDtype d) { return new SlbConfig(weightQuantDtype, actQuantDtype, enableActQuant, enableBnCalibration, epochSize, hasTrainedEpoch, tStartVal, tStartTime, tEndTime, tFactor, initFromWeights, d); }
    public SlbConfig withInitFromWeights(boolean b) { return new SlbConfig(weightQuantDtype, actQuantDtype, enableActQuant, enableBnCalibration, epochSize, hasTrainedEpoch, tStartVal, tStartTime, tEndTime, tFactor, b, classifierQuantDtype); }

    /**
     * From an upstream-style dict with untyped values: {@code quant_dtype} (scalar or {@code [act, weight]}),
     * {@code enable_act_quant}, {@code enable_bn_calibration}, {@code epoch_size}, {@code has_trained_epoch},
     * {@code t_start_val}, {@code t_start_time}, {@code t_end_time}, {@code t_factor}, {@code init_from_weights}.
     * Unknown keys are an error.
     */
    public static SlbConfig fromMap(Map<String, ?> m) {
        SlbConfig c = defaults();
        if (m == null) return c;
        for (var e : m.entrySet()) {
            Object v = e.getValue();
            c = switch (e.getKey()) {
                case "quant_dtype" -> {
                    Object[] aw = V.actWeightPair("quant_dtype", v);
                    yield c.withActQuantDtype(V.enumValue("act_quant_dtype", aw[0], QuantDtype.class))
                            .withWeightQuantDtype(V.enumValue("weight_quant_dtype", aw[1], QuantDtype.class));
                }
                case "weight_quant_dtype" -> c.withWeightQuantDtype(V.enumValue("weight_quant_dtype", v, QuantDtype.class));
                case "act_quant_dtype" -> c.withActQuantDtype(V.enumValue("act_quant_dtype", v, QuantDtype.class));
                case "enable_act_quant" -> c.withEnableActQuant(V.bool("enable_act_quant", v));
                case "enable_bn_calibration" -> c.withEnableBnCalibration(V.bool("enable_bn_calibration", v));
                case "epoch_size" -> c.withEpochSize(V.intAtLeast("epoch_size", v, 1));
                case "has_trained_epoch" -> c.withHasTrainedEpoch(V.intAtLeast("has_trained_epoch", v, 0));
                case "t_start_val" -> c.withTStartVal(V.positiveFloat("t_start_val", v));
                case "t_start_time" -> c.withTStartTime(V.floatInRange("t_start_time", v, 0, 1, true));
                case "t_end_time" -> c.withTEndTime(V.floatInRange("t_end_time", v, 0, 1, true));
                case "t_factor" -> c.withTFactor(V.positiveFloat("t_factor", v));
                case "init_from_weights" -> c.withInitFromWeights(V.bool("init_from_weights", v));
                case "classifier_quant_dtype" -> c.withClassifierQuantDtype(V.enumValue("classifier_quant_dtype", v, QuantDtype.class));
                default -> throw new ConfigException("SlbQuantAwareTraining", e.getKey(), v, "a known key", ConfigException.Kind.VALUE);
            };
        }
        return c;
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("weight_quant_dtype", weightQuantDtype);
        m.put("act_quant_dtype", actQuantDtype);
        m.put("enable_act_quant", enableActQuant);
        m.put("enable_bn_calibration", enableBnCalibration);
        m.put("epoch_size", epochSize);
        m.put("has_trained_epoch", hasTrainedEpoch);
        m.put("t_start_val", tStartVal);
        m.put("t_start_time", tStartTime);
        m.put("t_end_time", tEndTime);
        m.put("t_factor", tFactor);
        m.put("init_from_weights", initFromWeights);
        m.put("classifier_quant_dtype", classifierQuantDtype);
        return m;
    }
}
