#!/usr/bin/env bash
# The latency distribution of the harness's scenario b (64 connections, 2 KB image), which the
# harness's table gives only as p50 and p99: the gateway from this checkout served as
# run_imagedesigner.sh serves it (core 0; wrk and the mock upstream on core 1), a 3 s warm-up,
# then wrk --latency for DURATION seconds, and the gateway's CPU time (all its threads) per request. Any IMAGEDESIGNER_* variable set by the caller is
# passed on (e.g. IMAGEDESIGNER_DATABASE_URL for PostgreSQL, IMAGEDESIGNER_KEY_CACHE_TTL).
# Usage: bench/gateway_tail.sh [HARNESS_DIR]   (default: ../shared/bench next to this checkout)
# Env:   PYTHON (a Python with httptools + uvloop for the mock), DURATION (12), PORT (8310),
#        CONNS (64), LABEL (printed with the figures).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=$(cd "${1:-$ROOT/../shared/bench}" && pwd)
ID=${IMAGEDESIGNER_BIN:-$ROOT/.venv/bin/imagedesigner}
PORT=${PORT:-8310} CONNS=${CONNS:-64} DURATION=${DURATION:-12}
DATA=$(mktemp -d) MOCK='' GW=''
stop() {
  [ -n "$GW" ] && kill "$GW" 2>/dev/null || true
  [ -n "$MOCK" ] && kill "$MOCK" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$DATA"
}
trap stop EXIT
cd "$HARNESS"
if ! curl -sf http://127.0.0.1:9100/__mock/stats >/dev/null; then
  taskset -c 1 "${PYTHON:-python3}" mock_upstream.py --port 9100 >/dev/null 2>&1 & MOCK=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:9100/__mock/stats >/dev/null && break; sleep 0.2; done
fi
curl -sf -X POST "http://127.0.0.1:9100/__mock/config?latency_ms=0&image_bytes=2028" >/dev/null
export IMAGEDESIGNER_DATA_DIR=$DATA IMAGEDESIGNER_OPENAI_BASE_URL=http://127.0.0.1:9100/v1
export OPENAI_API_KEY=sk-mock-not-a-real-key IMAGEDESIGNER_RATE_LIMIT=10000000/minute
export BENCH_MODEL=openai/gpt-image-1.5 IMAGEDESIGNER_DEFAULT_MODEL=openai/gpt-image-1.5
printf 'correct horse battery staple 1\n' | "$ID" users create --email bench@example.org --password-stdin >/dev/null
BENCH_KEY=$("$ID" keys create --email bench@example.org 2>/dev/null | grep -oE 'idk_[A-Za-z0-9_-]{20,}' | head -1)
export BENCH_KEY
ulimit -n "$(ulimit -Hn)"
taskset -c 0 "$ID" serve --host 127.0.0.1 --port "$PORT" >"$DATA/serve.log" 2>&1 & GW=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
URL=http://127.0.0.1:$PORT/v1/images/generations
taskset -c 1 wrk -t2 -c"$CONNS" -d3s --timeout 30s -s images.lua "$URL" >/dev/null
sleep 1
ticks() { sed 's/.*) //' "/proc/$GW/stat" | awk '{print $12 + $13}'; }  # utime + stime, all threads
before=$(ticks)
out=$(taskset -c 1 wrk -t2 -c"$CONNS" -d"${DURATION}"s --timeout 30s --latency -s images.lua "$URL")
after=$(ticks)
pct() { awk -v p="$1%" '$1 == p {print $2}' <<<"$out"; }
rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
n=$(awk '/requests in/ {print $1}' <<<"$out")
cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN {printf "%.3f", t / hz * 1000 / n}')
echo "${LABEL:-$(git -C "$ROOT" rev-parse --short HEAD)} b: $rps req/s; p50 $(pct 50) p75 $(pct 75) p90 $(pct 90) p99 $(pct 99); gateway CPU $cpu ms per request"
