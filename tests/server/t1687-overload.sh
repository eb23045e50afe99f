#!/bin/sh
test_description='The connection and header caps answer in JSON: every connection of the headroom past the cap gets 503 overloaded; headers past the cap 431, past libmicrohttpd memory its own 431'
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: a store, a token, the server with a cap of 4 connections' '
    autodev init >/dev/null &&
    make_token agent >agent &&
    start_server --workers 0 --max-connections 4 --max-header 4096 --timeout 10
'

# libmicrohttpd takes 16 + cap/8 connections past the cap (src/server/server.c,
# CAP_HEADROOM): each of them is told 503, none is dropped silently.
test_expect_success 'cap + 1 .. cap + 16: each one 503 overloaded with Retry-After, then closed' '
    $HTTPPY cap "$(base)" --connections 4 --extra 16 >cap.json &&
    test "$(json_get "j[\"statuses\"]" <cap.json)" = "[503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503]" &&
    test "$(json_get "j[\"body\"][\"error\"][\"code\"]" <cap.json)" = overloaded &&
    test "$(json_get "j[\"retry_after\"]" <cap.json)" = 1 &&
    test "$(json_get "j[\"connection\"]" <cap.json)" = close &&
    test "$(json_get "j[\"after\"]" <cap.json)" = 200
'

test_expect_success 'under the cap nothing is refused: 4 connections in turn, each served' '
    $HTTPPY cap "$(base)" --connections 3 --extra 1 >under.json &&
    test "$(json_get "j[\"status\"]" <under.json)" = 200
'

test_expect_success 'headers: over the cap 431 in JSON; past the connection memory (2 x cap + 32 KiB) libmicrohttpd answers 431 itself, in HTML' '
    pad=$(head -c 6000 /dev/zero | tr "\0" a) &&
    test "$(curl -s -o body -w "%{http_code}" -H "X-Padding: $pad" "$(base)/v1/health")" = 431 &&
    error_is header_too_large &&
    huge=$(head -c 60000 /dev/zero | tr "\0" a) &&
    test "$(curl -s -o body -w "%{http_code}" -H "X-Padding: $huge" "$(base)/v1/health")" = 431 &&
    grep -q "<html>" body &&
    test "$(api "$(cat agent)" GET /v1/health)" = 200 &&
    stop_server
'

test_done
