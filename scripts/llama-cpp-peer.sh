#!/usr/bin/env bash
# Peer check against llama.cpp: builds it once (CPU only) from the llama.cpp git bundle inside npm
# node-llama-cpp (the same package scripts/fetch-data.sh takes the vocabulary GGUFs from) into
# data-cache/llama.cpp, then runs its tools on our GGUF exports beside `gstick eval`.
# Not a test: tests never need llama.cpp.
#
#   scripts/llama-cpp-peer.sh build        # fetch + cmake build (slow: ~30-60 min on 2 loaded cores)
#   scripts/llama-cpp-peer.sh run [MODEL]  # exports, llama-perplexity, gguf-py reference, KLD (see below)
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
  if [ -x "$lc/build/bin/llama-perplexity" ] && [ -x "$lc/build/bin/llama-quantize" ]; then
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
  log "building llama.cpp $(git -C "$lc/src" rev-parse --short HEAD) (CPU only, -j2)"
  cmake -S "$lc/src" -B "$lc/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DGGML_OPENMP=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
  cmake --build "$lc/build" -j2 --target llama-perplexity llama-quantize llama-cli llama-tokenize
  log "built: $lc/build/bin"
}

case "${1:-}" in
  build) build ;;
  *) die "usage: $0 build|run" ;;
esac
