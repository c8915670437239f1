package org.goldenstick.llm;

import java.util.Random;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.FloatWeightKernels;
import org.goldenstick.tensor.kernel.FloatWeights;

/**
 * A token-embedding table {@code weight [vocab, dim]}; {@link #forward(Tensor)} takes ids stored as floats
 * and returns their rows ({@code [..., dim]}), with gradients into the table.
 *
 * <pre>{@code
 * TokenEmbedding emb = new TokenEmbedding(32000, 4096, rng);
 * Tensor x = emb.lookup(new int[] {1, 2, 3}, 1, 3);   // [1, 3, 4096]
 * }</pre>
 *
 * <p>A table read in place ({@link #TokenEmbedding(FloatWeights)}, e.g. a slice of a memory-mapped checkpoint) has no
 * float parameter: rows are decoded on lookup, {@link #project} (the tied output head) reads it through
 * {@link FloatWeightKernels}, and there are no gradients.
 */
public final class TokenEmbedding extends Module implements StoredWeights {
    private final int vocab;
    private final int dim;
    private final FloatWeights stored;

    public TokenEmbedding(int vocab, int dim, Random rng, double std) {
        this.vocab = vocab;
        this.dim = dim;
        this.stored = null;
        Tensor w = Tensor.zeros(vocab, dim);
        float[] d = w.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) (rng.nextGaussian() * std);
        registerParameter("weight", w);
    }

    /** A table {@code [vocab, dim]} read in place from {@code table} (no copy on the heap, inference only). */
    public TokenEmbedding(FloatWeights table) {
        this.vocab = table.rows();
        this.dim = table.cols();
        this.stored = table;
    }

    /** The float table; a table read in place has none (see {@link #stored()}). */
    public Tensor weight() {
        if (stored != null) throw new IllegalStateException(describe() + " is read in place from a checkpoint and has no float parameter (load the model into memory to train or modify it)");
        return parameter("weight");
    }

    /** The table read in place, or null when it is a float parameter. */
    public FloatWeights stored() {
        return stored;
    }

    /** The table's size when read in place; 0 for a float parameter (counted with the parameters). */
    @Override
    public long weightCount() {
        return stored != null ? (long) vocab * dim : 0;
    }

    @Override
    public long weightBytes() {
        return stored != null ? stored.byteSize() : 0;
    }

    /** {@code h [..., dim]} times the table transposed: logits {@code [..., vocab]} (the output head of tied models). */
    public Tensor project(Tensor h) {
        if (stored == null) return h.linear(weight(), null);
        int[] shape = h.shape();
        if (shape.length == 0 || shape[shape.length - 1] != dim) throw new IllegalArgumentException(describe() + ".project: input shape " + java.util.Arrays.toString(shape) + " does not end in " + dim);
        int m = h.numel() / dim;
        float[] y = new float[m * vocab];
        FloatWeightKernels.gemm(m, h.data(), 0, dim, stored, y, 0, vocab, false);
        shape[shape.length - 1] = vocab;
        return Tensor.of(y, shape);
    }

    public int vocab() {
        return vocab;
    }

    public int dim() {
        return dim;
    }

    /** Rows of the table for {@code ids} laid out with {@code idsShape}; result {@code [idsShape..., dim]}. */
    public Tensor lookup(int[] ids, int... idsShape) {
        checkIds(ids);
        if (stored != null) {
            int[] shape = java.util.Arrays.copyOf(idsShape, idsShape.length + 1);
            shape[idsShape.length] = dim;
            float[] out = new float[ids.length * dim];
            gather(ids, out);
            return Tensor.of(out, shape);
        }
        return Functional.embedding(ids, idsShape, weight());
    }

    @Override
    public Tensor forward(Tensor ids) {
        float[] f = ids.data();
        int[] ii = new int[f.length];
        for (int i = 0; i < f.length; i++) ii[i] = Math.round(f[i]);
        return lookup(ii, ids.shape());
    }

    /** Copies the rows of {@code ids} into {@code out} (row-major {@code [ids.length, dim]}). */
    public void gather(int[] ids, float[] out) {
        checkIds(ids);
        if (stored != null) {
            for (int t = 0; t < ids.length; t++) stored.decodeRow(ids[t], 0, dim, out, t * dim);
            return;
        }
        float[] w = weight().data();
        for (int t = 0; t < ids.length; t++) System.arraycopy(w, ids[t] * dim, out, t * dim, dim);
    }

    private void checkIds(int[] ids) {
        for (int id : ids) {
            if (id < 0 || id >= vocab) throw new IndexOutOfBoundsException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
        }
    }

    @Override
    public String describe() {
        return "TokenEmbedding(" + vocab + ", " + dim + (stored != null ? ", " + stored.encoding() + " read in place" : "") + ")";
    }
}
