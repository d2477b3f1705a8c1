#!/usr/bin/env bash
# Starts Debian's PostgreSQL cluster for the tests (installed by .ci/run: apt-get install
# postgresql), creates the `verifier` role and the `verifier_test` database if they are missing,
# and prints the database's URL. Each test creates its own database from it. Idempotent.
set -euo pipefail
# Only the URL goes to standard output: whatever the cluster tools print (pg_ctlcluster's
# warnings, psql's notices) goes to standard error, so that `$(bash scripts/postgres.sh)` is
# the URL and nothing else.
exec 3>&1 1>&2
command -v pg_lsclusters >/dev/null || { echo "[postgres] postgresql is not installed" >&2; exit 1; }
version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
pg_lsclusters -h | awk '{print $2}' | grep -qx main || pg_createcluster "$version" main >/dev/null
# The server started here outlives this script: it must not inherit the pipe that
# `$(bash scripts/postgres.sh)` reads (fd 3), or the caller waits for it forever, nor the
# caller's output (make's, CI's). Its own log is in /var/log/postgresql; pg_ctlcluster's
# words go to a file shown on failure.
if ! pg_lsclusters -h | awk '$2 == "main" {print $4}' | grep -qx online; then
  log="$(mktemp)"
  if ! pg_ctlcluster "$version" main start </dev/null >"$log" 2>&1 3>&-; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
fi
port="$(pg_lsclusters -h | awk '$2 == "main" {print $3; exit}')"
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
as_postgres psql -p "$port" -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'verifier'" | grep -q 1 \
  || as_postgres psql -p "$port" -qc "CREATE ROLE verifier LOGIN CREATEDB PASSWORD 'verifier'"
as_postgres psql -p "$port" -qtAc "SELECT 1 FROM pg_database WHERE datname = 'verifier_test'" | grep -q 1 \
  || as_postgres createdb -p "$port" -O verifier verifier_test
echo "postgres://verifier:verifier@127.0.0.1:$port/verifier_test" >&3
