package org.goldenstick.formats.onnx;

import java.util.ArrayList;
import java.util.List;

/**
 * A graph input or output ({@code ValueInfoProto} with a tensor type): name, element type and shape,
 * where each dimension is a fixed size or a symbolic name such as {@code "batch"}.
 *
 * <pre>{@code
 * OnnxValueInfo x = OnnxValueInfo.of("x", OnnxDataType.FLOAT, "N", 1, 28, 28);
 * }</pre>
 */
public record OnnxValueInfo(String name, OnnxDataType elemType, List<Dim> shape) {
    /** One dimension: fixed or symbolic. */
    public sealed interface Dim {}

    public record Fixed(long value) implements Dim {}

    public record Symbolic(String param) implements Dim {}

    public OnnxValueInfo {
        shape = shape == null ? null : List.copyOf(shape);
    }

    /** Dimensions given as Integer/Long (fixed) or String (symbolic). */
    public static OnnxValueInfo of(String name, OnnxDataType elemType, Object... dims) {
        List<Dim> s = new ArrayList<>();
        for (Object d : dims) {
            s.add(switch (d) {
                case Integer i -> new Fixed(i);
                case Long l -> new Fixed(l);
                case String p -> new Symbolic(p);
                default -> throw new IllegalArgumentException("value '" + name + "': dimension " + d + " is neither a number nor a name");
            });
        }
        return new OnnxValueInfo(name, elemType, s);
    }
}
