package org.goldenstick.qat;

import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;

/**
 * Conv2d+BN folded with batch-statistics correction ({@code bn_fold ∧ ¬one_conv_fold}, spec §5.4):
 * <ol>
 *   <li>{@code z_raw = conv(x, W) + b} gives the batch mean/std {@code μ_B, σ_B}; while {@code step < freeze_bn} the
 *       running statistics are updated with the BN's momentum (unbiased variance);</li>
 *   <li>{@code z = conv(x, FQw(W·γ/σ_R)) (+ b·γ/σ_R)} with {@code σ_R = sqrt(running_var + eps)};</li>
 *   <li>training before the freeze: {@code y = z·σ_R/σ_B + β − γ·μ_B/σ_B}; after it, and always in eval:
 *       {@code y = z + β − γ·μ_R/σ_R}.</li>
 * </ol>
 * {@code step} counts training calls of this cell. Upstream refuses this cell on CPU; here it runs everywhere.
 */
public final class Conv2dBnFoldQuant extends ConvBnQuant {
    private final int freezeBn;
    private long step;

    public Conv2dBnFoldQuant(Conv2dBn fused, SimQATConfig cfg, boolean inputQuantizer) {
        super(fused, cfg, inputQuantizer);
        this.freezeBn = cfg.freezeBn();
    }

    public long step() {
        return step;
    }

    @Override
    protected Tensor core(Tensor x) {
        BatchNorm2d bn = bn();
        float eps = (float) bn.eps();
        Tensor gamma = bn.weight(), beta = bn.bias();
        Tensor b = parameter("bias");
        boolean correct = isTraining() && step < freezeBn;
        Tensor muB = null, sigmaB = null;
        if (correct) {
            Tensor zRaw = Functional.conv2d(x, parameter("weight"), b, conv.spec());
            int c = zRaw.dim(1);
            Tensor flat = zRaw.transpose(0, 1).reshape(c, -1);
            long count = flat.dim(1);
            muB = flat.mean(1, false);
            Tensor centered = flat.sub(muB.reshape(c, 1));
            Tensor varB = centered.square().mean(1, false);
            sigmaB = varB.add(eps).sqrt();
            try (var ignored = GradMode.off()) {
                float mom = (float) bn.momentum();
                float[] rm = bn.runningMean().data(), rv = bn.runningVar().data();
                float unbias = count > 1 ? (float) count / (count - 1) : 1f;
                for (int i = 0; i < c; i++) {
                    rm[i] = (1 - mom) * rm[i] + mom * muB.data()[i];
                    rv[i] = (1 - mom) * rv[i] + mom * varB.data()[i] * unbias;
                }
            }
        }
        if (isTraining()) step++;
        Tensor sigmaR = bn.runningVar().detach().add(eps).sqrt();
        Tensor s = gamma.div(sigmaR);
        Tensor wf = weightQuantizer().forward(parameter("weight").mul(weightView(s)));
        Tensor z = Functional.conv2d(x, wf, b == null ? null : b.mul(s), conv.spec());
        if (correct) {
            // y = z·σ_R/σ_B + β − γ·μ_B/σ_B
            Tensor y = z.mul(channelView(sigmaR.div(sigmaB)));
            return y.add(channelView(beta.sub(gamma.mul(muB).div(sigmaB))));
        }
        return z.add(channelView(beta.sub(gamma.mul(bn.runningMean().detach()).div(sigmaR))));
    }

    @Override
    public Module toDeploy(QuantParams inputParams) {
        return deployFolded(inputParams);
    }

    @Override
    public String describe() {
        return "Conv2dBnFoldQuant(" + conv.describe() + ", freeze_bn=" + freezeBn + ", weight " + weightQuantizer().describe() + ")";
    }
}
