package org.goldenstick.quant;

import org.goldenstick.tensor.Tensor;

/**
 * Per-tensor min/max as an exponential moving average of the batch min/max:
 * {@code range ← range + c·(batch − range)}, initialised with the first batch.
 *
 * <p>Upstream's EMA kernel weights the <em>new</em> batch with the decay ({@code new = d·batch + (1−d)·old}, d = 0.999),
 * which makes the "average" almost the last batch; SimQAT never enables it. Here {@code c} is the weight of the new
 * batch, stated explicitly (default 0.01, i.e. decay 0.99 on the history).
 *
 * <pre>{@code
 * var obs = new MovingAverageMinMaxObserver(0.01f);
 * }</pre>
 */
public final class MovingAverageMinMaxObserver extends Observer {
    private final float averagingConstant;

    public MovingAverageMinMaxObserver(float averagingConstant) {
        super(1);
        if (!(averagingConstant > 0 && averagingConstant <= 1)) {
            throw new IllegalArgumentException("MovingAverageMinMaxObserver.averagingConstant must be in (0, 1], got " + averagingConstant);
        }
        this.averagingConstant = averagingConstant;
    }

    public MovingAverageMinMaxObserver() {
        this(0.01f);
    }

    public float averagingConstant() {
        return averagingConstant;
    }

    @Override
    protected void observe(Tensor x) {
        float[] r = rangeOf(x.data());
        float[] lo = buffer("min").data(), hi = buffer("max").data();
        if (!hasObserved()) {
            lo[0] = r[0];
            hi[0] = r[1];
        } else {
            lo[0] += averagingConstant * (r[0] - lo[0]);
            hi[0] += averagingConstant * (r[1] - hi[0]);
        }
    }

    @Override
    public int axis() {
        return -1;
    }
}
