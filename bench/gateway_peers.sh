#!/usr/bin/env bash
# The gateway matrix of the shared harness, in one run: the direct path (the physical limit),
# ImageDesigner from this checkout, and LiteLLM's proxy (the peer), each pinned to core 0 with
# wrk and the mock upstream on core 1. Output: one table row per scenario and run.
# Usage: bench/gateway_peers.sh [HARNESS_DIR]   (default: ../shared/bench next to this checkout)
# Env:   PYTHON (a Python with httptools + uvloop for the mock), LITELLM (the litellm executable;
#        skipped when unset), DURATION, REPEAT, SCENARIOS (run_gateway_bench.sh's variables),
#        EXTRA_SERVE_ARGS (e.g. "--workers 2" with GATEWAY_CPUS=0,1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=$(cd "${1:-$ROOT/../shared/bench}" && pwd)
export PYTHON=${PYTHON:-python3}
cd "$HARNESS"
taskset -c 1 "$PYTHON" mock_upstream.py --port 9100 >/dev/null 2>&1 & MOCK=$!
trap 'kill $MOCK 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:9100/__mock/stats >/dev/null && break; sleep 0.2; done
echo "# $(uname -m), $(nproc) cores, $(python3 --version), $(date -u +%FT%TZ)"
./run_gateway_bench.sh http://127.0.0.1:9100 gpt-image-1 "" direct@1
./run_imagedesigner.sh "$ROOT"
if [ -n "${LITELLM:-}" ]; then LITELLM=$LITELLM ./run_litellm.sh; fi
