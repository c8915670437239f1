package org.goldenstick.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Random;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Optimizer updates against float64 re-implementations of PyTorch's documented update rules. */
class OptimizerTest {
    private static final int N = 7, STEPS = 6;

    /** Random gradients per step, fed identically to the optimizer under test and to the reference. */
    private static double[][] grads(long seed) {
        Random r = new Random(seed);
        double[][] g = new double[STEPS][N];
        for (double[] row : g) for (int i = 0; i < N; i++) row[i] = r.nextGaussian();
        return g;
    }

    private static double[] init(long seed) {
        Random r = new Random(seed);
        double[] p = new double[N];
        for (int i = 0; i < N; i++) p[i] = r.nextGaussian();
        return p;
    }

    private static Tensor param(double[] p) {
        float[] f = new float[p.length];
        for (int i = 0; i < p.length; i++) f[i] = (float) p[i];
        return Tensor.of(f, p.length).requiresGrad(true);
    }

    private static void setGrad(Tensor t, double[] g) {
        t.zeroGrad();
        float[] dst = t.gradArray();
        for (int i = 0; i < g.length; i++) dst[i] = (float) g[i];
    }

    private static void assertClose(double[] expected, Tensor actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual.data()[i], 1e-5 * Math.max(1, Math.abs(expected[i])), what + " element " + i);
        }
    }

    // ---------------------------------------------------------------- SGD

    private static double[] sgdReference(double[] p0, double[][] g, double lr, double mu, double damp, double wd, boolean nesterov) {
        double[] p = p0.clone(), buf = null;
        for (double[] gs : g) {
            double[] d = new double[N];
            for (int i = 0; i < N; i++) d[i] = gs[i] + wd * p[i];
            if (mu != 0) {
                if (buf == null) buf = d.clone();
                else for (int i = 0; i < N; i++) buf[i] = mu * buf[i] + (1 - damp) * d[i];
                for (int i = 0; i < N; i++) d[i] = nesterov ? d[i] + mu * buf[i] : buf[i];
            }
            for (int i = 0; i < N; i++) p[i] -= lr * d[i];
        }
        return p;
    }

    private static void checkSgd(SGD.Options o) {
        double[] p0 = init(1);
        double[][] g = grads(2);
        Tensor p = param(p0);
        SGD opt = new SGD(List.of(p), o);
        for (double[] gs : g) {
            setGrad(p, gs);
            opt.step();
        }
        assertClose(sgdReference(p0, g, o.lr(), o.momentum(), o.dampening(), o.weightDecay(), o.nesterov()), p, o.toString());
        assertEquals(STEPS, opt.stepCount());
    }

    @Test
    void sgdVariantsMatchReference() {
        checkSgd(SGD.Options.plain(0.1));
        checkSgd(SGD.Options.plain(0.1).withWeightDecay(0.05));
        checkSgd(SGD.Options.momentum(0.1, 0.9));
        checkSgd(new SGD.Options(0.1, 0.9, 0.3, 0.01, false));
        checkSgd(SGD.Options.momentum(0.05, 0.9).withWeightDecay(5e-4).withNesterov(true));
    }

    @Test
    void sgdMomentumByHand() {
        // p = 1, g = 0.5 each step, lr 0.1, momentum 0.9: buf 0.5 then 0.95; p 0.95 then 0.855.
        Tensor p = Tensor.of(new float[] {1f}, 1).requiresGrad(true);
        SGD opt = new SGD(List.of(p), SGD.Options.momentum(0.1, 0.9));
        setGrad(p, new double[] {0.5});
        opt.step();
        assertEquals(0.95, p.data()[0], 1e-6);
        setGrad(p, new double[] {0.5});
        opt.step();
        assertEquals(0.855, p.data()[0], 1e-6);
    }

    @Test
    void sgdNesterovByHand() {
        // Step 1: d = 0.5 + 0.1·1 = 0.6 (weight decay), buf = 0.6, update = 0.6 + 0.9·0.6 = 1.14, p = 1 − 0.114.
        Tensor p = Tensor.of(new float[] {1f}, 1).requiresGrad(true);
        SGD opt = new SGD(List.of(p), SGD.Options.momentum(0.1, 0.9).withWeightDecay(0.1).withNesterov(true));
        setGrad(p, new double[] {0.5});
        opt.step();
        assertEquals(0.886, p.data()[0], 1e-6);
    }

    @Test
    void parametersWithoutGradientAreSkipped() {
        Tensor a = Tensor.of(new float[] {1f}, 1).requiresGrad(true), b = Tensor.of(new float[] {2f}, 1).requiresGrad(true);
        SGD opt = new SGD(List.of(a, b), SGD.Options.plain(1).withWeightDecay(0.5));
        setGrad(a, new double[] {1});
        opt.step();
        assertEquals(-0.5, a.data()[0], 1e-7);
        assertEquals(2f, b.data()[0]);
    }

    @Test
    void invalidOptionsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new SGD.Options(0.1, 0, 0, 0, true));
        assertThrows(IllegalArgumentException.class, () -> SGD.Options.plain(-1));
        assertThrows(IllegalArgumentException.class, () -> new Adam.Options(0.1, 1.0, 0.999, 1e-8, 0));
    }

    // ---------------------------------------------------------------- Adam / AdamW

    private static double[] adamReference(double[] p0, double[][] g, Adam.Options o, boolean decoupled) {
        double[] p = p0.clone(), m = new double[N], v = new double[N];
        int t = 0;
        for (double[] gs : g) {
            t++;
            for (int i = 0; i < N; i++) {
                double gi = gs[i];
                if (decoupled) p[i] *= 1 - o.lr() * o.weightDecay();
                else gi += o.weightDecay() * p[i];
                m[i] = o.beta1() * m[i] + (1 - o.beta1()) * gi;
                v[i] = o.beta2() * v[i] + (1 - o.beta2()) * gi * gi;
                double mHat = m[i] / (1 - Math.pow(o.beta1(), t)), vHat = v[i] / (1 - Math.pow(o.beta2(), t));
                p[i] -= o.lr() * mHat / (Math.sqrt(vHat) + o.eps());
            }
        }
        return p;
    }

    private static void checkAdam(Adam.Options o, boolean decoupled) {
        double[] p0 = init(3);
        double[][] g = grads(4);
        Tensor p = param(p0);
        Optimizer opt = decoupled ? new AdamW(List.of(p), o) : new Adam(List.of(p), o);
        for (double[] gs : g) {
            setGrad(p, gs);
            opt.step();
        }
        assertClose(adamReference(p0, g, o, decoupled), p, (decoupled ? "AdamW " : "Adam ") + o);
    }

    @Test
    void adamMatchesReference() {
        checkAdam(Adam.Options.defaults(0.01), false);
        checkAdam(new Adam.Options(0.02, 0.8, 0.99, 1e-6, 0.1), false);
    }

    @Test
    void adamWMatchesReference() {
        checkAdam(AdamW.defaults(0.01), true);
        checkAdam(new Adam.Options(0.02, 0.8, 0.99, 1e-6, 0.3), true);
    }

    @Test
    void adamFirstStepMovesByLearningRate() {
        // After one step m̂ = g and v̂ = g², so the update is lr·g/(|g| + eps) ≈ lr·sign(g).
        Tensor p = Tensor.of(new float[] {1f, 1f}, 2).requiresGrad(true);
        Adam opt = new Adam(List.of(p), Adam.Options.defaults(0.1));
        setGrad(p, new double[] {3, -0.2});
        opt.step();
        assertEquals(0.9, p.data()[0], 1e-6);
        assertEquals(1.1, p.data()[1], 1e-6);
    }

    @Test
    void adamWDecayIsDecoupledFromMoments() {
        // With a zero gradient Adam's L2 decay still moves p through the moments; AdamW only shrinks p by lr·wd.
        Tensor p = Tensor.of(new float[] {2f}, 1).requiresGrad(true);
        AdamW opt = new AdamW(List.of(p), new Adam.Options(0.1, 0.9, 0.999, 1e-8, 0.5));
        setGrad(p, new double[] {0});
        opt.step();
        assertEquals(2 * (1 - 0.05), p.data()[0], 1e-6);
    }
}
