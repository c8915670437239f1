package org.goldenstick.ptq;

/**
 * The two stages of post-training quantization, as upstream Golden Stick has them.
 *
 * <ul>
 *   <li>{@link #QUANTIZE}: take a floating-point model, calibrate (if the method needs data), quantize, and save a
 *       quantized checkpoint.
 *   <li>{@link #DEPLOY}: build the model with quantized placeholder layers and load such a checkpoint to run it.
 * </ul>
 */
public enum PTQMode {
    QUANTIZE,
    DEPLOY
}
