package org.goldenstick.ptq;

/**
 * Whether W8A8 first migrates activation outliers into the weights (SmoothQuant) or quantizes as-is
 * ("naive" W8A8, kept for comparison). Mirrors upstream v0.6's {@code outliers_suppression}.
 */
public enum OutlierSuppression {
    NONE,
    SMOOTH
}
