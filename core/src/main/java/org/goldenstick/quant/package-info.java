/**
 * Quantization arithmetic shared by QAT and PTQ, and the int8 deploy layers.
 *
 * <ul>
 *   <li>{@link org.goldenstick.quant.QuantMath}: integer grids, upstream's {@code cal_quantization_params} (including the
 *       all-equal → scale 1, zero point 0 rule), quantize/dequantize per tensor or per channel, int32 bias, BN folding;</li>
 *   <li>{@link org.goldenstick.quant.QuantParams} / {@link org.goldenstick.quant.QuantSpec}: parameters and grids;</li>
 *   <li>observers ({@link org.goldenstick.quant.MinMaxObserver}, {@link org.goldenstick.quant.MovingAverageMinMaxObserver},
 *       {@link org.goldenstick.quant.PerChannelMinMaxObserver}) and {@link org.goldenstick.quant.FakeQuantize} (nudged
 *       fake quantization with a clipped straight-through estimator and a per-quantizer delay);</li>
 *   <li>deploy layers {@link org.goldenstick.quant.QConv2d}, {@link org.goldenstick.quant.QLinear},
 *       {@link org.goldenstick.quant.QuantDequant} on exact integer kernels (convolutions image by image with the
 *       requantization in the epilogue, {@code Int8Conv}; the output codes travel with the float tensor to the next
 *       deploy layer, {@code GridCodes}; {@code SimQAT.convert} puts {@link org.goldenstick.quant.CodeReLU} and
 *       {@link org.goldenstick.quant.CodeMaxPool2d} in place of the float ReLU and max pooling between them, which work on
 *       the codes, and lets a conv apply the activation after it in its epilogue,
 *       {@link org.goldenstick.quant.CodeActivation}; a layer whose consumers all read its codes computes its float
 *       output only if something reads it, {@link org.goldenstick.quant.CodeProducer}), saved by
 *       {@link org.goldenstick.quant.DeployIO} and exported to ONNX QDQ by {@link org.goldenstick.quant.OnnxQdqExporter}.</li>
 * </ul>
 */
package org.goldenstick.quant;
