package org.goldenstick.llm;

import java.util.Random;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * A token-embedding table {@code weight [vocab, dim]}; {@link #forward(Tensor)} takes ids stored as floats
 * and returns their rows ({@code [..., dim]}), with gradients into the table.
 *
 * <pre>{@code
 * TokenEmbedding emb = new TokenEmbedding(32000, 4096, rng);
 * Tensor x = emb.lookup(new int[] {1, 2, 3}, 1, 3);   // [1, 3, 4096]
 * }</pre>
 */
public final class TokenEmbedding extends Module {
    private final int vocab;
    private final int dim;

    public TokenEmbedding(int vocab, int dim, Random rng, double std) {
        this.vocab = vocab;
        this.dim = dim;
        Tensor w = Tensor.zeros(vocab, dim);
        float[] d = w.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) (rng.nextGaussian() * std);
        registerParameter("weight", w);
    }

    public Tensor weight() {
        return parameter("weight");
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
        return "TokenEmbedding(" + vocab + ", " + dim + ")";
    }
}
