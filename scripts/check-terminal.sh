#!/usr/bin/env bash
# Checks what a person at a terminal sees (issue 13):
#  1. in a pseudo-terminal (script(1)), `./gstick train` on a multi-second epoch draws its progress bar while the epoch
#     is still running, not only when it ends (a stderr filter that waits for newlines would hold the \r redraws);
#  2. no command prints a JVM warning ("WARNING:", sun.misc.Unsafe, incubator modules) on stdout or stderr.
# Needs the built CLI and the fetched Fashion-MNIST (./gstick test does both). Prints "N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export GSTICK_JAVA_OPTS="${GSTICK_JAVA_OPTS:--Xmx3g}"
g="$root/gstick"
passed=0 failed=0
fail() { failed=$((failed + 1)); echo "terminal-check: FAILED: $*"; }

# 1. the bar in a pty, before the epoch ends. ResNet-8 on 3,000 Fashion-MNIST images: several seconds on two cores.
ts="$tmp/typescript"
script -q -f -e -c "$g train --model resnet8 --dataset fashion-mnist --epochs 1 --limit-train 3000 --limit-test 500" "$ts" >/dev/null 2>&1 &
pid=$!
start=$(date +%s.%N) seen="" ended=""
while kill -0 "$pid" 2>/dev/null; do
  now=$(date +%s.%N)
  if [ -z "$seen" ] && grep -qa $'\repoch 1/1 \[' "$ts" 2>/dev/null && ! grep -qa 'epoch 1/1 done' "$ts"; then seen=$now; fi
  if [ -z "$ended" ] && grep -qa 'epoch 1/1 done' "$ts" 2>/dev/null; then ended=$now; fi
  sleep 0.1
done
wait "$pid" || fail "gstick train in a pty exited with $?"
[ -n "$ended" ] || ended=$(date +%s.%N)
if [ -n "$seen" ] && awk -v s="$seen" -v e="$ended" 'BEGIN { exit !(e - s >= 0.5) }'; then
  passed=$((passed + 1))
  awk -v s="$seen" -v e="$ended" -v b="$start" 'BEGIN { printf "terminal-check: bar on screen %.1f s after start, %.1f s before the epoch ended\n", s - b, e - s }'
else
  fail "the progress bar was not on the terminal while the epoch ran (seen: ${seen:-never}, epoch ended: $ended); output:"
  tr '\r' '\n' < "$ts" | tail -5
fi
if grep -qaE 'WARNING|sun\.misc\.Unsafe|incubator' "$ts"; then fail "JVM warning in the terminal: $(grep -aE 'WARNING|Unsafe|incubator' "$ts" | head -2)"; else passed=$((passed + 1)); fi

# 2. no JVM warning on either stream, for commands that load every dependency (ONNX Runtime, protobuf, OpenBLAS)
run() {
  local name="$1"; shift
  if ! "$g" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then fail "gstick $* exited non-zero:"; cat "$tmp/$name.err"; return; fi
  if grep -qE 'WARNING|sun\.misc\.Unsafe|incubator' "$tmp/$name.out" "$tmp/$name.err"; then
    fail "gstick $*: JVM warning: $(grep -hE 'WARNING|Unsafe|incubator' "$tmp/$name.out" "$tmp/$name.err" | head -2)"
  else
    passed=$((passed + 1))
  fi
}
run qat qat --epochs 1 --qat-epochs 1 --limit-train 300 --limit-test 100 --bench-seconds 0 --out "$tmp/qat" --json
run prune prune --model lenet --epochs 1 --kf-epochs 1 --ft-epochs 1 --limit-train 300 --limit-test 100 --bench-seconds 0 --out "$tmp/prune"
run quantize quantize --method rtn --out "$tmp/rtn" --json
run gemm bench gemm --sizes 32 --threads 1 --seconds 0.05 --warmup 0.05 --json
# a usage error: exit code 2 and the message on stderr, nothing on stdout
set +e; "$g" train --no-such-option >"$tmp/usage.out" 2>"$tmp/usage.err"; rc=$?; set -e
if [ "$rc" = 2 ] && grep -q "Unknown option: '--no-such-option'" "$tmp/usage.err" && [ ! -s "$tmp/usage.out" ]; then passed=$((passed + 1)); else fail "usage error: exit $rc"; fi

echo "terminal-check: $passed passed, $failed failed"
[ "$failed" = 0 ]
