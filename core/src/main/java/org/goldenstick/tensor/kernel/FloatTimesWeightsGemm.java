package org.goldenstick.tensor.kernel;

import java.util.Arrays;

/**
 * The part of a packed GEMM {@code y (+)= x·W_realᵀ} shared by every quantized-weight format: x is a row-major
 * float matrix packed as is, y a row-major float output. Subclasses only say how to decode W into B panels
 * ({@link #packB}), e.g. int8 with group scales ({@link W8A16Kernels}) or 1/2/4-bit levels
 * ({@link PackedBitsKernels}).
 */
abstract class FloatTimesWeightsGemm extends PackedGemm {
    final float[] x, y;
    final int xOff, ldx, yOff, ldy;
    final boolean accumulate;

    FloatTimesWeightsGemm(int m, int n, int k, float[] x, int xOff, int ldx, float[] y, int yOff, int ldy, boolean accumulate) {
        super(m, n, k);
        this.x = x;
        this.xOff = xOff;
        this.ldx = ldx;
        this.y = y;
        this.yOff = yOff;
        this.ldy = ldy;
        this.accumulate = accumulate;
    }

    @Override
    final void packA(float[] dst, int i0, int mc, int p0, int kc) {
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir), base = ir * kc;
            if (mr < MR) Arrays.fill(dst, base, base + kc * MR, 0f);
            for (int r = 0; r < mr; r++) {
                int src = xOff + (i0 + ir + r) * ldx + p0, d = base + r;
                for (int p = 0; p < kc; p++, d += MR) dst[d] = x[src + p];
            }
        }
    }

    @Override
    final void storeTile(float[] tile, int i, int j, int mr, int nr, boolean overwrite) {
        for (int r = 0; r < mr; r++) {
            int co = yOff + (i + r) * ldy + j, t = r * NR;
            if (overwrite) System.arraycopy(tile, t, y, co, nr);
            else for (int q = 0; q < nr; q++) y[co + q] += tile[t + q];
        }
    }

    @Override
    final float[] directC() {
        return y;
    }

    @Override
    final int directOffset(int i, int j) {
        return yOff + i * ldy + j;
    }

    @Override
    final int directLd() {
        return ldy;
    }

    @Override
    final boolean overwriteFirst() {
        return !accumulate;
    }
}
