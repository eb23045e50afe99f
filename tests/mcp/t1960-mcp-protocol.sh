#!/bin/sh
test_description='autodev mcp on raw lines: version negotiation, lifecycle, parse errors and huge lines (the server keeps serving), unknown methods and tools, tool errors, stdout only protocol'
. "$(dirname "$0")/../cli/test-lib.sh"

PY=/usr/bin/python3
RAW="$PY $AUTODEV_SRC/tests/mcp/rawrpc.py"

init() {
    printf '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"%s","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n' "$1"
    echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
}

# field N EXPR: the Python expression EXPR over answer line N (1-based) of out.
field() {
    sed -n "$1p" out | json_get "$2"
}

autodev init >/dev/null && autodev agent add bot >/dev/null || exit 1

for v in 2025-06-18 2025-03-26 2024-11-05; do
    test_expect_success "initialize with $v answers $v" "
        init $v | $RAW >out &&
        test \"\$(field 1 'j[\"result\"][\"protocolVersion\"]')\" = $v &&
        field 1 'j[\"result\"][\"capabilities\"]' | grep tools &&
        grep '^exit 0$' out
    "
done

test_expect_success 'an unsupported version gets the newest supported one' '
    init 1999-01-01 | $RAW >out &&
    test "$(field 1 "j[\"result\"][\"protocolVersion\"]")" = 2025-06-18 &&
    test "$(field 1 "j[\"result\"][\"serverInfo\"][\"name\"]")" = autodev
'

test_expect_success 'a request before initialize is an error; ping is not' '
    cat >in <<-\EOT &&
	{"jsonrpc":"2.0","id":1,"method":"tools/list"}
	{"jsonrpc":"2.0","id":2,"method":"ping"}
	EOT
    $RAW <in >out &&
    test "$(field 1 "j[\"error\"][\"code\"]")" = -32600 &&
    field 1 "j[\"error\"][\"message\"]" | grep "initialize first" &&
    test "$(field 2 "j[\"result\"]")" = "{}"
'

test_expect_success 'a malformed line is a parse error and the server keeps serving' '
    { init 2025-06-18 && echo "{not json" && echo "[1, 2" &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}"; } >in &&
    $RAW <in >out &&
    test "$(field 2 "j[\"error\"][\"code\"]")" = -32700 &&
    test "$(field 2 "j[\"id\"]")" = null &&
    test "$(field 3 "j[\"error\"][\"code\"]")" = -32700 &&
    test "$(field 4 "j[\"id\"]")" = 7 &&
    test "$(field 4 "j[\"result\"]")" = "{}" &&
    grep "^exit 0$" out
'

test_expect_success 'a huge line is refused with a clear error, then the next is served' '
    { init 2025-06-18 && echo "@BIG 300000" &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}"; } >in &&
    $RAW --max-line 100000 <in >out &&
    test "$(field 2 "j[\"error\"][\"code\"]")" = -32700 &&
    field 2 "j[\"error\"][\"message\"]" | grep "more than 100000 bytes" &&
    test "$(field 3 "j[\"id\"]")" = 8
'

test_expect_success 'unknown methods are -32601; unknown tools and bad arguments -32602' '
    { init 2025-06-18 &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/list\"}" &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\",\"arguments\":{}}}" &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"episode_record\",\"arguments\":{\"agent\":\"bot\"}}}" &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"skill_list\",\"arguments\":[1]}}"; } >in &&
    $RAW <in >out &&
    test "$(field 2 "j[\"error\"][\"code\"]")" = -32601 &&
    field 2 "j[\"error\"][\"message\"]" | grep "prompts/list" &&
    test "$(field 3 "j[\"error\"][\"code\"]")" = -32602 &&
    field 3 "j[\"error\"][\"message\"]" | grep "unknown tool .nope." &&
    test "$(field 4 "j[\"error\"][\"code\"]")" = -32602 &&
    field 4 "j[\"error\"][\"message\"]" | grep "missing field .task_description." &&
    test "$(field 5 "j[\"error\"][\"code\"]")" = -32602
'

test_expect_success 'a tool that fails is a result with isError; nothing recorded' '
    { init 2025-06-18 &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"episode_record\",\"arguments\":{\"agent\":\"ghost\",\"task_description\":\"t\",\"success\":true}}}"; } >in &&
    $RAW <in >out &&
    test "$(field 2 "j[\"result\"][\"isError\"]")" = true &&
    field 2 "j[\"result\"][\"content\"][0][\"text\"]" | grep "unknown agent .ghost." &&
    autodev episode list --json | json_get "len(j)" >n && test "$(cat n)" = 0
'

test_expect_success 'a tool call records, with a structured result and its text' '
    { init 2025-06-18 &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"episode_record\",\"arguments\":{\"agent\":\"bot\",\"task_description\":\"t\",\"success\":true}}}"; } >in &&
    $RAW <in >out &&
    id=$(field 2 "j[\"result\"][\"structuredContent\"][\"id\"]") &&
    field 2 "json.loads(j[\"result\"][\"content\"][0][\"text\"])[\"id\"]" >t && test "$(cat t)" = "$id" &&
    autodev episode list --json | json_get "j[0][\"id\"]" >got && test "$(cat got)" = "$id"
'

test_expect_success 'stdout carries protocol messages only; logs go to stderr' '
    { init 2025-06-18 &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}"; } >in &&
    $RAW <in >out &&
    grep "^exit 0$" out && test "$(sed -n "/^exit/,\$p" out | wc -l)" -eq 1 &&
    grep "mcp: serving on standard input and output" mcp.err
'

test_expect_success 'tools/list pages with a cursor' '
    { init 2025-06-18 &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}" &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{\"cursor\":\"5\"}}" &&
      echo "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":{\"cursor\":\"bogus\"}}"; } >in &&
    $RAW --page-size 5 <in >out &&
    test "$(field 2 "len(j[\"result\"][\"tools\"])")" = 5 &&
    test "$(field 2 "j[\"result\"][\"nextCursor\"]")" = 5 &&
    test "$(field 3 "j[\"result\"][\"tools\"][0][\"name\"]")" = candidates_list &&
    test "$(field 2 "j[\"result\"][\"tools\"][4][\"name\"]")" = task_run &&
    test "$(field 4 "j[\"error\"][\"code\"]")" = -32602
'

test_expect_success 'a bad token is refused before serving, without echoing it' '
    test_must_fail autodev mcp --token adt_wrongwrongwrong </dev/null >out 2>err &&
    test ! -s out && ! grep wrongwrong err && grep -i token err
'

test_expect_success 'a reviewer token (AUTODEV_TOKEN) lists the review tools' '
    tok=$(autodev token create --role reviewer 2>/dev/null) &&
    { init 2025-06-18 && echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}"; } >in &&
    AUTODEV_TOKEN=$tok $RAW <in >out &&
    field 2 "[t[\"name\"] for t in j[\"result\"][\"tools\"]]" | grep mutation_reject &&
    $RAW <in >out2 && ! sed -n 2p out2 | grep mutation_reject
'

test_expect_success 'autodev mcp --help documents the tools and the token' '
    autodev mcp --help >out &&
    grep "confirm" out && grep -- "--token" out
'

test_done
