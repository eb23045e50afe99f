#!/bin/sh
test_description='autodev sandbox: check, run, usage errors'
. "$(dirname "$0")/test-lib.sh"

cat >skill.py <<'PY'
def add(a, b):
    print("adding")
    return a + b
def boom(x=None):
    raise KeyError("nope")
PY

test_expect_success 'sandbox check --json names the backend and its checks' '
    autodev sandbox check --json >out &&
    json_get "j[\"backend\"]" <out | grep -Eq "^(linux|process)$" &&
    json_get "j[\"isolation\"]" <out | grep -Eq "^(full|degraded)$" &&
    json_get "sorted(c[\"name\"] for c in j[\"checks\"])" <out >names &&
    grep -q "\"seccomp\"" names && grep -q "\"cgroup\"" names &&
    grep -q "\"namespaces\"" names && grep -q "\"linux_probe\"" names
'

test_expect_success 'sandbox check --backend process describes the process backend' '
    autodev sandbox check --backend process --json >out &&
    test "$(json_get "j[\"backend\"]" <out)" = process &&
    test "$(json_get "j[\"isolation\"]" <out)" = degraded &&
    test "$(json_get "any(\"network\" in g for g in j[\"gaps\"])" <out)" = true &&
    test "$(json_get "any(\"subreaper\" in g for g in j[\"guarantees\"])" <out)" = true
'

test_expect_success 'sandbox check lists what the backend in use contains and does not' '
    autodev sandbox check --json >out &&
    test "$(json_get "len(j[\"guarantees\"]) > 3 and len(j[\"gaps\"]) > 0" <out)" = true &&
    test "$(json_get "all(isinstance(g, str) for g in j[\"guarantees\"] + j[\"gaps\"])" <out)" = true &&
    autodev sandbox check >text &&
    grep -q "^contains:" text && grep -q "^does not contain:" text
'

test_expect_success 'sandbox check --backend linux answers for the linux backend only' '
    if autodev sandbox check --json | json_get "j[\"backend\"]" | grep -q linux; then
        autodev sandbox check --backend linux --json >out &&
        test "$(json_get "j[\"backend\"]" <out)" = linux &&
        test "$(json_get "any(\"namespace\" in g for g in j[\"guarantees\"])" <out)" = true
    else
        test_expect_code 1 autodev sandbox check --backend linux >out 2>err &&
        test_one_error err "linux sandbox backend unavailable"
    fi
'

test_expect_success 'sandbox check prints one line per check' '
    autodev sandbox check >out &&
    grep -Eq "^backend: +(linux|process)" out &&
    grep -Eq "^(ok|no) +seccomp" out
'

test_expect_success 'sandbox run prints the result with every contract field' '
    autodev sandbox run --code skill.py --entry add --input "{\"a\": 2, \"b\": 3}" \
        --backend process >out &&
    test "$(json_get "j[\"status\"]" <out)" = ok &&
    test "$(json_get "j[\"output\"]" <out)" = 5 &&
    test "$(json_get "j[\"stdout\"] == \"adding\\n\"" <out)" = true &&
    test "$(json_get "j[\"isolation\"]" <out)" = degraded &&
    json_get "sorted(j)" <out >keys &&
    for k in status exit_code signal wall_ms cpu_ms max_rss_kb output error stdout \
             stderr truncated isolation backend execution_id; do
        grep -q "\"$k\"" keys || { echo "missing $k"; exit 1; }
    done
'

test_expect_success 'a failing skill still exits 0; the status says error' '
    autodev sandbox run --code skill.py --entry boom --backend process >out &&
    test "$(json_get "j[\"status\"]" <out)" = error &&
    test "$(json_get "j[\"error\"][\"type\"]" <out)" = KeyError
'

test_expect_success '--input-file and --code - read files and stdin' '
    echo "{\"a\": 40, \"b\": 2}" >in.json &&
    autodev sandbox run --code - --entry add --input-file in.json --backend process \
        <skill.py >out &&
    test "$(json_get "j[\"output\"]" <out)" = 42
'

test_expect_success 'the linux backend, when this machine has it' '
    if autodev sandbox check --json | json_get "j[\"backend\"]" | grep -q linux; then
        autodev sandbox run --code skill.py --entry add --input "[1]" --backend linux >out &&
        test "$(json_get "j[\"backend\"]" <out)" = linux &&
        test "$(json_get "j[\"error\"][\"type\"]" <out)" = TypeError
    else
        test_expect_code 1 autodev sandbox run --code skill.py --entry add \
            --backend linux 2>err &&
        test_one_error err "linux sandbox backend unavailable"
    fi
'

test_expect_success 'usage errors exit 2 with one line' '
    test_expect_code 2 autodev sandbox run --entry add 2>err &&
    test_one_error err "needs --code" &&
    test_expect_code 2 autodev sandbox run --code skill.py 2>err &&
    test_one_error err "needs --entry" &&
    test_expect_code 2 autodev sandbox run --code skill.py --entry add --backend docker 2>err &&
    test_one_error err "unknown sandbox backend .docker." &&
    test_expect_code 2 autodev sandbox run --code missing.py --entry add 2>err &&
    test_one_error err "cannot open .missing.py." &&
    test_expect_code 2 autodev sandbox run --code skill.py --entry add --memory 1 2>err &&
    test_one_error err "--memory" &&
    test_expect_code 2 autodev sandbox run --code skill.py --entry "no-good" \
        --backend process 2>err &&
    test_one_error err "not a Python identifier" &&
    test_expect_code 2 autodev sandbox frobnicate 2>err
'

test_expect_success 'malformed input JSON is refused before anything runs' '
    test_expect_code 2 autodev sandbox run --code skill.py --entry add --input "{\"a\":" \
        --backend process >out 2>err &&
    test_one_error err "skill input" &&
    test ! -s out
'

test_expect_success 'no API key reaches the skill' '
    cat >env.py <<-PY &&
	import os
	def env(x=None):
	    return sorted(os.environ)
	PY
    OPENAI_API_KEY=sk-test-secret ANTHROPIC_API_KEY=sk-ant-secret \
        autodev sandbox run --code env.py --entry env --backend process >out &&
    ! grep -q secret out &&
    ! grep -q API_KEY out
'

test_expect_success 'a NUL in stdout cuts nothing from the printed result' '
    cat >nul.py <<-PY &&
	import sys
	def f(x=None):
	    sys.stdout.write("shown\\0hidden")
	    return 2**64
	PY
    autodev sandbox run --code nul.py --entry f --backend process >out &&
    test "$(json_get "j[\"stdout\"] == \"shown\\0hidden\" and j[\"truncated\"] is False" <out)" = true &&
    test "$(json_get "j[\"error\"][\"type\"]" <out)" = TypeError &&
    json_get "j[\"error\"][\"message\"]" <out | grep -q "18446744073709551616 is outside"
'

test_expect_success 'a passed linux probe is cached for the next command' '
    mkdir -p "$AUTODEV_HOME" && rm -rf "$AUTODEV_HOME/cache" &&
    autodev sandbox run --code skill.py --entry add --input "[1, 2]" >out &&
    if test "$(json_get "j[\"backend\"]" <out)" = linux; then
        test "$(head -n 1 "$AUTODEV_HOME/cache/sandbox-probe")" = "autodev sandbox probe 1" &&
        test "$(sed -n 3p "$AUTODEV_HOME/cache/sandbox-probe")" = "linux ok" &&
        echo garbage >"$AUTODEV_HOME/cache/sandbox-probe" &&
        autodev sandbox run --code skill.py --entry add --input "[1, 2]" >out &&
        test "$(json_get "j[\"backend\"]" <out)" = linux &&
        test "$(sed -n 3p "$AUTODEV_HOME/cache/sandbox-probe")" = "linux ok"
    else
        test ! -e "$AUTODEV_HOME/cache/sandbox-probe"
    fi
'

test_expect_success 'sandbox --help documents the result fields' '
    autodev sandbox --help >out &&
    grep -q "output_limit" out &&
    grep -q -- "--memory MB" out
'

test_done
