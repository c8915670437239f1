package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.goldenstick.nn.BatchNorm1d;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.qat.slb.SlbQuantAwareTraining;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each construct SimQAT, SLB or the exporter cannot handle fails with an error naming the layer or op, never silently. */
class UnsupportedConstructsTest {
    @TempDir
    Path dir;

    private static final ApplyOptions SHAPE = ApplyOptions.of(Map.of("input_shape", new int[] {6}));

    private static SimQAT simqat() {
        return new SimQAT(SimQATConfig.defaults());
    }

    /** A forward with an op SimQAT cannot convert (softmax), or a scalar affine op ONNX export cannot write. */
    static final class WithOp extends Module {
        private final Linear fc = registerChild("fc", new Linear(6, 4, new Random(0)));
        private final boolean softmax;

        WithOp(boolean softmax) {
            this.softmax = softmax;
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor y = fc.forward(x);
            return softmax ? Functional.softmax(y, -1) : y.mul(0.5f);
        }
    }

    @Test
    void unsupportedOpIsNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> simqat().apply(new WithOp(true), SHAPE));
        assertTrue(e.getMessage().contains("op 'softmax'"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> simqat().apply(new WithOp(false), SHAPE));
        assertTrue(e2.getMessage().contains("op 'affine'"), e2.getMessage());
    }

    /** A layer whose weight the forward uses directly: wrapping it would change nothing. */
    static final class DirectWeight extends Module {
        private final Linear fc = registerChild("fc", new Linear(6, 4, new Random(0)));
        private final Linear head = registerChild("head", new Linear(4, 2, new Random(1)));

        @Override
        public Tensor forward(Tensor x) {
            return head.forward(x.linear(fc.weight(), fc.bias()));
        }
    }

    @Test
    void layerNeverCalledIsNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> simqat().apply(new DirectWeight(), SHAPE));
        assertTrue(e.getMessage().contains("'fc'") && e.getMessage().contains("never calls it") && e.getMessage().contains("fc.weight"), e.getMessage());
        // SLB wraps through the same rewriter: the same layer is named, nothing is wrapped silently
        var slb = assertThrows(IllegalArgumentException.class, () -> new SlbQuantAwareTraining().apply(new DirectWeight(), SHAPE));
        assertTrue(slb.getMessage().contains("'fc'") && slb.getMessage().contains("never calls it"), slb.getMessage());
    }

    /** A layer used in the forward but never registered: it has no name and its parameters are invisible. */
    static final class Unregistered extends Module {
        private final Linear fc = new Linear(6, 4, new Random(0));

        @Override
        public Tensor forward(Tensor x) {
            return fc.forward(x);
        }
    }

    @Test
    void unregisteredLayerIsNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> simqat().apply(new Unregistered(), SHAPE));
        assertTrue(e.getMessage().contains("Linear(6 -> 4") && e.getMessage().contains("not registered"), e.getMessage());
    }

    /** A forward that picks its layer by class: after wrapping it would silently skip the quantized layer. */
    static final class ByClass extends Module {
        ByClass() {
            registerChild("fc", new Linear(6, 4, new Random(0)));
        }

        @Override
        public Tensor forward(Tensor x) {
            return module("fc") instanceof Linear l ? l.forward(x) : x;
        }
    }

    @Test
    void replacementTheForwardDoesNotCallIsNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> simqat().apply(new ByClass(), SHAPE));
        assertTrue(e.getMessage().contains("'fc'") && e.getMessage().contains("does not call the replacement"), e.getMessage());
    }

    @Test
    void missingInputShapeSaysWhatToPass() {
        var e = assertThrows(IllegalArgumentException.class, () -> simqat().apply(new WithOp(false)));
        assertTrue(e.getMessage().contains("input_shape") && e.getMessage().contains("exampleInputShape"), e.getMessage());
    }

    /** A layer that SimQAT keeps in float but ONNX export has no form for. */
    static final class WithBn1d extends Module {
        private final Linear fc = registerChild("fc", new Linear(6, 4, new Random(0)));
        private final BatchNorm1d bn = registerChild("bn", new BatchNorm1d(4));
        private final ReLU act = registerChild("act", new ReLU());

        @Override
        public Tensor forward(Tensor x) {
            return act.forward(bn.forward(fc.forward(x)));
        }
    }

    @Test
    void layerWithoutOnnxFormIsNamedAtExport() {
        SimQAT algo = simqat();
        WithBn1d net = new WithBn1d();
        algo.apply(net, SHAPE);
        assertTrue(algo.report().row("bn").note().contains("BatchNorm1d"), algo.report().table());
        net.forward(Tensor.randn(new Random(2), 8, 6));
        Module deploy = algo.convert(net);
        var e = assertThrows(IllegalArgumentException.class, () -> OnnxQdqExporter.export(deploy, new int[] {6}, dir.resolve("x.onnx")));
        assertTrue(e.getMessage().contains("'bn'") && e.getMessage().contains("BatchNorm1d"), e.getMessage());
    }
}
