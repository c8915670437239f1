/**
 * Decoder language models on the engine: Llama and the families that differ from it only in what
 * {@link org.goldenstick.llm.ModelFamily} describes (Mistral, Qwen2/2.5, Qwen3, Gemma, Phi-3).
 *
 * <ul>
 *   <li>{@link org.goldenstick.llm.LlamaConfig}: Hugging Face {@code config.json} (GQA, head_dim, rope_theta,
 *       llama3/linear {@code rope_scaling}, tied embeddings), validated with errors naming the file and field.</li>
 *   <li>{@link org.goldenstick.llm.LlamaModel}: the module tree with Hugging Face parameter names; a training path
 *       with autograd ({@code logits}, {@code loss}) and an inference path ({@link org.goldenstick.llm.LlamaSession}:
 *       KV cache, batched prefill, incremental decode) sharing the same replaceable {@code nn.Linear} projections;
 *       {@link org.goldenstick.llm.Sampler} and {@code generate}.</li>
 *   <li>{@link org.goldenstick.llm.HfCheckpoint}: memory-mapped loading of single-file or sharded safetensors
 *       (F32/F16/BF16), a lazy tensor-by-tensor view, and atomic saving in the same layout. {@code map} serves the
 *       weights from the mapped files ({@link org.goldenstick.llm.MappedLinear}, {@link org.goldenstick.llm.TokenEmbedding}
 *       read in place: zero copy, so a checkpoint larger than the Java heap runs); {@code load} copies them onto the
 *       heap for training and quantization. Models are assembled from {@link org.goldenstick.llm.LlamaParts}, and a
 *       checkpoint is checked against config.json before anything large is allocated.</li>
 *   <li>{@link org.goldenstick.llm.Perplexity} and {@link org.goldenstick.llm.Evaluation}: perplexity over
 *       non-overlapping windows, KL divergence and top-1 agreement against a reference model.</li>
 * </ul>
 *
 * <pre>{@code
 * LlamaModel model = HfCheckpoint.map(Path.of("models/gstick-llama-demo"));   // weights stay in the file
 * Tokenizer tok = Tokenizers.load(Path.of("models/gstick-llama-demo"));
 * int[] out = model.generate(tok.encode("The whale", true), 40, Sampler.of(0.8, 0.95, 0));
 * System.out.println(tok.decode(out));
 * }</pre>
 */
package org.goldenstick.llm;
