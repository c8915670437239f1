/**
 * Quantization-aware training. {@link org.goldenstick.qat.SimQAT} (upstream SimulatedQuantizationAwareTraining) wraps
 * layers in {@link org.goldenstick.qat.QuantCell}s with fake-quantized weights and activations and converts them to a
 * real int8 network, working on any network of supported layers from its traced graph ({@code docs/graph.md});
 * {@link org.goldenstick.qat.QatWorkflow} is the end-to-end flow (train, apply, fine-tune,
 * convert, export, evaluate, benchmark) that {@code gstick qat} runs and other QAT algorithms reuse.
 */
package org.goldenstick.qat;
