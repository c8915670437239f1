package org.goldenstick.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one JSON writer of the CLI: every {@code --json} prints one record through {@link #print(Object)}, on one line.
 * Record components become snake_case keys ({@code fp32Accuracy} → {@code fp32_accuracy}); paths print as strings.
 * A NaN or infinite number is refused (an internal error): a value that does not exist is {@code null}, and the
 * record says why in {@code null_reasons} (see {@link Reasons}). Keys are documented in docs/cli.md.
 *
 * <pre>{@code
 * record Out(double accuracy, Path out) {}
 * Json.print(new Out(0.98, Path.of("runs/x.safetensors")));   // {"accuracy":0.98,"out":"runs/x.safetensors"}
 * }</pre>
 */
public final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .registerModule(new SimpleModule("gstick")
                    .addSerializer(Double.class, new Finite<>(Double.class))
                    .addSerializer(double.class, new Finite<>(Double.class))
                    .addSerializer(Float.class, new Finite<>(Float.class))
                    .addSerializer(float.class, new Finite<>(Float.class))
                    .addSerializer(Path.class, new StdSerializer<>(Path.class) {
                        @Override
                        public void serialize(Path p, JsonGenerator g, SerializerProvider s) throws IOException {
                            g.writeString(p.toString());
                        }
                    }));

    private Json() {}

    /** The record as one line of JSON. */
    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("JSON output: " + e.getOriginalMessage(), e);
        }
    }

    /** Prints the record as one line of JSON on standard output. */
    public static void print(Object value) {
        System.out.println(write(value));
        System.out.flush();
    }

    /**
     * Why some values of a result are {@code null}: key → reason, serialized as {@code null_reasons}.
     *
     * <pre>{@code
     * var why = new Json.Reasons();
     * Double speed = why.positive("compressed_images_per_second", ips, "not measured (--bench-seconds 0)");
     * }</pre>
     */
    public static final class Reasons {
        private final Map<String, String> reasons = new LinkedHashMap<>();

        /** {@code value}, or null with {@code reason} recorded under {@code key} when it is not finite. */
        public Double finite(String key, double value, String reason) {
            if (Double.isFinite(value)) return value;
            reasons.put(key, reason);
            return null;
        }

        /** {@code value}, or null with {@code reason} when it is not a finite positive number (e.g. not measured). */
        public Double positive(String key, double value, String reason) {
            if (Double.isFinite(value) && value > 0) return value;
            reasons.put(key, reason);
            return null;
        }

        /** {@code value}, or null with {@code reason} when it is null. */
        public <T> T present(String key, T value, String reason) {
            if (value == null) reasons.put(key, reason);
            return value;
        }

        /** The reasons so far (empty when every value is present), in the order recorded. */
        public Map<String, String> map() {
            return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(reasons));
        }
    }

    /** Writes a double or float, refusing NaN and infinities (one serializer for both boxed types). */
    private static final class Finite<T extends Number> extends StdSerializer<T> {
        Finite(Class<T> type) {
            super(type);
        }

        @Override
        public void serialize(T v, JsonGenerator g, SerializerProvider s) throws IOException {
            if (!Double.isFinite(v.doubleValue())) {
                throw new IllegalStateException("JSON output: non-finite number " + v + " at " + g.getOutputContext().getCurrentName()
                        + " (report null with a reason instead)");
            }
            if (v instanceof Float f) g.writeNumber(f);
            else g.writeNumber(v.doubleValue());
        }
    }
}
