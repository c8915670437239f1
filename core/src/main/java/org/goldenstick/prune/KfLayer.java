package org.goldenstick.prune;

import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Linear;
import org.goldenstick.tensor.Tensor;

/**
 * SCOP's knockoff layer (upstream {@code KfConv2d}): a producing layer — an ungrouped Conv2d, or a Linear layer whose
 * features are pruned — with a learnable per-channel {@code kfscale} ({@code [1, C, 1, 1]} for a conv, {@code [1, F]}
 * for a linear layer), initialised to 0.5. In training the batch holds real samples in its first half and their
 * knockoffs (other real samples, shuffled) in the second; with {@code z = layer(x)} and {@code n = batch/2}:
 * <pre>
 *   z = concat(kfscale·z[:n] + (1 − kfscale)·z[n:], z[n:])
 * </pre>
 * so a channel whose kfscale grows towards 1 is one the loss prefers real over knockoff features for — an important
 * channel. In inference {@code z = layer(x)}. The layer's BatchNorm (if any) stays where it is in the network and
 * normalises the mixed output, as upstream's {@code bn(kf(conv(x)))}.
 *
 * <pre>{@code
 * var kf = new KfLayer(conv);   // then net.replaceChild("layer1.0.conv1", kf)
 * }</pre>
 */
public final class KfLayer extends Layer {
    public KfLayer(Layer producer) {
        int channels;
        int[] shape;
        if (producer instanceof Conv2d c) {
            channels = c.outChannels();
            shape = new int[] {1, channels, 1, 1};
        } else if (producer instanceof Linear l) {
            channels = l.outFeatures();
            shape = new int[] {1, channels};
        } else {
            throw new IllegalArgumentException("KfLayer: wraps a Conv2d or a Linear layer, got " + producer.getClass().getSimpleName());
        }
        registerChild("layer", producer);
        registerParameter("kfscale", Tensor.full(0.5f, shape));
    }

    /** The wrapped layer. */
    public Layer layer() {
        return (Layer) children().get("layer");
    }

    public Tensor kfscale() {
        return parameter("kfscale");
    }

    @Override
    protected Tensor compute(Tensor x) {
        Tensor z = layer().forward(x);
        if (!isTraining()) return z;
        int b = z.shape()[0];
        if (b % 2 != 0) throw new IllegalArgumentException("KfLayer: training batch must be real + knockoff halves (even size), got " + b + "; add the knockoff callback");
        int n = b / 2;
        Tensor k = kfscale();
        Tensor real = z.slice(0, 0, n), knock = z.slice(0, n, b);
        Tensor mixed = real.mul(k).add(knock.mul(k.mul(-1f).add(1f)));
        return Tensor.concat(0, mixed, knock);
    }

    @Override
    public String describe() {
        return "KfLayer(" + layer().describe() + ")";
    }
}
