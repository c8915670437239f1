/**
 * The traced model graph: one structure every compression algorithm, the rewriting layer and the ONNX exporters read,
 * instead of knowing networks by class (the idea of torch.fx, Torch-Pruning's DependencyGraph and NNCF's NNCFGraph).
 *
 * <p><b>How it is built.</b> {@link org.goldenstick.graph.ModelGraph#trace} runs the network's own {@code forward} once on
 * an example (eval mode, modes restored, no gradient recording). Every tensor op already reports itself where it joins
 * the autograd tape ({@code Tensor.result}); every leaf layer ({@link org.goldenstick.nn.Layer}: Conv2d, Linear,
 * BatchNorm, activations, pools, Flatten, the quant cells and int8 deploy layers...) reports its call. Both go to one
 * listener ({@link org.goldenstick.tensor.OpTrace}). A layer call becomes one node (its inner ops are hidden); ops run
 * outside layers (in a container's forward: {@code add}, {@code mul}, {@code concat}, {@code reshape}, {@code relu},
 * {@code sigmoid}...) become op nodes; tensors the forward used without computing them become constant or parameter
 * nodes. Containers (a user's network class, {@code Sequential}, ResNet's block) are looked through. No second forward
 * is written by hand, so a network of one's own is traced exactly as it runs.
 *
 * <p><b>What it holds.</b> {@link org.goldenstick.graph.Node}s in execution order (input first; only nodes the output
 * depends on), each with its kind, op name, dotted module name, layer instance, producer ids and output shape;
 * {@link org.goldenstick.graph.Edge}s (tensor from → to, argument index, shape); a layer called at several points has
 * several nodes with the same name ({@link org.goldenstick.graph.ModelGraph#layerCalls()}); layers of the tree the
 * forward never calls are listed by {@link org.goldenstick.graph.ModelGraph#uncalledLayers()}.
 *
 * <pre>{@code
 * ModelGraph g = ModelGraph.trace(net, new int[] {1, 8, 8});       // one sample's shape
 * for (Node n : g.nodes()) {
 *     if (n.isLayer(Conv2d.class) && g.consumers(n.id()).size() == 1
 *             && g.node(g.consumers(n.id()).get(0).to()).isLayer(BatchNorm2d.class)) { ... }   // conv → bn
 *     if (n.isOp("add")) { ... }                                       // a residual add
 * }
 * }</pre>
 *
 * <p>Limits: the trace sees one path through the forward (data-dependent branches are fixed by the example); a layer
 * the forward calls but that is not registered in the module tree is an error naming it. Rewriting
 * ({@code org.goldenstick.rewrite}), SimQAT ({@code org.goldenstick.qat}) and the ONNX exporter
 * ({@code org.goldenstick.quant.OnnxQdqExporter}) work from this graph; {@code docs/graph.md} is the design note.
 */
package org.goldenstick.graph;
