package org.goldenstick.tensor;

import java.util.function.UnaryOperator;

/**
 * The recording hook of the tape: every op joins autograd through {@link Tensor#result}, and while a {@link Listener}
 * is installed on the current thread that same point also reports the op (name, inputs, output) to it. Leaf layers
 * report their calls through {@link #layer}, so a listener sees a forward pass as layer calls and the ops between them.
 * This is what {@code org.goldenstick.graph.ModelGraph} traces networks with; outside a trace it costs one volatile read.
 *
 * <pre>{@code
 * try (OpTrace.Scope s = OpTrace.record(listener)) {
 *     net.forward(example);
 * }
 * }</pre>
 */
public final class OpTrace {
    private OpTrace() {}

    /** Receives the ops and layer calls of the current thread, in execution order. */
    public interface Listener {
        /** An op produced {@code output} from {@code inputs} (null entries possible, e.g. a missing bias). */
        void op(String op, Tensor[] inputs, Tensor output);

        /** A leaf layer (an {@code nn.Layer}) starts on {@code input}. */
        void enterLayer(Object layer, Tensor input);

        /** The layer entered last returns {@code output}. */
        void exitLayer(Object layer, Tensor input, Tensor output);

        /**
         * The op that produced {@code output} ran as the whole computation of {@code module}, a module of several inputs
         * (an {@code nn.Add}), so the graph can name that module beside the op.
         */
        default void opOwner(Object module, Tensor output) {}
    }

    /** Ends a recording; restores the listener that was installed before (recordings nest). */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    private static final ThreadLocal<Listener> CURRENT = new ThreadLocal<>();
    private static volatile int recordings;

    /** Installs {@code listener} on this thread until the returned scope is closed. */
    public static Scope record(Listener listener) {
        if (listener == null) throw new IllegalArgumentException("OpTrace.record: listener is null");
        Listener previous = CURRENT.get();
        CURRENT.set(listener);
        synchronized (OpTrace.class) {
            recordings++;
        }
        return () -> {
            CURRENT.set(previous);
            synchronized (OpTrace.class) {
                recordings--;
            }
        };
    }

    /** True while a listener is installed on this thread (a layer may then avoid shortcuts that skip or add calls). */
    public static boolean active() {
        return current() != null;
    }

    private static Listener current() {
        return recordings == 0 ? null : CURRENT.get();
    }

    static void op(String op, Tensor[] inputs, Tensor output) {
        Listener l = current();
        if (l != null) l.op(op, inputs, output);
    }

    /** Reports that {@code module} computed {@code output} by the one op that produced it (see {@link Listener#opOwner}). */
    public static void opOwner(Object module, Tensor output) {
        Listener l = current();
        if (l != null) l.opOwner(module, output);
    }

    /** Runs a leaf layer's computation, reporting the call to the thread's listener if one is installed. */
    public static Tensor layer(Object layer, Tensor input, UnaryOperator<Tensor> compute) {
        Listener l = current();
        if (l == null) return compute.apply(input);
        l.enterLayer(layer, input);
        Tensor out = compute.apply(input);
        l.exitLayer(layer, input, out);
        return out;
    }
}
