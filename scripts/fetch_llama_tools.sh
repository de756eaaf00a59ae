#!/usr/bin/env bash
# llama.cpp's own GGUF converters (convert_hf_to_gguf.py with its conversion/ package, convert_lora_to_gguf.py,
# gguf-py) ship inside the llama-cpp-python source distribution. Fetch that sdist at the pinned version from
# the package registry and keep just those files in .cache/ (git-ignored, never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
version=$(sed -n 's/^llama-cpp-python==//p' requirements.txt)
dest=".cache/llama.cpp-tools/$version"
[ -f "$dest/convert_hf_to_gguf.py" ] && [ -d "$dest/conversion" ] && [ -d "$dest/gguf-py" ] && exit 0
echo "setup: fetching llama.cpp's GGUF converters (llama-cpp-python $version source distribution)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$VENV/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
  "llama-cpp-python==$version" -d "$tmp"
prefix="llama_cpp_python-$version/vendor/llama.cpp"
tar -xzf "$tmp"/llama_cpp_python-"$version".tar.gz -C "$tmp" \
  "$prefix/convert_hf_to_gguf.py" "$prefix/convert_lora_to_gguf.py" "$prefix/conversion" "$prefix/gguf-py"
rm -rf "$dest" && mkdir -p "$(dirname "$dest")"
mv "$tmp/$prefix" "$dest"
echo "setup: llama.cpp converters in $dest"
