#!/bin/sh
test_description='autodev llm: test and usage against the loopback server'
. "$(dirname "$0")/test-lib.sh"

# served CASE: how many requests the case got (the request shapes are the
# unit tests' business; tests/unit/test_llm.c checks every field).
# The loopback server of tests/llm/ stands in for the hosted providers.
/usr/bin/python3 "$AUTODEV_SRC/tests/llm/llmserver.py" --cases "$AUTODEV_SRC/tests/llm/cases" \
    --port-file "$TRASH/port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
wait_for 'test -s "$TRASH/port"' 20 || { echo "Bail out! no llm server"; exit 1; }
port=$(cat "$TRASH/port")
base="http://127.0.0.1:$port/case"
export OPENAI_API_KEY=sk-test-openai-0123456789 ANTHROPIC_API_KEY=sk-ant-test-0123456789
unset AUTODEV_LLM AUTODEV_LLM_PRICES

served() {
    /usr/bin/python3 -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results"))
c = r.get(sys.argv[2], {})
print(len(c.get("requests", [])))' "http://127.0.0.1:$port" "$1"
}

reset() {
    /usr/bin/python3 -c 'import urllib.request, sys
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_reset", data=b""))' \
        "http://127.0.0.1:$port"
}

test_expect_success 'setup' '
    autodev init >/dev/null
'

test_expect_success 'llm test with no provider says how to configure one' '
    test_expect_code 2 autodev llm test 2>err &&
    test_one_error err "no llm provider configured: set AUTODEV_LLM"
'

test_expect_success 'llm test with an unknown provider is a usage error' '
    test_expect_code 2 autodev llm test --provider gemini:pro 2>err &&
    test_one_error err "unknown llm provider in .gemini:pro."
'

test_expect_success 'llm test prints provider, model, latency and tokens' '
    reset &&
    OPENAI_BASE_URL=$base/openai_success/v1 AUTODEV_LLM=openai:gpt-4o-mini \
        autodev llm test --prompt "Say hello." >out &&
    grep -q "^provider: *openai$" out &&
    grep -q "^model: *gpt-4o-mini$" out &&
    grep -Eq "^latency: *[0-9]+ ms$" out &&
    grep -q "^tokens: *19 prompt, 3 completion$" out &&
    grep -q "^reply: *Hello!$" out &&
    test "$(served openai_success)" = 1
'

test_expect_success 'llm test --json, through a fallback chain' '
    reset &&
    OPENAI_BASE_URL=$base/openai_500_then_fallback/v1 \
    ANTHROPIC_BASE_URL=$base/anthropic_after_fallback \
        autodev llm test --json --provider "openai:gpt-4o-mini,anthropic:claude-sonnet-4-5" >out &&
    test "$(json_get "j[\"provider\"]" <out)" = anthropic &&
    test "$(json_get "j[\"attempts\"]" <out)" = 4 &&
    test "$(json_get "j[\"text\"]" <out)" = "Hello from the fallback."
'

test_expect_success 'llm test --stream prints the reply as it arrives' '
    reset &&
    OPENAI_BASE_URL=$base/openai_stream/v1 \
        autodev llm test --stream --provider openai:gpt-4o-mini >out 2>err &&
    grep -q "^Hello world$" err &&
    grep -q "^reply: *Hello world$" out
'

test_expect_success 'a quota error is one clear line, sent once' '
    reset &&
    test_must_fail env OPENAI_BASE_URL=$base/openai_quota/v1 \
        "$AUTODEV_BIN" llm test --provider openai:gpt-4o-mini 2>err &&
    test_one_error err "quota or spend limit \(not retried\)" &&
    test "$(served openai_quota)" = 1
'

test_expect_success 'an echoed key never reaches the terminal' '
    reset &&
    test_must_fail env OPENAI_BASE_URL=$base/openai_401_echo_key/v1 \
        "$AUTODEV_BIN" llm test --provider openai:gpt-4o-mini 2>err &&
    grep -q "Incorrect API key provided" err &&
    ! grep -q 0123456789 err
'

test_expect_success 'llm usage sums the ledger by provider, model and purpose' '
    autodev llm usage >out &&
    grep -Eq "^openai +gpt-4o-mini +test +[0-9]+ +[0-9]+ " out &&
    grep -Eq "^anthropic +claude-sonnet-4-5 +test +1 +0 +14 +6 " out &&
    grep -q "^total: " out &&
    autodev llm usage --json >out &&
    json_get "[r for r in j if r[\"provider\"] == \"anthropic\"][0][\"calls\"]" <out >n &&
    test "$(cat n)" = 1
'

test_expect_success 'llm usage --since a future date shows nothing' '
    autodev llm usage --json --since 2999-01-01 >out &&
    test "$(json_get "len(j)" <out)" = 0 &&
    test_expect_code 2 autodev llm usage --since yesterday 2>err &&
    test_one_error err "invalid date"
'

test_expect_success 'the daily token cap refuses a call before it is sent' '
    autodev settings set llm_daily_token_cap 1 >/dev/null &&
    reset &&
    test_must_fail env OPENAI_BASE_URL=$base/openai_success/v1 \
        "$AUTODEV_BIN" llm test --provider openai:gpt-4o-mini 2>err &&
    test_one_error err "daily llm token cap reached" &&
    test "$(served openai_success)" = 0 &&
    autodev settings set llm_daily_token_cap 0 >/dev/null
'

test_expect_success 'exec: a local command is a model' '
    autodev llm test --provider "exec:tr a-z A-Z" --prompt "shout" >out &&
    grep -q "^reply: *SHOUT$" out &&
    grep -q "^provider: *exec$" out
'

test_expect_success 'a key a server echoes is masked in the reply, its tool call and the ledger' '
    reset &&
    OPENAI_BASE_URL=$base/openai_echo_key/v1 \
        autodev llm test --provider openai:gpt-4o-mini >out &&
    grep -q "^reply: *Your key is \[secret\], or in capitals \[secret\]\.$" out &&
    ! grep -qi 0123456789 out &&
    OPENAI_BASE_URL=$base/openai_echo_key/v1 \
        autodev --json llm test --provider openai:gpt-4o-mini >/dev/null 2>err;
    grep -q "INCORRECT API KEY PROVIDED: \[secret\]" err &&
    ! grep -qi 0123456789 err &&
    OPENAI_BASE_URL=$base/openai_echo_key/v1 \
        autodev llm test --stream --provider openai:gpt-4o-mini >out 2>err &&
    grep -q "^Key: \[secret\] done\.$" err &&
    grep -q "^reply: *Key: \[secret\] done\.$" out &&
    ! grep -qi 0123456789 out err &&
    test "$(served openai_echo_key)" = 3
'

test_expect_success 'tool calls a server echoes the key in are masked in --json' '
    reset &&
    OPENAI_BASE_URL=$base/openai_echo_key/v1 \
        autodev --json llm test --provider openai:gpt-4o-mini >out &&
    test "$(json_get "j[\"tool_calls\"][0][\"name\"]" <out)" = "echo_[secret]" &&
    test "$(json_get "json.loads(j[\"tool_calls\"][0][\"arguments\"])[\"escaped\"]" <out)" = "[secret]" &&
    test "$(json_get "j[\"request_id\"]" <out)" = "req_[secret]" &&
    ! grep -qi 0123456789 out
'

test_expect_success 'numbers a server claims are clamped, and the ledger sums stay sane' '
    reset &&
    OPENAI_BASE_URL=$base/openai_huge_numbers/v1 \
        autodev llm test --provider openai:gpt-4o-mini >out &&
    grep -q "^tokens: *1000000000 prompt, 1000000000 completion$" out &&
    reset &&
    OPENAI_BASE_URL=$base/openai_huge_numbers/v1 \
        autodev llm test --provider openai:gpt-4o-mini >out &&
    autodev llm usage >out 2>err &&
    ! test -s err &&
    grep -Eq "^openai +gpt-4o-mini +test +[0-9]+ +[0-9]+ +[0-9]{10} +[0-9]{10} " out &&
    ! grep -Eq -- " -[0-9]" out &&
    autodev llm usage --json >out &&
    test "$(json_get "min(r[\"prompt_tokens\"] for r in j) >= 0" <out)" = true &&
    test "$(json_get "max(r[\"prompt_tokens\"] for r in j) < 2**62" <out)" = true
'

test_expect_success 'llm test --timeout bounds the whole call against a stalled server' '
    reset &&
    test_expect_code 1 env OPENAI_BASE_URL=$base/openai_stall/v1 \
        "$AUTODEV_BIN" llm test --timeout 2 --provider openai:gpt-4o-mini >out 2>err &&
    test_one_error err "deadline of 2000 ms passed" &&
    ! grep -q "^reply:" out &&
    test "$(served openai_stall)" = 1
'

test_expect_success 'exec: the command runs without the credentials of the environment' '
    OPENAI_API_KEY=sk-test-openai-0123456789 MY_SERVICE_TOKEN=tok-value-123456 \
    INNOCENT_NAME=sk-test-openai-0123456789 AD_PLAIN=plain HF_TOKEN=hf-value-123456 \
    AUTODEV_EXEC_ENV_ALLOW=HF_TOKEN \
        autodev --json llm test --provider "exec:env" >out &&
    json_get "j[\"text\"]" <out >env.txt &&
    grep -q "^PATH=" env.txt &&
    grep -q "^HOME=" env.txt &&
    grep -q "^AD_PLAIN=plain$" env.txt &&
    grep -q "^HF_TOKEN=hf-value-123456$" env.txt &&
    ! grep -q "^OPENAI_API_KEY=" env.txt &&
    ! grep -q "^ANTHROPIC_API_KEY=" env.txt &&
    ! grep -q "^MY_SERVICE_TOKEN=" env.txt &&
    ! grep -q "^INNOCENT_NAME=" env.txt
'

test_expect_success 'the key is not in the database, in any case' '
    ! grep -qi 0123456789 "$DB" "$DB-wal" 2>/dev/null &&
    ! grep -qi sk-test-openai "$DB" "$DB-wal" 2>/dev/null
'

test_done
