package org.goldenstick.qat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.goldenstick.quant.QuantDtype;
import org.goldenstick.quant.QuantSpec;
import org.goldenstick.rewrite.ConfigValidation;
import org.goldenstick.rewrite.LayerFilter;

/**
 * Every option of upstream SimQAT (spec §5.1), validated when the record is built, so a bad value fails before
 * any training. Defaults are what upstream actually does (not its docstring): weights per-channel and symmetric,
 * activations per-tensor and asymmetric, no fusion, {@code one_conv_fold} on, {@code freeze_bn = 10 000 000}.
 *
 * <p>Only INT8 is accepted for both dtypes and per-channel activations are rejected, with upstream's rules.
 * {@code skipLayers} are regular expressions searched in dotted layer paths (those layers stay FP32).
 *
 * <pre>{@code
 * SimQATConfig cfg = SimQATConfig.defaults().withBnFold(true).withEnableFusion(true);
 * SimQATConfig fromDict = SimQATConfig.fromMap(Map.of("quant_delay", List.of(900, 900), "bn_fold", true));
 * }</pre>
 */
public record SimQATConfig(int actQuantDelay, int weightQuantDelay, QuantDtype actQuantDtype, QuantDtype weightQuantDtype,
                           boolean actPerChannel, boolean weightPerChannel, boolean actSymmetric, boolean weightSymmetric,
                           boolean actNarrowRange, boolean weightNarrowRange, boolean enableFusion, boolean bnFold,
                           boolean oneConvFold, int freezeBn, List<String> skipLayers) {
    static final ConfigValidation V = new ConfigValidation("SimQAT");

    private static final Set<String> KEYS = Set.of("quant_delay", "quant_dtype", "per_channel", "symmetric", "narrow_range",
            "enable_fusion", "bn_fold", "one_conv_fold", "freeze_bn", "skip_layers", "save_mindir", "save_mindir_path",
            "save_deploy_model", "save_deploy_model_path");

    public SimQATConfig {
        // same order as upstream's setters
        if (actQuantDelay < 0) throw V.valueError("act_quant_delay", actQuantDelay, "must be an int >= 0");
        if (weightQuantDelay < 0) throw V.valueError("weight_quant_delay", weightQuantDelay, "must be an int >= 0");
        if (actQuantDtype == null) throw V.typeError("act_quant_dtype", null, "a QuantDtype");
        if (actQuantDtype != QuantDtype.INT8) throw V.valueError("act_quant_dtype", actQuantDtype, "only QuantDtype.INT8 is supported");
        if (weightQuantDtype == null) throw V.typeError("weight_quant_dtype", null, "a QuantDtype");
        if (weightQuantDtype != QuantDtype.INT8) throw V.valueError("weight_quant_dtype", weightQuantDtype, "only QuantDtype.INT8 is supported");
        if (actPerChannel) throw V.valueError("act_per_channel", true, "only per-tensor activations (false) are supported");
        if (freezeBn < 0) throw V.valueError("freeze_bn", freezeBn, "must be an int >= 0");
        skipLayers = List.copyOf(skipLayers == null ? List.of() : skipLayers);
        LayerFilter.ignoring("SimQAT", "skip_layers", skipLayers); // the one layer-selection mechanism validates the patterns
    }

    public static SimQATConfig defaults() {
        return new SimQATConfig(0, 0, QuantDtype.INT8, QuantDtype.INT8, false, true, false, true, false, false, false, false, true,
                10_000_000, List.of());
    }

    /**
     * Builds a config from an upstream-style dict: {@code quant_delay, quant_dtype, per_channel, symmetric,
     * narrow_range} take a scalar or a list {@code [act, weight]} (length ≤ 2); {@code enable_fusion, bn_fold,
     * one_conv_fold} booleans; {@code freeze_bn} an int; {@code skip_layers} a list of regexes. Types are checked as
     * upstream (1 is not a boolean, true is not an int). Unknown keys are rejected. Missing keys take the defaults.
     */
    public static SimQATConfig fromMap(Map<String, ?> map) {
        if (map == null) return defaults();
        for (String k : map.keySet()) if (!KEYS.contains(k)) throw V.valueError(k, map.get(k), "unknown key; allowed keys are " + new java.util.TreeSet<>(KEYS));
        SimQATConfig d = defaults();
        Object[] delay = map.containsKey("quant_delay") ? V.actWeightPair("quant_delay", map.get("quant_delay")) : new Object[] {0, 0};
        Object[] dtype = map.containsKey("quant_dtype") ? V.actWeightPair("quant_dtype", map.get("quant_dtype")) : new Object[] {QuantDtype.INT8, QuantDtype.INT8};
        Object[] pc = map.containsKey("per_channel") ? V.actWeightPair("per_channel", map.get("per_channel")) : new Object[] {false, true};
        Object[] sym = map.containsKey("symmetric") ? V.actWeightPair("symmetric", map.get("symmetric")) : new Object[] {false, true};
        Object[] nr = map.containsKey("narrow_range") ? V.actWeightPair("narrow_range", map.get("narrow_range")) : new Object[] {false, false};
        int ad = V.intAtLeast("act_quant_delay", delay[0], 0);
        int wd = V.intAtLeast("weight_quant_delay", delay[1], 0);
        QuantDtype at = V.enumValue("act_quant_dtype", dtype[0], QuantDtype.class);
        if (at != QuantDtype.INT8) throw V.valueError("act_quant_dtype", at, "only QuantDtype.INT8 is supported");
        QuantDtype wt = V.enumValue("weight_quant_dtype", dtype[1], QuantDtype.class);
        boolean apc = V.bool("act_per_channel", pc[0]);
        boolean wpc = V.bool("weight_per_channel", pc[1]);
        boolean as = V.bool("act_symmetric", sym[0]);
        boolean ws = V.bool("weight_symmetric", sym[1]);
        boolean an = V.bool("act_narrow_range", nr[0]);
        boolean wn = V.bool("weight_narrow_range", nr[1]);
        boolean fusion = map.containsKey("enable_fusion") ? V.bool("enable_fusion", map.get("enable_fusion")) : d.enableFusion();
        boolean fold = map.containsKey("bn_fold") ? V.bool("bn_fold", map.get("bn_fold")) : d.bnFold();
        boolean one = map.containsKey("one_conv_fold") ? V.bool("one_conv_fold", map.get("one_conv_fold")) : d.oneConvFold();
        int freeze = map.containsKey("freeze_bn") ? V.intAtLeast("freeze_bn", map.get("freeze_bn"), 0) : d.freezeBn();
        List<String> skips = new ArrayList<>();
        if (map.containsKey("skip_layers")) {
            if (!(map.get("skip_layers") instanceof List<?> l)) throw V.typeError("skip_layers", map.get("skip_layers"), "a list of regular expressions");
            for (Object o : l) {
                if (!(o instanceof String s)) throw V.typeError("skip_layers", o, "a list of strings");
                skips.add(s);
            }
        }
        return new SimQATConfig(ad, wd, at, wt, apc, wpc, as, ws, an, wn, fusion, fold, one, freeze, skips);
    }

    /** The upstream-style dict of this config (round-trips through {@link #fromMap}). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("quant_delay", List.of(actQuantDelay, weightQuantDelay));
        m.put("quant_dtype", List.of(actQuantDtype, weightQuantDtype));
        m.put("per_channel", List.of(actPerChannel, weightPerChannel));
        m.put("symmetric", List.of(actSymmetric, weightSymmetric));
        m.put("narrow_range", List.of(actNarrowRange, weightNarrowRange));
        m.put("enable_fusion", enableFusion);
        m.put("bn_fold", bnFold);
        m.put("one_conv_fold", oneConvFold);
        m.put("freeze_bn", freezeBn);
        m.put("skip_layers", skipLayers);
        return m;
    }

    /** Activation grid: signedness follows symmetry, as upstream's {@code signed() = symmetric()}. */
    public QuantSpec actSpec() {
        return new QuantSpec(actQuantDtype.bits(), actSymmetric, actSymmetric, actNarrowRange);
    }

    public QuantSpec weightSpec() {
        return new QuantSpec(weightQuantDtype.bits(), weightSymmetric, weightSymmetric, weightNarrowRange);
    }

    public SimQATConfig withQuantDelay(int act, int weight) {
        return new SimQATConfig(act, weight, actQuantDtype, weightQuantDtype, actPerChannel, weightPerChannel, actSymmetric, weightSymmetric,
                actNarrowRange, weightNarrowRange, enableFusion, bnFold, oneConvFold, freezeBn, skipLayers);
    }

    public SimQATConfig withEnableFusion(boolean on) {
        return new SimQATConfig(actQuantDelay, weightQuantDelay, actQuantDtype, weightQuantDtype, actPerChannel, weightPerChannel, actSymmetric,
                weightSymmetric, actNarrowRange, weightNarrowRange, on, bnFold, oneConvFold, freezeBn, skipLayers);
    }

    public SimQATConfig withBnFold(boolean on) {
        return new SimQATConfig(actQuantDelay, weightQuantDelay, actQuantDtype, weightQuantDtype, actPerChannel, weightPerChannel, actSymmetric,
                weightSymmetric, actNarrowRange, weightNarrowRange, enableFusion, on, oneConvFold, freezeBn, skipLayers);
    }

    public SimQATConfig withOneConvFold(boolean on) {
        return new SimQATConfig(actQuantDelay, weightQuantDelay, actQuantDtype, weightQuantDtype, actPerChannel, weightPerChannel, actSymmetric,
                weightSymmetric, actNarrowRange, weightNarrowRange, enableFusion, bnFold, on, freezeBn, skipLayers);
    }

    public SimQATConfig withFreezeBn(int steps) {
        return new SimQATConfig(actQuantDelay, weightQuantDelay, actQuantDtype, weightQuantDtype, actPerChannel, weightPerChannel, actSymmetric,
                weightSymmetric, actNarrowRange, weightNarrowRange, enableFusion, bnFold, oneConvFold, steps, skipLayers);
    }

    public SimQATConfig withSkipLayers(List<String> regexes) {
        return new SimQATConfig(actQuantDelay, weightQuantDelay, actQuantDtype, weightQuantDtype, actPerChannel, weightPerChannel, actSymmetric,
                weightSymmetric, actNarrowRange, weightNarrowRange, enableFusion, bnFold, oneConvFold, freezeBn, regexes);
    }

}
