#!/bin/sh
test_description='AUTODEV_SANDBOX=exec:COMMAND: a user command speaks the sandbox contract'
. "$(dirname "$0")/test-lib.sh"

# A backend that runs the request's code with python (no isolation of its
# own, so it claims "degraded"), keeps the request it got, and answers the
# contract's object.
cat >backend.py <<'PY'
import json, os, sys
req = json.load(sys.stdin)
with open(sys.argv[1], "w") as f:
    json.dump(req, f)
ns = {}
exec(req["code"], ns)
inp = req["input"]
try:
    out = ns[req["entry"]](**inp) if isinstance(inp, dict) else ns[req["entry"]](inp)
    res = {"status": "ok", "output": out, "error": None}
except Exception as e:
    res = {"status": "error", "output": None,
           "error": {"type": type(e).__name__, "message": str(e), "traceback": ""}}
res.update({"isolation": "degraded", "exit_code": 0, "signal": 0, "wall_ms": 1, "cpu_ms": 1,
            "max_rss_kb": 0, "truncated": False, "stdout": "", "stderr": "",
            "env_has_key": "OPENAI_API_KEY" in os.environ})
print(json.dumps(res))
PY
# A backend that never answers, and leaves a child of its own behind.
cat >hang.sh <<'SH'
sleep 300 &
echo $! >"$1"
sleep 300
SH
# One that answers garbage.
printf 'echo not json\n' >garbage.sh

test_expect_success 'setup' '
    autodev init >/dev/null &&
    printf "def add(a: int, b: int) -> int:\n    return a + b\n" >add.py &&
    autodev skill add add.py --name add --entry add >/dev/null
'

test_expect_success 'a skill runs through the exec backend; the result says its isolation' '
    OPENAI_API_KEY=sk-secret-do-not-pass \
    AUTODEV_SANDBOX="exec:/usr/bin/python3 $TRASH/backend.py $TRASH/req.json" \
        autodev skill run add --input "{\"a\": 2, \"b\": 40}" --json >run &&
    test "$(json_get "j[\"status\"]" <run)" = ok &&
    test "$(json_get "j[\"output\"]" <run)" = 42 &&
    test "$(json_get "j[\"entry\"]" <req.json)" = add &&
    test "$(json_get "j[\"input\"]" <req.json)" = "{\"a\": 2, \"b\": 40}" &&
    json_get "j[\"code\"]" <req.json >code &&
    grep -q "return a + b" code &&
    test "$(json_get "j[\"limits\"][\"wall_ms\"]" <req.json)" = 60000 &&
    AUTODEV_SANDBOX="exec:/usr/bin/python3 $TRASH/backend.py $TRASH/req.json" \
        autodev skill run add --input "{\"a\": 2, \"b\": 1}" --timeout 7 --json >/dev/null &&
    test "$(json_get "j[\"limits\"][\"wall_ms\"]" <req.json)" = 7000
'

test_expect_success 'sandbox run --backend exec:CMD shows the isolation the command claims' '
    autodev sandbox run --backend "exec:/usr/bin/python3 $TRASH/backend.py $TRASH/req.json" \
        --code add.py --entry add --input "{\"a\": 1, \"b\": 2}" >res &&
    test "$(json_get "j[\"output\"]" <res)" = 3 &&
    test "$(json_get "j[\"backend\"]" <res)" = exec &&
    test "$(json_get "j[\"isolation\"]" <res)" = degraded
'

test_expect_success 'the exec backend gets none of the caller environment' '
    OPENAI_API_KEY=sk-secret-do-not-pass AUTODEV_SANDBOX="exec:env >$TRASH/env.txt; echo {}" \
        autodev skill run add --input "{\"a\": 1, \"b\": 1}" --json >run 2>/dev/null;
    test -s env.txt && ! grep -q "sk-secret" env.txt && ! grep -q OPENAI env.txt
'

test_expect_success 'the deadline kills a hung backend and its process group' '
    AUTODEV_SANDBOX="exec:sh $TRASH/hang.sh $TRASH/child.pid" \
        autodev skill run add --input "{\"a\": 1, \"b\": 1}" --timeout 1 --json >run;
    test "$(json_get "j[\"status\"]" <run)" = timeout &&
    child=$(cat child.pid) &&
    wait_for "! kill -0 $child 2>/dev/null" 10
'

test_expect_success 'a reply that is not the contract is a sandbox error saying why' '
    AUTODEV_SANDBOX="exec:sh $TRASH/garbage.sh" \
        autodev skill run add --input "{\"a\": 1, \"b\": 1}" --json >run;
    test "$(json_get "j[\"status\"]" <run)" = sandbox_error &&
    json_get "j[\"error\"]" <run >why &&
    grep -q "not a JSON object" why
'

test_expect_success 'exec: without a command is refused' '
    AUTODEV_SANDBOX="exec:" test_expect_code 2 autodev skill run add --input "{\"a\": 1, \"b\": 1}" 2>err &&
    grep -q "exec:COMMAND" err
'

test_done
