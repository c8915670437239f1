/**
 * SLB low-bit quantization-aware training (upstream {@code SlbQuantAwareTraining}): weights as learned distributions
 * over 2, 4 or 16 levels ({@link org.goldenstick.qat.slb.Conv2dSlbQuant}, {@link org.goldenstick.qat.slb.LinearSlbQuant}),
 * the temperature schedule and BN calibration as training callbacks, bit-packed deployment
 * ({@link org.goldenstick.qat.slb.PackedConv2d}, {@link org.goldenstick.qat.slb.PackedLinear}), ONNX export with real
 * low-bit initializers ({@link org.goldenstick.qat.slb.SlbOnnxExport}) and data-parallel training
 * ({@link org.goldenstick.qat.slb.DataParallel}). Entry point: {@link org.goldenstick.qat.slb.SlbQuantAwareTraining};
 * design and measured results in docs/slb.md.
 */
package org.goldenstick.qat.slb;
