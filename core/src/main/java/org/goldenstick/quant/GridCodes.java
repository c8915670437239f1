package org.goldenstick.quant;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import org.goldenstick.tensor.Tensor;

/**
 * The 8-bit codes behind float tensors that deploy layers produced on a grid, so the next int8 layer reads the codes
 * instead of quantizing the floats again (conv → activation → conv keeps int8 activations; the floats are what the
 * network's float modules and the caller see). Keyed by the identity of the tensor's storage
 * ({@link Tensor#storageIdentity()}: shared by its reshaped views) and held weakly: a tensor that is dropped takes its
 * codes with it. A lookup succeeds only for the very storage a deploy layer wrote and the same grid, and the codes are
 * exactly {@link Int8Ops#quantizeActivations} of those values on that grid (the producer writes both from one
 * requantization), so using them changes no result; code-level consumers (pooling, activations, a consumer on another
 * grid) also need the values to be the codes dequantized, which every producer but a float ReLU quantizing for its
 * consumer ({@link #rememberQuantization}) gives. Deploy layers never write into their inputs; a module that changed
 * such an array in place would have to produce a new tensor instead.
 *
 * <p>A producer whose consumers all read codes ({@link CodeProducer#floatsOnDemand}) returns a
 * {@link Tensor#deferred deferred} tensor: its floats are the codes dequantized, computed only if something reads them.
 */
final class GridCodes {
    /** {@code onGrid}: the values are exactly the codes dequantized (else only the codes are the values quantized). */
    private record Entry(byte[] codes, QuantParams grid, Object doneFor, boolean onGrid) {}

    private static final Map<Object, Entry> CODES = Collections.synchronizedMap(new WeakHashMap<>());

    private GridCodes() {}

    /**
     * A deploy layer's output on {@code grid}, its codes remembered: {@code values} (the dequantized codes, written by
     * the producer) when given, else a deferred tensor that dequantizes the codes if its floats are read.
     *
     * @param doneFor the layer applied in the producer's epilogue ({@link #doneFor}), or null
     */
    static Tensor output(float[] values, byte[] codes, QuantParams grid, Object doneFor, int... shape) {
        Tensor t = values != null ? Tensor.of(values, shape) : Tensor.deferred(() -> Int8Ops.dequantizeActivations(codes, grid), shape);
        remember(t, codes, grid, doneFor);
        return t;
    }

    /** Records that {@code t}'s values are {@code dequantize(codes, grid)} element by element. Narrow-range grids are not kept. */
    static void remember(Tensor t, byte[] codes, QuantParams grid) {
        remember(t, codes, grid, null);
    }

    /**
     * {@link #remember}, noting that the values are already the output of layer {@code doneFor} (which ran fused into
     * their producer), so that layer passes them through ({@link #doneFor}).
     */
    static void remember(Tensor t, byte[] codes, QuantParams grid, Object doneFor) {
        if (!carries(grid) || codes.length != t.numel()) return;
        CODES.put(t.storageIdentity(), new Entry(codes, grid, doneFor, true));
    }

    /**
     * Records that {@code codes} are {@code t}'s values quantized onto {@code grid} while the values themselves are not
     * on it (a float ReLU quantizing for its consumer): only a consumer on exactly that grid may use them
     * ({@link #codes}); {@link #lookup} and codes on another grid ({@link #codesOrQuantize}) need values on the grid.
     */
    static void rememberQuantization(Tensor t, byte[] codes, QuantParams grid) {
        rememberQuantization(t, codes, grid, null);
    }

    /** {@link #rememberQuantization}, noting that the values are already layer {@code doneFor}'s output ({@link #doneFor}). */
    static void rememberQuantization(Tensor t, byte[] codes, QuantParams grid, Object doneFor) {
        if (!carries(grid) || codes.length != t.numel()) return;
        CODES.put(t.storageIdentity(), new Entry(codes, grid, doneFor, false));
    }

    /** True for the grids codes are kept for: 8-bit, per tensor, not narrow range. */
    static boolean carries(QuantParams grid) {
        return !grid.narrowRange() && !grid.perChannel() && grid.bits() == 8;
    }

    /** True when {@code t} is already {@code layer}'s output (its producer applied the layer in its epilogue). */
    static boolean doneFor(Tensor t, Object layer) {
        Entry e = CODES.get(t.storageIdentity());
        return e != null && e.doneFor() == layer && e.codes().length == t.numel();
    }

    /** The codes of {@code t} on {@code grid}, or null when they are not known. */
    static byte[] codes(Tensor t, QuantParams grid) {
        Entry e = CODES.get(t.storageIdentity());
        return e != null && e.grid().equals(grid) && e.codes().length == t.numel() ? e.codes() : null;
    }

    /**
     * The codes of {@code t} on {@code grid}: the remembered ones; else, when codes on another grid are known, those
     * mapped by a 256-entry table (each value is a function of its code, so quantizing it again is too: the floats are
     * neither read nor, when deferred, computed); else the floats quantized now.
     */
    static byte[] codesOrQuantize(Tensor t, QuantParams grid) {
        Entry e = CODES.get(t.storageIdentity());
        if (e == null || e.codes().length != t.numel()) return Int8Ops.quantizeActivations(t.data(), grid);
        if (e.grid().equals(grid)) return e.codes();
        if (!e.onGrid()) return Int8Ops.quantizeActivations(t.data(), grid);
        byte[] table = Int8Ops.quantizeActivations(Int8Ops.dequantTable(e.grid()), grid), src = e.codes(), out = new byte[src.length];
        Int8Ops.chunks(src.length, (from, to) -> Int8Ops.mapCodes(src, table, out, from, to));
        return out;
    }

    /** The grid and codes of {@code t}'s storage when its values are those codes dequantized, or null. */
    static Map.Entry<QuantParams, byte[]> lookup(Tensor t) {
        Entry e = CODES.get(t.storageIdentity());
        return e == null || !e.onGrid() || e.codes().length != t.numel() ? null : Map.entry(e.grid(), e.codes());
    }
}
