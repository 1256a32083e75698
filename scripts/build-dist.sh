#!/usr/bin/env bash
# What a release ships for one target: the wheel (maturin; manylinux2014 through zig on Linux,
# so it installs on glibc 2.17 and later) and the plain binary, packed, with its SHA-256.
# The release workflow runs this for every target; .ci/run runs it for x86_64 Linux.
#   scripts/build-dist.sh TARGET [OUT_DIR]
# Needs maturin (and ziglang on Linux) on PATH or in the active Python.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/build-dist.sh TARGET [OUT_DIR]}"
out="${2:-dist}"
mkdir -p "$out"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"

maturin_args=(build --release --locked --target "$target" --out "$out")
case "$target" in
  *-linux-gnu) maturin_args+=(--compatibility manylinux2014 --zig) ;;
esac
maturin "${maturin_args[@]}"

# The same binary maturin put into the wheel, as a plain download.
exe=""
case "$target" in *windows*) exe=".exe" ;; esac
bin="target/$target/release/o11y$exe"
name="o11y-$version-$target"
stage="$(mktemp -d)"
mkdir "$stage/$name"
cp "$bin" README.md LICENSE "$stage/$name/"
case "$target" in
  *windows*) (cd "$stage" && 7z a -tzip -bd "$name.zip" "$name" >/dev/null) && asset="$name.zip" ;;
  *) tar -C "$stage" -czf "$stage/$name.tar.gz" "$name" && asset="$name.tar.gz" ;;
esac
mv "$stage/$asset" "$out/"
rm -rf "$stage"
(
  cd "$out"
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$asset" >"$asset.sha256"
  else
    shasum -a 256 "$asset" >"$asset.sha256"
  fi
)
echo "built $out/$asset and the wheel for $target"
