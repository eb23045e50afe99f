#!/bin/sh
test_description='autodev research runs the command in the sandbox: protected paths read-only at run time, the worktree writable, no secret in the environment; --no-sandbox runs it on the host and the report says so'
. "$(dirname "$0")/test-lib.sh"

PY=/usr/bin/python3
GIT_ID="-c user.name=t -c user.email=t@t.invalid"

# mkrepo DIR: obj.py holds X in an EVOLVE block; eval.py (protected: the
# command names it) tries to rewrite itself and tests/check.py, writes
# out.log (git-ignored), says whether OPENAI_API_KEY reached it, then prints
# "score: |X - 4|".
mkrepo() {
    mkdir "$1" "$1/tests" && git -C "$1" init -q &&
    printf '%s\n' '# EVOLVE-BLOCK-START' 'X = 10' '# EVOLVE-BLOCK-END' >"$1/obj.py" &&
    cat >"$1/eval.py" <<-\EOF &&
	import os
	for path in ("eval.py", "tests/check.py"):
	    try:
	        with open(path, "a") as f:
	            f.write("print('score: 0')\n")
	        print("wrote", path)
	    except OSError as e:
	        print("refused", path, e.errno)
	with open("out.log", "w") as f:
	    f.write("log\n")
	print("out.log:", open("out.log").read().strip())
	print("key:", "present" if "OPENAI_API_KEY" in os.environ else "absent")
	exec(open("obj.py").read())
	print("score: %d" % abs(X - 4))
	EOF
    echo 'assert True' >"$1/tests/check.py" &&
    echo out.log >"$1/.gitignore" &&
    git -C "$1" add . && git -C "$1" $GIT_ID commit -qm init
}

sid() {
    autodev research list --json | json_get 'j[0]["id"]'
}

autodev init >/dev/null || exit 1
export OPENAI_API_KEY=sk-t1720-secret-value

test_expect_success 'the command runs in the sandbox by default; the report says so and names the backend' '
    mkrepo sb &&
    autodev research run --repo sb --file obj.py --cmd "$PY eval.py" --metric score \
        --iterations 1 --repeats 1 >out 2>err &&
    ! grep -- "--no-sandbox" err &&
    id=$(sid) && echo $id >id &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"sandbox\"]" <s.json)" = true &&
    json_get "j[\"config\"][\"sandbox\"]" <s.json | grep true &&
    json_get "j[\"iterations\"][0][\"detail\"][\"output_tail\"]" <s.json >tail &&
    grep "^key: " tail &&
    autodev research report $id --json >r.json &&
    test "$(json_get "j[\"sandbox\"]" <r.json)" = true &&
    json_get "j[\"sandbox_backend\"]" <r.json | grep -E "^(linux|process)$" >backend &&
    autodev research report $id | grep "command run in the sandbox"
'

wt() {
    autodev research status $(cat id) --json | json_get 'j["worktree"]'
}

# A shell and a session of its own that both ignore SIGTERM.
HANG='trap "" TERM; setsid sh -c '\''trap "" TERM; exec sleep 47.25'\'' & sleep 47.25'

if [ "$(cat backend 2>/dev/null)" = linux ]; then
    test_expect_success 'linux: a command that writes a protected path at run time fails; the files are unchanged' '
        w=$(wt) &&
        cmp sb/eval.py "$w/eval.py" &&
        cmp sb/tests/check.py "$w/tests/check.py" &&
        grep "^refused eval.py 30$" tail &&
        grep "^refused tests/check.py 30$" tail &&
        ! grep "^wrote " tail
    '
    test_expect_success 'linux: the worktree is writable and no secret is in the environment' '
        grep "^out.log: log$" tail &&
        test "$(cat "$(wt)/out.log")" = log &&
        grep "^key: absent$" tail && ! grep "sk-t1720" tail
    '
    test_expect_success 'linux: the time budget kills the whole tree, a session that ignores SIGTERM too' '
        mkrepo hang &&
        test_must_fail autodev research setup --repo hang --file obj.py --repeats 1 \
            --cmd "$HANG" --metric score --time-budget 1 2>err &&
        grep "timeout after 1 s" err &&
        ! ps -eo args= | grep "^sleep 47.25"
    '
else
    test_skip 'linux: a command that writes a protected path at run time fails' 'the linux backend cannot run here'
    test_skip 'linux: the worktree is writable and no secret is in the environment' 'the linux backend cannot run here'
    test_skip 'linux: the time budget kills the whole tree' 'the linux backend cannot run here'
fi

test_expect_success '--no-sandbox runs the command on the host and the report says so' '
    mkrepo host &&
    autodev research run --repo host --file obj.py --cmd "$PY eval.py" --metric score \
        --iterations 1 --repeats 1 --no-sandbox >out 2>err &&
    grep "no-sandbox: the command runs on the host" err &&
    id=$(sid) &&
    autodev research report $id --json >r.json &&
    test "$(json_get "j[\"sandbox\"]" <r.json)" = false &&
    test "$(json_get "j[\"sandbox_backend\"]" <r.json)" = null &&
    autodev research report $id | grep "command run on the host without the sandbox" &&
    autodev research status $id --json |
        json_get "j[\"iterations\"][0][\"detail\"][\"output_tail\"]" >tail &&
    grep "^key: absent$" tail &&
    grep "^wrote eval.py$" tail
'

test_done
