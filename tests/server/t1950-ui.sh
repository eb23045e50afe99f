#!/bin/sh
test_description='The review web UI is served from the binary: headers (CSP, nosniff, ETag), no token needed for its files; the read-only research routes'
. "$(dirname "$0")/lib.sh"

hdr() {
    tr -d '\r' <"$TRASH/headers" | grep -i "^$1:" | cut -d' ' -f2-
}

test_expect_success 'setup: a store, tokens of two tenants, the server' '
    autodev init >/dev/null &&
    make_token reviewer >rev && make_token reviewer other >rev2 &&
    start_server --workers 0
'

test_expect_success 'GET /v1/me names the token: role, name, tenant; none without a token' '
    test "$(api "$(cat rev)" GET /v1/me)" = 200 &&
    test "$(jbody "j[\"role\"]")" = reviewer &&
    test -n "$(jbody "j[\"tenant_id\"]")" &&
    test "$(api - GET /v1/me)" = 401
'

test_expect_success 'GET /v1/evolve/runs lists the tenant runs (none); an unknown or malformed id is 404' '
    test "$(api "$(cat rev)" GET /v1/evolve/runs)" = 200 &&
    test "$(jbody "len(j[\"items\"])")" = 0 &&
    test "$(api "$(cat rev)" GET /v1/evolve/runs/00000000-0000-7000-8000-000000000000)" = 404 &&
    test "$(api "$(cat rev)" GET /v1/evolve/runs/not-an-id)" = 404
'

test_expect_success '/ is the page, without a token, with a strict CSP' '
    test "$(api - GET /)" = 200 &&
    test "$(hdr Content-Type)" = "text/html; charset=utf-8" &&
    hdr Content-Security-Policy >csp &&
    grep -q "default-src '\''none'\''" csp && grep -q "script-src '\''self'\'';" csp &&
    grep -q "style-src '\''self'\'';" csp && grep -q "frame-ancestors '\''none'\''" csp &&
    ! grep -q "unsafe-inline" csp &&
    test "$(hdr X-Content-Type-Options)" = nosniff &&
    test "$(hdr Cache-Control)" = no-cache &&
    grep -q "<script src=\"/ui/app.js\"" "$TRASH/body"
'

test_expect_success 'the page has no inline script, style or handler, and loads nothing from elsewhere' '
    ! grep -Eq "<script>|<script [^>]*>[^<]|<style|style=| on[a-z]+=" "$TRASH/body" &&
    ! grep -Eq "(src|href)=\"(https?:)?//" "$TRASH/body"
'

test_expect_success 'each asset comes with its type and ETag; If-None-Match gives 304' '
    test "$(api - GET /ui/app.js)" = 200 &&
    test "$(hdr Content-Type)" = "text/javascript; charset=utf-8" &&
    etag=$(hdr ETag) && test -n "$etag" &&
    test "$(api - GET /ui/app.css)" = 200 &&
    test "$(hdr Content-Type)" = "text/css; charset=utf-8" &&
    test "$(hdr ETag)" != "$etag" &&
    code=$(curl -s -o /dev/null -w "%{http_code}" -H "If-None-Match: $etag" "$(base)/ui/app.js") &&
    test "$code" = 304 &&
    code=$(curl -s -o /dev/null -w "%{http_code}" -H "If-None-Match: \"0\"" "$(base)/ui/app.js") &&
    test "$code" = 200
'

test_expect_success 'the served files are the sources, byte for byte' '
    for f in index.html app.js draw.js app.css; do
        p=/ui/$f; test $f = index.html && p=/
        curl -s -o got "$(base)$p" && cmp got "$AUTODEV_SRC/src/server/ui/$f" || return 1
    done
'

test_expect_success 'an unknown asset is 404 JSON; the UI writes no data without a token' '
    test "$(api - GET /ui/nope.js)" = 404 && error_is not_found &&
    test "$(api - GET /ui/..%2Fserver.c)" = 404 &&
    test "$(api - GET /v1/candidates)" = 401 &&
    grep -q "sessionStorage" "$AUTODEV_SRC/src/server/ui/app.js" &&
    ! grep -q "localStorage.setItem\|innerHTML\|outerHTML\|insertAdjacentHTML\|document.write\|eval(" \
        "$AUTODEV_SRC/src/server/ui/app.js" "$AUTODEV_SRC/src/server/ui/draw.js"
'

test_expect_success 'research sessions: a list of the token tenant, one by id, 404 for another tenant' '
    test "$(api "$(cat rev)" GET /v1/research/sessions)" = 200 &&
    test "$(jbody "j[\"items\"]")" = "[]" &&
    test "$(api - GET /v1/research/sessions)" = 401 &&
    git init -q repo && (cd repo && printf "print(\"score: 5\")\n" >bench.py &&
        git add bench.py && git -c user.name=t -c user.email=t@t commit -qm init) &&
    autodev research setup --repo repo --file bench.py --cmd "python3 bench.py" \
        --metric score --iterations 1 --repeats 1 --no-sandbox --json >setup.json &&
    sid=$(json_get "j[\"id\"]" <setup.json) &&
    test "$(api "$(cat rev)" GET /v1/research/sessions)" = 200 &&
    test "$(jbody "[s[\"id\"] for s in j[\"items\"]]")" = "[\"$sid\"]" &&
    test "$(api "$(cat rev)" GET "/v1/research/sessions/$sid")" = 200 &&
    test "$(jbody "j[\"metric\"]")" = score &&
    test "$(jbody "type(j[\"iterations\"]).__name__")" = list &&
    test "$(api "$(cat rev2)" GET "/v1/research/sessions/$sid")" = 404 && error_is not_found &&
    test "$(api "$(cat rev2)" GET /v1/research/sessions)" = 200 &&
    test "$(jbody "j[\"items\"]")" = "[]"
'

test_expect_success 'the OpenAPI document lists the UI and research routes' '
    test "$(api - GET /v1/openapi.json)" = 200 &&
    test "$(jbody "sorted(k for k in j[\"paths\"] if k == \"/\" or k.startswith((\"/ui/\", \"/v1/research\")))")" = \
        "[\"/\", \"/ui/{asset}\", \"/v1/research/sessions\", \"/v1/research/sessions/{id}\"]" &&
    test "$(jbody "list(j[\"paths\"][\"/\"][\"get\"][\"responses\"][\"200\"][\"content\"])")" = "[\"text/html\"]"
'

test_expect_success 'the server stops cleanly' '
    stop_server
'

test_done
