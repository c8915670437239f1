package org.goldenstick.rewrite;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.Sequential;

/**
 * What a {@link Rewriter} does to a network: fusion rules over chains of layers, a wrapping policy per exact
 * layer class, skip patterns and the knowledge of which containers run their children in order.
 *
 * <ul>
 *   <li><b>Chain containers</b>: exact classes whose forward applies the children one after another
 *       ({@link Sequential} always; models such as LeNet5 or ResNet are registered by the algorithm). Fusion
 *       chains are matched on consecutive children of these.</li>
 *   <li><b>Named chains</b>: for structured blocks (ResNet's BasicBlock) the child names that form a chain,
 *       e.g. {@code conv1 → bn1}; and {@link Builder#leave named children to leave alone} with a reason
 *       (a ReLU instance applied at two points cannot carry one activation quantizer).</li>
 *   <li><b>Fusion rules</b>: a list of exact classes and a function building one module from the matched
 *       layers; the other positions become {@link FusedInto}.</li>
 *   <li><b>Layer policies</b>: exact class → wrapper, as upstream (a subclass does not match).</li>
 *   <li><b>Skip patterns</b>: regular expressions searched in the dotted layer path.</li>
 * </ul>
 *
 * <pre>{@code
 * RewriteRules rules = RewriteRules.builder()
 *     .chainContainer(LeNet5.class)
 *     .fuse("Conv2d+BatchNorm2d", List.of(Conv2d.class, BatchNorm2d.class), ms -> new ConvBn(ms))
 *     .wrap(Linear.class, m -> new LinearQuant((Linear) m, cfg))
 *     .skip("fc3")
 *     .build();
 * }</pre>
 */
public final class RewriteRules {
    /** A fusion rule: exact classes in order and how to build the fused module. */
    public record FusionRule(String name, List<Class<? extends Module>> chain, Function<List<Module>, Module> fuser) {
        public FusionRule {
            if (chain.size() < 2) throw new IllegalArgumentException("FusionRule '" + name + "': a chain needs at least 2 layers, got " + chain.size());
            chain = List.copyOf(chain);
        }
    }

    private final Set<Class<? extends Module>> chainContainers;
    private final Map<Class<? extends Module>, List<List<String>>> namedChains;
    private final Map<Class<? extends Module>, Map<String, String>> leave;
    private final List<FusionRule> fusions;
    private final Map<Class<? extends Module>, Policy> policies;
    private final List<Pattern> skips;
    private final Set<Class<? extends Module>> transparent;

    private RewriteRules(Builder b) {
        this.chainContainers = Set.copyOf(b.chainContainers);
        this.namedChains = Map.copyOf(b.namedChains);
        this.leave = Map.copyOf(b.leave);
        List<FusionRule> f = new ArrayList<>(b.fusions);
        f.sort((x, y) -> y.chain().size() - x.chain().size()); // longest match first
        this.fusions = List.copyOf(f);
        this.policies = Map.copyOf(b.policies);
        this.skips = List.copyOf(b.skips);
        this.transparent = Set.copyOf(b.transparent);
    }

    public static Builder builder() {
        return new Builder();
    }

    public boolean isChainContainer(Module m) {
        return chainContainers.contains(m.getClass());
    }

    public List<List<String>> namedChains(Module m) {
        return namedChains.getOrDefault(m.getClass(), List.of());
    }

    /** The reason to leave child {@code name} of {@code owner} alone, or null. */
    public String leaveReason(Module owner, String name) {
        Map<String, String> m = leave.get(owner.getClass());
        return m == null ? null : m.get(name);
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
        for (Pattern p : skips) if (p.matcher(path).find()) return p.pattern();
        return null;
    }

    /** Layers that keep values on their input's quantization grid (max-pool, flatten, identity...). */
    public boolean isTransparent(Module m) {
        return m instanceof FusedInto || transparent.contains(m.getClass());
    }

    public static final class Builder {
        private final Set<Class<? extends Module>> chainContainers = new HashSet<>(Set.of(Sequential.class));
        private final Map<Class<? extends Module>, List<List<String>>> namedChains = new HashMap<>();
        private final Map<Class<? extends Module>, Map<String, String>> leave = new HashMap<>();
        private final List<FusionRule> fusions = new ArrayList<>();
        private final Map<Class<? extends Module>, Policy> policies = new LinkedHashMap<>();
        private final List<Pattern> skips = new ArrayList<>();
        private final Set<Class<? extends Module>> transparent = new HashSet<>();

        public Builder chainContainer(Class<? extends Module> type) {
            chainContainers.add(type);
            return this;
        }

        /** Children of {@code owner} (exact class) that form a chain, in order. */
        public Builder namedChain(Class<? extends Module> owner, String... childNames) {
            namedChains.computeIfAbsent(owner, k -> new ArrayList<>()).add(List.of(childNames));
            return this;
        }

        public Builder leave(Class<? extends Module> owner, String childName, String reason) {
            leave.computeIfAbsent(owner, k -> new HashMap<>()).put(childName, reason);
            return this;
        }

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

        /** Leaves every layer whose dotted path contains a match of {@code regex}. */
        public Builder skip(String regex) {
            skips.add(Pattern.compile(regex));
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

        public RewriteRules build() {
            return new RewriteRules(this);
        }
    }
}
