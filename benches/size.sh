#!/usr/bin/env bash
# The release build, measured: cold build time on this machine, binary size, wheel size.
#   bash benches/size.sh            (a cold release build in a scratch target folder)
# Needs maturin and ziglang (tests/requirements.txt) in ./.venv.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export CARGO_TARGET_DIR="$scratch/target"
start=$(date +%s)
cargo build --release --locked --quiet
end=$(date +%s)
bin="$CARGO_TARGET_DIR/release/o11y"
echo "cold release build: $((end - start)) s on $(nproc) cores"
echo "binary: $(stat -c %s "$bin") bytes"
PATH="$PWD/.venv/bin:$PATH" maturin build --release --locked --compatibility manylinux2014 --zig \
  --target x86_64-unknown-linux-gnu --out "$scratch/dist" --quiet 2>/dev/null || \
  PATH="$PWD/.venv/bin:$PATH" maturin build --release --locked --compatibility manylinux2014 --zig \
  --target x86_64-unknown-linux-gnu --out "$scratch/dist"
echo "wheel: $(stat -c %s "$scratch"/dist/*.whl) bytes"
echo "crates in the build: $(cargo tree --locked --prefix none -e normal --target x86_64-unknown-linux-gnu | sort -u | wc -l)"
