package org.goldenstick.ptq;

/**
 * How weight-only quantization chooses the integer weights: {@link Rtn} (round to nearest, no data), {@link Gptq}
 * (calibrated, layer by layer, see {@link org.goldenstick.ptq.Gptq}) or {@link Awq} (activation-aware scales and
 * clipping, see {@link org.goldenstick.ptq.Awq}, then RTN or GPTQ).
 *
 * <pre>{@code
 * WeightMethod m = new WeightMethod.Gptq(0.01, 128, true);   // 1 % dampening, blocks of 128, act-order
 * }</pre>
 */
public sealed interface WeightMethod {
    /** The name written to files and reports. */
    String name();

    /** Whether the method needs calibration text. */
    boolean needsCalibration();

    record Rtn() implements WeightMethod {
        @Override
        public String name() {
            return "rtn";
        }

        @Override
        public boolean needsCalibration() {
            return false;
        }
    }

    /**
     * @param dampening fraction of the mean Hessian diagonal added to it (0.01)
     * @param blockSize lazy-update block (128)
     * @param actOrder  columns by decreasing Hessian diagonal, static groups
     */
    record Gptq(double dampening, int blockSize, boolean actOrder) implements WeightMethod {
        public Gptq {
            new org.goldenstick.ptq.Gptq.Settings(WeightScheme.int8PerChannel(), dampening, blockSize, actOrder); // validates
        }

        public static Gptq defaults() {
            return new Gptq(0.01, 128, false);
        }

        @Override
        public String name() {
            return "gptq";
        }

        @Override
        public boolean needsCalibration() {
            return true;
        }
    }

    /**
     * @param grid      α grid points of the scale search (20)
     * @param clip      run the weight-clipping search
     * @param maxShrink largest relative shrink of max|w| the clipping tries (0.5)
     * @param duo       the scale formula(s) the grid tries ({@code BOTH}: with and without the weight term)
     * @param clipQk    the clipping search also clips {@code q_proj}/{@code k_proj} when RTN follows (true; AutoAWQ
     *                  leaves them out; never before GPTQ, see {@link #settings()})
     * @param then      RTN or GPTQ on the scaled and clipped weights
     */
    record Awq(int grid, boolean clip, double maxShrink, org.goldenstick.ptq.Awq.DuoScaling duo, boolean clipQk, WeightMethod then) implements WeightMethod {
        public Awq {
            new org.goldenstick.ptq.Awq.Settings(grid, clip, maxShrink, duo, clipQk); // validates
            if (then instanceof Awq) throw new IllegalArgumentException("AWQ is followed by RTN or GPTQ, not by AWQ");
        }

        /**
         * llm-compressor's grid of 20 with both formulas, AutoAWQ's clipping (max shrink 0.5; extended to q/k when
         * RTN follows), then {@code then}.
         */
        public static Awq defaults(WeightMethod then) {
            var s = org.goldenstick.ptq.Awq.Settings.defaults();
            return new Awq(s.grid(), s.clip(), s.maxShrink(), s.duo(), s.clipQk(), then);
        }

        /**
         * The search settings these choices stand for: q/k are clipped only when RTN follows (before GPTQ, whose
         * error feedback works on the clipped float weights, clipping q/k measured worse; docs/llm-4bit.md).
         */
        public org.goldenstick.ptq.Awq.Settings settings() {
            return new org.goldenstick.ptq.Awq.Settings(grid, clip, maxShrink, duo, clipQk && !(then instanceof Gptq));
        }

        /** {@link #defaults(WeightMethod)} followed by RTN. */
        public static Awq defaults() {
            return defaults(new Rtn());
        }

        /** The same AWQ with another scale formula setting. */
        public Awq withDuo(org.goldenstick.ptq.Awq.DuoScaling d) {
            return new Awq(grid, clip, maxShrink, d, clipQk, then);
        }

        /** The same AWQ followed by {@code next} (RTN or GPTQ). */
        public Awq then(WeightMethod next) {
            return new Awq(grid, clip, maxShrink, duo, clipQk, next);
        }

        /** The same AWQ with the clipping search on or off. */
        public Awq withClip(boolean c) {
            return new Awq(grid, c, maxShrink, duo, clipQk, then);
        }

        /** The same AWQ with {@code q_proj}/{@code k_proj} in the clipping search or left out (AutoAWQ's choice). */
        public Awq withClipQk(boolean c) {
            return new Awq(grid, clip, maxShrink, duo, c, then);
        }

        @Override
        public String name() {
            return then instanceof Gptq ? "awq+gptq" : "awq";
        }

        @Override
        public boolean needsCalibration() {
            return true;
        }
    }
}
