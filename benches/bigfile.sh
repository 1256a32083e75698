#!/usr/bin/env bash
# plan, apply and doctor on a grown app.py, measured: the bundled example with app.py padded
# with routes to SIZE megabytes; prints each command's peak RSS and wall time.
#   bash benches/bigfile.sh [SIZE_MB...]      (default: 1 1.9 20)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release
bin="$PWD/target/release/o11y"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 1.9 20)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for mb in "${sizes[@]}"; do
  dir="$work/p$mb"
  cp -r examples/cruddur "$dir"
  python3 - "$dir/backend-flask/app.py" "$mb" <<'PY'
import sys
path, mb = sys.argv[1], float(sys.argv[2])
text = open(path).read()
n, parts, size = 0, [text], len(text)
while size < mb * 1_000_000:
    route = (f"\n\n@app.route(\"/api/generated/{n}\", methods=['GET'])\n"
             f"def generated_{n}():\n"
             f"    data = {{\"n\": {n}, \"name\": \"generated route {n}\"}}\n"
             f"    if data[\"n\"] % 2:\n        return data, 200\n    return {{}}, 404\n")
    parts.append(route)
    size += len(route)
    n += 1
open(path, "w").write("".join(parts))
PY
  for cmd in "plan" "apply --yes" "doctor --timeout 60"; do
    /usr/bin/time -o "$work/time" -f "%M %e" "$bin" --project "$dir" --color never $cmd >/dev/null 2>&1 || true
    out=$(tail -1 "$work/time")
    read -r kib secs <<<"$out"
    printf 'bigfile: app.py %4s MB  %-8s peak RSS %6.0f MB  %6.2f s\n' "$mb" "${cmd%% *}" "$((kib / 1024))" "$secs"
  done
done
