package org.goldenstick.qat.slb;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.LossFunction;
import org.goldenstick.train.Optimizer;

/**
 * Data-parallel training on worker threads with a gradient all-reduce (upstream runs SLB under distributed
 * training). Each step: the master's parameters, buffers and SLB quantizer state (temperature, hard flag) are
 * broadcast to {@code W} replicas (separate module trees sharing no tensors, built by the factory); the global batch
 * is split into {@code W} contiguous shards; every replica runs forward and backward on its shard on its own thread
 * with the mean loss of its shard; the gradients are averaged into the master weighted by shard size (so the result
 * is the gradient of the global-batch mean loss) and one optimizer step is taken on the master.
 *
 * <p>No synchronized BatchNorm: each replica normalises with its shard's batch statistics, and the master's running
 * statistics become the shard-size-weighted mean of the replicas'. Equivalence with single-worker training therefore
 * holds exactly (up to float rounding) for BN-free models only.
 *
 * <pre>{@code
 * try (var dp = new DataParallel(master, () -> slb.apply(new LeNet5(1, 8, 10, new Random(0))), 2, opt, LossFunction.crossEntropy())) {
 *     for (Batch b : loader) dp.step(b);
 * }
 * }</pre>
 */
public final class DataParallel implements AutoCloseable {
    private final Module master;
    private final List<Module> replicas = new ArrayList<>();
    private final Optimizer optimizer;
    private final LossFunction loss;
    private final ExecutorService pool;

    /**
     * @param replicaFactory builds a module with the master's structure (its values are overwritten at every step)
     * @param workers number of replicas and threads (≥ 1)
     */
    public DataParallel(Module master, Supplier<Module> replicaFactory, int workers, Optimizer optimizer, LossFunction loss) {
        if (workers < 1) throw new IllegalArgumentException("DataParallel: workers must be >= 1, got " + workers);
        this.master = master;
        this.optimizer = optimizer;
        this.loss = loss;
        Map<String, Tensor> own = master.stateDict();
        for (int i = 0; i < workers; i++) {
            Module r = replicaFactory.get();
            if (r == master) throw new IllegalArgumentException("DataParallel: the replica factory returned the master itself");
            Map<String, Tensor> rs = r.stateDict();
            if (!rs.keySet().equals(own.keySet())) throw new IllegalArgumentException("DataParallel: replica " + i + " has tensors " + rs.keySet() + ", master has " + own.keySet());
            for (var e : own.entrySet()) {
                if (rs.get(e.getKey()) == e.getValue()) throw new IllegalArgumentException("DataParallel: replica " + i + " shares tensor '" + e.getKey() + "' with the master");
            }
            replicas.add(r);
        }
        this.pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "gstick-data-parallel");
            t.setDaemon(true);
            return t;
        });
    }

    public int workers() { return replicas.size(); }

    /** One optimizer step on the global batch; returns the global-batch mean loss. */
    public double step(Batch batch) throws InterruptedException {
        int n = batch.size(), w = Math.min(replicas.size(), n);
        broadcast();
        int[] start = new int[w + 1];
        for (int i = 0; i <= w; i++) start[i] = (int) ((long) n * i / w);
        List<Future<Double>> results = new ArrayList<>();
        for (int i = 0; i < w; i++) {
            Module r = replicas.get(i);
            Batch shard = shard(batch, start[i], start[i + 1]);
            results.add(pool.submit(() -> {
                r.zeroGrad();
                Tensor l = loss.compute(r.forward(shard.inputs()), shard);
                l.backward();
                return (double) l.item();
            }));
        }
        double total = 0;
        for (int i = 0; i < w; i++) {
            try {
                total += results.get(i).get() * (start[i + 1] - start[i]) / n;
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("DataParallel: worker " + i + " failed: " + e.getCause(), e.getCause());
            }
        }
        allReduce(start, n, w);
        optimizer.step();
        return total;
    }

    /** Copies the master's tensors, mode and SLB quantizer state into every replica. */
    private void broadcast() {
        Map<String, Tensor> state = master.stateDict();
        List<SlbWeightQuantizer> mq = quantizers(master);
        for (Module r : replicas) {
            r.loadStateDict(state, true);
            r.train(master.isTraining());
            List<SlbWeightQuantizer> rq = quantizers(r);
            for (int i = 0; i < mq.size(); i++) {
                rq.get(i).setTemperature(mq.get(i).temperature());
                rq.get(i).setHard(mq.get(i).hard());
            }
        }
    }

    /** Master gradient = Σ_i (n_i / n) · grad_i; float buffers (BN statistics) likewise averaged. */
    private void allReduce(int[] start, int n, int w) {
        optimizer.zeroGrad();
        master.zeroGrad();
        Map<String, Tensor> mp = master.namedParameters();
        for (var e : mp.entrySet()) {
            float[] dst = null;
            for (int i = 0; i < w; i++) {
                Tensor rp = replicas.get(i).namedParameters().get(e.getKey());
                if (!rp.hasGrad()) continue;
                if (dst == null) dst = e.getValue().gradArray();
                float[] g = rp.gradArray();
                float f = (float) (start[i + 1] - start[i]) / n;
                for (int k = 0; k < dst.length; k++) dst[k] += f * g[k];
            }
        }
        for (var e : master.namedBuffers().entrySet()) {
            if (e.getKey().endsWith("num_batches_tracked")) {
                System.arraycopy(replicas.get(0).namedBuffers().get(e.getKey()).data(), 0, e.getValue().data(), 0, e.getValue().numel());
                continue;
            }
            float[] dst = e.getValue().data();
            java.util.Arrays.fill(dst, 0f);
            for (int i = 0; i < w; i++) {
                float[] src = replicas.get(i).namedBuffers().get(e.getKey()).data();
                float f = (float) (start[i + 1] - start[i]) / n;
                for (int k = 0; k < dst.length; k++) dst[k] += f * src[k];
            }
        }
    }

    private static List<SlbWeightQuantizer> quantizers(Module m) {
        List<SlbWeightQuantizer> out = new ArrayList<>();
        for (Module c : m.namedModules().values()) if (c instanceof SlbWeightQuantizer q) out.add(q);
        return out;
    }

    static Batch shard(Batch b, int from, int to) {
        int[] shape = b.inputs().shape().clone();
        int per = b.inputs().numel() / shape[0];
        shape[0] = to - from;
        float[] x = java.util.Arrays.copyOfRange(b.inputs().data(), from * per, to * per);
        return new Batch(Tensor.of(x, shape), java.util.Arrays.copyOfRange(b.labels(), from, to));
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
