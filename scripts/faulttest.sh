#!/usr/bin/env bash
# make faulttest: the fault tests (tests/fault) against real gunicorn, PostgreSQL and Redis.
#
# They start their own gunicorn (2 workers), a private redis-server and an SMTP sink, use a
# database of their own (FAULT_DATABASE_URL, default fault_test on the machine's PostgreSQL,
# dropped and created), and stop the machine's PostgreSQL cluster for about 4 seconds
# (pg_ctlcluster; FAULT_PG_CLUSTER, default 15/main). FAULT_RESTART_POSTGRES=0 skips that one.
set -euo pipefail
cd "$(dirname "$0")/.."

export FAULT_DATABASE_URL="${FAULT_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/fault_test}"
export FAULT_RESTART_POSTGRES="${FAULT_RESTART_POSTGRES:-1}"
export FAULT_PG_CLUSTER="${FAULT_PG_CLUSTER:-15/main}"
export REQUIRE_REDIS_TESTS="${REQUIRE_REDIS_TESTS:-1}"

fail() { echo "faulttest: $*" >&2; exit 2; }
command -v redis-server >/dev/null || fail "redis-server is not installed"
if [ "$FAULT_RESTART_POSTGRES" = "1" ]; then
  command -v pg_ctlcluster >/dev/null \
    || fail "pg_ctlcluster is missing (set FAULT_RESTART_POSTGRES=0 to skip the restart test)"
  [ "$(id -u)" = 0 ] || [ "$(id -un)" = postgres ] \
    || fail "restarting PostgreSQL needs root or the postgres user (or FAULT_RESTART_POSTGRES=0)"
fi
.venv/bin/python - <<'PY' || fail "PostgreSQL is not answering for ${FAULT_DATABASE_URL%/*}"
import os, re, psycopg
url = re.sub(r"/[^/]*$", "/postgres", os.environ["FAULT_DATABASE_URL"])
psycopg.connect(url, connect_timeout=5).close()
PY

started=$(date +%s)
status=0
.venv/bin/pytest tests/fault -v -p no:cacheprovider ${PYTEST_ARGS:-} || status=$?
echo "faulttest: $([ $status = 0 ] && echo PASSED || echo FAILED) in $(( $(date +%s) - started ))s"
exit $status
