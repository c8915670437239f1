package org.goldenstick.qat;

import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * Conv2d+BN folded with one convolution ({@code bn_fold ∧ one_conv_fold}, spec §5.4), per output channel c:
 * {@code s = γ/sqrt(running_var + eps)}, {@code z = conv(x, FQw(W·s))}, {@code z0 = z/s (+ b)}, then the BN in
 * its current mode (training: batch statistics, updating the running ones; eval: running statistics). In eval
 * this equals {@code conv(x, FQw(W·s)) + β + (b − μ)·s}, exactly what {@link #toDeploy} builds.
 *
 * <p>The BN keeps the user's momentum (upstream passes {@code 1 − momentum} through a re-created BN, flipping the
 * convention). Upstream also ignores {@code freeze_bn} in this cell; so does this one.
 */
public final class Conv2dBnFoldQuantOneConv extends ConvBnQuant {
    public Conv2dBnFoldQuantOneConv(Conv2dBn fused, SimQATConfig cfg, boolean inputQuantizer) {
        super(fused, cfg, inputQuantizer);
    }

    @Override
    protected Tensor core(Tensor x) {
        BatchNorm2d bn = bn();
        Tensor s = bn.weight().div(bn.runningVar().detach().add((float) bn.eps()).sqrt());
        Tensor wf = weightQuantizer().forward(parameter("weight").mul(weightView(s)));
        Tensor z = Functional.conv2d(x, wf, null, conv.spec());
        Tensor z0 = z.div(channelView(s));
        Tensor b = parameter("bias");
        if (b != null) z0 = z0.add(channelView(b));
        return bn.forward(z0);
    }

    @Override
    public Module toDeploy(QuantParams inputParams) {
        return deployFolded(inputParams);
    }

    @Override
    public String describe() {
        return "Conv2dBnFoldQuantOneConv(" + conv.describe() + ", weight " + weightQuantizer().describe() + ")";
    }
}
