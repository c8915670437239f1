package org.goldenstick.rewrite;

import java.util.Map;

/**
 * Extra inputs an algorithm's {@code apply} may need (upstream {@code **kwargs}: a network helper, calibration
 * data...), by name. {@link #get} checks the type and names the key on error.
 *
 * <pre>{@code
 * algo.apply(net, ApplyOptions.of(Map.of("calibration", loader)));
 * }</pre>
 */
public record ApplyOptions(Map<String, Object> values) {
    public ApplyOptions {
        values = Map.copyOf(values);
    }

    public static ApplyOptions none() {
        return new ApplyOptions(Map.of());
    }

    public static ApplyOptions of(Map<String, Object> values) {
        return new ApplyOptions(values);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** The value of {@code key} as {@code type}, or null if absent; a value of another type is an error. */
    public <T> T get(String key, Class<T> type) {
        Object v = values.get(key);
        if (v == null) return null;
        if (!type.isInstance(v)) throw new IllegalArgumentException("apply option '" + key + "' must be a " + type.getSimpleName() + ", got " + v.getClass().getSimpleName());
        return type.cast(v);
    }
}
