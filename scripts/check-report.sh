#!/usr/bin/env bash
# Checks the --report HTML pages in a real browser: runs train, qat (SimQAT and SLB), prune, ptq, quantize and sensitivity with
# --report on small settings, opens every page in headless Chromium (Debian's `chromium` package, installed here when
# missing) and requires every <img> to have loaded (complete and naturalWidth > 0). A page with a deliberately broken
# image must be reported as broken, so the check itself is known to fail when it should.
# Skips (exit 0, says so) only when chromium is absent and cannot be installed.
# Prints "report-check: N passed, M failed".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d /tmp/gstick-report-check.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

if ! command -v chromium >/dev/null 2>&1; then
  echo "report-check: chromium missing; installing Debian's chromium package"
  if ! { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >"$tmp/apt.log" 2>&1; }; then
    echo "report-check: SKIPPED: chromium is not installed and 'apt-get install chromium' failed: $(tail -n 1 "$tmp/apt.log" 2>/dev/null)"
    exit 0
  fi
fi

passed=0 failed=0
# images_of PAGE_DIR: prints ok:/broken: per <img> of PAGE_DIR/index.html as loaded by Chromium.
images_of() {
  local dir="$1" copy="$tmp/view-$RANDOM"
  cp -r "$dir" "$copy"
  sed 's#</body>#<script>addEventListener("load",()=>{document.body.setAttribute("data-images",[...document.images].map(i=>(i.complete\&\&i.naturalWidth>0?"ok:":"broken:")+i.getAttribute("src")).join(" ")||"none")})</script></body>#' \
    "$copy/index.html" > "$copy/check.html"
  chromium --headless --no-sandbox --disable-gpu --allow-file-access-from-files --virtual-time-budget=10000 \
    --dump-dom "file://$copy/check.html" 2>/dev/null | grep -o 'data-images="[^"]*"' | sed 's/^data-images="//; s/"$//'
}
# check NAME PAGE_DIR: every image of the page loaded, and there is at least one.
check() {
  local name="$1" dir="$2" result expected
  expected=$(grep -o '<img ' "$dir/index.html" | wc -l)
  result="$(images_of "$dir")"
  if [ "$expected" -ge 1 ] && [ -n "$result" ] && ! grep -q 'broken:' <<<"$result" && [ "$(wc -w <<<"$result")" -eq "$expected" ]; then
    passed=$((passed + 1)); echo "report-check: ok: $name: $expected images loaded ($result)"
  else
    failed=$((failed + 1)); echo "report-check: FAILED: $name: expected $expected loaded images, Chromium saw: '${result:-nothing}'"
  fi
}

export GSTICK_JAVA_OPTS="${GSTICK_JAVA_OPTS:--Xmx3g}"
g="$root/gstick"
run() { local name="$1"; shift; if ! "$g" "$@" >"$tmp/$name.log" 2>&1; then cat "$tmp/$name.log"; failed=$((failed + 1)); echo "report-check: FAILED: gstick $*"; return 1; fi; }
run train train --epochs 3 --report "$tmp/train" && check train "$tmp/train"
run simqat qat --algo simqat --epochs 2 --qat-epochs 1 --bench-seconds 0 --out "$tmp/qat-out" --report "$tmp/simqat" && check "qat simqat" "$tmp/simqat"
run slb qat --algo slb --weight-bits 2 --epochs 2 --qat-epochs 2 --bench-seconds 0 --out "$tmp/slb-out" --report "$tmp/slb" && check "qat slb" "$tmp/slb"
run prune prune --model resnet8 --width 8 --epochs 2 --ft-epochs 1 --bench-seconds 0 --out "$tmp/prune-out" --report "$tmp/prune" && check prune "$tmp/prune"
run quantize quantize --method rtn --out "$tmp/rtn-out" --report "$tmp/quantize" && check "quantize rtn" "$tmp/quantize"
run ptq ptq --epochs 2 --out "$tmp/ptq-out" --report "$tmp/ptq" && check "ptq cnn" "$tmp/ptq"
run sensitivity sensitivity --calib-samples 2 --seq-len 64 --report "$tmp/sensitivity" && check sensitivity "$tmp/sensitivity"
# the slb page must carry the temperature chart, the prune page the channels chart, the quantize page the per-layer error
for want in "slb:temperature.png" "prune:channels.png" "quantize:layer-error.png" "sensitivity:sensitivity.png" "ptq:layer-sqnr.png" "train:loss.png" "train:accuracy.png"; do
  page="${want%%:*}" img="${want#*:}"
  if [ -f "$tmp/$page/$img" ] && grep -q "src=\"$img\"" "$tmp/$page/index.html"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "report-check: FAILED: $page page lacks $img"; fi
done

# negative control: a missing image must be seen as broken
mkdir -p "$tmp/broken" && printf '<!DOCTYPE html><html><body><img src="absent.png" alt="x"></body></html>\n' > "$tmp/broken/index.html"
if grep -q 'broken:absent.png' <<<"$(images_of "$tmp/broken")"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "report-check: FAILED: a missing image was not detected"; fi

echo "report-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
