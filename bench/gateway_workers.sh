#!/usr/bin/env bash
# Does `serve --workers 2` scale? Scenario b of the shared harness (64 connections, 2 KB image,
# POST /v1/images/generations through the OpenAI provider to the harness's mock upstream) against
# `serve --workers 1` and then `serve --workers 2`, with the same settings: PostgreSQL (a fresh
# database), Redis (shared rate limits, job and key-cache notifications), a fresh data folder,
# one user and API key, rate limiting on (high enough not to refuse), request log on.
#
# Placement, honestly: the machine this was written for has 2 cores.
#   --workers 1: the server pinned to core 0, wrk and the mock upstream on core 1 (as the harness).
#   --workers 2: the server on cores 0,1 AND wrk + the mock on cores 0,1: the load generator
#                competes with the gateway, so the ratio is a lower bound of what two dedicated
#                cores would give. PostgreSQL and Redis are never pinned (they share the cores
#                in both runs; with --workers 1 they may use core 1 next to wrk).
#
# Usage: bench/gateway_workers.sh HARNESS_DIR
# Env:   PYTHON (a Python with httptools + uvloop for the mock; default python3),
#        IMAGEDESIGNER_BIN (default: this checkout's .venv/bin/imagedesigner),
#        PGHOST/PGPORT/PGUSER (psql's; default 127.0.0.1/5432/postgres), BENCH_DB (database
#        dropped and created afresh; default imagedesigner_bench_workers),
#        BENCH_REDIS (default redis://127.0.0.1:6379/0; its db is flushed first),
#        PORT (8300), MODEL (openai/gpt-image-1.5), WORKERS ("1 2"), DURATION (15), REPEAT (2),
#        ROUNDS (1: how many times the whole "1 2" sequence runs, interleaved, so a neighbour's
#        load drifts into both), EXTRA_SERVE_ARGS, WAIT_IDLE (seconds to wait, before each server starts, for the rest of
#        the machine to be idle: under 0.15 cores busy over 3 s; default 0, no wait).
# Output: the harness's table row per run; per server, the cores the whole machine and the
# gateway's processes kept busy on average over that server's part (warm-up and settling
# included), so a loaded machine shows, and the gateway's CPU per served request; then req/s,
# p50, p99, errors and CPU per request (means over the runs) and the ratio of req/s.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=$(cd "${1:?usage: bench/gateway_workers.sh HARNESS_DIR}" && pwd)
export PYTHON=${PYTHON:-python3}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
DB=${BENCH_DB:-imagedesigner_bench_workers} REDIS=${BENCH_REDIS:-redis://127.0.0.1:6379/0}
PORT=${PORT:-8300} MODEL=${MODEL:-openai/gpt-image-1.5} WORKERS=${WORKERS:-1 2}
export DURATION=${DURATION:-15} REPEAT=${REPEAT:-2} SCENARIOS=b
ROUNDS=${ROUNDS:-1}
ID=${IMAGEDESIGNER_BIN:-$ROOT/.venv/bin/imagedesigner}
DATA=$(mktemp -d) MOCK='' GW=''
stop_gateway() {
  if [ -n "$GW" ]; then
    kill "$GW" 2>/dev/null || true
    wait "$GW" 2>/dev/null || true
    GW=''
  fi
}
cleanup() {
  stop_gateway
  [ -n "$MOCK" ] && kill "$MOCK" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

# the mock upstream, pinned to core 1 (re-pinned to both cores for --workers 2)
taskset -c 1 "$PYTHON" "$HARNESS/mock_upstream.py" --port 9100 >"$DATA/mock.log" 2>&1 & MOCK=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:9100/__mock/stats >/dev/null && break; sleep 0.2; done
curl -sf http://127.0.0.1:9100/__mock/stats >/dev/null || { cat "$DATA/mock.log"; exit 1; }

# a fresh database and Redis db; the same settings for every run
psql -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
redis-cli -u "$REDIS" flushdb >/dev/null
export IMAGEDESIGNER_DATA_DIR=$DATA/data
export IMAGEDESIGNER_DATABASE_URL="postgresql+asyncpg://$PGUSER@$PGHOST:$PGPORT/$DB"
export IMAGEDESIGNER_STORAGE_URI=$REDIS
IMAGEDESIGNER_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export IMAGEDESIGNER_SECRET_KEY
export IMAGEDESIGNER_OPENAI_BASE_URL=http://127.0.0.1:9100/v1 OPENAI_API_KEY=sk-mock-not-a-real-key
export IMAGEDESIGNER_RATE_LIMIT=10000000/minute IMAGEDESIGNER_DEFAULT_MODEL=$MODEL
printf 'correct horse battery staple 1\n' | "$ID" users create --email bench@example.org --password-stdin >/dev/null
BENCH_KEY=$("$ID" keys create --email bench@example.org 2>/dev/null | grep -oE 'idk_[A-Za-z0-9_-]{20,}' | head -1)
export BENCH_KEY
ulimit -n "$(ulimit -Hn)"

echo "# $(uname -m), $(nproc) cores, $(git -C "$ROOT" rev-parse --short HEAD), $(date -u +%FT%TZ)"
echo "# PostgreSQL $(psql -tA -d postgres -c 'show server_version'), Redis $(redis-cli -u "$REDIS" info server | sed -n 's/^redis_version:\(.*\)\r$/\1/p')"
echo "# load before: $(uptime | sed 's/.*load average/load average/')"
busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
tree_ticks() {  # CPU ticks of process $1 and its descendants
  ps -e -o pid=,ppid= | awk -v r="$1" '{pp[$1]=$2}
    END {for (p in pp) {q=p; while (q != r && (q in pp) && q > 1) q=pp[q]; if (q == r) print p}}' |
    while read -r p; do sed 's/.*) //' "/proc/$p/stat" 2>/dev/null; done | awk '{s+=$12+$13} END {print s+0}'
}
wait_idle() {
  local t a
  for ((t = 0; t < ${WAIT_IDLE:-0}; t += 3)); do
    a=$(busy_ticks); sleep 3
    (($(busy_ticks) - a < 3 * $(getconf CLK_TCK) * 15 / 100)) && { echo "# machine idle after ${t} s"; return; }
  done
  ((${WAIT_IDLE:-0} > 0)) && echo "# machine still busy after ${WAIT_IDLE} s: measuring anyway"
  return 0
}
ROWS=$DATA/rows  # per run: workers req/s p50 p99 errors served, and per server: cpu workers gateway_ms
: >"$ROWS"
for round in $(seq "$ROUNDS"); do
  for n in $WORKERS; do
    if ((n == 1)); then cpus=0 load=1; else cpus=$(seq -s, 0 $(($(nproc) - 1))) load=$cpus; fi
    taskset -pc "$load" "$MOCK" >/dev/null
    wait_idle
    taskset -c "$cpus" "$ID" serve --host 127.0.0.1 --port "$PORT" --workers "$n" ${EXTRA_SERVE_ARGS:-} \
      >"$DATA/serve-$n.log" 2>&1 & GW=$!
    for _ in $(seq 150); do  # every worker has started (each logs its start-up)
      up=$(grep -c 'Application startup complete' "$DATA/serve-$n.log" || true)
      ((up >= n)) && curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
      sleep 0.2
    done
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$DATA/serve-$n.log"; exit 1; }
    echo "# round $round, --workers $n: gateway cpus=$cpus, wrk + mock cpus=$load$( ((n > 1)) && echo ' (shared with the gateway)')"
    t0=$(date +%s.%N) m0=$(busy_ticks) g0=$(tree_ticks "$GW")
    out=$(LOAD_CPUS=$load "$HARNESS/run_gateway_bench.sh" "http://127.0.0.1:$PORT" "$MODEL" "$GW" "workers=$n@$cpus")
    t1=$(date +%s.%N) m1=$(busy_ticks) g1=$(tree_ticks "$GW")
    echo "$out"
    # columns: label sc conns up_ms png_B run req/s p50_ms p99_ms errors served ...
    awk -v n="$n" '$2 == "b" {print "run", n, $7, $8, $9, $10, $11}' <<<"$out" >>"$ROWS"
    served=$(awk '$2 == "b" {s += $11} END {print s + 0}' <<<"$out")
    awk -v t0="$t0" -v t1="$t1" -v m=$((m1 - m0)) -v g=$((g1 - g0)) -v hz="$(getconf CLK_TCK)" \
      -v c="$(nproc)" -v s="$served" -v n="$n" -v rows="$ROWS" 'BEGIN {t = t1 - t0
      printf "# cpu over %.0f s: machine %.2f of %d cores busy, gateway %.2f, the rest (wrk, mock, PostgreSQL, Redis, others) %.2f; gateway %.2f ms of CPU per served request (warm-up included)\n",
        t, m / hz / t, c, g / hz / t, (m - g) / hz / t, g * 1000 / hz / s
      printf "cpu %s %.3f\n", n, g * 1000 / hz / s >> rows}'
    stop_gateway
  done
done
echo "# load after: $(uptime | sed 's/.*load average/load average/')"
echo "# means over $ROUNDS round(s) x $REPEAT run(s) of ${DURATION} s"
awk -v order="$WORKERS" '
  $1 == "run" {k[$2]++; r[$2] += $3; p[$2] += $4; q[$2] += $5; e[$2] += $6}
  $1 == "cpu" {kc[$2]++; c[$2] += $3}
  END {
    printf "%-8s %9s %9s %9s %7s %12s\n", "workers", "req/s", "p50_ms", "p99_ms", "errors", "cpu_ms/req"
    m = split(order, w, " ")
    for (i = 1; i <= m; i++) { x = w[i]; if (!(x in k)) continue
      printf "%-8s %9.1f %9.2f %9.2f %7d %12.2f\n", x, r[x] / k[x], p[x] / k[x], q[x] / k[x], e[x], c[x] / kc[x] }
    if (m >= 2 && (w[1] in k) && (w[2] in k))
      printf "ratio req/s workers=%s / workers=%s: %.2fx (target >= 1.7x; with %s workers wrk and the mock share the gateway'"'"'s cores)\n",
        w[2], w[1], (r[w[2]] / k[w[2]]) / (r[w[1]] / k[w[1]]), w[2]
  }' "$ROWS"
