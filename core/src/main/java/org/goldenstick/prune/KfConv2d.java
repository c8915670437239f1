package org.goldenstick.prune;

import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * SCOP's knockoff convolution (upstream {@code KfConv2d}): a conv and its BatchNorm with a learnable per-channel
 * {@code kfscale} of shape {@code [1, C, 1, 1]}, initialised to 0.5. In training the batch holds real samples in
 * its first half and their knockoffs (other real samples, shuffled) in the second; with {@code z = conv(x)} and
 * {@code n = batch/2}:
 * <pre>
 *   z = concat(kfscale·z[:n] + (1 − kfscale)·z[n:], z[n:])      then y = bn(z)
 * </pre>
 * so a channel whose kfscale grows towards 1 is one the loss prefers real over knockoff features for — an
 * important channel. In inference {@code y = bn(conv(x))}. When the conv has no BatchNorm ({@code bn} null) the
 * mixing is applied to the conv output directly.
 *
 * <pre>{@code
 * var kf = new KfConv2d(conv, bn, "layer1.0.bn1");   // the BN's old place becomes an Identity
 * }</pre>
 */
public final class KfConv2d extends Layer {
    private final String normPath;

    /** {@code normPath} is where {@code bn} lived in the network, so {@link PrunerFtCompressAlgo} can put it back. */
    public KfConv2d(Conv2d conv, BatchNorm2d bn, String normPath) {
        registerChild("conv", conv);
        if (bn != null) {
            if (bn.numFeatures() != conv.outChannels()) throw new IllegalArgumentException("KfConv2d: BatchNorm " + normPath + " has " + bn.numFeatures() + " features but the conv has " + conv.outChannels() + " out channels");
            registerChild("bn", bn);
        }
        this.normPath = bn == null ? null : normPath;
        registerParameter("kfscale", Tensor.full(0.5f, 1, conv.outChannels(), 1, 1));
    }

    public Conv2d conv() {
        return (Conv2d) children().get("conv");
    }

    /** The BatchNorm, or null. */
    public BatchNorm2d bn() {
        return (BatchNorm2d) children().get("bn");
    }

    /** The BatchNorm's path in the network before wrapping, or null. */
    public String normPath() {
        return normPath;
    }

    public Tensor kfscale() {
        return parameter("kfscale");
    }

    @Override
    protected Tensor compute(Tensor x) {
        Tensor z = conv().forward(x);
        if (isTraining()) {
            int b = z.shape()[0];
            if (b % 2 != 0) throw new IllegalArgumentException("KfConv2d: training batch must be real + knockoff halves (even size), got " + b + "; add the knockoff callback");
            int n = b / 2;
            Tensor k = kfscale();
            Tensor real = z.slice(0, 0, n), knock = z.slice(0, n, b);
            Tensor mixed = real.mul(k).add(knock.mul(k.mul(-1f).add(1f)));
            z = Tensor.concat(0, mixed, knock);
        }
        BatchNorm2d bn = bn();
        return bn == null ? z : bn.forward(z);
    }

    @Override
    public String describe() {
        return "KfConv2d(" + conv().describe() + (bn() == null ? "" : ", " + bn().describe()) + ")";
    }
}
