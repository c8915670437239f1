package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.goldenstick.llm.DemoModel;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerErrorsTest {
    @TempDir
    Path tmp;

    /**
     * int8 per-row weights are within ~1 % of the float ones; SmoothQuant's column scaling is divided back out (compared
     * without that, W·diag(s) against W, the error would be of the order of the scales themselves, far above 1 %).
     */
    @Test
    void rtnAndSmoothQuantErrorsAreSmallAndNamePerLayer() throws Exception {
        Path demo = DemoModel.defaultDir();
        Path calib = tmp.resolve("calib.txt");
        Files.writeString(calib, Files.readString(demo.resolve("heldout.txt")).substring(0, 20_000));
        Tokenizer tok = Tokenizers.load(demo);
        Quantizer.quantize(demo, tmp.resolve("rtn"), PTQConfig.rtn(), null, 0, 64, null);
        PtqReport sqReport = Quantizer.quantize(demo, tmp.resolve("sq"), PTQConfig.smoothQuant(), calib, 4, 64, t -> tok.encode(t, true));
        Map<String, Double> rtn = LayerErrors.relativeWeightErrors(demo, tmp.resolve("rtn"));
        Map<String, Double> sq = LayerErrors.relativeWeightErrors(demo, tmp.resolve("sq"));
        assertEquals(sqReport.layersQuantized(), sq.size());
        assertTrue(rtn.containsKey("model.layers.0.self_attn.q_proj") && !rtn.containsKey("lm_head"), rtn.keySet().toString());
        for (var e : rtn.entrySet()) assertTrue(e.getValue() > 0 && e.getValue() < 0.01, "RTN " + e);
        for (var e : sq.entrySet()) assertTrue(e.getValue() > 0 && e.getValue() < 0.02, "SmoothQuant " + e);
    }
}
