#!/usr/bin/env bash
# Acceptance check for interruption (issue 12): runs quantize, train, train-lm and qat N times each, killing every
# run with kill -9 at a random moment, then lets one run of each finish. Passes when no temporary of ours is left
# (.NAME.gstick-tmp-PID-N / .NAME.gstick-old-PID-N, or quantize's .NAME.gstick-resume progress) and every output that
# exists is complete. quantize runs with --resume, so killed runs also exercise resuming.
#
#   scripts/kill9-check.sh [RUNS] [WORKDIR]     (default 20 runs, a fresh folder under /tmp)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-20}"
work="${2:-$(mktemp -d /tmp/gstick-kill9.XXXXXX)}"
mkdir -p "$work"
export GSTICK_JAVA_OPTS="${GSTICK_JAVA_OPTS:--Xmx3g}"
gstick="$root/gstick"
demo="$root/models/gstick-llama-demo"
"$gstick" --version >/dev/null   # build once, outside the timed runs

# name | max seconds before the kill | command (outputs under $work)
cmd_quantize=("$gstick" quantize --model "$demo" --method rtn --resume --out "$work/q-out")
cmd_train=("$gstick" train --epochs 2 --out "$work/train-out.safetensors" --overwrite)
# a tiny recipe: the run is mostly corpus loading and tokenizer training, then a 5-step model and the folder write
cat > "$work/recipe.json" <<'JSON'
{"seed":7,"corpus":"kill9 check","vocabSize":300,"hiddenSize":32,"intermediateSize":64,"numLayers":2,"numHeads":4,"numKvHeads":2,
 "contextLength":32,"tieEmbeddings":true,"ropeTheta":10000.0,"batchSize":4,"steps":5,"peakLr":0.01,"minLr":0.001,"warmupSteps":1,
 "weightDecay":0.0,"beta1":0.9,"beta2":0.95,"adamEps":1e-8,"gradClip":1.0,"evalEvery":0}
JSON
cmd_trainlm=("$gstick" train-lm --recipe "$work/recipe.json" --out "$work/lm-out" --overwrite)
cmd_qat=("$gstick" qat --epochs 1 --qat-epochs 1 --limit-train 300 --bench-seconds 0 --out "$work/qat-out")

complete() {   # is the output of $1 complete (or absent)?
  case "$1" in
    quantize) [ ! -e "$work/q-out" ] || { [ -s "$work/q-out/config.json" ] && [ -s "$work/q-out/model.safetensors" ] && grep -q quantization_config "$work/q-out/config.json"; } ;;
    train) [ ! -e "$work/train-out.safetensors" ] || [ "$(stat -c %s "$work/train-out.safetensors")" -gt 80000 ] ;;
    trainlm) [ ! -e "$work/lm-out" ] || { for f in config.json model.safetensors tokenizer.json recipe.json heldout.txt README.md; do [ -s "$work/lm-out/$f" ] || return 1; done; } ;;
    qat) [ ! -e "$work/qat-out" ] || [ "$(ls "$work/qat-out" | wc -l)" -eq 3 ] ;;
  esac
}

leftovers() { find "$work" -name '.*.gstick-tmp-*' -o -name '.*.gstick-old-*' -o -name '.*.gstick-resume' | sort; }

fail=0
kills_total=0
for name in quantize train trainlm qat; do
  declare -n cmd="cmd_$name"
  # kill moments spread over a whole run (durations measured on a loaded 2-core machine: ~15, 17, 53, 19 s)
  case "$name" in quantize) maxms=${KILL9_MAX_QUANTIZE:-15000} ;; train) maxms=${KILL9_MAX_TRAIN:-17000} ;; trainlm) maxms=${KILL9_MAX_TRAINLM:-53000} ;; qat) maxms=${KILL9_MAX_QAT:-19000} ;; esac
  killed=0
  for i in $(seq 1 "$runs"); do
    [ "$name" = quantize ] && rm -rf "$work/q-out"   # quantize never replaces: each try starts again (--resume: from its saved layers)
    "${cmd[@]}" >/dev/null 2>&1 &
    pid=$!
    ms=$(( 300 + RANDOM * RANDOM % maxms ))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    # the launcher execs the JVM, so $pid is the launcher before the JVM starts and the JVM after
    if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
    wait "$pid" 2>/dev/null
    if ! complete "$name"; then echo "FAIL: $name run $i left an incomplete output"; fail=1; fi
  done
  kills_total=$((kills_total + killed))
  before=$(leftovers | wc -l)
  rm -rf "$work/q-out"
  if ! "${cmd[@]}" >"$work/$name.log" 2>&1; then echo "FAIL: the finishing $name run failed:"; tail -5 "$work/$name.log"; fail=1; fi
  if ! complete "$name"; then echo "FAIL: $name output incomplete after a successful run"; fail=1; fi
  echo "$name: $killed of $runs runs killed with kill -9 at a random moment; temporaries before the finishing run: $before, after: $(leftovers | wc -l)"
done

left=$(leftovers)
if [ -n "$left" ]; then echo "FAIL: temporaries left:"; echo "$left"; fail=1; fi
echo "work folder: $work ($kills_total kills)"
if [ "$fail" = 0 ]; then echo "kill9-check: PASS"; else echo "kill9-check: FAIL"; fi
exit "$fail"
