#!/usr/bin/env bash
# make loadtest: a bounded headless Locust run of the mixed workload against `make prod-local`.
#
# Starts prod-local in the background when nothing answers on PROD_PORT (its log goes to
# instance/prod-local.log; the first start loads the scale set, which takes a few minutes),
# waits for /healthz, runs scripts/loadtest.py (table, PASS/FAIL per target, exit 1 on a miss)
# and stops the prod-local it started.
#   LOADTEST_USERS (110)  LOADTEST_SPAWN_RATE (5)  LOADTEST_RUN_TIME (85s: 22 s of ramp-up, not measured, then about a minute)
#   LOADTEST_WAIT ("0.2,0.8" seconds between a visitor's requests)  LOADTEST_CSV (keep CSVs)
#   LOADTEST_CLASSES (e.g. "PublicVisitor": only those visitors; default all three)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${VENV:-.venv}/bin"
PROD_PORT="${PROD_PORT:-8000}"
HOST="http://127.0.0.1:$PROD_PORT"
started=""

up() { curl -fsS -o /dev/null --max-time 5 "$HOST/healthz"; }

cleanup() {
    if [ -n "$started" ]; then
        echo "loadtest: stopping the prod-local it started (pid $started)"
        kill -TERM "$started" 2>/dev/null || true
        wait "$started" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

if ! up 2>/dev/null; then
    mkdir -p instance
    echo "loadtest: starting prod-local in the background (log: instance/prod-local.log)"
    scripts/prod-local.sh > instance/prod-local.log 2>&1 &
    started=$!
    for i in $(seq 1800); do
        up 2>/dev/null && break
        if ! kill -0 "$started" 2>/dev/null; then
            echo "loadtest: prod-local stopped; the end of its log:" >&2
            tail -30 instance/prod-local.log >&2
            exit 2
        fi
        [ $((i % 30)) -eq 0 ] && echo "loadtest: waiting for $HOST ($i s)..."
        sleep 1
    done
    up || { echo "loadtest: $HOST did not come up" >&2; exit 2; }
fi

SIGNINS="${LOADTEST_SIGNINS:-instance/load-scale.json}"
[ -f "$SIGNINS" ] || { echo "loadtest: no sign-ins at $SIGNINS (run flask load-scale)" >&2; exit 2; }
export LOADTEST_SIGNINS="$SIGNINS"

args=(--host "$HOST" --users "${LOADTEST_USERS:-110}" --spawn-rate "${LOADTEST_SPAWN_RATE:-5}"
      --run-time "${LOADTEST_RUN_TIME:-85s}")
[ -n "${LOADTEST_CSV:-}" ] && args+=(--csv "$LOADTEST_CSV")
# shellcheck disable=SC2086
"$BIN/python" scripts/loadtest.py "${args[@]}" ${LOADTEST_CLASSES:-}
