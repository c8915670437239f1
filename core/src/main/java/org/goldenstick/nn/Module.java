package org.goldenstick.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.tensor.Tensor;

/**
 * A layer or network: named children, parameters (trainable tensors), buffers (non-trainable state such as
 * BatchNorm running statistics), a train/eval mode, and a state dict.
 *
 * <p>Names are dotted paths ({@code layer1.0.conv1.weight}). {@link #replaceChild(String, Module)} swaps a
 * sub-module by path: this is what the rewriting layer and the compression algorithms build on.
 *
 * <pre>{@code
 * Module net = new Sequential(new Linear(4, 8, rng), new ReLU(), new Linear(8, 2, rng));
 * net.replaceChild("1", new Sequential());           // by name
 * Map<String, Tensor> state = net.stateDict();
 * }</pre>
 *
 * <p>The name is upstream's ({@code nn.Cell} / PyTorch's {@code nn.Module}); it shares its simple name with
 * {@code java.lang.Module}, so import it by name ({@code import org.goldenstick.nn.Module;}), which shadows
 * {@code java.lang.Module}; an on-demand {@code import org.goldenstick.nn.*;} alone leaves {@code Module} ambiguous.
 * It stays {@code Module} because {@link Layer} already names a leaf layer and every algorithm, test and user
 * network of this project is written against it.
 */
public abstract class Module {
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
    private final LinkedHashMap<String, Tensor> parameters = new LinkedHashMap<>();
    private final LinkedHashMap<String, Tensor> buffers = new LinkedHashMap<>();
    private boolean training = true;

    /** The forward computation. */
    public abstract Tensor forward(Tensor x);

    // ---------------------------------------------------------------- registration (for subclasses)

    /** Registers (or replaces) a child; returns it. */
    protected final <M extends Module> M registerChild(String name, M child) {
        checkName(name);
        children.put(name, child);
        return child;
    }

    /** Registers a trainable tensor (marks it as requiring grad); returns it. */
    protected final Tensor registerParameter(String name, Tensor value) {
        checkName(name);
        if (value != null) value.requiresGrad(true);
        parameters.put(name, value);
        return value;
    }

    /** Registers a non-trainable state tensor; returns it. */
    protected final Tensor registerBuffer(String name, Tensor value) {
        checkName(name);
        buffers.put(name, value);
        return value;
    }

    private static void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) throw new IllegalArgumentException("invalid module member name '" + name + "'");
    }

    // ---------------------------------------------------------------- tree access

    /** Direct children in registration order (unmodifiable). */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** The sub-module at a dotted path ({@code ""} is this module). */
    public final Module module(String path) {
        if (path.isEmpty()) return this;
        Module m = this;
        for (String part : path.split("\\.")) {
            Module next = m.children.get(part);
            if (next == null) throw new IllegalArgumentException("no sub-module '" + part + "' in path '" + path + "' (" + m.getClass().getSimpleName() + " has " + m.children.keySet() + ")");
            m = next;
        }
        return m;
    }

    /**
     * Replaces the sub-module at a dotted path with {@code replacement}. A {@link Layer} replaced by a layer forwards its
     * calls to the replacement from then on, so a network that keeps its layers in fields and calls them in its own
     * {@code forward} runs the replacement too (the replacement may still use the old layer's own computation, e.g. a
     * quant cell wrapping it). The owner is also told through {@link #onChildReplaced(String, Module)}.
     */
    public final void replaceChild(String path, Module replacement) {
        int dot = path.lastIndexOf('.');
        Module owner = dot < 0 ? this : module(path.substring(0, dot));
        String name = dot < 0 ? path : path.substring(dot + 1);
        if (!owner.children.containsKey(name)) {
            throw new IllegalArgumentException("replaceChild: no child '" + name + "' in " + owner.getClass().getSimpleName() + " (has " + owner.children.keySet() + ")");
        }
        Module old = owner.children.get(name);
        owner.children.put(name, replacement);
        // a network may hold the old layer in a field (or a list) and call it from its own forward: it now runs the replacement
        if (old instanceof Layer l && old != replacement) l.replacedBy(replacement instanceof Layer r ? r : null);
        if (replacement instanceof Layer l) l.replacedBy(null);
        owner.onChildReplaced(name, replacement);
    }

    /** Hook for modules that must do more when a child is replaced; the default does nothing. */
    protected void onChildReplaced(String name, Module replacement) {}

    /**
     * One input sample's shape (no batch axis) that this network accepts, used to trace it when an algorithm is given
     * no example input; null (the default) when the network does not know it.
     */
    public int[] exampleInputShape() {
        return null;
    }

    /** Every module of the tree in pre-order with its dotted path; the root has path {@code ""}. */
    public final Map<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        out.put(prefix, this);
        for (var e : children.entrySet()) e.getValue().collectModules(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), out);
    }

    /** Parameters of this module and its sub-modules, by dotted name. */
    public final Map<String, Tensor> namedParameters() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        namedModules().forEach((p, m) -> m.parameters.forEach((n, t) -> {
            if (t != null) out.put(p.isEmpty() ? n : p + "." + n, t);
        }));
        return out;
    }

    public final Map<String, Tensor> namedBuffers() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        namedModules().forEach((p, m) -> m.buffers.forEach((n, t) -> {
            if (t != null) out.put(p.isEmpty() ? n : p + "." + n, t);
        }));
        return out;
    }

    /** Trainable tensors (deduplicated by identity, e.g. tied embeddings count once). */
    public final List<Tensor> parameters() {
        List<Tensor> out = new ArrayList<>();
        java.util.Set<Tensor> seen = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Tensor t : namedParameters().values()) if (seen.add(t)) out.add(t);
        return out;
    }

    /** This module's own parameter, or null. */
    public final Tensor parameter(String name) {
        return parameters.get(name);
    }

    /** This module's own buffer, or null. */
    public final Tensor buffer(String name) {
        return buffers.get(name);
    }

    /** Number of trainable scalars (shared tensors counted once). */
    public final long parameterCount() {
        long n = 0;
        for (Tensor t : parameters()) n += t.numel();
        return n;
    }

    // ---------------------------------------------------------------- mode

    public final boolean isTraining() {
        return training;
    }

    /** Sets train mode on the whole tree; returns this. */
    public final Module train(boolean on) {
        for (Module m : namedModules().values()) m.training = on;
        return this;
    }

    public final Module train() {
        return train(true);
    }

    public final Module eval() {
        return train(false);
    }

    /**
     * Runs {@code body} with the whole tree in eval mode and restores each module's own mode afterwards (also when a
     * mix of modes was set), e.g. to trace a network without updating its BatchNorm statistics.
     */
    public final <T> T inEvalMode(java.util.function.Supplier<T> body) {
        Map<String, Module> all = namedModules();
        boolean[] was = new boolean[all.size()];
        int i = 0;
        for (Module m : all.values()) was[i++] = m.training;
        train(false);
        try {
            return body.get();
        } finally {
            i = 0;
            for (Module m : all.values()) m.training = was[i++];
        }
    }

    // ---------------------------------------------------------------- state dict

    /** Parameters and buffers by dotted name (the live tensors, not copies). */
    public final Map<String, Tensor> stateDict() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>(namedParameters());
        out.putAll(namedBuffers());
        return out;
    }

    /**
     * Copies values into this module's tensors. With {@code strict}, a missing or unexpected key is an error;
     * a shape mismatch is always an error naming the key and both shapes.
     */
    public final void loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = stateDict();
        if (strict) {
            List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>();
            for (String k : own.keySet()) if (!state.containsKey(k)) missing.add(k);
            for (String k : state.keySet()) if (!own.containsKey(k)) unexpected.add(k);
            if (!missing.isEmpty() || !unexpected.isEmpty()) {
                throw new IllegalArgumentException("loadStateDict: missing keys " + missing + ", unexpected keys " + unexpected);
            }
        }
        for (var e : state.entrySet()) {
            Tensor dst = own.get(e.getKey());
            if (dst == null) continue;
            Tensor src = e.getValue();
            if (!Arrays.equals(dst.shape(), src.shape())) {
                throw new IllegalArgumentException("loadStateDict: '" + e.getKey() + "' has shape " + Arrays.toString(src.shape()) + " but the module expects " + Arrays.toString(dst.shape()));
            }
            System.arraycopy(src.data(), 0, dst.data(), 0, dst.numel());
        }
    }

    /** Clears the gradients of all parameters. */
    public final void zeroGrad() {
        for (Tensor t : parameters()) t.zeroGrad();
    }

    /** A one-line description used in summaries; layers override to show their hyper-parameters. */
    public String describe() {
        return getClass().getSimpleName();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        namedModules().forEach((p, m) -> sb.append(p.isEmpty() ? "(root)" : p).append(": ").append(m.describe()).append('\n'));
        return sb.toString();
    }
}
