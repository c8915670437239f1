package org.goldenstick.rewrite;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.goldenstick.graph.Node;
import org.goldenstick.nn.Module;

/**
 * What a {@link Rewriter} does to a network, in terms of layer types and graph patterns only: fusion rules (chains of
 * layer types matched on the traced graph, e.g. Conv2d → BatchNorm2d), a wrapping policy per exact layer class, skip
 * patterns on dotted layer names, the layers and ops that keep values on their input's quantization grid, and
 * (optionally) the tensor ops the algorithm supports between layers.
 *
 * <pre>{@code
 * RewriteRules rules = RewriteRules.builder()
 *     .fuse("Conv2d+BatchNorm2d", List.of(Conv2d.class, BatchNorm2d.class), ms -> new ConvBn(ms))
 *     .wrap(Linear.class, m -> new LinearQuant((Linear) m, cfg))
 *     .transparent(MaxPool2d.class).transparentOp("reshape")
 *     .supportedOps("add", "concat", "reshape")
 *     .skip("fc3")
 *     .build();
 * }</pre>
 */
public final class RewriteRules {
    /** A fusion rule: exact classes of a chain of layer calls, in order, and how to build the fused layer. */
    public record FusionRule(String name, List<Class<? extends Module>> chain, Function<List<Module>, Module> fuser) {
        public FusionRule {
            if (chain.size() < 2) throw new IllegalArgumentException("FusionRule '" + name + "': a chain needs at least 2 layers, got " + chain.size());
            chain = List.copyOf(chain);
        }
    }

    private final List<FusionRule> fusions;
    private final Map<Class<? extends Module>, Policy> policies;
    private final LayerFilter skips;
    private final Set<Class<? extends Module>> transparent;
    private final Set<String> transparentOps;
    private final Set<String> supportedOps;

    private RewriteRules(Builder b) {
        List<FusionRule> f = new ArrayList<>(b.fusions);
        f.sort((x, y) -> y.chain().size() - x.chain().size()); // longest match first
        this.fusions = List.copyOf(f);
        this.policies = Map.copyOf(b.policies);
        this.skips = LayerFilter.ignoring(b.skips);
        this.transparent = Set.copyOf(b.transparent);
        this.transparentOps = Set.copyOf(b.transparentOps);
        this.supportedOps = b.supportedOps == null ? null : Set.copyOf(b.supportedOps);
    }

    public static Builder builder() {
        return new Builder();
    }

    public List<FusionRule> fusions() {
        return fusions;
    }

    /** Where a layer sits when its policy wraps it: its dotted path, and whether its producer is wrapped too. */
    public record Site(String path, boolean producerWrapped) {}

    /** Builds the replacement of one layer (exact class match). */
    @FunctionalInterface
    public interface Policy {
        Module wrap(Module layer, Site site);
    }

    /** The policy for this exact class, or null. */
    public Policy policy(Class<?> exactClass) {
        return policies.get(exactClass);
    }

    public Set<Class<? extends Module>> policyClasses() {
        return policies.keySet();
    }

    /** The first skip pattern found in {@code path}, or null. */
    public String skipPattern(String path) {
        return skips.ignoredBy(path);
    }

    /** Layers that keep values on their input's quantization grid (max-pool, flatten, identity...). */
    public boolean isTransparent(Module m) {
        return m instanceof FusedInto || transparent.contains(m.getClass());
    }

    /** A graph node that keeps values on its input's grid: a transparent layer, or a transparent op (reshape...). */
    public boolean keepsGrid(Node n) {
        return switch (n.kind()) {
            case LAYER -> isTransparent(n.layer());
            case OP -> transparentOps.contains(n.op());
            default -> false;
        };
    }

    /** Whether the algorithm handles op {@code op} between layers (every op when no list was given). */
    public boolean supportsOp(String op) {
        return supportedOps == null || supportedOps.contains(op);
    }

    /** The ops the algorithm handles between layers, or null for any. */
    public Set<String> supportedOps() {
        return supportedOps;
    }

    public static final class Builder {
        private final List<FusionRule> fusions = new ArrayList<>();
        private final Map<Class<? extends Module>, Policy> policies = new LinkedHashMap<>();
        private final List<String> skips = new ArrayList<>();
        private final Set<Class<? extends Module>> transparent = new HashSet<>();
        private final Set<String> transparentOps = new HashSet<>();
        private Set<String> supportedOps;

        /** Fuses each chain of layer calls of these exact classes (each feeding only the next) into one layer at the first one's name. */
        public Builder fuse(String name, List<Class<? extends Module>> chain, Function<List<Module>, Module> fuser) {
            fusions.add(new FusionRule(name, chain, fuser));
            return this;
        }

        public Builder wrap(Class<? extends Module> exactClass, Function<Module, Module> wrapper) {
            policies.put(exactClass, (m, site) -> wrapper.apply(m));
            return this;
        }

        /** A policy that also sees where the layer sits (e.g. to drop a redundant input quantizer). */
        public Builder wrap(Class<? extends Module> exactClass, Policy policy) {
            policies.put(exactClass, policy);
            return this;
        }

        /** Leaves every layer whose dotted path contains a match of {@code regex} ({@link LayerFilter}'s ignore). */
        public Builder skip(String regex) {
            LayerFilter.ignoring(List.of(regex)); // validates now, naming the pattern
            skips.add(regex);
            return this;
        }

        public Builder skipAll(List<String> regexes) {
            for (String r : regexes) skip(r);
            return this;
        }

        public Builder transparent(Class<? extends Module> type) {
            transparent.add(type);
            return this;
        }

        /** An op that keeps values on its input's grid (e.g. {@code "reshape"}). */
        public Builder transparentOp(String op) {
            transparentOps.add(op);
            return this;
        }

        /** The ops (by tape name) the algorithm handles between layers; any other op in the traced graph is an error naming it. */
        public Builder supportedOps(String... ops) {
            supportedOps = new HashSet<>(List.of(ops));
            return this;
        }

        public RewriteRules build() {
            return new RewriteRules(this);
        }
    }
}
