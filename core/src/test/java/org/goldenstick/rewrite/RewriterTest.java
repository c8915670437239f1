package org.goldenstick.rewrite;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.Sequential;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class RewriterTest {
    static class Act extends Module {
        @Override
        public Tensor forward(Tensor x) {
            return x.relu();
        }
    }

    static class MyLinear extends Linear { // a subclass: exact-class policies must not match it
        MyLinear(int i, int o, Random r) {
            super(i, o, r);
        }
    }

    static class Weird extends Module { // an unsupported layer with weights
        Weird() {
            registerParameter("w", Tensor.ones(2));
        }

        @Override
        public Tensor forward(Tensor x) {
            return x;
        }
    }

    static class Wrapped extends Module {
        final Module inner;

        Wrapped(Module inner) {
            this.inner = registerChild("inner", inner);
        }

        @Override
        public Tensor forward(Tensor x) {
            return inner.forward(x).mul(2f);
        }
    }

    static class Fused extends Module {
        final List<Module> parts;

        Fused(List<Module> parts) {
            this.parts = parts;
            for (int i = 0; i < parts.size(); i++) registerChild("p" + i, parts.get(i));
        }

        @Override
        public Tensor forward(Tensor x) {
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
        RewriteReport r = Rewriter.rewrite(net, rules);
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
        // the network still runs
        assertArrayEquals(new int[] {2, 3}, net.forward(Tensor.ones(2, 4)).shape());
    }

    @Test
    void namedChainsAndLeaveRules() {
        Random rng = new Random(1);
        class Block extends Module {
            Block() {
                registerChild("a", new Linear(3, 3, rng));
                registerChild("act", new Act());
                registerChild("b", new Linear(3, 3, rng));
            }

            @Override
            public Tensor forward(Tensor x) {
                Module act = children().get("act");
                return act.forward(children().get("b").forward(act.forward(children().get("a").forward(x))));
            }
        }
        Block block = new Block();
        RewriteRules rules = RewriteRules.builder()
                .namedChain(Block.class, "a", "act")
                .fuse("Linear+Act", List.of(Linear.class, Act.class), Fused::new)
                .leave(Block.class, "act", "shared activation")
                .wrap(Linear.class, Wrapped::new)
                .wrap(Act.class, Wrapped::new)
                .build();
        RewriteReport r = Rewriter.rewrite(block, rules);
        assertInstanceOf(Wrapped.class, block.module("a")); // not fused: act is left alone
        assertInstanceOf(Act.class, block.module("act"));
        assertEquals("shared activation", r.row("act").note());
    }

    @Test
    void edgesSkipTransparentLayers() {
        Random rng = new Random(2);
        Sequential net = new Sequential(new Linear(2, 2, rng), new Weird(), new Linear(2, 2, rng), new Act(), new Linear(2, 2, rng));
        RewriteRules rules = RewriteRules.builder().transparent(Weird.class).build();
        List<Rewriter.Edge> e = Rewriter.edges(net, rules, m -> m instanceof Linear);
        assertEquals(List.of(new Rewriter.Edge("0", "2")), e);
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
