package org.goldenstick.rewrite;

import java.util.List;

/**
 * Checks for configuration values arriving untyped (from maps, CLI or JSON), with upstream's rules: a bool must
 * be a {@link Boolean} (1 is rejected), an int an {@link Integer} or {@link Long} (a bool is rejected), a float a
 * {@link Float}/{@link Double} (an int literal is rejected, as MindSpore's {@code check_float_range}).
 *
 * <pre>{@code
 * var v = new ConfigValidation("SimQAT");
 * boolean fold = v.bool("bn_fold", map.get("bn_fold"));
 * int delay = v.intAtLeast("quant_delay", map.get("quant_delay"), 0);
 * }</pre>
 */
public record ConfigValidation(String algorithm) {
    public ConfigException typeError(String field, Object value, String allowed) {
        return new ConfigException(algorithm, field, value, allowed, ConfigException.Kind.TYPE);
    }

    public ConfigException valueError(String field, Object value, String allowed) {
        return new ConfigException(algorithm, field, value, allowed, ConfigException.Kind.VALUE);
    }

    public boolean bool(String field, Object v) {
        if (v instanceof Boolean b) return b;
        throw typeError(field, v, "a boolean (true/false)");
    }

    public int integer(String field, Object v) {
        if (v instanceof Integer i) return i;
        if (v instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) return l.intValue();
        throw typeError(field, v, "an int");
    }

    public int intAtLeast(String field, Object v, int min) {
        int i = integer(field, v);
        if (i < min) throw valueError(field, v, "must be an int >= " + min);
        return i;
    }

    public double floating(String field, Object v) {
        if (v instanceof Double d) return d;
        if (v instanceof Float f) return f;
        throw typeError(field, v, "a float (an int literal such as 2 is rejected; write 2.0)");
    }

    /** A float in {@code [lo, hi]} (or {@code [lo, hi)} when {@code hiInclusive} is false). */
    public double floatInRange(String field, Object v, double lo, double hi, boolean hiInclusive) {
        double d = floating(field, v);
        if (!(d >= lo && (hiInclusive ? d <= hi : d < hi))) {
            throw valueError(field, v, "must be in [" + lo + ", " + hi + (hiInclusive ? "]" : ")"));
        }
        return d;
    }

    public double positiveFloat(String field, Object v) {
        double d = floating(field, v);
        if (!(d > 0)) throw valueError(field, v, "must be a float > 0");
        return d;
    }

    public <E extends Enum<E>> E enumValue(String field, Object v, Class<E> type) {
        if (type.isInstance(v)) return type.cast(v);
        if (v instanceof String s) {
            for (E e : type.getEnumConstants()) if (e.name().equalsIgnoreCase(s)) return e;
            throw valueError(field, v, "must be one of " + List.of(type.getEnumConstants()));
        }
        throw typeError(field, v, "a " + type.getSimpleName() + " " + List.of(type.getEnumConstants()));
    }

    /**
     * Upstream's "scalar or list of length ≤ 2" form: a scalar applies to both; element 0 is the activation value,
     * the last element the weight value. Returns {@code {act, weight}}.
     */
    public Object[] actWeightPair(String field, Object v) {
        if (v instanceof List<?> list) {
            if (list.isEmpty() || list.size() > 2) throw valueError(field, v, "a list must have 1 or 2 elements ([act, weight]), got " + list.size());
            return new Object[] {list.get(0), list.get(list.size() - 1)};
        }
        if (v instanceof Object[] arr) return actWeightPair(field, List.of(arr));
        return new Object[] {v, v};
    }
}
