package org.goldenstick.qat;

import org.goldenstick.nn.Module;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.QConv2d;
import org.goldenstick.quant.QuantMath;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * Conv2d+BN without folding during training ({@code bn_fold = false}): {@code y = BN(conv(x, FQw(W)) + b)}.
 * Upstream builds a fresh BN here (a quirk); this cell trains the original BN.
 *
 * <p>Deployment: the weight grid was learned on the unfolded weight, so BN is folded in the integer domain:
 * the int8 codes {@code q} stay and the per-channel scales become {@code scale_c·|γ_c/σ_c|} (codes negated where
 * {@code γ_c < 0}), which represents exactly {@code FQw(W)·γ/σ}; the bias becomes {@code β + (b − μ)·γ/σ}.
 */
public final class Conv2dBnWithoutFoldQuant extends ConvBnQuant {
    public Conv2dBnWithoutFoldQuant(Conv2dBn fused, SimQATConfig cfg, boolean inputQuantizer) {
        super(fused, cfg, inputQuantizer);
    }

    @Override
    protected Tensor core(Tensor x) {
        return bn().forward(convolve(x));
    }

    private Tensor convolve(Tensor x) {
        return Functional.conv2d(x, weightQuantizer().forward(parameter("weight")), parameter("bias"), conv.spec());
    }

    /** In training, BN and the output grid as one op ({@code BatchNorm2d.forwardWithGrid}) when it can; else the two. */
    @Override
    protected Tensor coreThenOutput(Tensor x, FakeQuantize out) {
        Functional.OutputGrid grid = out == null || !bn().isTraining() ? null : out.trainingGrid();
        if (grid == null) return super.coreThenOutput(x, out);
        Tensor c = convolve(x);
        Tensor y = bn().forwardWithGrid(c, grid);
        if (y != null) return y;
        y = bn().forward(c); // the grid was not used (its quantizer saw no call): the two ops
        return out.forward(y);
    }

    @Override
    public Module toDeploy(QuantParams inputParams) {
        Tensor w = parameter("weight");
        int oc = conv.outChannels(), per = w.numel() / oc;
        QuantParams wp = weightQuantizer().quantParams();
        int[] q = QuantMath.quantize(w.data(), w.shape(), wp);
        float[] s = foldScale();
        float[] scale = new float[oc], lo = new float[oc], hi = new float[oc];
        int[] zp = new int[oc];
        byte[] codes = new byte[q.length];
        for (int c = 0; c < oc; c++) {
            int pc = wp.perChannel() ? c : 0;
            boolean neg = s[c] < 0;
            scale[c] = wp.scale()[pc] * Math.abs(s[c]);
            zp[c] = neg ? -wp.zeroPoint()[pc] : wp.zeroPoint()[pc];
            lo[c] = wp.min()[pc] * s[c];
            hi[c] = wp.max()[pc] * s[c];
            for (int j = 0; j < per; j++) {
                int v = neg ? -q[c * per + j] : q[c * per + j];
                codes[c * per + j] = (byte) Math.max(-128, Math.min(127, v));
            }
        }
        QuantParams folded = new QuantParams(8, true, wp.symmetric(), wp.narrowRange(), 0, lo, hi, scale, zp);
        float[] bias = folded()[1];
        int[] bq = QuantMath.quantizeBias(bias, biasScale(inputParams, scale));
        return new QConv2d(w.shape(), conv.spec(), codes, folded, bq, inputParams, outputParams());
    }

    private static float[] biasScale(QuantParams in, float[] w) {
        float[] s = new float[w.length];
        for (int c = 0; c < w.length; c++) s[c] = in.scale()[0] * w[c];
        return s;
    }

    @Override
    public String describe() {
        return "Conv2dBnWithoutFoldQuant(" + conv.describe() + ", weight " + weightQuantizer().describe() + ")";
    }
}
