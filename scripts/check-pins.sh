#!/usr/bin/env bash
# The packages `o11y apply` writes into requirements.txt resolve at once: pip, asked to install
# the patched example's requirements from the package index, picks one version of each with no
# backtracking ("pip is looking at multiple versions of ..."). Needs the package index; CI
# (.ci/run) runs it after the tests.
#   scripts/check-pins.sh PYTHON
set -euo pipefail
cd "$(dirname "$0")/.."
py="${1:?usage: scripts/check-pins.sh PYTHON}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r examples/cruddur "$work/p"
cargo run --quiet --locked -- --project "$work/p" apply --yes >"$work/apply.log" 2>&1 || {
  cat "$work/apply.log" >&2
  echo "check-pins: o11y apply failed on the example" >&2
  exit 1
}
start=$(date +%s)
"$py" -m pip install --dry-run --ignore-installed --disable-pip-version-check \
  -r "$work/p/backend-flask/requirements.txt" >"$work/pip.log" 2>&1 || {
  cat "$work/pip.log"
  echo "check-pins: the patched requirements do not resolve" >&2
  exit 1
}
if grep -q "looking at multiple versions" "$work/pip.log"; then
  grep "looking at multiple versions" "$work/pip.log" >&2
  echo "check-pins: pip backtracks on the versions o11y writes; update them (and tests/requirements.txt) to a release train that resolves at once" >&2
  exit 1
fi
echo "check-pins: the patched requirements resolve with no backtracking in $(( $(date +%s) - start )) s ($(grep -c '^Collecting' "$work/pip.log") packages)"
