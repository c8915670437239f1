#!/usr/bin/env bash
# Fetches the real data sets into data-cache/ (ignored by git). Idempotent; checks sha256. Filled in by the data work.
set -euo pipefail
echo "fetch-data: nothing to fetch yet"
