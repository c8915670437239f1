package org.goldenstick.formats.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Encodes and decodes the ONNX protobuf messages by field number (onnx.proto, IR version 10), without
 * generated classes. Unknown fields are skipped when reading.
 */
final class OnnxProto {
    private OnnxProto() {}

    // ModelProto
    static final int MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_PRODUCER_VERSION = 3, MODEL_GRAPH = 7, MODEL_OPSET_IMPORT = 8;
    // OperatorSetIdProto
    static final int OPSET_DOMAIN = 1, OPSET_VERSION = 2;
    // GraphProto
    static final int GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12;
    // NodeProto
    static final int NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4, NODE_ATTRIBUTE = 5, NODE_DOMAIN = 7;
    // AttributeProto
    static final int ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_S = 4, ATTR_T = 5, ATTR_FLOATS = 7, ATTR_INTS = 8, ATTR_TYPE = 20;
    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, Dimension
    static final int VI_NAME = 1, VI_TYPE = 2, TYPE_TENSOR = 1, TT_ELEM_TYPE = 1, TT_SHAPE = 2, SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2;
    // TensorProto
    static final int T_DIMS = 1, T_DATA_TYPE = 2, T_SEGMENT = 3, T_FLOAT_DATA = 4, T_INT32_DATA = 5, T_STRING_DATA = 6, T_INT64_DATA = 7,
            T_NAME = 8, T_RAW_DATA = 9, T_DOUBLE_DATA = 10, T_UINT64_DATA = 11, T_EXTERNAL_DATA = 13, T_DATA_LOCATION = 14;

    // ================================================================ encoding

    @FunctionalInterface
    interface Body {
        void write(CodedOutputStream out) throws IOException;
    }

    static byte[] message(Body body) {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            CodedOutputStream out = CodedOutputStream.newInstance(bos);
            body.write(out);
            out.flush();
            return bos.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] encodeModel(OnnxModel m, String producerVersion) {
        byte[] graph = encodeGraph(m.graph());
        return message(out -> {
            out.writeInt64(MODEL_IR_VERSION, m.irVersion());
            if (!m.producerName().isEmpty()) out.writeString(MODEL_PRODUCER_NAME, m.producerName());
            if (producerVersion != null) out.writeString(MODEL_PRODUCER_VERSION, producerVersion);
            out.writeByteArray(MODEL_GRAPH, graph);
            // Sorted so that the bytes do not depend on map iteration order.
            for (String domain : m.opsetImports().keySet().stream().sorted().toList()) {
                long v = m.opsetImports().get(domain);
                out.writeByteArray(MODEL_OPSET_IMPORT, message(o -> {
                    o.writeString(OPSET_DOMAIN, domain);
                    o.writeInt64(OPSET_VERSION, v);
                }));
            }
        });
    }

    static byte[] encodeGraph(OnnxGraph g) {
        return message(out -> {
            for (OnnxNode n : g.nodes()) out.writeByteArray(GRAPH_NODE, encodeNode(n));
            out.writeString(GRAPH_NAME, g.name());
            for (OnnxTensor t : g.initializers()) out.writeByteArray(GRAPH_INITIALIZER, encodeTensor(t));
            for (OnnxValueInfo v : g.inputs()) out.writeByteArray(GRAPH_INPUT, encodeValueInfo(v));
            for (OnnxValueInfo v : g.outputs()) out.writeByteArray(GRAPH_OUTPUT, encodeValueInfo(v));
        });
    }

    static byte[] encodeNode(OnnxNode n) {
        return message(out -> {
            for (String s : n.inputs()) out.writeString(NODE_INPUT, s);
            for (String s : n.outputs()) out.writeString(NODE_OUTPUT, s);
            if (!n.name().isEmpty()) out.writeString(NODE_NAME, n.name());
            out.writeString(NODE_OP_TYPE, n.opType());
            for (OnnxAttribute a : n.attributes().values()) out.writeByteArray(NODE_ATTRIBUTE, encodeAttribute(a));
            if (!n.domain().isEmpty()) out.writeString(NODE_DOMAIN, n.domain());
        });
    }

    static byte[] encodeAttribute(OnnxAttribute a) {
        return message(out -> {
            out.writeString(ATTR_NAME, a.name());
            switch (a) {
                case OnnxAttribute.Float f -> out.writeFloat(ATTR_F, f.value());
                case OnnxAttribute.Int i -> out.writeInt64(ATTR_I, i.value());
                case OnnxAttribute.Str s -> out.writeByteArray(ATTR_S, s.value().getBytes(StandardCharsets.UTF_8));
                case OnnxAttribute.TensorValue t -> out.writeByteArray(ATTR_T, encodeTensor(t.value()));
                case OnnxAttribute.Floats fs -> {
                    for (float v : fs.values()) out.writeFloat(ATTR_FLOATS, v);
                }
                case OnnxAttribute.Ints is -> {
                    for (long v : is.values()) out.writeInt64(ATTR_INTS, v);
                }
                case OnnxAttribute.Unsupported u -> throw new IllegalArgumentException("attribute '" + u.name() + "' of type " + u.typeCode() + " cannot be written");
            }
            out.writeInt32(ATTR_TYPE, a.typeCode());
        });
    }

    static byte[] encodeValueInfo(OnnxValueInfo v) {
        byte[] tensorType = message(out -> {
            out.writeInt32(TT_ELEM_TYPE, v.elemType().code());
            if (v.shape() != null) {
                out.writeByteArray(TT_SHAPE, message(s -> {
                    for (OnnxValueInfo.Dim d : v.shape()) {
                        s.writeByteArray(SHAPE_DIM, message(o -> {
                            switch (d) {
                                case OnnxValueInfo.Fixed f -> o.writeInt64(DIM_VALUE, f.value());
                                case OnnxValueInfo.Symbolic p -> o.writeString(DIM_PARAM, p.param());
                            }
                        }));
                    }
                }));
            }
        });
        return message(out -> {
            out.writeString(VI_NAME, v.name());
            out.writeByteArray(VI_TYPE, message(o -> o.writeByteArray(TYPE_TENSOR, tensorType)));
        });
    }

    static byte[] encodeTensor(OnnxTensor t) {
        return message(out -> {
            for (long d : t.dims()) out.writeInt64(T_DIMS, d);
            out.writeInt32(T_DATA_TYPE, t.dataType().code());
            if (!t.name().isEmpty()) out.writeString(T_NAME, t.name());
            out.writeByteArray(T_RAW_DATA, t.rawData());
        });
    }

    // ================================================================ decoding

    /** Reports where in the file a problem is. */
    record Where(String file, String path) {
        Where at(String sub) {
            return new Where(file, path.isEmpty() ? sub : path + "." + sub);
        }

        OnnxFormatException error(String what) {
            return new OnnxFormatException(file + ": " + (path.isEmpty() ? "" : path + ": ") + what);
        }
    }

    private static int field(int tag) {
        return WireFormat.getTagFieldNumber(tag);
    }

    private static int wire(int tag) {
        return WireFormat.getTagWireType(tag);
    }

    private static void expectWire(Where w, int tag, int wireType, String fieldName) throws OnnxFormatException {
        if (wire(tag) != wireType) throw w.error("field " + fieldName + " (" + field(tag) + ") has wire type " + wire(tag) + ", expected " + wireType);
    }

    private static CodedInputStream sub(CodedInputStream in) throws IOException {
        return CodedInputStream.newInstance(in.readByteArray());
    }

    static OnnxModel decodeModel(byte[] bytes, Where w) throws OnnxFormatException {
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        try {
            long ir = 0;
            String producer = "";
            Map<String, Long> opsets = new LinkedHashMap<>();
            OnnxGraph graph = null;
            for (int tag; (tag = in.readTag()) != 0; ) {
                switch (field(tag)) {
                    case MODEL_IR_VERSION -> {
                        expectWire(w, tag, WireFormat.WIRETYPE_VARINT, "ir_version");
                        ir = in.readInt64();
                    }
                    case MODEL_PRODUCER_NAME -> {
                        expectWire(w, tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "producer_name");
                        producer = in.readStringRequireUtf8();
                    }
                    case MODEL_GRAPH -> {
                        expectWire(w, tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "graph");
                        graph = decodeGraph(sub(in), w.at("graph"));
                    }
                    case MODEL_OPSET_IMPORT -> {
                        expectWire(w, tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "opset_import");
                        CodedInputStream o = sub(in);
                        String domain = "";
                        long version = -1;
                        for (int t; (t = o.readTag()) != 0; ) {
                            if (field(t) == OPSET_DOMAIN && wire(t) == WireFormat.WIRETYPE_LENGTH_DELIMITED) domain = o.readStringRequireUtf8();
                            else if (field(t) == OPSET_VERSION && wire(t) == WireFormat.WIRETYPE_VARINT) version = o.readInt64();
                            else o.skipField(t);
                        }
                        opsets.put(domain, version);
                    }
                    default -> in.skipField(tag);
                }
            }
            if (graph == null) throw w.error("ModelProto has no graph (field 7)");
            return new OnnxModel(ir, producer, opsets, graph);
        } catch (InvalidProtocolBufferException e) {
            // the offset is where the top-level field that could not be read ends up (a truncated file: near its end)
            throw w.error("not a valid ModelProto (truncated or corrupt) at byte offset " + in.getTotalBytesRead() + " of " + bytes.length + ": " + e.getMessage());
        } catch (OnnxFormatException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw w.error("cannot decode ModelProto: " + e);
        }
    }

    static OnnxGraph decodeGraph(CodedInputStream in, Where w) throws IOException {
        List<OnnxNode> nodes = new ArrayList<>();
        List<OnnxTensor> inits = new ArrayList<>();
        List<OnnxValueInfo> inputs = new ArrayList<>();
        List<OnnxValueInfo> outputs = new ArrayList<>();
        String name = "";
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (field(tag)) {
                case GRAPH_NODE -> {
                    expectWire(w, tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "node");
                    nodes.add(decodeNode(sub(in), w.at("node[" + nodes.size() + "]")));
                }
                case GRAPH_NAME -> {
                    expectWire(w, tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "name");
                    name = in.readStringRequireUtf8();
                }
                case GRAPH_INITIALIZER -> {
                    expectWire(w, tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "initializer");
                    inits.add(decodeTensor(sub(in), w.at("initializer[" + inits.size() + "]")));
                }
                case GRAPH_INPUT -> {
                    expectWire(w, tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "input");
                    inputs.add(decodeValueInfo(sub(in), w.at("input[" + inputs.size() + "]")));
                }
                case GRAPH_OUTPUT -> {
                    expectWire(w, tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "output");
                    outputs.add(decodeValueInfo(sub(in), w.at("output[" + outputs.size() + "]")));
                }
                default -> in.skipField(tag);
            }
        }
        return new OnnxGraph(name, nodes, inits, inputs, outputs);
    }

    static OnnxNode decodeNode(CodedInputStream in, Where w) throws IOException {
        List<String> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        List<OnnxAttribute> attrs = new ArrayList<>();
        String name = "", op = null, domain = "";
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (field(tag)) {
                case NODE_INPUT -> inputs.add(in.readStringRequireUtf8());
                case NODE_OUTPUT -> outputs.add(in.readStringRequireUtf8());
                case NODE_NAME -> name = in.readStringRequireUtf8();
                case NODE_OP_TYPE -> op = in.readStringRequireUtf8();
                case NODE_DOMAIN -> domain = in.readStringRequireUtf8();
                case NODE_ATTRIBUTE -> {
                    expectWire(w, tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "attribute");
                    attrs.add(decodeAttribute(sub(in), w.at("attribute[" + attrs.size() + "]")));
                }
                default -> in.skipField(tag);
            }
        }
        if (op == null || op.isEmpty()) throw w.error("node has no op_type");
        try {
            return OnnxNode.of(name, op, domain, inputs, outputs, attrs);
        } catch (IllegalArgumentException e) {
            throw w.error(e.getMessage());
        }
    }

    static OnnxAttribute decodeAttribute(CodedInputStream in, Where w) throws IOException {
        String name = null;
        int type = 0;
        Float f = null;
        Long i = null;
        byte[] s = null;
        OnnxTensor t = null;
        FloatList floats = new FloatList();
        LongList ints = new LongList();
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (field(tag)) {
                case ATTR_NAME -> name = in.readStringRequireUtf8();
                case ATTR_TYPE -> type = in.readInt32();
                case ATTR_F -> {
                    expectWire(w, tag, WireFormat.WIRETYPE_FIXED32, "f");
                    f = in.readFloat();
                }
                case ATTR_I -> i = in.readInt64();
                case ATTR_S -> s = in.readByteArray();
                case ATTR_T -> t = decodeTensor(sub(in), w.at("t"));
                case ATTR_FLOATS -> readFloats(in, tag, floats);
                case ATTR_INTS -> readVarints(in, tag, ints);
                default -> in.skipField(tag);
            }
        }
        if (name == null || name.isEmpty()) throw w.error("attribute has no name");
        Where at = w.at("'" + name + "'");
        return switch (type) {
            case 1 -> new OnnxAttribute.Float(name, require(at, f, "f"));
            case 2 -> new OnnxAttribute.Int(name, require(at, i, "i"));
            case 3 -> new OnnxAttribute.Str(name, new String(require(at, s, "s"), StandardCharsets.UTF_8));
            case 4 -> new OnnxAttribute.TensorValue(name, require(at, t, "t"));
            case 6 -> new OnnxAttribute.Floats(name, floats.toArray());
            case 7 -> new OnnxAttribute.Ints(name, ints.toArray());
            case 0 -> throw at.error("attribute type is missing (field 20)");
            default -> new OnnxAttribute.Unsupported(name, type);
        };
    }

    private static <T> T require(Where w, T v, String field) throws OnnxFormatException {
        if (v == null) throw w.error("attribute value field '" + field + "' is missing for its type");
        return v;
    }

    static OnnxValueInfo decodeValueInfo(CodedInputStream in, Where w) throws IOException {
        String name = "";
        OnnxDataType elem = null;
        List<OnnxValueInfo.Dim> shape = null;
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (field(tag)) {
                case VI_NAME -> name = in.readStringRequireUtf8();
                case VI_TYPE -> {
                    CodedInputStream type = sub(in);
                    for (int t; (t = type.readTag()) != 0; ) {
                        if (field(t) != TYPE_TENSOR) {
                            type.skipField(t);
                            continue;
                        }
                        CodedInputStream tt = sub(type);
                        for (int u; (u = tt.readTag()) != 0; ) {
                            if (field(u) == TT_ELEM_TYPE) {
                                int code = tt.readInt32();
                                elem = OnnxDataType.fromCodeOrNull(code);
                                if (elem == null) throw w.error("value '" + name + "' has unsupported elem_type " + code);
                            } else if (field(u) == TT_SHAPE) {
                                shape = new ArrayList<>();
                                CodedInputStream sh = sub(tt);
                                for (int v; (v = sh.readTag()) != 0; ) {
                                    if (field(v) != SHAPE_DIM) {
                                        sh.skipField(v);
                                        continue;
                                    }
                                    CodedInputStream d = sub(sh);
                                    OnnxValueInfo.Dim dim = new OnnxValueInfo.Symbolic("");
                                    for (int x; (x = d.readTag()) != 0; ) {
                                        if (field(x) == DIM_VALUE) dim = new OnnxValueInfo.Fixed(d.readInt64());
                                        else if (field(x) == DIM_PARAM) dim = new OnnxValueInfo.Symbolic(d.readStringRequireUtf8());
                                        else d.skipField(x);
                                    }
                                    shape.add(dim);
                                }
                            } else {
                                tt.skipField(u);
                            }
                        }
                    }
                }
                default -> in.skipField(tag);
            }
        }
        return new OnnxValueInfo(name, elem, shape);
    }

    /** Decodes a {@code TensorProto}; typed data fields are converted to the raw little-endian layout. */
    static OnnxTensor decodeTensor(CodedInputStream in, Where w) throws IOException {
        LongList dims = new LongList();
        int dataType = 0;
        String name = "";
        byte[] raw = null;
        FloatList floatData = new FloatList();
        LongList int32Data = new LongList(), int64Data = new LongList(), uint64Data = new LongList();
        List<Double> doubleData = new ArrayList<>();
        boolean external = false, strings = false;
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (field(tag)) {
                case T_DIMS -> readVarints(in, tag, dims);
                case T_DATA_TYPE -> dataType = in.readInt32();
                case T_NAME -> name = in.readStringRequireUtf8();
                case T_RAW_DATA -> raw = in.readByteArray();
                case T_FLOAT_DATA -> readFloats(in, tag, floatData);
                case T_INT32_DATA -> readVarints(in, tag, int32Data);
                case T_INT64_DATA -> readVarints(in, tag, int64Data);
                case T_UINT64_DATA -> readVarints(in, tag, uint64Data);
                case T_DOUBLE_DATA -> {
                    if (wire(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        int limit = in.pushLimit(in.readRawVarint32());
                        while (in.getBytesUntilLimit() > 0) doubleData.add(in.readDouble());
                        in.popLimit(limit);
                    } else {
                        doubleData.add(in.readDouble());
                    }
                }
                case T_STRING_DATA -> {
                    strings = true;
                    in.skipField(tag);
                }
                case T_DATA_LOCATION -> external |= in.readInt32() == 1;
                case T_EXTERNAL_DATA -> {
                    external = true;
                    in.skipField(tag);
                }
                default -> in.skipField(tag);
            }
        }
        Where at = name.isEmpty() ? w : w.at("'" + name + "'");
        if (external) throw at.error("tensor data is stored externally (data_location=EXTERNAL), which is not supported");
        OnnxDataType type = OnnxDataType.fromCodeOrNull(dataType);
        if (type == null) throw at.error("unsupported data_type " + dataType);
        if (type == OnnxDataType.STRING || strings) throw at.error("STRING tensors are not supported");
        long[] d = dims.toArray();
        long n = 1;
        for (long x : d) {
            if (x < 0) throw at.error("negative dimension in dims " + Arrays.toString(d));
            if (x != 0 && n > (Integer.MAX_VALUE / type.byteSize()) / x) throw at.error("dims " + Arrays.toString(d) + " are too large");
            n *= x;
        }
        if (raw == null && type == OnnxDataType.INT4) throw at.error("INT4 tensor without raw_data (packed int32_data is not supported)");
        if (raw == null) raw = typedToRaw(at, type, (int) n, floatData, int32Data, int64Data, uint64Data, doubleData);
        if (raw.length != type.rawBytes(n)) {
            throw at.error("raw_data has " + raw.length + " bytes, but " + type + " x " + Arrays.toString(d) + " needs " + type.rawBytes(n));
        }
        return new OnnxTensor(name, type, d, raw);
    }

    private static byte[] typedToRaw(Where at, OnnxDataType type, int n, FloatList f, LongList i32, LongList i64, LongList u64, List<Double> dbl) throws OnnxFormatException {
        ByteBuffer b = ByteBuffer.allocate(n * type.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        int have = switch (type) {
            case FLOAT -> f.size;
            case DOUBLE -> dbl.size();
            case INT64 -> i64.size;
            case UINT32, UINT64 -> u64.size;
            default -> i32.size;
        };
        if (have != n) throw at.error(type + " tensor of " + n + " elements has " + have + " values in its typed data field");
        for (int k = 0; k < n; k++) {
            switch (type) {
                case FLOAT -> b.putFloat(f.data[k]);
                case DOUBLE -> b.putDouble(dbl.get(k));
                case INT64 -> b.putLong(i64.data[k]);
                case UINT64 -> b.putLong(u64.data[k]);
                case UINT32 -> b.putInt((int) u64.data[k]);
                case INT32 -> b.putInt((int) i32.data[k]);
                case INT16, UINT16, FLOAT16, BFLOAT16 -> b.putShort((short) i32.data[k]);
                case INT8, UINT8, BOOL -> b.put((byte) i32.data[k]);
                case STRING -> throw at.error("STRING tensors are not supported");
            }
        }
        return b.array();
    }

    private static void readVarints(CodedInputStream in, int tag, LongList out) throws IOException {
        if (wire(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int limit = in.pushLimit(in.readRawVarint32());
            while (in.getBytesUntilLimit() > 0) out.add(in.readInt64());
            in.popLimit(limit);
        } else {
            out.add(in.readInt64());
        }
    }

    private static void readFloats(CodedInputStream in, int tag, FloatList out) throws IOException {
        if (wire(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int limit = in.pushLimit(in.readRawVarint32());
            while (in.getBytesUntilLimit() > 0) out.add(in.readFloat());
            in.popLimit(limit);
        } else {
            out.add(in.readFloat());
        }
    }

    static final class LongList {
        long[] data = new long[8];
        int size;

        void add(long v) {
            if (size == data.length) data = Arrays.copyOf(data, size * 2);
            data[size++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }

    static final class FloatList {
        float[] data = new float[8];
        int size;

        void add(float v) {
            if (size == data.length) data = Arrays.copyOf(data, size * 2);
            data[size++] = v;
        }

        float[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }
}
