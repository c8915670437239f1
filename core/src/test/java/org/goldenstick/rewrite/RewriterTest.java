package org.goldenstick.rewrite;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.Sequential;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class RewriterTest {
    static class Act extends Layer {
        @Override
        protected Tensor compute(Tensor x) {
            return x.relu();
        }
    }

    static class MyLinear extends Linear { // a subclass: exact-class policies must not match it
        MyLinear(int i, int o, Random r) {
            super(i, o, r);
        }
    }

    static class Weird extends Layer { // an unsupported layer with weights
        Weird() {
            registerParameter("w", Tensor.ones(2));
        }

        @Override
        protected Tensor compute(Tensor x) {
            return x;
        }
    }

    static class Wrapped extends Layer {
        final Module inner;

        Wrapped(Module inner) {
            this.inner = registerChild("inner", inner);
        }

        @Override
        protected Tensor compute(Tensor x) {
            return inner.forward(x).mul(2f);
        }
    }

    static class Fused extends Layer {
        final List<Module> parts;

        Fused(List<Module> parts) {
            this.parts = parts;
            for (int i = 0; i < parts.size(); i++) registerChild("p" + i, parts.get(i));
        }

        @Override
        protected Tensor compute(Tensor x) {
            for (Module m : parts) x = m.forward(x);
            return x;
        }
    }

    @Test
    void fusesChainsWrapsByExactClassSkipsAndReports() {
        Random rng = new Random(0);
        Sequential net = new Sequential(new Linear(4, 8, rng), new Act(), new MyLinear(8, 8, rng), new Sequential(new Linear(8, 8, rng), new Weird()),
                new Linear(8, 3, rng), new Act());
        RewriteRules rules = RewriteRules.builder()
                .fuse("Linear+Act", List.of(Linear.class, Act.class), Fused::new)
                .wrap(Linear.class, Wrapped::new)
                .wrap(Fused.class, Wrapped::new)
                .skip("^4$")
                .build();
        Tensor x = Tensor.randn(new Random(9), 2, 4);
        Tensor before = net.forward(x);
        RewriteReport r = Rewriter.rewrite(net, ModelGraph.trace(net, x), rules);
        // 0+1 fused, then the fused module wrapped; 1 became FusedInto
        assertInstanceOf(Wrapped.class, net.module("0"));
        assertInstanceOf(Fused.class, ((Wrapped) net.module("0")).inner);
        assertInstanceOf(FusedInto.class, net.module("1"));
        assertEquals(RewriteReport.Action.FUSED, r.row("1").action());
        // subclass left alone with a reason
        assertInstanceOf(MyLinear.class, net.module("2"));
        assertTrue(r.row("2").note().contains("exact"), r.row("2").note());
        // nested container handled; unsupported layer listed
        assertInstanceOf(Wrapped.class, net.module("3.0"));
        assertEquals(RewriteReport.Action.LEFT, r.row("3.1").action());
        assertTrue(r.row("3.1").note().contains("unsupported"), r.row("3.1").note());
        // skipped by regex; and the chain 4+5 not fused because 4 is skipped
        assertInstanceOf(Linear.class, net.module("4"));
        assertTrue(r.row("4").note().contains("skipped"));
        assertInstanceOf(Act.class, net.module("5"));
        String table = r.table();
        assertTrue(table.contains("3.1") && table.contains("wrapped") && table.contains("left in FP32"), table);
        // the network runs the wrappers: layers 0 (fused) and 3.0 double their outputs
        Tensor after = net.forward(x);
        assertArrayEquals(new int[] {2, 3}, after.shape());
        assertFalse(java.util.Arrays.equals(before.data(), after.data()));
    }

    /** A network as a user writes it: layers in typed fields, one activation instance used twice, a residual add. */
    static final class FieldNet extends Module {
        private final Linear a, b, c;
        private final Act act;
        private final Weird keep;

        FieldNet(Random rng) {
            a = registerChild("a", new Linear(3, 3, rng));
            act = registerChild("act", new Act());
            keep = registerChild("keep", new Weird());
            b = registerChild("b", new Linear(3, 3, rng));
            c = registerChild("c", new Linear(3, 3, rng));
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor h = act.forward(a.forward(x));
            h = act.forward(b.forward(keep.forward(h)));
            return c.forward(h.add(x));
        }
    }

    @Test
    void rewritesFromTheGraphOfANetworkWithFieldsAndReportsWhy() {
        Random rng = new Random(1);
        FieldNet net = new FieldNet(rng);
        Tensor x = Tensor.randn(new Random(2), 2, 3);
        Tensor before = net.forward(x);
        java.util.Map<String, Boolean> producerWrapped = new java.util.HashMap<>();
        RewriteRules rules = RewriteRules.builder()
                .fuse("Linear+Act", List.of(Linear.class, Act.class), Fused::new)
                .wrap(Linear.class, (RewriteRules.Policy) (m, site) -> {
                    producerWrapped.put(site.path(), site.producerWrapped());
                    return new Wrapped(m);
                })
                .wrap(Act.class, Wrapped::new)
                .transparent(Weird.class)
                .build();
        RewriteReport r = Rewriter.rewrite(net, ModelGraph.trace(net, x), rules);
        // act runs at two points: neither fused with a nor b, nor wrapped, and the report says why
        assertEquals(RewriteReport.Action.LEFT, r.row("act").action());
        assertTrue(r.row("act").note().contains("called at 2 points"), r.row("act").note());
        assertInstanceOf(Wrapped.class, net.module("a"));
        // b's input comes from act (not wrapped) through 'keep' (transparent); c's from an add
        assertEquals(false, producerWrapped.get("b"));
        assertEquals(false, producerWrapped.get("c"));
        assertEquals("keeps its input's grid", r.row("keep").note());
        // the fields still hold the old layers, yet the forward now runs the wrappers (each doubles its output)
        Tensor after = net.forward(x);
        Linear a = (Linear) ((Wrapped) net.module("a")).inner, b = (Linear) ((Wrapped) net.module("b")).inner, c = (Linear) ((Wrapped) net.module("c")).inner;
        // (calling a, b or c from here would run their wrappers too, so the reference uses their tensors)
        Tensor h = x.linear(a.weight(), a.bias()).mul(2f).relu();
        h = h.linear(b.weight(), b.bias()).mul(2f).relu();
        Tensor ref = h.add(x).linear(c.weight(), c.bias()).mul(2f);
        assertArrayEquals(ref.data(), after.data(), 1e-6f);
        assertFalse(java.util.Arrays.equals(before.data(), after.data()));
    }

    @Test
    void fusionFollowsTheGraphNotTheRegistrationOrder() {
        Random rng = new Random(3);
        // registered as a, b, act but called as act(a(x)) then b: the chain a → act is in the graph only
        class Reordered extends Module {
            final Linear a = registerChild("a", new Linear(3, 3, rng));
            final Linear b = registerChild("b", new Linear(3, 3, rng));
            final Act act = registerChild("act", new Act());

            @Override
            public Tensor forward(Tensor x) {
                return b.forward(act.forward(a.forward(x)));
            }
        }
        Reordered net = new Reordered();
        RewriteReport r = Rewriter.rewrite(net, ModelGraph.trace(net, new int[] {3}),
                RewriteRules.builder().fuse("Linear+Act", List.of(Linear.class, Act.class), Fused::new).build());
        assertInstanceOf(Fused.class, net.module("a"));
        assertInstanceOf(FusedInto.class, net.module("act"));
        assertEquals(RewriteReport.Action.FUSED, r.row("act").action());
        assertInstanceOf(Linear.class, net.module("b"));
    }

    @Test
    void unsupportedOpsAndUncalledLayersAreErrorsNamingThem() {
        Random rng = new Random(4);
        class Softmaxed extends Module {
            final Linear fc = registerChild("fc", new Linear(3, 3, rng));

            @Override
            public Tensor forward(Tensor x) {
                return org.goldenstick.tensor.Functional.softmax(fc.forward(x), -1);
            }
        }
        Softmaxed s = new Softmaxed();
        RewriteRules rules = RewriteRules.builder().wrap(Linear.class, Wrapped::new).supportedOps("add").build();
        var e = assertThrows(IllegalArgumentException.class, () -> Rewriter.rewrite(s, ModelGraph.trace(s, new int[] {3}), rules));
        assertTrue(e.getMessage().contains("op 'softmax'") || e.getMessage().contains("op '"), e.getMessage());

        class Functional extends Module {
            final Linear fc = registerChild("fc", new Linear(3, 3, rng));

            @Override
            public Tensor forward(Tensor x) {
                return x.linear(fc.weight(), fc.bias()); // the weight used directly: wrapping fc would change nothing
            }
        }
        Functional f = new Functional();
        var e2 = assertThrows(IllegalArgumentException.class, () -> Rewriter.rewrite(f, ModelGraph.trace(f, new int[] {3}), RewriteRules.builder().wrap(Linear.class, Wrapped::new).build()));
        assertTrue(e2.getMessage().contains("'fc'") && e2.getMessage().contains("never calls it") && e2.getMessage().contains("fc.weight"), e2.getMessage());
    }

    @Test
    void configValidationNamesFieldValueAndRange() {
        var v = new ConfigValidation("Algo");
        var e = assertThrows(ConfigException.class, () -> v.bool("bn_fold", 1));
        assertEquals(ConfigException.Kind.TYPE, e.kind());
        assertTrue(e.getMessage().contains("bn_fold") && e.getMessage().contains("1"), e.getMessage());
        var e2 = assertThrows(ConfigException.class, () -> v.intAtLeast("freeze_bn", -1, 0));
        assertEquals(ConfigException.Kind.VALUE, e2.kind());
        assertTrue(e2.getMessage().contains(">= 0") && e2.getMessage().contains("-1"), e2.getMessage());
        assertThrows(ConfigException.class, () -> v.integer("quant_delay", true));
        assertThrows(ConfigException.class, () -> v.floating("t", 2));
        assertThrows(ConfigException.class, () -> v.floatInRange("t", 1.5, 0, 1, true));
        assertThrows(ConfigException.class, () -> v.actWeightPair("x", List.of(1, 2, 3)));
        assertArrayEquals(new Object[] {7, 7}, v.actWeightPair("x", 7));
        assertEquals(Map.of(), Map.of());
    }
}
