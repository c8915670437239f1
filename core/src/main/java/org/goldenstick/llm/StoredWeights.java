package org.goldenstick.llm;

/**
 * A module whose weights are not float {@link org.goldenstick.nn.Module#parameters() parameters} but stored in another
 * form (a mapped file, int8 or packed int4 codes): says how many weights it holds and how many bytes a forward pass
 * reads, so that benchmarks count bytes per token without knowing every layer type.
 */
public interface StoredWeights {
    /** Number of weights (elements of the weight matrix). */
    long weightCount();

    /** Bytes of weights one forward pass reads (codes, scales and zero points included). */
    long weightBytes();
}
