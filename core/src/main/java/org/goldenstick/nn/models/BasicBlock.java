package org.goldenstick.nn.models;

import java.util.List;
import java.util.Random;
import org.goldenstick.nn.Add;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.Init;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.Sequential;
import org.goldenstick.tensor.Tensor;

/**
 * ResNet's basic block: {@code relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))}, with 3×3 convolutions
 * without bias. The shortcut is {@link Identity} when shape is kept and {@code Sequential(conv 1×1 stride, bn)}
 * otherwise (option B). Children: {@code conv1, bn1, relu, conv2, bn2, shortcut, add} — the one ReLU is applied twice;
 * the residual sum is an {@link Add}.
 *
 * <pre>{@code
 * var block = new BasicBlock(16, 32, 2, new Random(0));     // projection shortcut
 * }</pre>
 */
public class BasicBlock extends Module implements ResidualBlock {
    private final int inChannels, outChannels, stride;

    public BasicBlock(int inChannels, int outChannels, int stride, Random rng) {
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.stride = stride;
        registerChild("conv1", kaiming(new Conv2d(inChannels, outChannels, 3, stride, 1, false, rng), rng));
        registerChild("bn1", new BatchNorm2d(outChannels));
        registerChild("relu", new ReLU());
        registerChild("conv2", kaiming(new Conv2d(outChannels, outChannels, 3, 1, 1, false, rng), rng));
        registerChild("bn2", new BatchNorm2d(outChannels));
        if (stride != 1 || inChannels != outChannels) {
            registerChild("shortcut", new Sequential(kaiming(new Conv2d(inChannels, outChannels, 1, stride, 0, false, rng), rng), new BatchNorm2d(outChannels)));
        } else {
            registerChild("shortcut", new Identity());
        }
        registerChild("add", new Add());
    }

    /** Re-initialises a conv with Kaiming-normal, fan-out (torchvision's ResNet init). */
    static Conv2d kaiming(Conv2d conv, Random rng) {
        Init.kaimingNormal(conv.weight(), Init.Fan.OUT, rng);
        return conv;
    }

    public int inChannels() { return inChannels; }
    public int outChannels() { return outChannels; }
    public int stride() { return stride; }

    private Module child(String name) {
        return children().get(name);
    }

    @Override
    public Tensor forward(Tensor x) {
        Module relu = child("relu"), bn1 = child("bn1");
        Tensor out = child("conv1").forward(x);
        Tensor fused = BatchNorm2d.forwardWithActivation(bn1, relu, out); // one op when it computes the same
        out = fused != null ? fused : relu.forward(bn1.forward(out));
        out = child("bn2").forward(child("conv2").forward(out));
        return relu.forward(((Add) child("add")).forward(out, child("shortcut").forward(x)));
    }

    @Override
    public List<String> tiedConvolutions() {
        return identityShortcut() ? List.of("conv2") : List.of("conv2", "shortcut.0");
    }

    @Override
    public List<String> tiedNorms() {
        return identityShortcut() ? List.of("bn2") : List.of("bn2", "shortcut.1");
    }

    @Override
    public boolean identityShortcut() {
        return child("shortcut") instanceof Identity;
    }

    @Override
    public String describe() {
        return "BasicBlock(" + inChannels + " -> " + outChannels + (stride != 1 ? ", stride=" + stride : "") + ")";
    }
}
