#!/usr/bin/env bash
# Training-step speed, ours against PyTorch (Debian's python3-torch, installed here when missing), on the same
# architectures, batch sizes and thread count, in alternating rounds: `gstick bench train` then the PyTorch script,
# ROUNDS times. Prints each round and the median ratio ours/PyTorch per case. Never part of the tests.
#   scripts/bench-train-peer.sh [ROUNDS] [extra gstick bench train options, e.g. --models lenet --seconds 4]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${1:-3}"; shift || true
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "bench-train-peer: installing Debian's python3-torch"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi
threads=2 models="lenet,resnet20,mobilenetv2" inputs="1x28x28,3x32x32" seconds=6
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --threads) threads="${args[$((i + 1))]}" ;;
    --models) models="${args[$((i + 1))]}" ;;
    --inputs) inputs="${args[$((i + 1))]}" ;;
    --seconds) seconds="${args[$((i + 1))]}" ;;
  esac
done
tmp="$(mktemp -d /tmp/gstick-bench-train.XXXXXX)"; trap 'rm -rf "$tmp"' EXIT
echo "bench-train-peer: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); threads $threads"
for ((r = 1; r <= rounds; r++)); do
  "$root/gstick" bench train --json --rounds 1 "$@" > "$tmp/ours-$r.json"
  "$py" "$root/scripts/peer/torch_train_bench.py" --threads "$threads" --models "$models" --inputs "$inputs" --seconds "$seconds" > "$tmp/torch-$r.jsonl"
  echo "round $r done"
done
"$py" - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
rows = {}
for r in range(1, rounds + 1):
    for c in json.load(open(f"{tmp}/ours-{r}.json"))["cases"]:
        rows.setdefault((c["model"], c["input"]), {}).setdefault("ours", []).append(c)
    for line in open(f"{tmp}/torch-{r}.jsonl"):
        c = json.loads(line)
        rows.setdefault((c["model"], c["input"]), {}).setdefault("torch", []).append(c)
print(f"{'model':12} {'input':8} {'ours img/s':>11} {'torch img/s':>12} {'ratio':>6} {'simqat cost':>12} {'int8 x':>7}  per-round ratios")
for (m, i), v in rows.items():
    ours, torch = v.get("ours", []), v.get("torch", [])
    ratios = [o["fp32_train_images_per_second"] / t["train_images_per_second"] for o, t in zip(ours, torch)]
    med = lambda xs: statistics.median(xs) if xs else float("nan")
    if ours and torch and ours[0]["parameters"] != torch[0]["parameters"]:
        print(f"WARNING: {m} {i}: parameter counts differ (ours {ours[0]['parameters']}, torch {torch[0]['parameters']})")
    print(f"{m:12} {i:8} {med([o['fp32_train_images_per_second'] for o in ours]):11.0f} {med([t['train_images_per_second'] for t in torch]):12.0f} "
          f"{med(ratios):6.2f} {med([o['simqat_step_cost'] for o in ours]):12.2f} {med([o['int8_speedup'] for o in ours]):7.2f}  "
          + " ".join(f"{x:.2f}" for x in ratios))
PY
