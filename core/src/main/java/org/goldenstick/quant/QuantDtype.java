package org.goldenstick.quant;

/**
 * Integer data types a quantizer can target: {@code INTn} is signed, {@code UINTn} unsigned, n bits.
 * Mirrors the upstream {@code QuantDtype} enum (INT1..INT16, UINT1..UINT16); the bit width of a quantizer
 * comes only from its dtype.
 *
 * <pre>{@code
 * QuantDtype.INT8.bits();      // 8
 * QuantDtype.INT8.signed();    // true
 * }</pre>
 */
public enum QuantDtype {
    INT1(1, true), INT2(2, true), INT3(3, true), INT4(4, true), INT5(5, true), INT6(6, true), INT7(7, true), INT8(8, true),
    INT16(16, true),
    UINT1(1, false), UINT2(2, false), UINT3(3, false), UINT4(4, false), UINT5(5, false), UINT6(6, false), UINT7(7, false),
    UINT8(8, false), UINT16(16, false);

    private final int bits;
    private final boolean signed;

    QuantDtype(int bits, boolean signed) {
        this.bits = bits;
        this.signed = signed;
    }

    public int bits() {
        return bits;
    }

    public boolean signed() {
        return signed;
    }
}
