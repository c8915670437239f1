package org.goldenstick.ptq;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.gguf.GgmlBlocks;
import org.goldenstick.formats.gguf.GgmlType;
import org.goldenstick.llm.LlamaGguf;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.nn.Linear;
import org.goldenstick.tensor.kernel.PackedIntWeights;

/**
 * A quantized folder ({@code gstick quantize} output: RTN, GPTQ, AWQ) as a GGUF file that holds <i>our</i> rounding
 * decisions: every layer whose codes fit a ggml block type exactly — symmetric groups of 32 with fp16 scales, i.e.
 * quantized with {@link WeightScheme#ggml(int)} ({@code --ggml-blocks}) — is copied code for code into Q4_0 (4 bits) or
 * Q8_0 (8 bits) blocks, so llama.cpp computes with exactly the weights the quantized folder stands for, without
 * re-quantizing. A layer that does not fit (e.g. groups of 128) is an error naming it, unless a block type is
 * requested, then its dequantized weights are re-encoded in that type (not bit-exact; listed in the report). Tensors
 * the folder keeps in float (embeddings, norms, skipped layers) are written in {@code floatType} ({@link
 * LlamaGguf#storedType} rules: norms F32, fallbacks for row lengths a block does not divide).
 *
 * <pre>{@code
 * QuantizedGguf.Report r = QuantizedGguf.export(Path.of("out-gptq"), null, GgmlType.F16, Path.of("gptq-q4_0.gguf"));
 * r.copied();      // layers whose codes were copied exactly
 * }</pre>
 */
public final class QuantizedGguf {
    private QuantizedGguf() {}

    /**
     * What was written.
     *
     * @param export     the file's tensors and size
     * @param copied     layer → block type, layers whose codes and scales were copied exactly
     * @param reencoded  layer → block type, layers re-encoded from their dequantized weights (only with a requested type)
     */
    public record Report(LlamaGguf.ExportReport export, Map<String, GgmlType> copied, Map<String, GgmlType> reencoded) {}

    /**
     * The block type that holds {@code w}'s codes and scales exactly, or null: Q4_0 for 4-bit, Q8_0 for 8-bit
     * symmetric groups of 32 whose scales are all fp16 values.
     */
    public static GgmlType exactType(PackedIntWeights w) {
        if (!w.symmetric() || w.groupSize() != WeightScheme.GGML_BLOCK) return null;
        for (float s : w.scales()) if (!(Float.float16ToFloat(Float.floatToFloat16(s)) == s)) return null;
        return w.bits() == 4 ? GgmlType.Q4_0 : GgmlType.Q8_0;
    }

    /** Q4_0/Q8_0 blocks of {@code w} (its {@link #exactType}), row-major in Hugging Face row order. */
    public static byte[] blocks(PackedIntWeights w) {
        GgmlType t = exactType(w);
        if (t == null) throw new IllegalArgumentException("weights of " + w.bits() + " bits, groups of " + w.groupSize() + (w.symmetric() ? "" : ", asymmetric") + " do not fit a ggml block");
        return GgmlBlocks.fromCodes(t, PackedIntWeights.unpackRows(w.packed(), w.rows(), w.cols(), w.bits()), w.scales());
    }

    /**
     * Writes the quantized folder {@code dir} as GGUF {@code out} (atomically).
     *
     * @param requested the block type for quantized layers that do not fit exactly (re-encoded from their dequantized
     *                  weights), or null to refuse such layers
     * @param floatType the type of the tensors the folder keeps in float
     */
    public static Report export(Path dir, GgmlType requested, GgmlType floatType, Path out) throws IOException {
        if (!QuantizedCheckpoints.isQuantized(dir)) throw new IllegalArgumentException(dir + ": not a quantized folder (config.json has no quantization_config); export a float folder with --model");
        QuantizedCheckpoints.Scheme scheme = QuantizedCheckpoints.scheme(dir);
        if (!PackQuantized.FORMAT.equals(scheme.format())) {
            throw new IllegalArgumentException(dir + ": format " + scheme.format() + " (" + scheme.method() + ") has int8 activations or per-channel int8 weights; GGUF blocks need weight-only "
                    + PackQuantized.FORMAT + " folders (gstick quantize --method rtn|gptq|awq|awq-gptq --ggml-blocks)");
        }
        LlamaModel m = QuantizedCheckpoints.loadOnHeap(dir);
        Map<String, LlamaGguf.Encoded> pre = new LinkedHashMap<>();
        Map<String, GgmlType> copied = new LinkedHashMap<>(), reencoded = new LinkedHashMap<>();
        List<String> misfits = new ArrayList<>();
        for (var e : new ArrayList<>(m.namedModules().entrySet())) {
            if (!(e.getValue() instanceof WNA16Linear q)) continue;
            String layer = e.getKey();
            PackedIntWeights w = q.weights();
            GgmlType exact = exactType(w);
            float[] deq = w.dequantize();
            Linear l = new Linear(w.cols(), w.rows(), q.bias() != null, new java.util.Random(0));
            System.arraycopy(deq, 0, l.weight().data(), 0, deq.length);
            if (q.bias() != null) System.arraycopy(q.bias().data(), 0, l.bias().data(), 0, w.rows());
            m.replaceChild(layer, l);
            if (exact != null && (requested == null || requested == exact)) {
                pre.put(layer + ".weight", new LlamaGguf.Encoded(exact, blocks(w)));
                copied.put(layer, exact);
            } else if (requested != null) {
                GgmlType st = LlamaGguf.storedType(requested, 2, w.cols());
                pre.put(layer + ".weight", new LlamaGguf.Encoded(st, GgmlBlocks.encode(st, deq)));
                reencoded.put(layer, st);
            } else {
                misfits.add(layer + " (" + w.bits() + " bits, groups of " + w.groupSize() + (w.symmetric() ? "" : ", asymmetric") + ")");
            }
        }
        if (!misfits.isEmpty()) {
            throw new IllegalArgumentException(dir + ": these layers' codes fit no ggml block (Q4_0/Q8_0 need symmetric groups of 32 with fp16 scales): " + misfits
                    + "; quantize with --ggml-blocks, or pass --type q4_0|q8_0|... to re-encode their dequantized weights (not bit-exact)");
        }
        LlamaGguf.ExportReport r = LlamaGguf.export(m, dir, floatType, out, pre);
        return new Report(r, copied, reencoded);
    }
}
