#!/bin/sh
test_description='libcurl, libpq and libmicrohttpd are loaded on first use, not at start'
. "$(dirname "$0")/test-lib.sh"

# loaded LIB: did the dynamic loader's trace (LD_DEBUG=files, in err) open LIB?
loaded() {
    grep -q "file=$1[^ ]* \[0\];  *needed by\|file=$1[^ ]* \[0\];  *dynamically loaded by\|calling init: [^ ]*/$1" err
}

test_expect_success 'the binary does not link them' '
    ldd "$AUTODEV_BIN" >libs &&
    ! grep -E "libcurl|libpq|libmicrohttpd|libgnutls|libkrb5|libldap" libs
'

test_expect_success 'a command that needs none of them loads none' '
    autodev init >/dev/null 2>&1 &&
    LD_DEBUG=files autodev episode list >/dev/null 2>err &&
    grep -q "calling init" err &&
    ! loaded libcurl && ! loaded libpq && ! loaded libmicrohttpd
'

test_expect_success 'a postgres:// store loads libpq, and only it' '
    (
        export LD_DEBUG=files AUTODEV_DB="postgres://nobody@127.0.0.1:1/none" &&
        test_must_fail autodev db status >/dev/null 2>err
    ) &&
    loaded libpq && ! loaded libcurl && ! loaded libmicrohttpd &&
    grep -q "cannot connect to PostgreSQL" err
'

test_expect_success 'serve loads libmicrohttpd' '
    # The binary itself in the background (not the autodev function, whose
    # subshell would take the kill and leave the server running).
    LD_DEBUG=files "$AUTODEV_BIN" serve --listen 127.0.0.1:0 --workers 0 >/dev/null 2>err &
    pid=$! &&
    for i in $(seq 1 100); do grep -q "serving http" err && break; sleep 0.1; done &&
    kill $pid && wait $pid;
    ! kill -0 $pid 2>/dev/null &&
    grep -q "serving http" err &&
    loaded libmicrohttpd && ! loaded libpq
'

test_done
