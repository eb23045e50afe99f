#!/bin/sh
test_description='autodev serve and worker: start, loopback rule, health, stop on SIGTERM and SIGINT'
. "$(dirname "$0")/lib.sh"

test_expect_success 'serve needs a store: without one it says to run init' '
    test_expect_code 1 autodev serve --listen 127.0.0.1:0 2>err &&
    test_one_error err "no database at .* \(run .autodev init.\)"
'

test_expect_success 'bad options are usage errors' '
    autodev init >/dev/null &&
    test_expect_code 2 autodev serve --listen nohost 2>err &&
    test_one_error err "invalid listen address .nohost." &&
    test_expect_code 2 autodev serve --listen 127.0.0.1:99999 2>err &&
    test_one_error err "invalid port" &&
    test_expect_code 2 autodev serve --workers 300 2>err &&
    test_one_error err "--workers" &&
    test_expect_code 2 autodev worker --listen 127.0.0.1:0 2>err &&
    test_one_error err "option of autodev serve, not of worker" &&
    test_expect_code 2 autodev worker --workers 0 2>err
'

test_expect_success 'a non-loopback address is refused while no API token exists' '
    test_expect_code 1 autodev serve --listen 0.0.0.0:0 2>err &&
    test_one_error err "refusing to listen on .0.0.0.0:0.: it is not a loopback address and no API token exists" &&
    autodev token create --role admin --name ops >admin 2>/dev/null &&
    rm -f port &&
    ("$AUTODEV_BIN" serve --listen 0.0.0.0:0 --port-file port --workers 0 2>err0 & echo $! >pid0; wait) &
    wait_for "test -s port" 60 &&
    curl -s "http://127.0.0.1:$(cat port)/v1/health" >h &&
    test "$(json_get "j[\"status\"]" <h)" = ok &&
    kill -TERM "$(cat pid0)" &&
    wait_for "! kill -0 $(cat pid0) 2>/dev/null" 60
'

test_expect_success 'serve listens on loopback; health and the OpenAPI document need no token' '
    start_server --workers 1 &&
    grep -q "serving http://127.0.0.1:$(cat port)/ (1 worker)" serve.err &&
    test "$(api - GET /v1/health)" = 200 &&
    test "$(jbody "j[\"status\"]")" = ok &&
    test "$(jbody "j[\"schema\"] == j[\"schema_latest\"]")" = true &&
    test "$(api - GET /v1/openapi.json)" = 200 &&
    test "$(jbody "j[\"openapi\"]")" = 3.1.0 &&
    grep -qi "^content-type: application/json" headers &&
    test "$(api - GET /v1/agents)" = 401 &&
    grep -qi "^www-authenticate: bearer" headers
'

test_expect_success 'a second server on the same port fails to start, saying why' '
    test_expect_code 1 autodev serve --listen "127.0.0.1:$(cat port)" 2>err &&
    test_one_error err "cannot listen on .127.0.0.1:$(cat port)."
'

test_expect_success 'the workers of serve run queued jobs' '
    autodev jobs enqueue store.check >job &&
    wait_for "autodev jobs list --status done --json | json_get \"len(j)\" | grep -qx 1" 60 &&
    grep -q "worker 1: job $(cat job) store.check done" serve.err
'

test_expect_success 'SIGTERM: serve stops and exits 0' '
    stop_server &&
    grep -q "SIGTERM: stopping" serve.err &&
    grep -q "autodev: stopped" serve.err
'

test_expect_success 'SIGINT stops it too' '
    start_server --workers 0 &&
    grep -q "(0 workers)" serve.err &&
    stop_server INT &&
    grep -q "SIGINT: stopping" serve.err
'

test_expect_success 'autodev worker runs jobs without a server and stops on SIGTERM' '
    autodev jobs enqueue store.check >j1 && autodev jobs enqueue store.check >j2 &&
    ("$AUTODEV_BIN" worker --workers 2 --poll 50 2>werr & echo $! >wpid; wait $!; echo $? >wrc) &
    wait_for "autodev jobs list --status done --json | json_get \"len(j)\" | grep -qx 3" 60 &&
    kill -TERM "$(cat wpid)" &&
    wait_for "test -s wrc" 60 &&
    test "$(cat wrc)" = 0 &&
    grep -q "2 workers running" werr &&
    grep -q "job $(cat j1) store.check done" werr &&
    grep -q "job $(cat j2) store.check done" werr &&
    grep -q "autodev: stopped" werr
'

test_done
