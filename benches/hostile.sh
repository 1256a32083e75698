#!/usr/bin/env bash
# listen under hostile input, measured: 1,000 hostile requests from 40 threads (gzip bombs of
# 4 million spans, span cycles, escape sequences, oversized log batches, JSON object bombs)
# plus 200 half-open connections; prints listen's peak RSS and how soon a valid span is
# printed afterwards. The same run is a test (tests/hardening.rs) that fails past 100 MB or 1 s.
# Then one listen per case of tests/listen_bounds.rs (JSON bombs to Rollbar, the Logs API and
# the sampling API; log names and empty events; deep OTLP values; idle requests and 1,024 idle
# connections), each printing its peak RSS; those tests fail past 64 MB.
#   bash benches/hostile.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
for _ in $(seq "$runs"); do
  cargo test --quiet --test hardening listen_holds_up_against_a_thousand_hostile_requests_at_once \
    -- --nocapture 2>&1 | grep -o 'hostile:.*'
  cargo test --quiet --test listen_bounds -- --nocapture 2>&1 | grep -o 'hostile:.*'
done
