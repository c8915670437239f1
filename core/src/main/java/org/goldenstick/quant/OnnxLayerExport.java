package org.goldenstick.quant;

import java.util.List;
import org.goldenstick.formats.onnx.OnnxAttribute;
import org.goldenstick.formats.onnx.OnnxModelWriter;
import org.goldenstick.nn.Module;

/**
 * Exports layers that {@link OnnxQdqExporter} does not know (deploy layers of an algorithm outside this package, such
 * as SLB's bit-packed layers) into the same ONNX graph. The exporter asks it first for every module.
 *
 * <pre>{@code
 * OnnxQdqExporter.export(deploy, chain, new int[] {1, 8, 8}, 10, file, (m, path, x, out) ->
 *         m instanceof MyLayer l ? out.node("Relu", path, List.of(x)) : null);
 * }</pre>
 */
@FunctionalInterface
public interface OnnxLayerExport {
    /** Emits {@code m} reading value {@code input}; returns its output value name, or null when {@code m} is not this exporter's. */
    String emit(Module m, String path, String input, Emitter out);

    /** What an {@link OnnxLayerExport} writes through: fresh value names, initializers and nodes. */
    interface Emitter {
        /** A value/initializer name unique in the graph, derived from a dotted path. */
        String fresh(String base);

        OnnxModelWriter writer();

        /** Adds a node with a fresh output name derived from {@code path}; returns that name. */
        String node(String op, String path, List<String> inputs, OnnxAttribute... attrs);

        /** QuantizeLinear → DequantizeLinear of value {@code x} on a per-tensor grid (nothing when {@code x} is on it already). */
        String qdq(String x, QuantParams grid, String path);

        /**
         * An int8 {@link QConv2d} or {@link QLinear} in QDQ form (INT8 weights, INT32 bias, input and output grids), as
         * this exporter writes SimQAT's layers; returns its output value name.
         */
        String integerLayer(Module layer, String path, String input);
    }
}
