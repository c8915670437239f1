package org.goldenstick.llm;

/**
 * A module holding weights other than as float parameters (a view of a mapped file, int8 or packed int4 codes): says
 * how many such weights it holds and how many bytes a forward pass reads, so that benchmarks count bytes per token
 * without knowing every layer type. Float parameters are not included (they are counted as parameters).
 */
public interface StoredWeights {
    /** Number of weights (elements of the weight matrix). */
    long weightCount();

    /** Bytes of weights one forward pass reads (codes, scales and zero points included). */
    long weightBytes();
}
