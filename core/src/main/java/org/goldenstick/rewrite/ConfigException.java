package org.goldenstick.rewrite;

/**
 * An invalid algorithm configuration value, raised when the config is built (before any training). The
 * message names the field, the value given and what is allowed; {@link #kind()} tells a wrong type (upstream
 * {@code TypeError}) from an out-of-range value ({@code ValueError}).
 *
 * <pre>{@code
 * try { SimQATConfig.fromMap(Map.of("freeze_bn", -1)); }
 * catch (ConfigException e) { e.field(); }   // "freeze_bn"
 * }</pre>
 */
public final class ConfigException extends IllegalArgumentException {
    public enum Kind { TYPE, VALUE }

    private final String field;
    private final Kind kind;

    public ConfigException(String algorithm, String field, Object value, String allowed, Kind kind) {
        super(algorithm + ": '" + field + "' " + (kind == Kind.TYPE ? "must be " + allowed + ", but got " + describe(value)
                : "= " + describe(value) + " is not allowed; " + allowed));
        this.field = field;
        this.kind = kind;
    }

    private static String describe(Object v) {
        return v == null ? "null" : v instanceof String s ? "\"" + s + "\" (String)" : v + " (" + v.getClass().getSimpleName() + ")";
    }

    public String field() {
        return field;
    }

    public Kind kind() {
        return kind;
    }
}
