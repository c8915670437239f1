package org.goldenstick.quant;

/**
 * A deploy layer whose output on known input codes is a function of the code alone: a 256-entry table from the input
 * grid's codes to the output grid's ({@link QuantDequant}: an activation then requantization; {@link CodeReLU}: ReLU,
 * keeping the grid). An int8 conv feeding only such a layer applies the table in its epilogue
 * ({@link QConv2d#fuseActivation}) and the layer then passes the conv's output through.
 */
public sealed interface CodeActivation permits QuantDequant, CodeReLU {
    /** Output code for each input code on {@code input} (indexed by {@code code & 0xFF}), or null when not a function of the code. */
    byte[] codeTable(QuantParams input);

    /** The grid of the output for inputs on {@code input}. */
    QuantParams outputGrid(QuantParams input);

    /**
     * The code range {@code [lo, hi]} when the layer keeps the input grid and only clamps codes (ReLU, ReLU6): a conv
     * then applies it while requantizing, with no table pass; null otherwise.
     */
    int[] sameGridClamp(QuantParams input);
}
