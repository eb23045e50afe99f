# The server tests' library, over tests/cli/test-lib.sh: start the real
# binary on an ephemeral loopback port, call it with curl, stop it.
#
# Each test of test-lib.sh runs in a subshell, so the server's port, pid
# and exit status live in files of $TRASH, not in variables:
#
#   start_server [SERVE-OPTIONS...]  autodev serve --listen 127.0.0.1:0 in the
#                                    background (stderr in $TRASH/serve.err)
#   base                             prints http://127.0.0.1:PORT
#   stop_server [SIGNAL]             SIGTERM (or SIGNAL), then waits: fails unless
#                                    it exits 0 (with SIGKILL: unless it died of it)
#   api TOKEN METHOD PATH [BODY [TYPE]]
#                                    one request; prints the status, the body goes
#                                    to $TRASH/body (headers to $TRASH/headers).
#                                    TOKEN "-" sends none; BODY "@FILE" sends a file;
#                                    TYPE defaults to application/json
#   jbody EXPR                       EXPR over the JSON of the last body (json_get)
#   error_is CODE                    the last body is {"error": {"code": CODE, "message"}}
#   make_token ROLE [TENANT]         prints a new token of ROLE (the CLI, --tenant TENANT)
#
# client.py (beside this file) is the Python client for what curl does not
# do well: many event streams, slow clients.
SERVER_DIR=$(cd "$(dirname "$0")" && pwd)
. "$SERVER_DIR/../cli/test-lib.sh"

HTTPPY="/usr/bin/python3 $SERVER_DIR/client.py"
trap 'test -s "$TRASH/serve.pid" && kill -9 "$(cat "$TRASH/serve.pid")" 2>/dev/null' EXIT

start_server() {
    rm -f "$TRASH/port" "$TRASH/serve.pid" "$TRASH/serve.rc"
    (
        "$AUTODEV_BIN" serve --listen 127.0.0.1:0 --port-file "$TRASH/port" "$@" \
            2>"$TRASH/serve.err" &
        echo $! >"$TRASH/serve.pid"
        wait $!
        echo $? >"$TRASH/serve.rc"
    ) &
    if ! wait_for 'test -s "$TRASH/port" || test -s "$TRASH/serve.rc"' 60 ||
        ! test -s "$TRASH/port"; then
        echo "start_server: no port; stderr:" >&2
        cat "$TRASH/serve.err" >&2
        return 1
    fi
}

base() {
    echo "http://127.0.0.1:$(cat "$TRASH/port")"
}

stop_server() {
    sig=${1:-TERM}
    test -s "$TRASH/serve.pid" || return 0
    kill -"$sig" "$(cat "$TRASH/serve.pid")" 2>/dev/null
    wait_for 'test -s "$TRASH/serve.rc"' 120 || return 1
    rc=$(cat "$TRASH/serve.rc")
    rm -f "$TRASH/serve.pid"
    if [ "$sig" = KILL ] || [ "$sig" = 9 ]; then
        test "$rc" = 137 && return 0
    elif [ "$rc" = 0 ]; then
        return 0
    fi
    echo "stop_server: serve exited with $rc; stderr:" >&2
    cat "$TRASH/serve.err" >&2
    return 1
}

api() {
    tok=$1 method=$2 path=$3 body=${4-} type=${5:-application/json}
    set -- -s -o "$TRASH/body" -D "$TRASH/headers" -w '%{http_code}' -X "$method"
    if [ "$tok" != - ]; then
        set -- "$@" -H "Authorization: Bearer $tok"
    fi
    if [ -n "$body" ]; then
        set -- "$@" -H "Content-Type: $type" --data-binary "$body"
    fi
    curl "$@" "$(base)$path"
}

jbody() {
    json_get "$1" <"$TRASH/body"
}

make_token() {
    "$AUTODEV_BIN" ${2:+--tenant "$2"} token create --role "$1" 2>/dev/null
}

error_is() {
    test "$(jbody 'j["error"]["code"]')" = "$1" &&
    test -n "$(jbody 'j["error"]["message"]')"
}
