package org.goldenstick.nn.models;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.nn.AdaptiveAvgPool2d;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.Sequential;
import org.goldenstick.tensor.Tensor;

/**
 * CIFAR-style ResNet (He et al. 2016, section 4.2): a 3×3 stem, three stages of {@code n} {@link BasicBlock}s
 * with {@code width, 2·width, 4·width} channels (stages 2 and 3 start with stride 2), global average pooling
 * and a linear classifier; depth {@code 6n + 2}. Children: {@code conv1, bn1, relu, layer1, layer2, layer3,
 * avgpool, flatten, fc}; blocks are {@code layer2.0}, {@code layer2.1}, ...
 *
 * <pre>{@code
 * var net = ResNet.resnet20(1, 10, 16, new Random(0));   // 0.27 M parameters
 * }</pre>
 */
public class ResNet extends Module {
    /** Output channels tied together by residual additions: pruning must keep or drop them as one set. */
    public record TiedChannels(int channels, List<String> convolutions, List<String> norms) {}

    private final int depth, inChannels, numClasses, width;

    public ResNet(int depth, int inChannels, int numClasses, int width, Random rng) {
        if (depth < 8 || (depth - 2) % 6 != 0) throw new IllegalArgumentException("ResNet: depth must be 6n+2 with n >= 1, got " + depth);
        if (width <= 0) throw new IllegalArgumentException("ResNet: width must be positive, got " + width);
        this.depth = depth;
        this.inChannels = inChannels;
        this.numClasses = numClasses;
        this.width = width;
        int n = (depth - 2) / 6;
        registerChild("conv1", BasicBlock.kaiming(new Conv2d(inChannels, width, 3, 1, 1, false, rng), rng));
        registerChild("bn1", new BatchNorm2d(width));
        registerChild("relu", new ReLU());
        int channels = width;
        for (int stage = 0; stage < 3; stage++) {
            int out = width << stage;
            List<Module> blocks = new ArrayList<>();
            for (int b = 0; b < n; b++) {
                blocks.add(new BasicBlock(channels, out, b == 0 && stage > 0 ? 2 : 1, rng));
                channels = out;
            }
            registerChild("layer" + (stage + 1), new Sequential(blocks));
        }
        registerChild("avgpool", new AdaptiveAvgPool2d(1));
        registerChild("flatten", new Flatten());
        registerChild("fc", new Linear(channels, numClasses, rng));
    }

    public static ResNet resnet8(int inChannels, int numClasses, int width, Random rng) {
        return new ResNet(8, inChannels, numClasses, width, rng);
    }

    public static ResNet resnet20(int inChannels, int numClasses, int width, Random rng) {
        return new ResNet(20, inChannels, numClasses, width, rng);
    }

    public int depth() { return depth; }
    public int inChannels() { return inChannels; }
    public int numClasses() { return numClasses; }
    public int width() { return width; }

    /** Any size of at least 8×8 runs through the three stages; the traced structure does not depend on it. */
    @Override
    public int[] exampleInputShape() {
        return new int[] {inChannels, 8, 8};
    }

    @Override
    public Tensor forward(Tensor x) {
        for (Module m : children().values()) x = m.forward(x);
        return x;
    }

    /**
     * The sets of output channels tied by residual additions, with absolute paths, found by walking the
     * {@link ResidualBlock}s in order: an identity shortcut joins the block to the set of whatever produced
     * its input (the stem or the previous block); a projection shortcut starts a new set.
     */
    public List<TiedChannels> tiedChannelGroups() {
        List<TiedChannels> groups = new ArrayList<>();
        List<String> convs = new ArrayList<>(List.of("conv1")), norms = new ArrayList<>(List.of("bn1"));
        int channels = ((Conv2d) module("conv1")).outChannels();
        for (Map.Entry<String, Module> e : namedModules().entrySet()) {
            if (!(e.getValue() instanceof ResidualBlock rb)) continue;
            if (!rb.identityShortcut()) {
                groups.add(new TiedChannels(channels, List.copyOf(convs), List.copyOf(norms)));
                convs.clear();
                norms.clear();
            }
            for (String c : rb.tiedConvolutions()) convs.add(e.getKey() + "." + c);
            for (String b : rb.tiedNorms()) norms.add(e.getKey() + "." + b);
            channels = ((Conv2d) module(e.getKey() + "." + rb.tiedConvolutions().get(0))).outChannels();
        }
        groups.add(new TiedChannels(channels, List.copyOf(convs), List.copyOf(norms)));
        return groups;
    }

    @Override
    public String describe() {
        return "ResNet" + depth + "(in=" + inChannels + ", classes=" + numClasses + ", width=" + width + ")";
    }
}
