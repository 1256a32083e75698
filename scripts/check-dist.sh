#!/usr/bin/env bash
# The release as a student gets it, checked here: the x86_64 Linux wheel built by the release
# workflow's own script, installed into a fresh venv with no Rust on PATH, then `o11y --version`
# and `o11y demo` from there; the crate as `cargo install` gets it (`cargo package --list`,
# `cargo publish --dry-run`); and the binary's size.
#   scripts/check-dist.sh PYTHON   (a Python with maturin and ziglang installed)
set -euo pipefail
cd "$(dirname "$0")/.."
py="${1:?usage: scripts/check-dist.sh PYTHON}"
bindir="$(dirname "$py")"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "== wheel (scripts/build-dist.sh x86_64-unknown-linux-gnu)"
PATH="$bindir:$PATH" bash scripts/build-dist.sh x86_64-unknown-linux-gnu "$out/dist"
ls -l "$out/dist"
wheel="$(ls "$out"/dist/cruddur_o11y-*.whl)"
bin="target/x86_64-unknown-linux-gnu/release/o11y"
awk -v b="$(stat -c %s "$bin")" -v w="$(stat -c %s "$wheel")" \
  'BEGIN { printf "binary: %d bytes (%.1f MB); wheel: %d bytes (%.1f MB)\n", b, b / 1e6, w, w / 1e6 }'
case "$wheel" in
  *manylinux_2_17_x86_64*|*manylinux2014_x86_64*) ;;
  *) echo "the wheel is not tagged manylinux2014: $wheel" >&2; exit 1 ;;
esac

echo "== the wheel in a fresh venv, no Rust on PATH"
"$py" -m venv "$out/student"
"$out/student/bin/pip" install -q --disable-pip-version-check --no-index "$wheel"
clean_path="$out/student/bin:/usr/bin:/bin"
if PATH="$clean_path" command -v cargo >/dev/null; then
  echo "cargo is on the clean PATH" >&2; exit 1
fi
env -i PATH="$clean_path" HOME="$out/home" o11y --version
env -i PATH="$clean_path" HOME="$out/home" o11y --version | grep -Eq '^o11y [0-9]+\.[0-9]+\.[0-9]+ \([0-9a-f]{7,}|unknown commit\)'
# The test integration is in test builds only: the wheel's binary does not know it.
if env -i PATH="$clean_path" HOME="$out/home" O11Y_TESTKIT=canary o11y enable --help | grep -q canary; then
  echo "the wheel's o11y has the test integration (feature testkit)" >&2; exit 1
fi
# The demo with the repository's test venv as the backend's Python.
(cd "$out" && env -i PATH="$clean_path" HOME="$out/home" o11y --color never demo --python "$(cd "$bindir" && pwd)/python")

echo "== the crate"
cargo package --locked --list --allow-dirty >"$out/files"
cat "$out/files"
for must in src/main.rs templates/app/honeycomb_setup.py examples/cruddur/docker-compose.yml README.md LICENSE build.rs; do
  grep -qx "$must" "$out/files" || { echo "the crate lacks $must" >&2; exit 1; }
done
if grep -E '^(tests|benches|\.ci|\.github|scripts)/' "$out/files"; then
  echo "the crate ships test files" >&2; exit 1
fi
cargo publish --locked --dry-run --allow-dirty
echo "dist checks passed"
