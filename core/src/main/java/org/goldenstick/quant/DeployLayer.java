package org.goldenstick.quant;

import java.util.Map;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;

/**
 * A layer of a converted (deploy) network. Its integer weights and quantization parameters do not live in the
 * float state dict; they are written to and read from safetensors under a prefix, with int8/int32 tensors and
 * the parameters as string metadata ({@link QuantParams#toMetadata}).
 */
public interface DeployLayer {
    void save(String prefix, SafetensorsWriter out, Map<String, String> metadata);

    void load(String prefix, SafetensorsFile in);
}
