package org.goldenstick.ptq;

/**
 * How int8 activation scales are chosen for W8A8.
 *
 * <ul>
 *   <li>{@link #PER_TOKEN}: dynamic, one absmax scale per token (row) computed at run time. The default: this is
 *       what the SmoothQuant repository's Llama numbers use, and it needs no activation statistics in the file.
 *   <li>{@link #PER_TENSOR}: static, one scale per layer fixed from the calibration set (stored as
 *       {@code input_scale}). Fastest but riskiest: an activation outside the calibrated range is clipped.
 * </ul>
 */
public enum ActGranularity {
    PER_TOKEN,
    PER_TENSOR
}
