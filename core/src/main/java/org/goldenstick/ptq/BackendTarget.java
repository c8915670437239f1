package org.goldenstick.ptq;

/**
 * Where a quantized model is meant to run.
 *
 * <p>Upstream Golden Stick 0.5 knew {@code NONE} and {@code ASCEND} and accepted only ASCEND. This build runs
 * its int8 kernels on the CPU: {@link #CPU} (the default) quantizes and deploys; {@link #NONE} only quantizes
 * (writes a checkpoint, no deployment); {@link #ASCEND} is accepted as a value so that configurations written
 * for upstream parse, but validation rejects it with a clear message.
 */
public enum BackendTarget {
    NONE,
    CPU,
    ASCEND
}
