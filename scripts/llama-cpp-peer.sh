#!/usr/bin/env bash
# Peer check against llama.cpp: builds it once (CPU only) from the llama.cpp git bundle inside npm
# node-llama-cpp (the same package scripts/fetch-data.sh takes the vocabulary GGUFs from) into
# data-cache/llama.cpp, then runs its tools on our GGUF exports beside `gstick eval`.
# Not a test: tests never need llama.cpp.
#
#   scripts/llama-cpp-peer.sh build        # fetch + cmake build (slow: ~30-60 min on 2 loaded cores)
#   scripts/llama-cpp-peer.sh run [MODEL]  # exports, llama-perplexity, gguf-py reference (see run() below)
#   scripts/llama-cpp-peer.sh kld [MODEL|random-gqa]  # KL divergence: our GPTQ/AWQ Q4_0 vs llama-quantize's Q4_0 (kld_run())
#   scripts/llama-cpp-peer.sh bench        # speed: llama-bench vs `gstick bench llm` on the same GGUF files (bench_run())
#
# Environment: GSTICK_LLAMA_CPP=DIR builds/uses llama.cpp there instead of data-cache/llama.cpp;
# PEER_CHUNKS (default 8) limits llama-perplexity to that many windows of 256 tokens; KLD_CHUNKS (default 100) the
# KL-divergence runs; KLD_METHODS (default "rtn gptq awq awq-gptq") the gstick methods compared. `bench`: BENCH_ROUNDS
# (default 3) alternating rounds, BENCH_REPS (default 2) llama-bench repetitions per round, BENCH_SECONDS (default 6)
# `bench llm --seconds`, BENCH_LAYERS (default 16) the synthetic model's layers, BENCH_POLL (default 50, llama-bench's
# own) its --poll: on a machine loaded by other jobs its spinning threads crawl, 0 makes them sleep.
#
# Needs: cmake, a C/C++ compiler, npm, git; for the gguf-py reference writer Debian's python3-numpy
# (`apt-get install python3-numpy`, used through /usr/bin/python3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${GSTICK_DATA_CACHE:-$root/data-cache}"
lc="${GSTICK_LLAMA_CPP:-$cache/llama.cpp}"   # GSTICK_LLAMA_CPP: build elsewhere (e.g. outside a shared data-cache)
NLC_VERSION=3.21.1

log() { printf 'llama-cpp-peer: %s\n' "$*" >&2; }
die() { printf 'llama-cpp-peer: ERROR: %s\n' "$*" >&2; exit 1; }

build() {
  if [ -x "$lc/build/bin/llama-perplexity" ] && [ -x "$lc/build/bin/llama-quantize" ] && [ -x "$lc/build/bin/llama-bench" ] \
      && grep -q GSTICK_NO_REPACK "$lc/src/tools/llama-bench/llama-bench.cpp"; then
    log "llama.cpp already built in $lc"; return
  fi
  mkdir -p "$cache/.downloads"
  if [ ! -d "$lc/src/.git" ] && [ ! -f "$lc/src/CMakeLists.txt" ]; then
    log "downloading npm node-llama-cpp@$NLC_VERSION (llama.cpp git bundle)"
    local work="$cache/.downloads/nlc-build"
    rm -rf "$work" && mkdir -p "$work"
    local tgz; tgz="$(cd "$work" && npm pack --silent "node-llama-cpp@$NLC_VERSION" | tail -n 1)"
    tar xzf "$work/$tgz" -C "$work" package/llama/gitRelease.bundle
    rm -rf "$lc/src.tmp" && mkdir -p "$lc"
    git clone -q "$work/package/llama/gitRelease.bundle" "$lc/src.tmp"
    mv "$lc/src.tmp" "$lc/src"
    rm -rf "$work"
  fi
  # llama-bench has no --no-repack (llama-perplexity's switch, see ppl()): one added line makes the environment variable
  # GSTICK_NO_REPACK=1 turn the extra (repacking AVX-512/AMX) buffer types off, as --no-repack does; nothing else changes.
  local lb="$lc/src/tools/llama-bench/llama-bench.cpp"
  if [ -f "$lb" ] && ! grep -q GSTICK_NO_REPACK "$lb"; then
    sed -i 's|^\( *\)mparams.no_host *= no_host;|&\n\1if (getenv("GSTICK_NO_REPACK")) mparams.use_extra_bufts = false; // gstick peer script|' "$lb"
    grep -q GSTICK_NO_REPACK "$lb" || die "could not add the no-repack switch to $lb"
  fi
  log "building llama.cpp $(git -C "$lc/src" rev-parse --short HEAD) (CPU only, -j2)"
  cmake -S "$lc/src" -B "$lc/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DGGML_OPENMP=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
  cmake --build "$lc/build" -j2 --target llama-perplexity llama-quantize llama-bench
  log "built: $lc/build/bin"
}

# ppl FILE.gguf TEXT: llama-perplexity's final estimate over PEER_CHUNKS windows of 256 tokens (2 threads).
# --no-repack: on the development VM the repacked (AVX-512/AMX) path of quantized types dies with SIGILL.
ppl() {
  "$lc/build/bin/llama-perplexity" -m "$1" -f "$2" -c 256 -b 256 --chunks "${PEER_CHUNKS:-8}" -t 2 --no-repack > "$work/$(basename "$1").log" 2>&1 \
    || die "llama-perplexity failed on $1 (see $work/$(basename "$1").log)"
  sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' "$work/$(basename "$1").log"
}

run() {
  local model="${1:-$root/models/gstick-llama-demo}"
  [ -x "$lc/build/bin/llama-perplexity" ] || die "llama.cpp is not built: run '$0 build' first"
  /usr/bin/python3 -c 'import numpy' 2>/dev/null || die "gguf-py needs numpy: apt-get install python3-numpy"
  work="$cache/llama-cpp-peer"; mkdir -p "$work"
  local text="$model/heldout.txt" py="env PYTHONPATH=$lc/src/gguf-py /usr/bin/python3 $root/scripts/gguf_py_reference.py"
  log "model $model, text $text, llama.cpp $(git -C "$lc/src" rev-parse --short HEAD)"

  # 1. Our F32 export and gguf-py's F32 file of the same folder: llama.cpp must give the same perplexity.
  "$root/gstick" export --format gguf --type f32 --model "$model" --out "$work/ours-f32.gguf" --force >/dev/null
  $py write "$model" "$work/ref-f32.gguf" 2>/dev/null
  local p_ours p_ref
  p_ours="$(ppl "$work/ours-f32.gguf" "$text")"; p_ref="$(ppl "$work/ref-f32.gguf" "$text")"
  printf 'llama-perplexity  ours-f32 %s  gguf-py-f32 %s  relative difference %s\n' "$p_ours" "$p_ref" \
    "$(/usr/bin/python3 -c "print(f'{abs($p_ours-$p_ref)/$p_ref:.2e}')")"

  # 2. gstick eval on the folder and on our GGUF (its own protocol: non-overlapping windows, all tokens scored).
  local e_hf e_gg
  e_hf="$("$root/gstick" eval --model "$model" --ctx 256 --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["ppl"])')"
  e_gg="$("$root/gstick" eval --model "$work/ours-f32.gguf" --text "$text" --ctx 256 --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["ppl"])')"
  printf 'gstick eval       folder %s  ours-f32.gguf %s\n' "$e_hf" "$e_gg"

  # 3. Every block type: llama.cpp loads it; its perplexity beside ours on the same file.
  local t
  for t in f16 bf16 q8_0 q4_0 q4_1 q4_k q6_k; do
    "$root/gstick" export --format gguf --type "$t" --model "$model" --out "$work/ours-$t.gguf" --force >/dev/null
    printf 'llama-perplexity  ours-%-5s %s   gstick eval %s\n' "$t" "$(ppl "$work/ours-$t.gguf" "$text")" \
      "$("$root/gstick" eval --model "$work/ours-$t.gguf" --text "$text" --ctx 256 --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["ppl"])')"
  done

  # 4. A random GQA model (8 query heads, 2 key/value heads, untied output): llama.cpp loads our exports.
  $py random-gqa "$work/gqa" "$model"
  for t in f32 q4_0; do
    "$root/gstick" export --format gguf --type "$t" --model "$work/gqa" --out "$work/gqa-$t.gguf" --force >/dev/null
    printf 'random GQA %-5s   llama-perplexity %s   gstick eval %s\n' "$t" "$(ppl "$work/gqa-$t.gguf" "$text")" \
      "$("$root/gstick" eval --model "$work/gqa-$t.gguf" --text "$text" --ctx 256 --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["ppl"])')"
  done
  $py write "$work/gqa" "$work/gqa-ref-f32.gguf" 2>/dev/null
  printf 'random GQA f32    ours %s  gguf-py %s\n' "$(ppl "$work/gqa-f32.gguf" "$text")" "$(ppl "$work/gqa-ref-f32.gguf" "$text")"
}

# kld FILE.gguf: llama-perplexity's mean KL divergence (and PPL, same-top-p) of FILE against the F32 logits saved by kld_base.
kld() {
  local log="$work/kld-$(basename "$1").log"
  "$lc/build/bin/llama-perplexity" -m "$1" -f "$work/eval.txt" -c 256 -b 256 --chunks "${KLD_CHUNKS:-100}" -t 2 --no-repack \
    --kl-divergence-base "$work/base.kld" --kl-divergence > "$log" 2>&1 || die "llama-perplexity --kl-divergence failed on $1 (see $log)"
  printf '%s %s %s' "$(sed -n 's/^Mean    KLD: *\([0-9.]*\).*/\1/p' "$log")" "$(sed -n 's/^Mean PPL(Q) *: *\([0-9.]*\).*/\1/p' "$log")" \
    "$(sed -n 's/^Same top p: *\([0-9.]*\).*/\1/p' "$log")"
}

# KL divergence against the F32 model: our Q4_0 made from RTN/GPTQ/AWQ decisions (quantize --ggml-blocks, then
# export --from-quantized) vs llama-quantize's Q4_0 of the same F32 file. The text is split as the accuracy tests split
# it: calibration on the last 20 % of heldout.txt, evaluation (KLD) on the first 80 %. Tensors other than the Q4_0
# projections are the same in both files (checked): the kept-float ones go to Q8_0 (our Q8_0 bytes are ggml's), a
# row length 32 does not divide falls back to F16 in both; llama-quantize's default (output Q6_K) is listed too.
kld_run() {
  local model="${1:-$root/models/gstick-llama-demo}"
  [ -x "$lc/build/bin/llama-perplexity" ] && [ -x "$lc/build/bin/llama-quantize" ] || die "llama.cpp is not built: run '$0 build' first"
  if [ "$model" = random-gqa ]; then # run()'s random GQA model (8 query / 2 key-value heads, untied), the demo's vocabulary and text
    model="$cache/llama-cpp-peer/gqa"
    [ -f "$model/model.safetensors" ] || env PYTHONPATH="$lc/src/gguf-py" /usr/bin/python3 "$root/scripts/gguf_py_reference.py" random-gqa "$model" "$root/models/gstick-llama-demo"
  fi
  work="$cache/llama-cpp-peer/kld-$(basename "$model")"; mkdir -p "$work"
  log "model $model, llama.cpp $(git -C "$lc/src" rev-parse --short HEAD), KLD_CHUNKS=${KLD_CHUNKS:-100} windows of 256"
  /usr/bin/python3 - "$model/heldout.txt" "$work" <<'PY'
import sys
t = open(sys.argv[1], encoding="utf-8").read(); cut = int(len(t) * 0.8)
open(sys.argv[2] + "/eval.txt", "w", encoding="utf-8").write(t[:cut]); open(sys.argv[2] + "/calib.txt", "w", encoding="utf-8").write(t[cut:])
PY
  # layers whose inputs 32 does not divide stay float (llama-quantize stores them F16 too)
  local skip=(--skip lm_head)
  /usr/bin/python3 -c "import json,sys; c=json.load(open(sys.argv[1])); sys.exit(0 if c['intermediate_size'] % 32 else 1)" "$model/config.json" && skip+=(--skip down_proj)
  [ -f "$work/ours-f32.gguf" ] || "$root/gstick" export --format gguf --type f32 --model "$model" --out "$work/ours-f32.gguf" --force >/dev/null
  "$lc/build/bin/llama-perplexity" -m "$work/ours-f32.gguf" -f "$work/eval.txt" -c 256 -b 256 --chunks "${KLD_CHUNKS:-100}" -t 2 --no-repack \
    --kl-divergence-base "$work/base.kld" > "$work/base.log" 2>&1 || die "llama-perplexity (base logits) failed (see $work/base.log)"
  printf '%-28s %s\n' "F32 (base) PPL" "$(sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' "$work/base.log")"
  "$lc/build/bin/llama-quantize" "$work/ours-f32.gguf" "$work/lq-q4_0.gguf" q4_0 2 > "$work/lq.log" 2>&1 || die "llama-quantize failed (see $work/lq.log)"
  "$lc/build/bin/llama-quantize" --output-tensor-type q8_0 --token-embedding-type q8_0 "$work/ours-f32.gguf" "$work/lq-q4_0-q8out.gguf" q4_0 2 > "$work/lq2.log" 2>&1 \
    || die "llama-quantize failed (see $work/lq2.log)"
  printf '%-28s %s\n' "file" "KLD  PPL  same-top-p%"
  printf '%-28s %s\n' "llama-quantize q4_0" "$(kld "$work/lq-q4_0.gguf")"
  printf '%-28s %s\n' "llama-quantize q4_0 (q8 out)" "$(kld "$work/lq-q4_0-q8out.gguf")"
  local m
  for m in ${KLD_METHODS:-rtn gptq awq awq-gptq}; do
    rm -rf "$work/q-$m"
    "$root/gstick" quantize --model "$model" --method "$m" --bits 4 --ggml-blocks "${skip[@]}" --calib "$work/calib.txt" --calib-samples 64 --seq-len 256 \
      --out "$work/q-$m" --json > "$work/q-$m.json" 2>/dev/null || die "gstick quantize --method $m failed"
    "$root/gstick" export --format gguf --from-quantized "$work/q-$m" --float-type q8_0 --out "$work/ours-$m-q4_0.gguf" --force --json > "$work/ours-$m.json"
    printf '%-28s %s\n' "gstick $m q4_0 (q8 out)" "$(kld "$work/ours-$m-q4_0.gguf")"
  done
  # controlled: apart from the Q4_0 projections, every tensor of ours equals llama-quantize's byte for byte
  env PYTHONPATH="$lc/src/gguf-py" /usr/bin/python3 "$root/scripts/gguf_py_reference.py" same-except "$work/lq-q4_0-q8out.gguf" "$work/ours-gptq-q4_0.gguf" q4_0
}

# Speed against llama.cpp on the same files: the synthetic Llama of `gstick bench llm` (hidden 2048, 16 layers, GQA 32/4,
# intermediate 5632, vocabulary 32000 untied: 0.84 B parameters) written once as a folder, exported by us to GGUF F32 and
# Q8_0, plus our RTN W8A16 folder of it (lm_head int8 as well, as Q8_0 quantizes output.weight). Rounds alternate llama-bench (-t 2, pp128 and tg32) and `gstick bench llm
# --model FILE` (2 threads) on each file, ours with float activations and with int8-block ones
# (-Dgstick.int8-activations=decode, W8A8BlockKernels: llama.cpp's Q8_0 x Q8_0 numerics), so all see the same (shared)
# machine; the ratios are of the medians over rounds. GSTICK_NO_REPACK=1 (see build()) keeps llama-bench off the repacked AVX-512/AMX path, which dies with
# SIGILL on the development VM, as --no-repack does for llama-perplexity.
bench_run() {
  [ -x "$lc/build/bin/llama-bench" ] || die "llama-bench is not built: run '$0 build' first"
  local rounds="${BENCH_ROUNDS:-3}" layers="${BENCH_LAYERS:-16}"
  work="$cache/llama-cpp-peer/bench-${layers}l"; mkdir -p "$work"
  local syn="$work/synthetic"
  local opts="${GSTICK_JAVA_OPTS:--Xmx8g}"
  log "llama.cpp $(git -C "$lc/src" rev-parse --short HEAD), $rounds rounds, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  [ -f "$syn/config.json" ] || GSTICK_JAVA_OPTS="$opts" "$root/gstick" bench llm --save-synthetic "$syn" --layers "$layers" --kv-heads 4 --prompt 128 >/dev/null
  [ -f "$work/f32.gguf" ] || GSTICK_JAVA_OPTS="$opts" "$root/gstick" export --format gguf --type f32 --model "$syn" --out "$work/f32.gguf" --force >/dev/null
  [ -f "$work/q8_0.gguf" ] || GSTICK_JAVA_OPTS="$opts" "$root/gstick" export --format gguf --type q8_0 --model "$syn" --out "$work/q8_0.gguf" --force >/dev/null
  # like-for-like with Q8_0, which quantizes output.weight too: the W8A16 folder's lm_head is int8 (--head-bits 8)
  [ -f "$work/w8a16-h8/config.json" ] || GSTICK_JAVA_OPTS="$opts" "$root/gstick" quantize --model "$syn" --method rtn --bits 8 --head-bits 8 --out "$work/w8a16-h8" >/dev/null
  local r f
  : > "$work/results.tsv"
  for r in $(seq 1 "$rounds"); do
    for f in f32 q8_0; do
      GSTICK_NO_REPACK=1 "$lc/build/bin/llama-bench" -m "$work/$f.gguf" -t 2 -p 128 -n 32 -r "${BENCH_REPS:-2}" --poll "${BENCH_POLL:-50}" -o json > "$work/lb-$f-$r.json" 2> "$work/lb-$f-$r.log" \
        || die "llama-bench failed on $f.gguf (see $work/lb-$f-$r.log)"
      /usr/bin/python3 - "$work/lb-$f-$r.json" "$f" >> "$work/results.tsv" <<'PY'
import json, sys
for t in json.load(open(sys.argv[1])):
    kind = "prefill" if t["n_prompt"] > 0 else "decode"
    print(f"llama.cpp\t{sys.argv[2]}\t{kind}\t{t['avg_ts']}")
PY
      tail -n 2 "$work/results.tsv" | sed 's/^/  /' >&2
    done
    local run label f a8
    for run in f32:f32.gguf:false q8_0:q8_0.gguf:false q8_0-a8:q8_0.gguf:decode w8a16:w8a16-h8:false w8a16-a8:w8a16-h8:decode; do
      IFS=: read -r label f a8 <<< "$run"
      GSTICK_JAVA_OPTS="$opts -Dgstick.int8-activations=$a8" "$root/gstick" bench llm --model "$work/$f" --no-synthetic --prompt 128 --seconds "${BENCH_SECONDS:-6}" --json \
        > "$work/gs-$label-$r.json" 2> "$work/gs-$label-$r.log" || die "gstick bench llm failed on $f (see $work/gs-$label-$r.log)"
      /usr/bin/python3 - "$work/gs-$label-$r.json" "$label" >> "$work/results.tsv" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["models"][0]
print(f"gstick\t{sys.argv[2]}\tprefill\t{m['prefill_tokens_per_second']}")
print(f"gstick\t{sys.argv[2]}\tdecode\t{m['decode_tokens_per_second']}")
print(f"gstick\t{sys.argv[2]}\tbandwidth_fraction\t{m['bandwidth_fraction']}")
PY
      tail -n 3 "$work/results.tsv" | sed 's/^/  /' >&2
    done
  done
  /usr/bin/python3 - "$work/results.tsv" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
med = {}
for who, f, kind, v in rows: med.setdefault((who, f, kind), []).append(float(v))
m = {k: statistics.median(v) for k, v in med.items()}
n = len(med[("gstick", "f32", "decode")])
print(f"tokens/s, medians of {n} alternating rounds (2 threads; llama-bench pp128 / tg32, no repack)")
for who, f, kind in sorted(m): print(f"  {who:9s} {f:6s} {kind:18s} {m[(who, f, kind)]:8.2f}")
def ratio(a, b): return m[a] / m[b]
print(f"FP32 decode      ours/llama.cpp F32   {ratio(('gstick','f32','decode'), ('llama.cpp','f32','decode')):.2f}  (bar 0.9)")
print(f"FP32 prefill     ours/llama.cpp F32   {ratio(('gstick','f32','prefill'), ('llama.cpp','f32','prefill')):.2f}  (bar 0.8)")
for ours, what in (("q8_0", "Q8_0 file, float activations"), ("q8_0-a8", "Q8_0 file, int8-block activations"),
                  ("w8a16", "W8A16 folder, float activations"), ("w8a16-a8", "W8A16 folder, int8-block activations")):
    print(f"{what:36s} decode ours/llama.cpp Q8_0 {ratio(('gstick', ours, 'decode'), ('llama.cpp', 'q8_0', 'decode')):.2f} (bar 0.8),"
          f" ours/our FP32 {ratio(('gstick', ours, 'decode'), ('gstick', 'f32', 'decode')):.2f} (bar 1.8)")
PY
}

case "${1:-}" in
  build) build ;;
  bench) shift; bench_run "$@" ;;
  run) shift; run "$@" ;;
  kld) shift; kld_run "$@" ;;
  *) die "usage: $0 build | run [MODEL_DIR] | kld [MODEL_DIR|random-gqa] | bench" ;;
esac
