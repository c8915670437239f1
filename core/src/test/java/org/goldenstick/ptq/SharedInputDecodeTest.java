package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.Map;
import java.util.Random;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.LlamaSession;
import org.goldenstick.llm.PackedProjection;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.PackedIntWeights;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.tensor.kernel.W8A8BlockKernels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A W4 model's session runs q, k, v and gate, up as one kernel call each ({@link PackedProjection}): prefill and decode
 * logits equal, bit for bit, those of the same layers hidden behind a plain module (one forward each), on 1 and 2
 * threads, symmetric and asymmetric weights; a wrong order or a lost bias would change them.
 */
class SharedInputDecodeTest {
    /** A packed layer seen as a plain module: the session calls its forward, one projection at a time. */
    private static final class Opaque extends Module {
        private final Module inner;

        Opaque(Module inner) {
            this.inner = inner;
        }

        @Override
        public Tensor forward(Tensor x) {
            return inner.forward(x);
        }
    }

    private static LlamaModel w4(boolean symmetric, boolean opaque) {
        LlamaModel m = LlamaFixtures.randomModel(LlamaFixtures.tinyConfig(), 17);
        var plan = WeightOnlyQuantizer.uniform(PtqAlgorithm.targets(m, PTQConfig.rtn()), WeightScheme.of(4, 32, symmetric));
        Map<String, PackedIntWeights> q = WeightOnlyQuantizer.rtn(m, plan, DType.F32);
        WeightOnlyQuantizer.convert(m, q);
        if (opaque) for (String name : q.keySet()) m.replaceChild(name, new Opaque(m.namedModules().get(name)));
        else assertInstanceOf(PackedProjection.class, m.namedModules().get("model.layers.0.self_attn.k_proj"));
        return m;
    }

    @ParameterizedTest(name = "symmetric={0}")
    @ValueSource(booleans = {true, false})
    void sharedInputProjectionsDecodeAsOneForwardEach(boolean symmetric) {
        W8A8BlockKernels.Mode mode = W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.AUTO);
        int threads = Parallel.threads();
        try {
            LlamaModel fused = w4(symmetric, false), each = w4(symmetric, true);
            int vocab = fused.config().vocabSize();
            for (int t : new int[] {1, 2}) {
                Parallel.setThreads(t);
                int[] prompt = LlamaFixtures.randomIds(new Random(t), 5, vocab);
                LlamaSession a = fused.newSession(16), b = each.newSession(16);
                assertArrayEquals(b.prefill(prompt).data(), a.prefill(prompt).data(), "prefill, threads " + t);
                Random rnd = new Random(40 + t);
                for (int step = 0; step < 6; step++) {
                    int id = rnd.nextInt(vocab);
                    assertArrayEquals(b.decode(id).data(), a.decode(id).data(), "decode step " + step + ", threads " + t);
                }
            }
        } finally {
            W8A8BlockKernels.setMode(mode);
            Parallel.setThreads(threads);
        }
    }
}
