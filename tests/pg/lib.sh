# The PostgreSQL tests' library, over tests/server/lib.sh.
#
# tests/run-all.sh starts a throwaway cluster (tests/pg/pg-start) and exports
# AUTODEV_TEST_PG (the owner's URL). Each script gets a schema of its own in
# the cluster's database, and AUTODEV_DB points at it, so every autodev
# process of the script shares one database:
#
#   pg_skip_all            when there is no cluster: one skipped test, saying why
#   pgq SQL                runs SQL as the cluster's superuser in the script's
#                          schema (row-level security does not apply), prints
#                          the rows unaligned, tab-separated
#   start_serve N ARGS...  autodev serve number N on port 0 in the background
#                          (stderr in serveN.err, pid in serveN.pid, port in serveN.port)
#   start_worker N ARGS... autodev worker number N in the background
#                          (stderr in workerN.err, pid in workerN.pid)
#   stop_pid FILE          SIGTERM to the pid in FILE, waits for it to go
#   $PG_SUPER_URL          the superuser's URL of the schema (for matrix.py, mutant.py
#                          through tests/server/psqldb.py; $AUTODEV_PSQL names psql)
PG_DIR=$(cd "$(dirname "$0")" && pwd)
. "$PG_DIR/../server/lib.sh"
HTTPPY="/usr/bin/python3 $PG_DIR/../server/client.py"

PG_SCHEMA=
if [ -n "${AUTODEV_TEST_PG:-}" ]; then
    PG_SCHEMA="t_$(basename "$0" .sh | tr -c 'a-z0-9\n' _)_$$"
    PG_HOST=$(printf '%s' "$AUTODEV_TEST_PG" | sed -n 's/.*[?&]host=\([^&]*\).*/\1/p')
    PG_PSQL=
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/psql" ] && PG_PSQL="$d/psql"
    done
    [ -n "$PG_PSQL" ] || PG_PSQL=psql
    export AUTODEV_DB="$AUTODEV_TEST_PG&options=-csearch_path%3D$PG_SCHEMA"
    # The superuser's URL of the same schema, for helpers that read rows directly.
    PG_SUPER_URL=$(printf '%s' "$AUTODEV_DB" | sed 's/user=[^&]*/user=postgres/')
    export AUTODEV_PSQL="$PG_PSQL"
    "$PG_PSQL" -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -U postgres -d autodev \
        -c "CREATE SCHEMA $PG_SCHEMA AUTHORIZATION autodev_owner" >/dev/null
    trap 'for p in "$TRASH"/*.pid; do test -s "$p" && kill -9 "$(cat "$p")" 2>/dev/null; done
          "$PG_PSQL" -X -q -h "$PG_HOST" -U postgres -d autodev \
              -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1' EXIT
fi

pg_skip_all() {
    if [ -z "$PG_SCHEMA" ]; then
        test_skip "$test_description" "no PostgreSQL cluster (AUTODEV_TEST_PG unset; tests/run-all.sh starts one with tests/pg/pg-start)"
        test_done
    fi
}

pgq() {
    "$PG_PSQL" -X -q -A -t -F "	" -v ON_ERROR_STOP=1 -h "$PG_HOST" -U postgres -d autodev \
        -c "SET search_path TO $PG_SCHEMA" -c "$1"
}

start_serve() {
    n=$1
    shift
    rm -f "$TRASH/serve$n.port"
    "$AUTODEV_BIN" serve --listen 127.0.0.1:0 --port-file "$TRASH/serve$n.port" "$@" \
        2>"$TRASH/serve$n.err" &
    echo $! >"$TRASH/serve$n.pid"
    wait_for "test -s \"$TRASH/serve$n.port\"" 60
}

start_worker() {
    n=$1
    shift
    "$AUTODEV_BIN" worker "$@" 2>"$TRASH/worker$n.err" &
    echo $! >"$TRASH/worker$n.pid"
}

stop_pid() {
    p=$(cat "$1") && kill -TERM "$p" 2>/dev/null
    wait_for "! kill -0 $p 2>/dev/null" 120 && rm -f "$1"
}
