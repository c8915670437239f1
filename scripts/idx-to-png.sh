#!/usr/bin/env bash
# Writes Fashion-MNIST's IDX files (fetched by `gstick data fetch --only fashion-mnist`) as PNG class folders:
#   OUT/train/<class>/<n>.png, OUT/test/<class>/<n>.png  (class folders 0-tshirt-top ... 9-ankle-boot, sorted = label order)
# the layout `gstick train|qat|prune|ptq --data OUT` reads. Usage: scripts/idx-to-png.sh OUT [--limit-train N] [--limit-test N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 1 ]; then echo "usage: $0 OUT [--limit-train N] [--limit-test N]" >&2; exit 2; fi
out="$1"; shift
exec "$root/gstick" data export-png --out "$out" "$@"
