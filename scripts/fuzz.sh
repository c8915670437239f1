#!/usr/bin/env bash
# Longer fuzzing of the file readers (issue 12): runs each Jazzer target of FormatReadersFuzzTest in turn, ROUNDS
# times (each round = the target's maxDuration, 5 min; the corpus grows in core/.cifuzz-corpus between rounds).
# A crash makes the round fail; Jazzer has then written the input under
# core/src/test/resources/org/goldenstick/ptq/FormatReadersFuzzTestInputs/<target>/ - fix the reader and commit the
# input: the ordinary test run replays it from then on.
#
#   scripts/fuzz.sh [ROUNDS] [TARGET...]     (default: 1 round of safetensors gguf onnx tokenizerJson configJson)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/java-env.sh"
rounds="${1:-1}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors gguf onnx tokenizerJson configJson)
cd "$root"
./mvnw -B -q install -DskipTests -pl core >/dev/null || exit 1
fail=0
for t in "${targets[@]}"; do
  for r in $(seq 1 "$rounds"); do
    echo "fuzz: $t, round $r of $rounds"
    if ! JAZZER_FUZZ=1 ./mvnw -B -q -pl core test -Dtest="FormatReadersFuzzTest#$t" -Dsurefire.failIfNoSpecifiedTests=false \
        > "core/target/fuzz-$t-$r.log" 2>&1; then
      echo "fuzz: FINDING in $t (see core/target/fuzz-$t-$r.log; the input is kept under core/src/test/resources)"
      grep -m 3 -E "FuzzTestFinding|Exception" "core/target/fuzz-$t-$r.log"
      fail=1
      break
    fi
    grep -h -E "^Done [0-9]+ runs" "core/target/fuzz-$t-$r.log" | tail -1
  done
done
exit "$fail"
