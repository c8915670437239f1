package org.goldenstick.ptq;

/** Storage type of a quantized quantity: {@link #FLOAT} means "left in floating point" (not quantized). */
public enum QuantDtype {
    FLOAT,
    INT8
}
