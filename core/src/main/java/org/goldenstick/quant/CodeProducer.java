package org.goldenstick.quant;

/**
 * A deploy layer that leaves the 8-bit codes of its output for the next int8 layer ({@code GridCodes}). When every
 * consumer of its output reads those codes (an int8 conv or linear layer, code pooling, a code activation), the float
 * output is not needed: {@code SimQAT.convert} then sets {@link #floatsOnDemand}, and the layer returns a
 * {@link org.goldenstick.tensor.Tensor#deferred deferred} tensor whose floats (the codes dequantized, the same values)
 * are computed only if something reads them. Off by default; either way every output value is the same.
 *
 * <pre>{@code
 * conv.floatsOnDemand(true);   // the next layer reads the codes; nothing writes the 4-byte floats
 * }</pre>
 */
public sealed interface CodeProducer permits QConv2d, QLinear, CodeMaxPool2d, CodeReLU, QuantDequant {
    /** Whether the float output is computed only when read. */
    boolean floatsOnDemand();

    /** Sets {@link #floatsOnDemand()}. */
    void floatsOnDemand(boolean onDemand);
}
