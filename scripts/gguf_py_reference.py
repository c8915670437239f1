#!/usr/bin/env python3
"""Reference GGUF files written with llama.cpp's own Python writer (gguf-py), for scripts/llama-cpp-peer.sh.

  gguf_py_reference.py write MODEL_DIR OUT.gguf      # F32 GGUF of a Hugging Face Llama folder, through gguf-py
  gguf_py_reference.py random-gqa OUT_DIR TOKENIZER_DIR  # a small random GQA Llama folder (safetensors, F32)
  gguf_py_reference.py same-except A.gguf B.gguf TYPE   # same tensors, types and bytes, except data of TYPE tensors

Needs only numpy and gguf-py (put its folder on PYTHONPATH). The metadata follows convert_hf_to_gguf.py's
LlamaModel (set_gguf_parameters, _set_vocab_gpt2, the q/k `permute`); torch and transformers are not needed:
tensors are read from the safetensors header with numpy, the vocabulary straight from tokenizer.json, and the
special ids / add_bos / merges through gguf-py's own SpecialVocab.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import gguf


def read_safetensors(path):
    raw = Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {info['dtype']}; this reference reads F32 checkpoints only")
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + a:base + b], dtype="<f4").reshape(info["shape"])
    return out


def permute(w, n_head, n_head_kv):
    # convert_hf_to_gguf.py LlamaModel.permute: per head, HF's two rotary halves -> interleaved pairs
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write(model_dir, out):
    model_dir = Path(model_dir)
    cfg = json.loads((model_dir / "config.json").read_text())
    tok = json.loads((model_dir / "tokenizer.json").read_text())
    n_vocab = cfg["vocab_size"]
    w = gguf.GGUFWriter(out, "llama")
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(model_dir.name)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg.get("num_key_value_heads", cfg["num_attention_heads"]))
    w.add_rope_freq_base(cfg.get("rope_theta", 10000.0))
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    head_dim = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    if "head_dim" in cfg:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_vocab_size(n_vocab)
    w.add_rope_dimension_count(head_dim)

    # _set_vocab_gpt2: tokens by id, added special tokens CONTROL, padding rows UNUSED
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    added = {a["id"]: a for a in tok.get("added_tokens", [])}
    tokens, types = [], []
    for i in range(n_vocab):
        if i in added:
            tokens.append(added[i]["content"])
            types.append(gguf.TokenType.CONTROL if added[i].get("special") else gguf.TokenType.USER_DEFINED)
        elif i in by_id:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    special = gguf.SpecialVocab(model_dir, load_merges=True, n_vocab=n_vocab)
    special.add_to_gguf(w)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    t = read_safetensors(model_dir / "model.safetensors")
    n_head, n_kv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    names = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    w.add_tensor("token_embd.weight", t["model.embed_tokens.weight"])
    for l in range(cfg["num_hidden_layers"]):
        for hf, g in names.items():
            x = t[f"model.layers.{l}.{hf}.weight"]
            if hf == "self_attn.q_proj":
                x = permute(x, n_head, n_head)
            elif hf == "self_attn.k_proj":
                x = permute(x, n_head, n_kv)
            w.add_tensor(f"blk.{l}.{g}.weight", np.ascontiguousarray(x))
    w.add_tensor("output_norm.weight", t["model.norm.weight"])
    if not cfg.get("tie_word_embeddings", False):
        w.add_tensor("output.weight", t["lm_head.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def random_gqa(out_dir, tokenizer_dir):
    out_dir, tokenizer_dir = Path(out_dir), Path(tokenizer_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok = json.loads((tokenizer_dir / "tokenizer.json").read_text())
    vocab = len(tok["model"]["vocab"]) + len([a for a in tok.get("added_tokens", []) if a["content"] not in tok["model"]["vocab"]])
    hidden, inter, layers, heads, kv = 256, 512, 2, 8, 2
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden, "intermediate_size": inter,
           "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv, "rms_norm_eps": 1e-5,
           "rope_theta": 10000.0, "vocab_size": vocab, "max_position_embeddings": 256, "tie_word_embeddings": False,
           "bos_token_id": 0, "eos_token_id": 1, "torch_dtype": "float32"}
    rng = np.random.default_rng(7)
    hd = hidden // heads
    shapes = {"model.embed_tokens.weight": (vocab, hidden), "model.norm.weight": (hidden,), "lm_head.weight": (vocab, hidden)}
    for l in range(layers):
        p = f"model.layers.{l}."
        shapes.update({p + "input_layernorm.weight": (hidden,), p + "post_attention_layernorm.weight": (hidden,),
                       p + "self_attn.q_proj.weight": (heads * hd, hidden), p + "self_attn.k_proj.weight": (kv * hd, hidden),
                       p + "self_attn.v_proj.weight": (kv * hd, hidden), p + "self_attn.o_proj.weight": (hidden, heads * hd),
                       p + "mlp.gate_proj.weight": (inter, hidden), p + "mlp.up_proj.weight": (inter, hidden),
                       p + "mlp.down_proj.weight": (hidden, inter)})
    header, blobs, off = {}, [], 0
    for name in sorted(shapes):
        s = shapes[name]
        a = (1.0 + 0.1 * rng.standard_normal(s)) if name.endswith("norm.weight") else rng.standard_normal(s) * (0.5 / np.sqrt(s[-1]))
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(s), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    (out_dir / "model.safetensors").write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    (out_dir / "config.json").write_text(json.dumps(cfg, indent=2))
    for f in ("tokenizer.json", "heldout.txt"):
        if (tokenizer_dir / f).exists():
            (out_dir / f).write_bytes((tokenizer_dir / f).read_bytes())


def same_except(a_path, b_path, type_name):
    """Both files have the same tensor names and types; tensors not of type_name are byte-identical. Prints a summary."""
    a, b = gguf.GGUFReader(a_path), gguf.GGUFReader(b_path)
    ta = {t.name: t for t in a.tensors}
    tb = {t.name: t for t in b.tensors}
    if ta.keys() != tb.keys():
        raise SystemExit(f"tensor names differ: {sorted(ta.keys() ^ tb.keys())}")
    same, differ = 0, []
    for name, t in ta.items():
        u = tb[name]
        if t.tensor_type != u.tensor_type:
            raise SystemExit(f"{name}: {t.tensor_type.name} in {a_path} but {u.tensor_type.name} in {b_path}")
        if bytes(t.data.tobytes()) == bytes(u.data.tobytes()):
            same += 1
        elif t.tensor_type.name.lower() == type_name.lower():
            differ.append(name)
        else:
            raise SystemExit(f"{name} ({t.tensor_type.name}) differs between the files")
    types = sorted({t.tensor_type.name for t in ta.values()})
    print(f"same-except {type_name}: {len(ta)} tensors, same types ({', '.join(types)}); {same} byte-identical, "
          f"{len(differ)} {type_name} tensors differ in data")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "random-gqa":
        random_gqa(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "same-except":
        same_except(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(__doc__)
