#!/usr/bin/env bash
# make prod-local: the production stack on this machine, for load and fault tests.
#
# Ensures the machine's PostgreSQL and Redis are up, creates the database (PROD_DATABASE,
# default marketplace_prod) when missing, migrates it, loads the scale set once
# (`flask load-scale`, skipped when already loaded), then runs in the foreground gunicorn
# (MARKETPLACE_ENV=production, http://127.0.0.1:$PROD_PORT) and an RQ worker. Ctrl+C or
# SIGTERM stops both.
#
# Settings (environment overrides):
#   PROD_PORT (8000)  PROD_DATABASE (marketplace_prod)  WEB_CONCURRENCY (4)
#   GUNICORN_THREADS (4)  PG_SERVER (postgresql://postgres@127.0.0.1:5432)
#   SCALE_ARGS (extra load-scale options, e.g. "--challenges 1000 --suppliers 5000")
# The SECRET_KEY is generated once into instance/prod-local.env (instance/ is gitignored).
# SESSION_COOKIE_SECURE=0 because this is plain http. The login rate limits are raised
# (LOGIN_RATE_LIMIT_IP / LOGIN_RATE_LIMIT_ACCOUNT) because a load test signs in many accounts
# from one IP; set them in the environment to test the real limits.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${VENV:-.venv}/bin"
PROD_PORT="${PROD_PORT:-8000}"
PROD_DATABASE="${PROD_DATABASE:-marketplace_prod}"
PG_SERVER="${PG_SERVER:-postgresql://postgres@127.0.0.1:5432}"
ENV_FILE=instance/prod-local.env

say() { echo "prod-local: $*" >&2; }

# PostgreSQL ---------------------------------------------------------------------------------
if ! pg_isready -q -d "$PG_SERVER/postgres"; then
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    for _ in $(seq 30); do pg_isready -q -d "$PG_SERVER/postgres" && break; sleep 1; done
fi
pg_isready -q -d "$PG_SERVER/postgres" || { say "PostgreSQL is not answering at $PG_SERVER"; exit 1; }
if [ -z "$(psql "$PG_SERVER/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$PROD_DATABASE'")" ]; then
    say "creating database $PROD_DATABASE"
    psql "$PG_SERVER/postgres" -qc "CREATE DATABASE \"$PROD_DATABASE\""
fi

# Redis --------------------------------------------------------------------------------------
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

# Settings -----------------------------------------------------------------------------------
mkdir -p instance
if [ ! -f "$ENV_FILE" ]; then
    (umask 077; echo "SECRET_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))')" > "$ENV_FILE")
    say "generated a SECRET_KEY in $ENV_FILE"
fi
set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a
unset MAIL_SERVER
export MARKETPLACE_ENV=production
export DATABASE_URL="$PG_SERVER/$PROD_DATABASE"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/2}"
export SESSION_COOKIE_SECURE=0
export BIND="127.0.0.1:$PROD_PORT"
export BASE_URL="http://127.0.0.1:$PROD_PORT"
export WEB_CONCURRENCY="${WEB_CONCURRENCY:-4}"
export GUNICORN_THREADS="${GUNICORN_THREADS:-4}"
export LOGIN_RATE_LIMIT_IP="${LOGIN_RATE_LIMIT_IP:-100000 per minute}"
export LOGIN_RATE_LIMIT_ACCOUNT="${LOGIN_RATE_LIMIT_ACCOUNT:-100000 per minute}"
export LOG_LEVEL="${LOG_LEVEL:-WARNING}"

FLASK=("$BIN/flask" --app marketplace)
"${FLASK[@]}" db upgrade
# shellcheck disable=SC2086
"${FLASK[@]}" load-scale ${SCALE_ARGS:-}

# Processes ----------------------------------------------------------------------------------
pids=()
stop() {
    trap - INT TERM EXIT
    say "stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    # gunicorn's graceful timeout is 30 s; whatever still runs after 40 s is killed.
    for _ in $(seq 40); do
        alive=""
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ -z "$alive" ] && break
        sleep 1
    done
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            say "pid $pid ignored SIGTERM; killing it"
            pkill -KILL -P "$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    wait || true
}
trap stop INT TERM EXIT

if "${FLASK[@]}" worker --help >/dev/null 2>&1; then
    "${FLASK[@]}" worker &
    pids+=($!)
    say "RQ worker started (pid $!)"
else
    say "no 'flask worker' command yet: running without the RQ worker"
fi
"$BIN/gunicorn" -c gunicorn.conf.py wsgi:app &
pids+=($!)
say "gunicorn: $WEB_CONCURRENCY workers x $GUNICORN_THREADS threads on http://$BIND (pid $!)"
# Stop everything when either process ends.
wait -n "${pids[@]}" || true
