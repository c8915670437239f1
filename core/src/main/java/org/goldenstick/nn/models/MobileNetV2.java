package org.goldenstick.nn.models;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.goldenstick.nn.AdaptiveAvgPool2d;
import org.goldenstick.nn.Add;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.Init;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.nn.Sequential;
import org.goldenstick.tensor.Tensor;

/**
 * A small MobileNetV2 (Sandler et al. 2018) for 28×28 and 32×32 inputs: a 3×3 stem (16 channels), inverted-residual
 * blocks {@code (expansion t, channels c, repeats n, stride s)} = (1,16,1,1), (6,24,2,2), (6,32,2,2), (6,64,2,1) —
 * 1×1 expansion, 3×3 depthwise, 1×1 linear projection, each with batch norm, ReLU6 after the first two, a residual
 * addition where shapes allow — then a 1×1 conv to 256 channels, global average pooling and a linear classifier.
 * Children: {@code stem} (conv, bn, relu6), {@code blocks} (a {@link Sequential} of {@link InvertedResidual}),
 * {@code head} (conv, bn, relu6), {@code pool}, {@code flatten}, {@code fc}.
 *
 * <pre>{@code
 * var net = new MobileNetV2(3, 10, new Random(0));   // 0.16 M parameters, depthwise convolutions
 * }</pre>
 */
public class MobileNetV2 extends Module {
    /** {t, c, n, s} rows of the block table. */
    private static final int[][] BLOCKS = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 2, 2}, {6, 64, 2, 1}};
    private static final int STEM = 16, HEAD = 256;

    private final int inChannels, numClasses;

    public MobileNetV2(int inChannels, int numClasses, Random rng) {
        this.inChannels = inChannels;
        this.numClasses = numClasses;
        registerChild("stem", new Sequential(kaiming(new Conv2d(inChannels, STEM, 3, 1, 1, false, rng), rng), new BatchNorm2d(STEM), new ReLU6()));
        List<Module> blocks = new ArrayList<>();
        int channels = STEM;
        for (int[] row : BLOCKS) {
            for (int i = 0; i < row[2]; i++) {
                blocks.add(new InvertedResidual(channels, row[1], i == 0 ? row[3] : 1, row[0], rng));
                channels = row[1];
            }
        }
        registerChild("blocks", new Sequential(blocks));
        registerChild("head", new Sequential(kaiming(new Conv2d(channels, HEAD, 1, 1, 0, false, rng), rng), new BatchNorm2d(HEAD), new ReLU6()));
        registerChild("pool", new AdaptiveAvgPool2d(1));
        registerChild("flatten", new Flatten());
        registerChild("fc", new Linear(HEAD, numClasses, rng));
    }

    static Conv2d kaiming(Conv2d conv, Random rng) {
        Init.kaimingNormal(conv.weight(), Init.Fan.OUT, rng);
        return conv;
    }

    public int inChannels() { return inChannels; }
    public int numClasses() { return numClasses; }

    @Override
    public int[] exampleInputShape() {
        return new int[] {inChannels, 8, 8};
    }

    @Override
    public Tensor forward(Tensor x) {
        for (Module m : children().values()) x = m.forward(x);
        return x;
    }

    @Override
    public String describe() {
        return "MobileNetV2(in=" + inChannels + ", classes=" + numClasses + ")";
    }

    /**
     * One inverted-residual block: {@code expand} (1×1 conv to {@code in·t}, bn, relu6; absent when t = 1),
     * {@code depthwise} (3×3 conv with one group per channel, bn, relu6), {@code project} (1×1 conv, bn); the input is
     * added back when the stride is 1 and the widths match, by the child {@code add} ({@link Add}).
     */
    public static final class InvertedResidual extends Module {
        private final boolean residual;

        public InvertedResidual(int in, int out, int stride, int expansion, Random rng) {
            int hidden = in * expansion;
            if (expansion != 1) registerChild("expand", new Sequential(kaiming(new Conv2d(in, hidden, 1, 1, 0, false, rng), rng), new BatchNorm2d(hidden), new ReLU6()));
            registerChild("depthwise", new Sequential(kaiming(new Conv2d(hidden, hidden, 3, stride, 1, 1, hidden, false, rng), rng), new BatchNorm2d(hidden), new ReLU6()));
            registerChild("project", new Sequential(kaiming(new Conv2d(hidden, out, 1, 1, 0, false, rng), rng), new BatchNorm2d(out)));
            this.residual = stride == 1 && in == out;
            if (residual) registerChild("add", new Add());
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor y = x;
            for (var e : children().entrySet()) if (!e.getKey().equals("add")) y = e.getValue().forward(y);
            return residual ? ((Add) children().get("add")).forward(y, x) : y;
        }
    }
}
