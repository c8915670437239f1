package org.goldenstick.qat.slb;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.quant.QuantDtype;
import org.goldenstick.rewrite.ConfigException;
import org.junit.jupiter.api.Test;

class SlbScheduleAndConfigTest {
    /** Independent reference: walk the epochs, multiplying by t_factor once per epoch strictly inside (t_start, t_end]. */
    private static double referenceT(int epochSize, int trained, double v, double start, double end, double f, int epoch) {
        int e = epoch + trained;
        long tStart = (long) Math.floor(epochSize * start), tEnd = (long) Math.floor(epochSize * end);
        double t = v;
        for (long k = tStart + 1; k <= Math.min(e, tEnd); k++) t *= f;
        return t;
    }

    @Test
    void defaultScheduleOver100Epochs() {
        SlbConfig c = SlbConfig.defaults().withEpochSize(100).withHasTrainedEpoch(0);
        for (int e = 1; e <= 20; e++) assertEquals(1.0, TemperatureScheduler.temperature(c, e), 0, "epoch " + e);
        assertEquals(1.2, TemperatureScheduler.temperature(c, 21), 1e-12);
        assertEquals(1.44, TemperatureScheduler.temperature(c, 22), 1e-12);
        for (int e = 60; e <= 100; e++) assertEquals(Math.pow(1.2, 40), TemperatureScheduler.temperature(c, e), 1e-9, "epoch " + e);
        assertEquals(1469.77, TemperatureScheduler.temperature(c, 60), 0.01);
        assertFalse(TemperatureScheduler.hard(c, 59));
        assertTrue(TemperatureScheduler.hard(c, 60));
    }

    @Test
    void scheduleMatchesReferenceForSeveralSettings() {
        record S(int size, int trained, double v, double start, double end, double f) {}
        for (S s : List.of(new S(10, 0, 1.0, 0.2, 0.6, 3.2), new S(30, 5, 0.5, 0.1, 0.9, 1.5), new S(7, 2, 2.0, 0.0, 1.0, 1.1),
                new S(12, 0, 1.0, 0.5, 0.5, 2.0))) {
            SlbConfig c = SlbConfig.defaults().withEpochSize(s.size).withHasTrainedEpoch(s.trained).withTStartVal(s.v).withTStartTime(s.start)
                    .withTEndTime(s.end).withTFactor(s.f);
            for (int e = 1; e + s.trained <= s.size; e++) {
                assertEquals(referenceT(s.size, s.trained, s.v, s.start, s.end, s.f, e), TemperatureScheduler.temperature(c, e), 1e-9, s + " epoch " + e);
                assertEquals(e + s.trained >= (int) Math.floor(s.size * s.end), TemperatureScheduler.hard(c, e), s + " epoch " + e);
            }
        }
    }

    @Test
    void schedulerSetsEveryQuantizer() {
        var slb = new SlbQuantAwareTraining();
        slb.setEpochSize(10);
        slb.setHasTrainedEpoch(0);
        slb.setTFactor(3.2);
        var net = slb.apply(new LeNet5(1, 8, 10, new Random(1)));
        assertEquals(4, TemperatureScheduler.applyTo(net, slb.config(), 3)); // conv1, conv2, fc1, fc2 (fc3 is the int8 classifier)
        for (var m : net.namedModules().values()) {
            if (m instanceof SlbWeightQuantizer q) {
                assertEquals((float) 3.2, q.temperature(), 1e-6);
                assertFalse(q.hard());
            }
        }
        TemperatureScheduler.applyTo(net, slb.config(), 6);
        for (var m : net.namedModules().values()) if (m instanceof SlbWeightQuantizer q) assertTrue(q.hard());
    }

    @Test
    void settersValidateWithFieldAndRange() {
        var slb = new SlbQuantAwareTraining();
        ConfigException e = assertThrows(ConfigException.class, () -> slb.setWeightQuantDtype(QuantDtype.INT8));
        assertEquals("weight_quant_dtype", e.field());
        assertTrue(e.getMessage().contains("INT8") && e.getMessage().contains("INT1, INT2 or INT4"), e.getMessage());
        assertEquals("act_quant_dtype", assertThrows(ConfigException.class, () -> slb.setActQuantDtype(QuantDtype.INT4)).field());
        e = assertThrows(ConfigException.class, () -> slb.setEpochSize(0));
        assertEquals("epoch_size", e.field());
        assertTrue(e.getMessage().contains("> 0"), e.getMessage());
        assertEquals("has_trained_epoch", assertThrows(ConfigException.class, () -> slb.setHasTrainedEpoch(-1)).field());
        assertEquals("t_start_val", assertThrows(ConfigException.class, () -> slb.setTStartVal(0.0)).field());
        e = assertThrows(ConfigException.class, () -> slb.setTStartTime(1.5));
        assertTrue(e.getMessage().contains("t_start_time") && e.getMessage().contains("[0.0, 1.0]"), e.getMessage());
        assertEquals("t_end_time", assertThrows(ConfigException.class, () -> slb.setTEndTime(-0.1)).field());
        assertEquals("t_factor", assertThrows(ConfigException.class, () -> slb.setTFactor(-1.2)).field());
        // a failed setter leaves the configuration unchanged
        assertEquals(SlbConfig.defaults(), slb.config());
        assertTrue(slb.toString().startsWith("SlbQuantAwareTraining<weight_quant_dtype=INT1, act_quant_dtype=INT8, enable_act_quant=false"), slb.toString());
    }

    @Test
    void dictFormFollowsUpstreamRules() {
        // a scalar quant_dtype applies to both, so INT8 weights are rejected as upstream
        assertEquals("weight_quant_dtype", assertThrows(ConfigException.class, () -> SlbConfig.fromMap(Map.of("quant_dtype", QuantDtype.INT8))).field());
        SlbConfig c = SlbConfig.fromMap(Map.of("quant_dtype", List.of(QuantDtype.INT8, QuantDtype.INT2), "epoch_size", 10, "t_factor", 3.2));
        assertEquals(QuantDtype.INT2, c.weightQuantDtype());
        assertEquals(10, c.epochSize());
        assertEquals(ConfigException.Kind.TYPE, assertThrows(ConfigException.class, () -> SlbConfig.fromMap(Map.of("epoch_size", 10.0))).kind());
        assertEquals(ConfigException.Kind.TYPE, assertThrows(ConfigException.class, () -> SlbConfig.fromMap(Map.of("t_factor", 2))).kind());
        assertEquals(ConfigException.Kind.TYPE, assertThrows(ConfigException.class, () -> SlbConfig.fromMap(Map.of("enable_act_quant", 1))).kind());
        assertThrows(ConfigException.class, () -> SlbConfig.fromMap(Map.of("quant_dtype", List.of(QuantDtype.INT8, QuantDtype.INT1, QuantDtype.INT1))));
    }

    @Test
    void callbacksCheckPreconditionsInUpstreamOrder() {
        var slb = new SlbQuantAwareTraining();
        assertTrue(assertThrows(IllegalStateException.class, slb::callbacks).getMessage().contains("epoch_size"));
        slb.setEpochSize(5);
        assertTrue(assertThrows(IllegalStateException.class, slb::callbacks).getMessage().contains("has_trained_epoch"));
        slb.setHasTrainedEpoch(5);
        assertTrue(assertThrows(IllegalArgumentException.class, slb::callbacks).getMessage().contains("greater than"));
        slb.setHasTrainedEpoch(0);
        slb.setTStartTime(0.8);
        slb.setTEndTime(0.5);
        assertTrue(assertThrows(IllegalArgumentException.class, slb::callbacks).getMessage().contains("t_end_time"));
        slb.setTEndTime(0.9);
        assertEquals(1, slb.callbacks().size());
        slb.setEnableBnCalibration(true);
        var cbs = slb.callbacks();
        assertInstanceOf(TemperatureScheduler.class, cbs.get(0));
        assertInstanceOf(BnCalibration.class, cbs.get(1));
    }
}
