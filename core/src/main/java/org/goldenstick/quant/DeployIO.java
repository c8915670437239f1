package org.goldenstick.quant;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * Saves and loads a deploy network as one safetensors file: int8 weights (I8), int32 biases (I32), per-channel
 * scales, any layers left in float (F32, their state-dict names) and the quantization parameters in the metadata
 * ({@link QuantParamsIO}). Loading fills an already-built deploy network of the same architecture, as upstream's
 * two-stage flow (build the network, apply, convert, then load the quantized checkpoint). Writes are atomic.
 *
 * <pre>{@code
 * DeployIO.save(deployNet, Path.of("out/lenet-int8.safetensors"));
 * DeployIO.load(freshlyConvertedNet, Path.of("out/lenet-int8.safetensors"));
 * }</pre>
 */
public final class DeployIO {
    public static final String FORMAT_KEY = "gstick.format";
    public static final String FORMAT = "golden-stick-int8-deploy/1";

    private DeployIO() {}

    /** The deploy layers of a network by dotted path. */
    public static Map<String, DeployLayer> deployLayers(Module net) {
        Map<String, DeployLayer> out = new LinkedHashMap<>();
        List<String> inside = new ArrayList<>();
        for (var e : net.namedModules().entrySet()) {
            if (e.getValue() instanceof DeployLayer d) {
                boolean nested = false;
                for (String p : inside) if (e.getKey().startsWith(p + ".")) nested = true;
                if (!nested) {
                    out.put(e.getKey(), d);
                    inside.add(e.getKey());
                }
            }
        }
        return out;
    }

    public static void save(Module net, Path file) throws IOException {
        save(net, file, Map.of());
    }

    public static void save(Module net, Path file, Map<String, String> extraMetadata) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(FORMAT_KEY, FORMAT);
        meta.putAll(extraMetadata);
        for (var e : net.stateDict().entrySet()) w.add(e.getKey(), e.getValue(), DType.F32);
        for (var e : deployLayers(net).entrySet()) e.getValue().save(e.getKey().isEmpty() ? "" : e.getKey() + ".", w, meta);
        Map<String, String> firstKey = new java.util.HashMap<>();
        for (var e : meta.entrySet()) { // repeated grids (producer output = consumer input) are stored once
            String first = firstKey.putIfAbsent(e.getValue(), e.getKey());
            if (first != null && e.getValue().length() > first.length() + 1 && !e.getKey().startsWith("gstick.")) e.setValue("@" + first);
        }
        w.metadata(meta);
        w.write(file);
    }

    /** Loads what {@link #save} wrote into {@code net}; a missing or mis-shaped tensor is an error naming it. */
    public static void load(Module net, Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            if (!FORMAT.equals(f.metadata().get(FORMAT_KEY))) {
                throw new IllegalArgumentException(file + ": not a Golden Stick int8 deploy file (metadata " + FORMAT_KEY + " = " + f.metadata().get(FORMAT_KEY) + ")");
            }
            Map<String, Tensor> state = new LinkedHashMap<>();
            for (String k : net.stateDict().keySet()) {
                if (!f.contains(k)) throw new IllegalArgumentException(file + ": float tensor '" + k + "' is missing");
                state.put(k, f.toTensor(k));
            }
            net.loadStateDict(state, false);
            for (var e : deployLayers(net).entrySet()) e.getValue().load(e.getKey().isEmpty() ? "" : e.getKey() + ".", f);
        }
    }
}
