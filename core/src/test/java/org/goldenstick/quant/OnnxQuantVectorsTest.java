package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.goldenstick.data.DataPaths;
import org.goldenstick.formats.onnx.OnnxDataType;
import org.goldenstick.formats.onnx.OnnxModel;
import org.goldenstick.formats.onnx.OnnxModelReader;
import org.goldenstick.formats.onnx.OnnxNode;
import org.goldenstick.formats.onnx.OnnxTensor;
import org.goldenstick.formats.onnx.OnnxTensorReader;
import org.goldenstick.formats.onnx.OnnxValueInfo;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ONNX backend test vectors for the quantization ops (Debian libonnx-testdata 1.12, data-cache/onnx-testdata),
 * run through this package's int8 kernels on both kernel paths: QuantizeLinear/DequantizeLinear through
 * {@link Int8Ops}/{@link QuantMath}, MatMulInteger/QLinearMatMul through {@link Int8Ops#gemm} + {@link Int8Ops#finish},
 * ConvInteger/QLinearConv through {@link QConv2d#convInteger}. Integer outputs must match exactly.
 */
class OnnxQuantVectorsTest {
    record Case(OnnxNode node, List<OnnxTensor> inputs, List<OnnxTensor> outputs) {}

    static Case load(String name) throws IOException {
        Path dir = DataPaths.cached("onnx-testdata", "onnx-testdata/node/" + name);
        OnnxModel model = OnnxModelReader.read(dir.resolve("model.onnx"));
        assertEquals(1, model.graph().nodes().size(), name);
        List<OnnxTensor> in = new ArrayList<>(), out = new ArrayList<>();
        Path set = dir.resolve("test_data_set_0");
        for (int i = 0; i < model.graph().inputs().size(); i++) {
            OnnxValueInfo v = model.graph().inputs().get(i);
            var init = model.graph().initializer(v.name());
            in.add(init.isPresent() ? init.get() : OnnxTensorReader.read(set.resolve("input_" + i + ".pb")));
        }
        for (int i = 0; Files.exists(set.resolve("output_" + i + ".pb")); i++) out.add(OnnxTensorReader.read(set.resolve("output_" + i + ".pb")));
        return new Case(model.graph().nodes().getFirst(), in, out);
    }

    static int[] ints(OnnxTensor t) {
        byte[] b = t.bytes();
        int[] v = new int[(int) t.numel()];
        boolean unsigned = t.dataType() == OnnxDataType.UINT8;
        if (t.dataType() == OnnxDataType.INT32) return t.ints();
        for (int i = 0; i < v.length; i++) v[i] = unsigned ? b[i] & 0xFF : b[i];
        return v;
    }

    static boolean unsigned(OnnxTensor t) {
        return t.dataType() == OnnxDataType.UINT8;
    }

    static int zp(List<OnnxTensor> in, int i) {
        return in.size() > i && in.get(i) != null && in.get(i).numel() > 0 ? ints(in.get(i))[0] : 0;
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void quantizeAndDequantizeLinear(boolean vector) throws IOException {
        boolean was = Kernels.useVector(vector);
        try {
            Case q = load("test_quantizelinear");
            QuantParams p = QuantParams.perTensor(8, !unsigned(q.inputs().get(2)), false, false, q.inputs().get(1).floats()[0], zp(q.inputs(), 2));
            assertArrayEquals(q.outputs().get(0).bytes(), Int8Ops.quantizeActivations(q.inputs().get(0).floats(), p));

            Case qa = load("test_quantizelinear_axis");
            int axis = (int) qa.node().intAttr("axis", 1);
            byte[] got = Int8Ops.quantizePerAxis(qa.inputs().get(0).floats(), qa.inputs().get(0).intDims(), axis, qa.inputs().get(1).floats(),
                    ints(qa.inputs().get(2)), unsigned(qa.inputs().get(2)));
            assertArrayEquals(qa.outputs().get(0).bytes(), got);

            Case d = load("test_dequantizelinear");
            QuantParams dp = QuantParams.perTensor(8, !unsigned(d.inputs().get(0)), false, false, d.inputs().get(1).floats()[0], zp(d.inputs(), 2));
            assertArrayEquals(d.outputs().get(0).floats(), QuantMath.dequantize(ints(d.inputs().get(0)), d.inputs().get(0).intDims(), dp));

            Case da = load("test_dequantizelinear_axis");
            float[] scale = da.inputs().get(1).floats();
            int[] zps = ints(da.inputs().get(2));
            int ax = (int) da.node().intAttr("axis", 1);
            QuantParams ap = new QuantParams(8, !unsigned(da.inputs().get(0)), false, false, ax, new float[scale.length], new float[scale.length], scale, zps);
            assertArrayEquals(da.outputs().get(0).floats(), QuantMath.dequantize(ints(da.inputs().get(0)), da.inputs().get(0).intDims(), ap));
        } finally {
            Kernels.useVector(was);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void matMulIntegerAndQLinearMatMul(boolean vector) throws IOException {
        boolean was = Kernels.useVector(vector);
        try {
            Case c = load("test_matmulinteger");
            OnnxTensor a = c.inputs().get(0), b = c.inputs().get(1);
            int m = a.intDims()[0], k = a.intDims()[1], n = b.intDims()[1];
            int[] acc = new int[m * n];
            Int8Ops.gemm(m, n, k, a.bytes(), unsigned(a), new int[] {zp(c.inputs(), 2)}, b.bytes(), false, unsigned(b), new int[] {zp(c.inputs(), 3)}, acc);
            assertArrayEquals(c.outputs().get(0).ints(), acc);

            for (String name : new String[] {"test_qlinearmatmul_2D", "test_qlinearmatmul_3D"}) {
                Case q = load(name);
                List<OnnxTensor> in = q.inputs();
                OnnxTensor qa = in.get(0), qb = in.get(3);
                int[] ad = qa.intDims(), bd = qb.intDims();
                int batch = ad.length == 3 ? ad[0] : 1, mm = ad[ad.length - 2], kk = ad[ad.length - 1], nn = bd[bd.length - 1];
                float sa = in.get(1).floats()[0], sb = in.get(4).floats()[0], sy = in.get(6).floats()[0];
                QuantParams out = QuantParams.perTensor(8, !unsigned(in.get(7)), false, false, sy, ints(in.get(7))[0]);
                int[] expected = ints(q.outputs().get(0));
                for (int bi = 0; bi < batch; bi++) {
                    byte[] ab = java.util.Arrays.copyOfRange(qa.bytes(), bi * mm * kk, (bi + 1) * mm * kk);
                    byte[] bb = bd.length == 3 ? java.util.Arrays.copyOfRange(qb.bytes(), bi * kk * nn, (bi + 1) * kk * nn) : qb.bytes();
                    int[] acc2 = new int[mm * nn];
                    Int8Ops.gemm(mm, nn, kk, ab, unsigned(qa), new int[] {ints(in.get(2))[0]}, bb, false, unsigned(qb), new int[] {ints(in.get(5))[0]}, acc2);
                    float[] accScale = new float[nn];
                    java.util.Arrays.fill(accScale, sa * sb);
                    float[] y = Int8Ops.finish(acc2, mm, nn, 1, null, accScale, out);
                    for (int i = 0; i < y.length; i++) {
                        int qv = Math.round(y[i] / sy) + out.zeroPoint()[0];
                        assertEquals(expected[bi * mm * nn + i], qv, name + " element " + (bi * mm * nn + i));
                    }
                }
            }
        } finally {
            Kernels.useVector(was);
        }
    }

    static Conv2dSpec spec(OnnxNode node) {
        long[] pads = node.intsAttr("pads", new long[4]);
        long[] strides = node.intsAttr("strides", new long[] {1, 1});
        long[] dil = node.intsAttr("dilations", new long[] {1, 1});
        return new Conv2dSpec((int) strides[0], (int) strides[1], (int) pads[0], (int) pads[1], (int) pads[2], (int) pads[3], (int) dil[0], (int) dil[1],
                (int) node.intAttr("group", 1));
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void convIntegerAndQLinearConv(boolean vector) throws IOException {
        boolean was = Kernels.useVector(vector);
        try {
            int checked = 0;
            for (String name : new String[] {"test_basic_convinteger", "test_convinteger_with_padding", "test_convinteger_without_padding"}) {
                Case c = load(name);
                OnnxTensor x = c.inputs().get(0), w = c.inputs().get(1);
                int[] acc = QConv2d.convInteger(x.bytes(), unsigned(x), zp(c.inputs(), 2), x.intDims(), w.bytes(), unsigned(w), new int[] {zp(c.inputs(), 3)},
                        w.intDims(), spec(c.node()));
                assertArrayEquals(c.outputs().get(0).ints(), acc, name);
                checked++;
            }
            Case q = load("test_qlinearconv");
            List<OnnxTensor> in = q.inputs();
            OnnxTensor x = in.get(0), w = in.get(3);
            int[] wzp = ints(in.get(5));
            float sx = in.get(1).floats()[0];
            float[] sw = in.get(4).floats();
            int oc = w.intDims()[0];
            int[] acc = QConv2d.convInteger(x.bytes(), unsigned(x), ints(in.get(2))[0], x.intDims(), w.bytes(), unsigned(w), wzp, w.intDims(), spec(q.node()));
            float[] accScale = new float[oc];
            for (int i = 0; i < oc; i++) accScale[i] = sx * sw[sw.length == 1 ? 0 : i];
            int[] bias = in.size() > 8 ? in.get(8).ints() : null;
            QuantParams out = QuantParams.perTensor(8, !unsigned(in.get(7)), false, false, in.get(6).floats()[0], ints(in.get(7))[0]);
            int[] os = QConv2d.outputShape(x.intDims(), w.intDims(), spec(q.node()));
            float[] y = Int8Ops.finish(acc, os[0], oc, os[2] * os[3], bias, accScale, out);
            int[] expected = ints(q.outputs().get(0));
            for (int i = 0; i < y.length; i++) assertEquals(expected[i], Math.round(y[i] / out.scale()[0]) + out.zeroPoint()[0], "qlinearconv element " + i);
            assertEquals(3, checked);
        } finally {
            Kernels.useVector(was);
        }
    }
}
