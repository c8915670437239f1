package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.quant.QuantDtype;
import org.goldenstick.rewrite.ConfigException;
import org.junit.jupiter.api.Test;

/** Upstream's constructor tests (test_sim_qat.py::test_constructor_error and round-trips). */
class SimQATConfigTest {
    static ConfigException fails(Map<String, ?> m) {
        return assertThrows(ConfigException.class, () -> SimQATConfig.fromMap(m));
    }

    @Test
    void defaultsAreWhatUpstreamActuallyDoes() {
        SimQATConfig d = SimQATConfig.fromMap(Map.of());
        assertEquals(SimQATConfig.defaults(), d);
        assertTrue(d.weightPerChannel());
        assertTrue(d.weightSymmetric());
        assertFalse(d.actPerChannel());
        assertFalse(d.actSymmetric());
        assertFalse(d.enableFusion());
        assertFalse(d.bnFold());
        assertTrue(d.oneConvFold());
        assertEquals(10_000_000, d.freezeBn());
        assertEquals(QuantDtype.INT8, d.actQuantDtype());
    }

    @Test
    void scalarListAndPairFormsRoundTrip() {
        SimQATConfig a = SimQATConfig.fromMap(Map.of("quant_delay", 900, "symmetric", List.of(true), "narrow_range", List.of(false, true)));
        assertEquals(900, a.actQuantDelay());
        assertEquals(900, a.weightQuantDelay());
        assertTrue(a.actSymmetric() && a.weightSymmetric());
        assertFalse(a.actNarrowRange());
        assertTrue(a.weightNarrowRange());
        assertEquals(a, SimQATConfig.fromMap(a.toMap()));
    }

    @Test
    void upstreamErrorCases() {
        assertEquals(ConfigException.Kind.TYPE, fails(Map.of("quant_delay", List.of(true, true))).kind());
        assertEquals(ConfigException.Kind.TYPE, fails(Map.of("per_channel", List.of(1, 1))).kind());
        assertEquals(ConfigException.Kind.TYPE, fails(Map.of("freeze_bn", true)).kind());
        ConfigException e = fails(Map.of("freeze_bn", -1));
        assertEquals(ConfigException.Kind.VALUE, e.kind());
        assertEquals("freeze_bn", e.field());
        assertTrue(e.getMessage().contains("-1") && e.getMessage().contains(">= 0"), e.getMessage());
        assertEquals(ConfigException.Kind.VALUE, fails(Map.of("quant_delay", List.of(1, 2, 3))).kind());
        ConfigException pc = fails(Map.of("per_channel", List.of(true, true)));
        assertEquals("act_per_channel", pc.field());
        assertEquals("act_quant_dtype", fails(Map.of("quant_dtype", List.of(QuantDtype.UINT8, QuantDtype.INT8))).field());
        assertEquals("weight_quant_dtype", fails(Map.of("quant_dtype", List.of("INT8", "UINT8"))).field());
        assertEquals(ConfigException.Kind.TYPE, fails(Map.of("bn_fold", 1)).kind());
        assertEquals(ConfigException.Kind.VALUE, fails(Map.of("quant_delay", -5)).kind());
        Map<String, Object> unknown = new HashMap<>();
        unknown.put("bnfold", true);
        assertTrue(fails(unknown).getMessage().contains("allowed keys"));
        assertThrows(ConfigException.class, () -> SimQATConfig.defaults().withFreezeBn(-1));
        assertThrows(ConfigException.class, () -> SimQATConfig.defaults().withSkipLayers(List.of("(")));
    }

    @Test
    void saveDeployModelPathValidation() {
        assertThrows(IllegalArgumentException.class, () -> new SimQAT(SimQATConfig.defaults()).setSaveDeployModelPath(java.nio.file.Path.of(" ")));
        SimQAT a = new SimQAT(Map.of("save_mindir", true, "save_mindir_path", "out/net"));
        assertTrue(a.saveDeployModel());
        assertTrue(a.saveDeployModelPath().isAbsolute());
        assertEquals(1, a.callbacks().size());
        assertEquals(0, new SimQAT(SimQATConfig.defaults()).callbacks().size());
        assertThrows(ConfigException.class, () -> new SimQAT(Map.of("save_deploy_model", "yes")));
    }
}
