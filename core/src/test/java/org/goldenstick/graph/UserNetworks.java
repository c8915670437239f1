package org.goldenstick.graph;

import java.util.Random;
import org.goldenstick.nn.AdaptiveAvgPool2d;
import org.goldenstick.nn.Add;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.HardSwish;
import org.goldenstick.nn.LeakyReLU;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.nn.Sigmoid;
import org.goldenstick.tensor.Tensor;

/**
 * Networks written the way a user of the library writes them: layers kept in typed fields (registered as children
 * for their names and parameters) and called from the network's own {@code forward}; ops such as {@code add},
 * {@code concat} and {@code flatten} called directly on tensors. Nothing in the library knows these classes. All take
 * 1×8×8 digits and give 10 logits.
 */
public final class UserNetworks {
    private UserNetworks() {}

    /** Two residual blocks (identity shortcuts, {@code x.add(...)} in the forward), global average pooling, a linear head. */
    public static final class ResidualNet extends Module {
        private final Conv2d stem, a1, a2, b1, b2;
        private final BatchNorm2d stemBn, a1Bn, a2Bn, b1Bn, b2Bn;
        private final ReLU stemRelu, a1Relu, aOut, b1Relu, bOut;
        private final AdaptiveAvgPool2d pool;
        private final Linear fc;

        public ResidualNet(Random rng) {
            stem = registerChild("stem", new Conv2d(1, 12, 3, 1, 1, false, rng));
            stemBn = registerChild("stem_bn", new BatchNorm2d(12));
            stemRelu = registerChild("stem_relu", new ReLU());
            a1 = registerChild("a1", new Conv2d(12, 12, 3, 1, 1, false, rng));
            a1Bn = registerChild("a1_bn", new BatchNorm2d(12));
            a1Relu = registerChild("a1_relu", new ReLU());
            a2 = registerChild("a2", new Conv2d(12, 12, 3, 1, 1, false, rng));
            a2Bn = registerChild("a2_bn", new BatchNorm2d(12));
            aOut = registerChild("a_out", new ReLU());
            b1 = registerChild("b1", new Conv2d(12, 12, 3, 1, 1, false, rng));
            b1Bn = registerChild("b1_bn", new BatchNorm2d(12));
            b1Relu = registerChild("b1_relu", new ReLU());
            b2 = registerChild("b2", new Conv2d(12, 12, 3, 1, 1, false, rng));
            b2Bn = registerChild("b2_bn", new BatchNorm2d(12));
            bOut = registerChild("b_out", new ReLU());
            pool = registerChild("pool", new AdaptiveAvgPool2d(1));
            fc = registerChild("fc", new Linear(12, 10, rng));
        }

        @Override
        public Tensor forward(Tensor x) {
            x = stemRelu.forward(stemBn.forward(stem.forward(x)));
            Tensor y = a1Relu.forward(a1Bn.forward(a1.forward(x)));
            x = aOut.forward(a2Bn.forward(a2.forward(y)).add(x));
            y = b1Relu.forward(b1Bn.forward(b1.forward(x)));
            x = bOut.forward(b2Bn.forward(b2.forward(y)).add(x));
            return fc.forward(pool.forward(x).flatten(1));
        }

        @Override
        public int[] exampleInputShape() {
            return new int[] {1, 8, 8};
        }
    }

    /**
     * {@link ResidualNet}'s shape with its sums as {@link Add} layers held in fields: the first block's sum feeds a ReLU
     * (as ResNet's), the second's (as MobileNetV2's, no activation) feeds a 1×1 conv and the pooling.
     */
    public static final class AddLayerNet extends Module {
        private final Conv2d stem, a1, a2, b1, b2, head;
        private final BatchNorm2d stemBn, a1Bn, a2Bn, b1Bn, b2Bn;
        private final ReLU stemRelu, a1Relu, aOut, b1Relu;
        private final Add addA, addB;
        private final AdaptiveAvgPool2d pool;
        private final Linear fc;

        public AddLayerNet(Random rng) {
            stem = registerChild("stem", new Conv2d(1, 12, 3, 1, 1, false, rng));
            stemBn = registerChild("stem_bn", new BatchNorm2d(12));
            stemRelu = registerChild("stem_relu", new ReLU());
            a1 = registerChild("a1", new Conv2d(12, 12, 3, 1, 1, false, rng));
            a1Bn = registerChild("a1_bn", new BatchNorm2d(12));
            a1Relu = registerChild("a1_relu", new ReLU());
            a2 = registerChild("a2", new Conv2d(12, 12, 3, 1, 1, false, rng));
            a2Bn = registerChild("a2_bn", new BatchNorm2d(12));
            addA = registerChild("add_a", new Add());
            aOut = registerChild("a_out", new ReLU());
            b1 = registerChild("b1", new Conv2d(12, 12, 3, 1, 1, false, rng));
            b1Bn = registerChild("b1_bn", new BatchNorm2d(12));
            b1Relu = registerChild("b1_relu", new ReLU());
            b2 = registerChild("b2", new Conv2d(12, 12, 3, 1, 1, false, rng));
            b2Bn = registerChild("b2_bn", new BatchNorm2d(12));
            addB = registerChild("add_b", new Add());
            head = registerChild("head", new Conv2d(12, 16, 1, 1, 0, rng));
            pool = registerChild("pool", new AdaptiveAvgPool2d(1));
            fc = registerChild("fc", new Linear(16, 10, rng));
        }

        @Override
        public Tensor forward(Tensor x) {
            x = stemRelu.forward(stemBn.forward(stem.forward(x)));
            Tensor y = a1Relu.forward(a1Bn.forward(a1.forward(x)));
            x = aOut.forward(addA.forward(a2Bn.forward(a2.forward(y)), x));
            y = b1Relu.forward(b1Bn.forward(b1.forward(x)));
            x = addB.forward(x, b2Bn.forward(b2.forward(y)));
            return fc.forward(pool.forward(head.forward(x)).flatten(1));
        }

        @Override
        public int[] exampleInputShape() {
            return new int[] {1, 8, 8};
        }
    }

    /**
     * A stem, then two branches joined by {@code Tensor.concat} on the channel axis: a depthwise-separable one
     * (depthwise 3×3 + BN + ReLU6, pointwise 1×1 + BN + hard-swish) and a 1×1 conv with sigmoid; max pooling; a second
     * depthwise-separable block with leaky ReLU; global average pooling, flatten, linear.
     */
    public static final class SeparableConcatNet extends Module {
        private final Conv2d stem, dw1, pw1, side, dw2, pw2;
        private final BatchNorm2d dw1Bn, pw1Bn;
        private final ReLU6 stemAct, dw1Act;
        private final HardSwish pw1Act;
        private final Sigmoid sideAct;
        private final MaxPool2d pool;
        private final ReLU dw2Act;
        private final LeakyReLU pw2Act;
        private final AdaptiveAvgPool2d gap;
        private final Flatten flatten;
        private final Linear fc;

        public SeparableConcatNet(Random rng) {
            stem = registerChild("stem", new Conv2d(1, 8, 3, 1, 1, rng));
            stemAct = registerChild("stem_act", new ReLU6());
            dw1 = registerChild("dw1", new Conv2d(8, 8, 3, 1, 1, 1, 8, false, rng));
            dw1Bn = registerChild("dw1_bn", new BatchNorm2d(8));
            dw1Act = registerChild("dw1_act", new ReLU6());
            pw1 = registerChild("pw1", new Conv2d(8, 8, 1, 1, 0, false, rng));
            pw1Bn = registerChild("pw1_bn", new BatchNorm2d(8));
            pw1Act = registerChild("pw1_act", new HardSwish());
            side = registerChild("side", new Conv2d(8, 8, 1, 1, 0, rng));
            sideAct = registerChild("side_act", new Sigmoid());
            pool = registerChild("pool", new MaxPool2d(2));
            dw2 = registerChild("dw2", new Conv2d(16, 16, 3, 1, 1, 1, 16, true, rng));
            dw2Act = registerChild("dw2_act", new ReLU());
            pw2 = registerChild("pw2", new Conv2d(16, 24, 1, 1, 0, rng));
            pw2Act = registerChild("pw2_act", new LeakyReLU(0.1f));
            gap = registerChild("gap", new AdaptiveAvgPool2d(1));
            flatten = registerChild("flatten", new Flatten());
            fc = registerChild("fc", new Linear(24, 10, rng));
        }

        @Override
        public Tensor forward(Tensor x) {
            x = stemAct.forward(stem.forward(x));
            Tensor a = dw1Act.forward(dw1Bn.forward(dw1.forward(x)));
            a = pw1Act.forward(pw1Bn.forward(pw1.forward(a)));
            Tensor b = sideAct.forward(side.forward(x));
            x = pool.forward(Tensor.concat(1, a, b));
            x = pw2Act.forward(pw2.forward(dw2Act.forward(dw2.forward(x))));
            return fc.forward(flatten.forward(gap.forward(x)));
        }

        @Override
        public int[] exampleInputShape() {
            return new int[] {1, 8, 8};
        }
    }

    /** A multi-layer perceptron on the flattened image. */
    public static final class Mlp extends Module {
        private final Linear fc1, fc2, fc3;
        private final ReLU act1, act2;

        public Mlp(Random rng) {
            fc1 = registerChild("fc1", new Linear(64, 64, rng));
            act1 = registerChild("act1", new ReLU());
            fc2 = registerChild("fc2", new Linear(64, 32, rng));
            act2 = registerChild("act2", new ReLU());
            fc3 = registerChild("fc3", new Linear(32, 10, rng));
        }

        @Override
        public Tensor forward(Tensor x) {
            x = x.reshape(x.dim(0), -1);
            return fc3.forward(act2.forward(fc2.forward(act1.forward(fc1.forward(x)))));
        }

        @Override
        public int[] exampleInputShape() {
            return new int[] {1, 8, 8};
        }
    }
}
