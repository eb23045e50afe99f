#!/bin/sh
test_description='autodev research: the sandboxed command has memory and pids limits (--memory, --pids); secondary metrics gate a keep and fail closed'
. "$(dirname "$0")/test-lib.sh"

PY=/usr/bin/python3
GIT_ID="-c user.name=t -c user.email=t@t.invalid"

# mkrepo DIR BODY: obj.py holds X = 10 in an EVOLVE block; eval.py runs
# obj.py's X through BODY (python, X defined) and is protected (the command
# names it).
mkrepo() {
    mkdir "$1" && git -C "$1" init -q &&
    printf '%s\n' '# EVOLVE-BLOCK-START' 'X = 10' '# EVOLVE-BLOCK-END' >"$1/obj.py" &&
    { echo 'exec(open("obj.py").read())'; printf '%s\n' "$2"; } >"$1/eval.py" &&
    git -C "$1" add . && git -C "$1" $GIT_ID commit -qm init
}

sid() {
    autodev research list --json | json_get 'j[0]["id"]'
}

count() {
    autodev research status "$1" --json |
        json_get "len([i for i in j['iterations'] if i['decision'] == '$2'])"
}

autodev init >/dev/null || exit 1

# Any edit of X allocates 512 MiB (1 MiB at a time); the baseline does not.
HOG='if X != 10:
    b = [bytearray(1 << 20) for i in range(512)]
print("score: %d" % abs(X - 4))'

test_expect_success 'a command that allocates past --memory is a crashed iteration, not a crash of autodev' '
    mkrepo hog "$HOG" &&
    autodev research run --repo hog --file obj.py --cmd "$PY eval.py" --metric score \
        --iterations 2 --repeats 1 --memory 64 >out &&
    id=$(sid) && echo $id >hog.id &&
    test "$(count $id crashed)" -eq 2 &&
    test "$(count $id kept)" -eq 0 &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"config\"][\"memory_mib\"]" <s.json)" = 64 &&
    json_get "\"\\n\".join(i[\"detail\"][\"failure\"] + \" \" + i[\"detail\"][\"output_tail\"] for i in j[\"iterations\"])" <s.json >why &&
    grep -E "out of memory|MemoryError" why &&
    autodev research report $id --json >r.json &&
    test "$(json_get "j[\"limits\"][\"memory_mib\"]" <r.json)" = 64
'

test_expect_success 'with a cgroup the failure names the memory limit' '
    autodev research report $(cat hog.id) --json >r.json &&
    if test "$(json_get "j[\"limits\"][\"cgroup\"]" <r.json)" = true; then
        grep "out of memory: the memory limit (64 MiB)" why
    fi
'

# Forks until fork fails (at most 2000), the children waiting on a pipe.
BOMB='import os
r, w = os.pipe()
n = 0
while n < 2000:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    n += 1
print("forked: %d" % n)'

test_expect_success 'a fork bomb in the command stays below --pids (linux backend with a cgroup)' '
    mkrepo bomb "$BOMB" &&
    autodev research setup --repo bomb --file obj.py --cmd "$PY eval.py" --metric forked \
        --repeats 1 --pids 16 --json >setup.json &&
    id=$(json_get "j[\"id\"]" <setup.json) &&
    autodev research status $id --json >s.json &&
    if test "$(json_get "j[\"config\"].get(\"sandbox\")" <s.json)" = true &&
       autodev research finalize $id --json >f.json &&
       test "$(json_get "j[\"report\"][\"limits\"][\"cgroup\"]" <f.json)" = true; then
        n=$(json_get "j[\"baseline\"]" <s.json) &&
        $PY -c "import sys; sys.exit(0 if 0 < float(sys.argv[1]) < 16 else 1)" "$n"
    else
        echo "no cgroup here: pids are not limited (skipped)"
    fi
'

test_expect_success 'setup refuses a bad --secondary, a bad --memory' '
    mkrepo bad "print(\"score: 1\")" &&
    test_must_fail autodev research setup --repo bad --file obj.py --cmd "$PY eval.py" \
        --metric score --secondary "mem:sideways:1" 2>err &&
    grep "NAME\[:PATTERN\]:lower|higher:MARGIN" err &&
    test_must_fail autodev research setup --repo bad --file obj.py --cmd "$PY eval.py" \
        --metric score --secondary "mem:(:lower:1" 2>err &&
    grep "secondary .mem." err &&
    test_expect_code 2 autodev research setup --repo bad --file obj.py --cmd "$PY eval.py" \
        --metric score --memory 1 2>err &&
    test "$(autodev research list --json | json_get "len(j)")" -eq 2
'

test_expect_success 'a secondary the baseline does not print fails setup, naming it' '
    test_must_fail autodev research setup --repo bad --file obj.py --cmd "$PY eval.py" \
        --metric score --secondary "mem:lower:5" 2>err &&
    grep "secondary metric .mem. missing" err
'

# Every step of X towards 4 improves score and costs 1000 mem.
TRADE='print("score: %d" % abs(X - 4))
print("mem: %d" % (100 + (10 - X) * 1000))'

test_expect_success 'a better metric whose secondary regresses past its margin is rejected by the gate' '
    mkrepo trade "$TRADE" &&
    autodev research run --repo trade --file obj.py --cmd "$PY eval.py" --metric score \
        --secondary "mem:lower:5" --iterations 6 --repeats 1 >out &&
    id=$(sid) &&
    test "$(count $id kept)" -eq 0 &&
    test "$(count $id rejected_by_gate)" -ge 1 &&
    autodev research status $id --json >s.json &&
    json_get "[i[\"gates\"][\"secondary:mem\"] for i in j[\"iterations\"] if i[\"decision\"] == \"rejected_by_gate\"][0]" <s.json >gate &&
    grep "\"ok\": false" gate && grep "allowed 5" gate &&
    report=$(dirname "$(json_get "j[\"worktree\"]" <s.json)")/$id.report &&
    head -1 "$report/results.tsv" | grep "^commit	metric	mem	status	description$" &&
    grep "	100	keep	baseline$" "$report/results.tsv" &&
    grep "Secondary: .mem. 100 (lower is better, margin 5)" "$report/report.md" &&
    autodev research report $id --json | json_get "j[\"secondary\"][\"baseline\"][\"mem\"]" | grep "^100"
'

test_expect_success 'within a relative margin (N%) the keep passes the secondary gate' '
    autodev research run --repo trade --file obj.py --cmd "$PY eval.py" --metric score \
        --secondary "mem:^mem: (\\d+)$:lower:5000%" --iterations 6 --repeats 1 >out &&
    id=$(sid) &&
    test "$(count $id kept)" -ge 1 &&
    autodev research status $id --json >s.json &&
    json_get "j[\"config\"][\"secondary\"][0]" <s.json >spec &&
    grep "\"relative\": true" spec && grep "\"pattern\": \"^mem: (\\\\\\\\d+)\$\"" spec
'

# mem is printed only at the baseline's X: an improved run does not print it.
GONE='print("score: %d" % abs(X - 4))
if X == 10:
    print("mem: 100")'

test_expect_success 'a secondary that cannot be read blocks the keep (fails closed)' '
    mkrepo gone "$GONE" &&
    autodev research run --repo gone --file obj.py --cmd "$PY eval.py" --metric score \
        --secondary "mem:lower:1000000" --iterations 6 --repeats 1 >out &&
    id=$(sid) &&
    test "$(count $id kept)" -eq 0 &&
    test "$(count $id rejected_by_gate)" -ge 1 &&
    autodev research status $id --json |
        json_get "[i[\"gates\"][\"secondary:mem\"][\"detail\"] for i in j[\"iterations\"] if i[\"decision\"] == \"rejected_by_gate\"][0]" |
        grep "cannot read it (fails closed)"
'

test_done
