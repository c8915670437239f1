package org.goldenstick.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * A dense, row-major float32 tensor with reverse-mode autograd.
 *
 * <p>Operations never modify their inputs: each returns a new tensor. When gradient recording is on
 * ({@link GradMode}) and an input {@link #requiresGrad() requires a gradient}, the result remembers its
 * inputs and a backward function; {@link #backward()} walks that graph in reverse topological order.
 *
 * <pre>{@code
 * Tensor w = Tensor.randn(new Random(0), 3, 2).requiresGrad(true);
 * Tensor x = Tensor.of(new float[] {1, 2, 3}, 1, 3);
 * Tensor loss = x.matmul(w).square().sum();
 * loss.backward();
 * float[] dw = w.grad().data();
 * }</pre>
 *
 * <p>{@link #data()} exposes the backing array for kernels and optimizers; everything else treats
 * tensors as values.
 */
public final class Tensor {
    static {
        org.goldenstick.tensor.kernel.Kernels.requireVectorModule(); // a clear message instead of a NoClassDefFoundError in a kernel
    }

    /** The values; null while a {@link #deferred} tensor's values have not been asked for. */
    private float[] data;
    /** Where a deferred tensor's values come from (shared by its reshaped views), else null. */
    private final Deferred deferred;
    private final int[] shape;
    private boolean requiresGrad;
    private float[] grad;
    private Tensor[] parents;
    private Backward backward;
    private String opName;
    /** Set when the {@link StepBuffers} step this tensor was made in closed: its array now serves another step. */
    private boolean released;

    /** Propagates {@code out.gradArray()} to the parents' gradients. */
    @FunctionalInterface
    public interface Backward {
        void apply(Tensor out);
    }

    private Tensor(float[] data, int[] shape) {
        this.data = data;
        this.deferred = null;
        this.shape = shape;
        StepBuffers.adopt(this, data);
    }

    /** A tensor over the same storage as {@code source} (its array, or its deferred values), with another shape. */
    private Tensor(Tensor source, int[] shape) {
        this.data = source.data;
        this.deferred = source.deferred;
        this.shape = shape;
        if (data != null) StepBuffers.adopt(this, data);
    }

    private Tensor(Deferred deferred, int[] shape) {
        this.data = null;
        this.deferred = deferred;
        this.shape = shape;
    }

    /** Values computed on first read, once, for every tensor sharing them (thread-safe). */
    private static final class Deferred {
        private final java.util.function.Supplier<float[]> fill;
        private final int numel;
        private volatile float[] values;

        Deferred(java.util.function.Supplier<float[]> fill, int numel) {
            this.fill = fill;
            this.numel = numel;
        }

        synchronized float[] values() {
            if (values == null) {
                float[] v = fill.get();
                if (v.length != numel) throw new IllegalStateException("Tensor.deferred: the values have " + v.length + " elements, the shape " + numel);
                values = v;
            }
            return values;
        }
    }

    /** Marks this tensor as belonging to a closed {@link StepBuffers} step (its arrays are reused). */
    void release() {
        released = true;
        grad = null;
        parents = null;
        backward = null;
    }

    // ---------------------------------------------------------------- creation

    /** Wraps {@code data} (not copied) with the given shape. */
    public static Tensor of(float[] data, int... shape) {
        int n = Shape.numel(shape);
        if (n != data.length) {
            throw new IllegalArgumentException("Tensor.of: " + data.length + " values do not fill shape " + Shape.str(shape) + " (" + n + " elements)");
        }
        return new Tensor(data, shape.clone());
    }

    /**
     * A tensor whose values {@code fill} computes on the first {@link #data()} call (of this tensor or a view of it),
     * for producers whose consumers usually read another form of the same values (an int8 layer's codes): when nothing
     * asks for the floats they are never written. Shape-only ops ({@link #reshape}, {@link #flatten}, {@link #detach})
     * keep it deferred. No gradient flows through it.
     *
     * <pre>{@code
     * Tensor y = Tensor.deferred(() -> dequantize(codes), n, c, h, w);   // dequantize runs only if someone reads y.data()
     * }</pre>
     */
    public static Tensor deferred(java.util.function.Supplier<float[]> fill, int... shape) {
        int[] s = shape.clone();
        return new Tensor(new Deferred(fill, Shape.numel(s)), s);
    }

    public static Tensor scalar(float v) {
        return new Tensor(new float[] {v}, new int[0]);
    }

    public static Tensor zeros(int... shape) {
        return new Tensor(new float[Shape.numel(shape)], shape.clone());
    }

    public static Tensor ones(int... shape) {
        return full(1f, shape);
    }

    public static Tensor full(float v, int... shape) {
        float[] d = new float[Shape.numel(shape)];
        Arrays.fill(d, v);
        return new Tensor(d, shape.clone());
    }

    /** Standard normal values from {@code rng}. */
    public static Tensor randn(Random rng, int... shape) {
        float[] d = new float[Shape.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) rng.nextGaussian();
        return new Tensor(d, shape.clone());
    }

    /** Uniform values in [lo, hi) from {@code rng}. */
    public static Tensor uniform(Random rng, float lo, float hi, int... shape) {
        float[] d = new float[Shape.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * rng.nextFloat();
        return new Tensor(d, shape.clone());
    }

    // ---------------------------------------------------------------- metadata

    public int[] shape() {
        return shape.clone();
    }

    public int dim(int axis) {
        return shape[Shape.axis("dim", axis, shape.length)];
    }

    public int rank() {
        return shape.length;
    }

    public int numel() {
        return deferred != null ? deferred.numel : data.length;
    }

    /** The backing array (row-major). Writing to it bypasses autograd: for kernels and optimizers only. */
    public float[] data() {
        if (released) {
            throw new IllegalStateException("Tensor" + Shape.str(shape) + (opName == null ? "" : " <" + opName + ">")
                    + " was made during a training step whose StepBuffers step is closed: its memory now holds another step's values; copy() it inside the step to keep it");
        }
        float[] d = data;
        if (d == null) data = d = deferred.values();
        return d;
    }

    /**
     * An object that identifies the memory holding this tensor's values, the same for every tensor sharing them (a
     * reshape, a detach) and for a {@link #deferred} tensor before and after its values exist: a key for tables kept
     * beside the values (a quantized layer's codes), compared by identity.
     */
    public Object storageIdentity() {
        return deferred != null ? deferred : data;
    }

    /** True while this is a {@link #deferred} tensor whose values nobody has asked for yet. */
    public boolean valuesPending() {
        return data == null && deferred.values == null;
    }

    /** The value of a one-element tensor. */
    public float item() {
        if (numel() != 1) throw new IllegalStateException("item(): tensor of shape " + Shape.str(shape) + " has " + numel() + " elements");
        return data()[0];
    }

    public float get(int... index) {
        if (index.length != shape.length) throw new IllegalArgumentException("get: index rank " + index.length + " for shape " + Shape.str(shape));
        int off = 0;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) throw new IndexOutOfBoundsException("get: index " + Arrays.toString(index) + " out of shape " + Shape.str(shape));
            off = off * shape[i] + index[i];
        }
        return data()[off];
    }

    /** A deep copy without graph. */
    public Tensor copy() {
        return new Tensor(data().clone(), shape.clone());
    }

    /** The same values, cut from the graph (shares storage). */
    public Tensor detach() {
        return new Tensor(this, shape);
    }

    public boolean sameShape(Tensor o) {
        return Arrays.equals(shape, o.shape);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor").append(Shape.str(shape));
        if (opName != null) sb.append(" <").append(opName).append('>');
        sb.append(" [");
        if (released || valuesPending()) return sb.append(released ? " released]" : " not computed yet]").toString();
        float[] d = data();
        for (int i = 0; i < Math.min(8, d.length); i++) sb.append(i == 0 ? "" : ", ").append(d[i]);
        if (d.length > 8) sb.append(", ...");
        return sb.append(']').toString();
    }

    // ---------------------------------------------------------------- autograd

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf as trainable; returns {@code this}. */
    public Tensor requiresGrad(boolean flag) {
        if (parents != null && !flag) throw new IllegalStateException("requiresGrad(false) on a non-leaf; use detach()");
        this.requiresGrad = flag;
        return this;
    }

    /** The accumulated gradient, or null if none was computed. */
    public Tensor grad() {
        return grad == null ? null : new Tensor(grad, shape);
    }

    /** The gradient buffer, allocated on first use (for backward functions and optimizers). */
    public float[] gradArray() {
        // an intermediate's gradient lives only during the backward pass: reuse one from the training step's pool if open
        if (grad == null) grad = parents == null ? new float[numel()] : StepBuffers.zeros(numel());
        return grad;
    }

    /**
     * For a backward function that produces an input's whole gradient contribution in one pass: when this tensor has no
     * gradient yet, installs one whose contents are undefined (from an open {@link StepBuffers} step, else zeros) and
     * returns true; the caller then writes every element ({@code 0f + contribution}, which is what adding into zeros
     * gives) instead of adding, which saves zero-filling and re-reading it. Returns false when a gradient exists; then
     * add into {@link #gradArray()}.
     *
     * <pre>{@code
     * boolean add = !x.claimFreshGrad();
     * float[] gx = x.gradArray();          // add ? gx += d : gx = 0f + d, for every element
     * }</pre>
     */
    public boolean claimFreshGrad() {
        if (grad != null) return false;
        grad = parents == null ? new float[numel()] : StepBuffers.uninitialized(numel());
        return true;
    }

    public boolean hasGrad() {
        return grad != null;
    }

    public void zeroGrad() {
        grad = null;
    }

    /** Adds {@code g} (same length) into this tensor's gradient. */
    public void accumulateGrad(float[] g) {
        float[] dst = gradArray();
        for (int i = 0; i < dst.length; i++) dst[i] += g[i];
    }

    /** Name of the op that produced this tensor, or null for a leaf. */
    public String opName() {
        return opName;
    }

    /**
     * Builds a result tensor and, when recording is on and an input needs a gradient, links it into the graph.
     * This is how every op (in this package or another) joins autograd.
     */
    public static Tensor result(String op, float[] data, int[] shape, Backward backward, Tensor... inputs) {
        return link(new Tensor(data, shape), op, backward, inputs);
    }

    /** {@link #result} for a shape-only op: the output shares {@code source}'s storage (deferred values stay deferred). */
    static Tensor view(String op, Tensor source, int[] shape, Backward backward, Tensor... inputs) {
        return link(new Tensor(source, shape), op, backward, inputs);
    }

    private static Tensor link(Tensor out, String op, Backward backward, Tensor... inputs) {
        OpTrace.op(op, inputs, out);
        if (GradMode.isEnabled()) {
            for (Tensor t : inputs) {
                if (t != null && t.requiresGrad) {
                    out.requiresGrad = true;
                    out.parents = inputs;
                    out.backward = backward;
                    out.opName = op;
                    break;
                }
            }
        }
        return out;
    }

    /** Backpropagates from a one-element tensor (seed 1). */
    public void backward() {
        if (numel() != 1) throw new IllegalStateException("backward(): needs a scalar, got shape " + Shape.str(shape) + "; pass a seed gradient");
        backward(new float[] {1f});
    }

    /** Backpropagates with an explicit seed gradient of this tensor's shape. */
    public void backward(float[] seed) {
        if (!requiresGrad) throw new IllegalStateException("backward(): tensor does not require grad (no trainable input, or computed under GradMode.off())");
        if (seed.length != numel()) throw new IllegalArgumentException("backward: seed has " + seed.length + " values for shape " + Shape.str(shape));
        List<Tensor> order = topologicalOrder();
        accumulateGrad(seed);
        for (int i = order.size() - 1; i >= 0; i--) {
            Tensor t = order.get(i);
            if (t.backward != null && t.grad != null) {
                t.backward.apply(t);
                if (t != this && StepBuffers.reclaim(t.grad)) t.grad = null; // consumed: every user of t came earlier
            }
        }
    }

    private List<Tensor> topologicalOrder() {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {this, 0});
        seen.add(this);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Tensor t = (Tensor) frame[0];
            int next = (Integer) frame[1];
            if (t.parents != null && next < t.parents.length) {
                frame[1] = next + 1;
                Tensor p = t.parents[next];
                if (p != null && p.requiresGrad && seen.add(p)) stack.push(new Object[] {p, 0});
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }

    // ---------------------------------------------------------------- element-wise (broadcasting)

    public Tensor add(Tensor o) {
        return Elementwise.binary("add", this, o, Elementwise.ADD);
    }

    public Tensor sub(Tensor o) {
        return Elementwise.binary("sub", this, o, Elementwise.SUB);
    }

    public Tensor mul(Tensor o) {
        return Elementwise.binary("mul", this, o, Elementwise.MUL);
    }

    public Tensor div(Tensor o) {
        return Elementwise.binary("div", this, o, Elementwise.DIV);
    }

    public Tensor add(float c) {
        return Elementwise.affine(this, 1f, c);
    }

    public Tensor mul(float c) {
        return Elementwise.affine(this, c, 0f);
    }

    public Tensor neg() {
        return Elementwise.affine(this, -1f, 0f);
    }

    public Tensor exp() {
        return Elementwise.unary("exp", this, Elementwise.EXP);
    }

    public Tensor log() {
        return Elementwise.unary("log", this, Elementwise.LOG);
    }

    public Tensor sqrt() {
        return Elementwise.unary("sqrt", this, Elementwise.SQRT);
    }

    public Tensor square() {
        return Elementwise.unary("square", this, Elementwise.SQUARE);
    }

    public Tensor abs() {
        return Elementwise.unary("abs", this, Elementwise.ABS);
    }

    public Tensor tanh() {
        return Elementwise.unary("tanh", this, Elementwise.TANH);
    }

    public Tensor sigmoid() {
        return Elementwise.unary("sigmoid", this, Elementwise.SIGMOID);
    }

    public Tensor relu() {
        return Activations.relu(this); // hand-written loops: a per-element branch here mispredicts on real activations
    }

    public Tensor pow(float p) {
        return Elementwise.pow(this, p);
    }

    /** Clamps to [lo, hi]; the gradient is passed where lo &lt;= x &lt;= hi and zero elsewhere. */
    public Tensor clamp(float lo, float hi) {
        return Elementwise.clamp(this, lo, hi);
    }

    // ---------------------------------------------------------------- reductions

    /** Sum of all elements (a scalar tensor). */
    public Tensor sum() {
        return Reductions.sumAll(this);
    }

    public Tensor sum(int axis, boolean keepDim) {
        return Reductions.sum(this, axis, keepDim);
    }

    public Tensor mean() {
        return sum().mul(1f / numel());
    }

    public Tensor mean(int axis, boolean keepDim) {
        int a = Shape.axis("mean", axis, shape.length);
        return sum(a, keepDim).mul(1f / shape[a]);
    }

    /** Maximum along an axis; the gradient flows to the first arg-max. */
    public Tensor max(int axis, boolean keepDim) {
        return Reductions.max(this, axis, keepDim);
    }

    /** Index of the maximum along the last axis, one per row (no gradient). */
    public int[] argmaxLastAxis() {
        return Reductions.argmaxLast(this);
    }

    // ---------------------------------------------------------------- shape

    /** Same data, new shape; one dimension may be -1. */
    public Tensor reshape(int... newShape) {
        return Views.reshape(this, newShape);
    }

    /** Flattens dimensions from {@code startAxis} on into one. */
    public Tensor flatten(int startAxis) {
        int a = Shape.axis("flatten", startAxis, shape.length);
        int[] s = new int[a + 1];
        System.arraycopy(shape, 0, s, 0, a);
        s[a] = -1;
        return reshape(s);
    }

    /** Reorders axes (materialised). */
    public Tensor permute(int... axes) {
        return Views.permute(this, axes);
    }

    /** Swaps two axes (materialised). */
    public Tensor transpose(int a, int b) {
        int[] axes = new int[shape.length];
        for (int i = 0; i < axes.length; i++) axes[i] = i;
        int x = Shape.axis("transpose", a, shape.length), y = Shape.axis("transpose", b, shape.length);
        axes[x] = y;
        axes[y] = x;
        return permute(axes);
    }

    /** Elements {@code [start, end)} along an axis. */
    public Tensor slice(int axis, int start, int end) {
        return Views.slice(this, axis, start, end);
    }

    /** Gathers the given indices along an axis (e.g. kept channels). */
    public Tensor indexSelect(int axis, int[] indices) {
        return Views.indexSelect(this, axis, indices);
    }

    /** Concatenates along an axis. */
    public static Tensor concat(int axis, Tensor... parts) {
        return Views.concat(axis, parts);
    }

    // ---------------------------------------------------------------- linear algebra

    /**
     * Matrix product. 2-D × 2-D, or batched: {@code [..., M, K] × [K, N]} and {@code [B..., M, K] × [B..., K, N]}.
     */
    public Tensor matmul(Tensor o) {
        return MatMul.matmul(this, o);
    }

    /** Affine map {@code this·Wᵀ + b}: this {@code [..., in]}, W {@code [out, in]}, b {@code [out]} or null. */
    public Tensor linear(Tensor weight, Tensor bias) {
        return MatMul.linear(this, weight, bias);
    }

    // ---------------------------------------------------------------- internal access for ops in this package

    int[] shapeRef() {
        return shape;
    }

    /** Collects tensors reachable in the graph (for debugging and tests). */
    public static Set<String> opsInGraph(Tensor root) {
        Set<String> ops = new HashSet<>();
        for (Tensor t : root.topologicalOrder()) if (t.opName != null) ops.add(t.opName);
        return ops;
    }
}
