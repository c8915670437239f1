package org.goldenstick.quant;

import java.util.Arrays;
import org.goldenstick.tensor.Tensor;

/**
 * Running min/max per channel along {@code axis} (e.g. axis 0 of a weight {@code [out, in, kh, kw]}: one range
 * per output channel; axis 1 of activations {@code [tokens, in]}: one per input channel as SmoothQuant needs).
 *
 * <pre>{@code
 * var obs = new PerChannelMinMaxObserver(0, 16);
 * obs.forward(conv.weight());
 * QuantParams p = obs.quantParams(QuantSpec.int8Symmetric());   // 16 scales
 * }</pre>
 */
public final class PerChannelMinMaxObserver extends Observer {
    private final int axis;
    private final int channels;

    public PerChannelMinMaxObserver(int axis, int channels) {
        super(channels);
        if (axis < 0) throw new IllegalArgumentException("PerChannelMinMaxObserver.axis must be >= 0, got " + axis);
        if (channels <= 0) throw new IllegalArgumentException("PerChannelMinMaxObserver.channels must be > 0, got " + channels);
        this.axis = axis;
        this.channels = channels;
    }

    @Override
    protected void observe(Tensor x) {
        int[] shape = x.shape();
        int[] layout = QuantMath.channelLayout(shape, axis, channels);
        int inner = layout[1];
        float[] d = x.data();
        float[] lo = buffer("min").data(), hi = buffer("max").data();
        for (int i = 0; i < d.length; i++) {
            int c = (i / inner) % channels;
            float v = d[i];
            if (v < lo[c]) lo[c] = v;
            if (v > hi[c]) hi[c] = v;
        }
    }

    @Override
    public boolean hasObserved() {
        float[] lo = buffer("min").data(), hi = buffer("max").data();
        for (int c = 0; c < channels; c++) if (!(lo[c] <= hi[c])) return false;
        return true;
    }

    @Override
    public int axis() {
        return axis;
    }

    public int channels() {
        return channels;
    }

    @Override
    public String describe() {
        return "PerChannelMinMaxObserver(axis=" + axis + ", channels=" + channels + ", min=" + Arrays.toString(Arrays.copyOf(mins(), Math.min(4, channels))) + "...)";
    }
}
