package org.goldenstick.nn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.prune.ChannelGraph;
import org.goldenstick.prune.ChannelSurgery;
import org.goldenstick.prune.PrunerFtCompressAlgo;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.testing.OnnxRuntimeAgreement;
import org.goldenstick.train.Inference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The built-in MobileNetV2-style network: ONNX Runtime computes what it computes, and SCOP prunes through depthwise convs. */
class MobileNetV2Test {
    @TempDir
    Path dir;

    @Test
    void onnxRuntimeComputesTheSameLogits() throws Exception {
        MobileNetV2 net = new MobileNetV2(3, 10, new Random(1));
        Tensor x = Tensor.randn(new Random(2), 6, 3, 32, 32);
        Path onnx = dir.resolve("mnv2.onnx");
        OnnxQdqExporter.export(net, new int[] {3, 32, 32}, onnx);
        var a = OnnxRuntimeAgreement.measure(onnx, net, x);
        assertEquals(6, a.agree(), a.toString());
        assertTrue(a.maxLogitError() < 1e-3 * Math.max(1, a.maxLogit()), a.toString());
        int depthwise = 0;
        for (var m : net.namedModules().values()) if (m instanceof Conv2d c && c.groups() > 1 && c.groups() == c.inChannels()) depthwise++;
        assertEquals(7, depthwise, "one depthwise conv per inverted-residual block");
    }

    @Test
    void scopRemovalEqualsMaskThroughDepthwiseAndResidualAdds() {
        MobileNetV2 net = new MobileNetV2(1, 10, new Random(3));
        Tensor x = Tensor.randn(new Random(4), 4, 1, 28, 28);
        var groups = ChannelGraph.analyze(ModelGraph.trace(net, new int[] {1, 28, 28})).groups();
        assertTrue(groups.stream().anyMatch(g -> g.members().size() > 1), "residual adds tie channels across blocks");
        PrunerFtCompressAlgo ft = new PrunerFtCompressAlgo(Map.of("prune_rate", 0.4));
        var keep = ft.select(net, ApplyOptions.none());
        ChannelSurgery.mask(net, ft.analysis(), keep);
        float[] masked = Inference.logits(net, x);
        long before = net.parameterCount();
        ChannelSurgery.remove(net, ft.analysis(), keep);
        float[] removed = Inference.logits(net, x);
        assertTrue(net.parameterCount() < 0.75 * before, net.parameterCount() + " of " + before);
        assertArrayEquals(masked, removed, 1e-4f);
    }
}
