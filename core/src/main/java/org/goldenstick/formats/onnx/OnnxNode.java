package org.goldenstick.formats.onnx;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A graph node ({@code NodeProto}). An empty input name means an omitted optional input.
 *
 * <pre>{@code
 * long group = node.intAttr("group", 1);
 * long[] pads = node.intsAttr("pads", new long[4]);
 * }</pre>
 */
public record OnnxNode(String name, String opType, String domain, List<String> inputs, List<String> outputs, Map<String, OnnxAttribute> attributes) {
    public OnnxNode {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
        if (domain == null) domain = "";
        if (name == null) name = "";
    }

    /** Builds a node from a list of attributes (names must be distinct). */
    public static OnnxNode of(String name, String opType, String domain, List<String> inputs, List<String> outputs, List<OnnxAttribute> attrs) {
        Map<String, OnnxAttribute> m = new LinkedHashMap<>();
        for (OnnxAttribute a : attrs) {
            if (m.put(a.name(), a) != null) throw new IllegalArgumentException("node '" + name + "' (" + opType + "): attribute '" + a.name() + "' given twice");
        }
        return new OnnxNode(name, opType, domain, inputs, outputs, m);
    }

    public boolean has(String attr) {
        return attributes.containsKey(attr);
    }

    private <T extends OnnxAttribute> T attr(String attr, Class<T> kind) {
        OnnxAttribute a = attributes.get(attr);
        if (a == null) return null;
        if (!kind.isInstance(a)) throw new IllegalArgumentException("node '" + name + "' (" + opType + "): attribute '" + attr + "' is " + a.getClass().getSimpleName() + ", not " + kind.getSimpleName());
        return kind.cast(a);
    }

    public long intAttr(String attr, long dflt) {
        OnnxAttribute.Int a = attr(attr, OnnxAttribute.Int.class);
        return a == null ? dflt : a.value();
    }

    public float floatAttr(String attr, float dflt) {
        OnnxAttribute.Float a = attr(attr, OnnxAttribute.Float.class);
        return a == null ? dflt : a.value();
    }

    public String stringAttr(String attr, String dflt) {
        OnnxAttribute.Str a = attr(attr, OnnxAttribute.Str.class);
        return a == null ? dflt : a.value();
    }

    public long[] intsAttr(String attr, long[] dflt) {
        OnnxAttribute.Ints a = attr(attr, OnnxAttribute.Ints.class);
        return a == null ? dflt : a.values();
    }

    public float[] floatsAttr(String attr, float[] dflt) {
        OnnxAttribute.Floats a = attr(attr, OnnxAttribute.Floats.class);
        return a == null ? dflt : a.values();
    }

    public OnnxTensor tensorAttr(String attr) {
        OnnxAttribute.TensorValue a = attr(attr, OnnxAttribute.TensorValue.class);
        return a == null ? null : a.value();
    }
}
