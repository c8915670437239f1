package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The decision vLLM makes for every quantized Linear of a compressed-tensors checkpoint, restated as a table and
 * applied to the {@code quantization_config}s we write. Read from vLLM's
 * {@code vllm/model_executor/layers/quantization/compressed_tensors/compressed_tensors.py} (vllm-project/vllm at
 * commit be696453ee1bf3b7a2f652cc457b340d5a20c88c): {@code CompressedTensorsConfig._quantization_scheme_map_from_config}
 * (input activations are read only for activation formats; an activation format with int weights and no
 * {@code input_activations} hits an {@code assert}), then {@code _get_scheme_from_parts}: {@code _is_wNa16_group_channel}
 * (strategy channel or group, no input activations, static weights) with format {@code pack-quantized} and
 * {@code num_bits} in {@code WNA16_SUPPORTED_BITS} = [4, 8] gives {@code CompressedTensorsWNA16} (symmetric or not);
 * for activation formats, {@code _is_static_tensor_w8a8} / {@code _is_dynamic_token_w8a8} (8/8 bits, weight strategy
 * tensor or channel, symmetric weights, input strategy tensor+static or token+dynamic) give
 * {@code CompressedTensorsW8A8Int8}; anything else raises {@code NotImplementedError}. The activation formats
 * ({@code compressed_tensors/utils.py}, {@code is_activation_quantization_format}) include naive-quantized and
 * int-quantized but not pack-quantized. Only the integer rows of the table are restated (we write no float formats).
 */
class VllmSchemeSelectionTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ACTIVATION_FORMATS = Set.of("naive-quantized", "int-quantized", "float-quantized", "nvfp4-pack-quantized");

    /** The vLLM scheme class for the layers of config group {@code group}, or the exception vLLM raises. */
    static String select(JsonNode q, String group) {
        JsonNode g = q.get("config_groups").get(group);
        String format = g.hasNonNull("format") ? g.get("format").asText() : q.get("format").asText();
        JsonNode w = g.get("weights"), a = g.get("input_activations");
        boolean actFormat = ACTIVATION_FORMATS.contains(format);
        boolean hasInput = a != null && !a.isNull();
        if ((actFormat || hasInput) && !hasInput && !"float".equals(w.get("type").asText())) return "AssertionError";
        if (!actFormat && !hasInput) a = null;
        String ws = w.get("strategy").asText();
        boolean wStatic = !w.path("dynamic").asBoolean(false);
        if ((ws.equals("channel") || ws.equals("group")) && a == null && wStatic) {
            if (format.equals("pack-quantized") && List.of(4, 8).contains(w.get("num_bits").asInt())) return "CompressedTensorsWNA16";
        }
        if (actFormat && a != null) {
            boolean bits8 = w.get("num_bits").asInt() == 8 && a.get("num_bits").asInt() == 8;
            boolean wTensorOrChannel = ws.equals("tensor") || ws.equals("channel");
            boolean sym = w.get("symmetric").asBoolean();
            boolean aDynamic = a.path("dynamic").asBoolean(false);
            String as = a.get("strategy").asText();
            if (bits8 && wTensorOrChannel && as.equals("tensor") && sym && wStatic && !aDynamic) return "CompressedTensorsW8A8Int8(static)";
            if (bits8 && wTensorOrChannel && as.equals("token") && sym && wStatic && aDynamic) return "CompressedTensorsW8A8Int8(dynamic)";
        }
        return "NotImplementedError";
    }

    @Test
    void everyConfigWeWriteSelectsAVllmScheme() {
        Map<String, PTQConfig> ours = new java.util.LinkedHashMap<>();
        ours.put("CompressedTensorsWNA16 (rtn W8 per channel)", PTQConfig.rtn());
        for (int bits : new int[] {4, 8})
            for (int g : new int[] {0, 32, 64, 128})
                for (boolean sym : new boolean[] {true, false}) ours.put("CompressedTensorsWNA16 (W" + bits + " g" + g + " sym=" + sym + ")", PTQConfig.rtn(WeightScheme.of(bits, g, sym)));
        ours.put("CompressedTensorsW8A8Int8(dynamic) (smoothquant)", PTQConfig.smoothQuant());
        ours.put("CompressedTensorsW8A8Int8(static) (smoothquant per-tensor)", PTQConfig.smoothQuant().withActGranularity(ActGranularity.PER_TENSOR));
        ours.put("CompressedTensorsW8A8Int8(dynamic) (naive w8a8)", PTQConfig.naiveW8A8());
        for (var e : ours.entrySet()) {
            JsonNode q = QuantizedCheckpoints.quantizationConfig(e.getValue(), List.of("model.layers.0.mlp.down_proj"), true);
            String expected = e.getKey().substring(0, e.getKey().indexOf(' '));
            assertEquals(expected, select(q, "group_0"), e.getKey());
            assertEquals(List.of("model.layers.0.mlp.down_proj", "lm_head"), JSON.convertValue(q.get("ignore"), List.class), e.getKey());
        }
        // --head-bits 8 in a W4 model: a second group naming lm_head, also WNA16 by the table (vLLM's own lm_head class is
        // another matter: docs/llm-4bit.md)
        JsonNode head = QuantizedCheckpoints.quantizationConfig(PTQConfig.rtn(WeightScheme.of(4, 128, true)).withHead(WeightScheme.int8PerChannel()), List.of(), true);
        assertEquals("CompressedTensorsWNA16", select(head, "group_0"));
        assertEquals("CompressedTensorsWNA16", select(head, "group_1"));
        assertEquals(0, head.get("ignore").size());
        // mixed precision: one group per scheme, each selecting WNA16
        JsonNode mixed = PackQuantized.config(Map.of("model.layers.0.mlp.up_proj", WeightScheme.of(8, 0, true), "model.layers.0.mlp.gate_proj", WeightScheme.of(4, 128, true)), List.of(), null);
        for (var it = mixed.get("config_groups").fieldNames(); it.hasNext(); ) assertEquals("CompressedTensorsWNA16", select(mixed, it.next()));
    }

    @Test
    void ourOldNaiveQuantizedW8A16WasRejected() {
        // what we wrote before (issue 20): format naive-quantized, int8 weights, no input_activations -> vLLM asserts
        ObjectNode q = (ObjectNode) QuantizedCheckpoints.quantizationConfig(PTQConfig.smoothQuant(), List.of(), false);
        q.put("format", "naive-quantized");
        ((ObjectNode) q.get("config_groups").get("group_0")).putNull("input_activations");
        assertEquals("AssertionError", select(q, "group_0"));
        // and a weight-only config left in an activation format without the assert path: 4-bit int-quantized W4A8 is not ours
        ObjectNode w4 = PackQuantized.config(Map.of("Linear", WeightScheme.of(4, 128, true)), List.of(), null);
        w4.put("format", "int-quantized");
        ((ObjectNode) w4.get("config_groups").get("group_0")).remove("format");
        assertEquals("AssertionError", select(w4, "group_0"));
    }
}
