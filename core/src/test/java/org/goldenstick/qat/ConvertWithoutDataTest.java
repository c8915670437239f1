package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** convert refuses activation quantizers that never saw data instead of silently using the initial range's scale. */
class ConvertWithoutDataTest {
    @Test
    void convertWithoutAnyDataFailsNamingTheQuantizers() {
        SimQAT algo = new SimQAT(SimQATConfig.defaults());
        Module q = algo.apply(new LeNet5(1, 8, 10, new Random(1)));
        var e = assertThrows(IllegalStateException.class, () -> algo.convert(q));
        assertTrue(e.getMessage().contains("never saw data") && e.getMessage().contains("0.047") && e.getMessage().contains("(input)"), e.getMessage());
    }

    @Test
    void oneTrainingModeBatchIsEnough() {
        SimQAT algo = new SimQAT(SimQATConfig.defaults());
        Module q = algo.apply(new LeNet5(1, 8, 10, new Random(1)));
        q.train();
        Random r = new Random(2);
        float[] x = new float[4 * 64];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        q.forward(Tensor.of(x, 4, 1, 8, 8));
        assertDoesNotThrow(() -> algo.convert(q));
    }
}
