#!/bin/sh
test_description='autodev research on real temporary git repositories: keep, revert, noise floor, gates, timeouts, crashes, resume, a dirty tree'
. "$(dirname "$0")/test-lib.sh"

PY=/usr/bin/python3
GIT_ID="-c user.name=t -c user.email=t@t.invalid"

# mkrepo DIR: a repository whose obj.py prints "score: |X - 4|", X = 10 in an EVOLVE block.
mkrepo() {
    mkdir "$1" && git -C "$1" init -q &&
    printf '%s\n' '# EVOLVE-BLOCK-START' 'X = 10' '# EVOLVE-BLOCK-END' \
        'print("score: %d" % abs(X - 4))' >"$1/obj.py" &&
    git -C "$1" add obj.py && git -C "$1" $GIT_ID commit -qm init
}

# alive PID: the process runs (a zombie waiting for its reaper does not count).
alive() {
    st=$(ps -o stat= -p "$1") || return 1
    case $st in Z*) return 1 ;; esac
}

# sid: the newest session's id.
sid() {
    autodev research list --json | json_get 'j[0]["id"]'
}

# decisions ID: the decisions of the session's iterations, space-separated.
decisions() {
    autodev research status "$1" --json | json_get '" ".join(i["decision"] for i in j["iterations"])'
}

# count ID DECISION
count() {
    autodev research status "$1" --json |
        json_get "len([i for i in j['iterations'] if i['decision'] == '$2'])"
}

autodev init >/dev/null || exit 1

test_expect_success 'an improvement is kept as a commit naming the metric change' '
    mkrepo keep &&
    autodev research run --repo keep --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 12 --repeats 1 >out &&
    id=$(sid) &&
    grep "^#1 " out &&
    test "$(count $id kept)" -ge 1 &&
    wt=$(autodev research status $id --json | json_get "j[\"worktree\"]") &&
    git -C "$wt" log --format=%s | grep "^research: score 6 -> 5 (-1)" &&
    best=$(autodev research status $id --json | json_get "j[\"best\"]") &&
    $PY -c "import sys; sys.exit(0 if float(sys.argv[1]) < 6 else 1)" "$best" &&
    test "$(git -C "$wt" rev-parse HEAD)" = \
        "$(autodev research status $id --json | json_get "j[\"best_commit\"]")" &&
    test -z "$(git -C "$wt" status --porcelain)" &&
    git -C keep rev-parse --verify -q "autodev/research-$id" &&
    test "$(git -C keep log --oneline | wc -l)" -eq 1 &&
    report=$(dirname "$wt")/$id.report &&
    grep -c "	keep	" "$report/results.tsv" >n && test "$(cat n)" -ge 2 &&
    head -1 "$report/results.tsv" | grep "^commit	metric	status	description$" &&
    grep "## Kept edits" "$report/report.md" &&
    autodev research report $id | grep "Research session $id" &&
    autodev research report $id --json | json_get "j[\"sandbox\"]" | grep true &&
    autodev research report $id | grep "command run in the sandbox"
'

test_expect_success 'a regression is reverted: the worktree stays on the base commit' '
    mkrepo worse &&
    sed -i "s/abs(X - 4)/abs(X - 10)/" worse/obj.py && git -C worse $GIT_ID commit -qam zero &&
    autodev research run --repo worse --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 4 --repeats 1 >out &&
    id=$(sid) &&
    test "$(count $id kept)" -eq 0 &&
    test "$(count $id reverted)" -ge 1 &&
    wt=$(autodev research status $id --json | json_get "j[\"worktree\"]") &&
    test "$(git -C "$wt" rev-parse HEAD)" = "$(git -C worse rev-parse HEAD)" &&
    test -z "$(git -C "$wt" status --porcelain)" &&
    cmp worse/obj.py "$wt/obj.py"
'

cat >noisy.sh <<EOF
n=\$(cat $TRASH/n 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n >$TRASH/n
case \$n in 1) v=10 ;; 2) v=14 ;; 3) v=6 ;; *) v=9 ;; esac
echo "score: \$v"
EOF

test_expect_success 'a gain inside the noise floor is discarded; the same gain beyond it is kept' '
    mkrepo noise &&
    rm -f n &&
    autodev research run --repo noise --file obj.py --cmd "sh $TRASH/noisy.sh" --no-sandbox \
        --metric score --iterations 1 --repeats 3 >out &&
    id=$(sid) &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"noise\"]" <s.json)" = 4.0 &&
    test "$(json_get "j[\"baseline\"]" <s.json)" = 10.0 &&
    test "$(decisions $id)" = reverted &&
    test "$(json_get "j[\"iterations\"][0][\"metric\"]" <s.json)" = 9.0 &&
    rm -f n &&
    autodev research run --repo noise --file obj.py --cmd "sh $TRASH/noisy.sh" --no-sandbox \
        --metric score --iterations 1 --repeats 3 --noise-k 0 >out &&
    test "$(decisions $(sid))" = kept
'

cat >hang.sh <<EOF
n=\$(cat $TRASH/h 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n >$TRASH/h
if [ \$n -gt 1 ]; then
    trap "" TERM
    (trap "" TERM; echo \$\$ >$TRASH/child.pid; exec sleep 120) &
    sh -c "echo \\\$\\\$ >$TRASH/grandchild.pid; trap \"\" TERM; exec sleep 120" &
    wait
fi
echo "score: 5"
EOF

test_expect_success 'a timeout kills the whole process tree, even one that ignores SIGTERM' '
    mkrepo hang &&
    rm -f h child.pid grandchild.pid &&
    autodev research run --repo hang --file obj.py --cmd "sh $TRASH/hang.sh" --no-sandbox \
        --metric score --iterations 1 --repeats 1 --time-budget 1 >out &&
    id=$(sid) &&
    test "$(decisions $id)" = crashed &&
    autodev research status $id --json |
        json_get "j[\"iterations\"][0][\"detail\"][\"failure\"]" | grep "^timeout after 1 s" &&
    test -s child.pid && test -s grandchild.pid &&
    ! alive $(cat child.pid) && ! alive $(cat grandchild.pid)
'

cat >quiet.sh <<EOF
n=\$(cat $TRASH/q 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n >$TRASH/q
if [ \$n -eq 1 ]; then echo "score: 5"; else echo "no number here"; fi
EOF

test_expect_success 'a metric absent from the output is a failed iteration, not a crash of autodev' '
    mkrepo quiet &&
    rm -f q &&
    autodev research run --repo quiet --file obj.py --cmd "sh $TRASH/quiet.sh" --no-sandbox \
        --metric score --iterations 2 --repeats 1 >out &&
    id=$(sid) &&
    test "$(decisions $id)" = "crashed crashed" &&
    autodev research status $id --json |
        json_get "j[\"iterations\"][0][\"detail\"][\"failure\"]" | grep "^metric missing" &&
    grep "^#2 crashed" out &&
    test "$(autodev research status $id --json | json_get "j[\"status\"]")" = completed
'

test_expect_success 'an edit of a protected path is rejected by the gate' '
    mkrepo prot &&
    autodev research run --repo prot --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 12 --repeats 1 --protect "obj.*" >out &&
    id=$(sid) &&
    test "$(count $id kept)" -eq 0 &&
    test "$(count $id rejected_by_gate)" -ge 1 &&
    autodev research status $id --json | json_get "[i[\"gates\"][\"protected\"] for i in
        j[\"iterations\"] if i[\"decision\"] == \"rejected_by_gate\"][0]" >g &&
    grep "\"ok\": false" g && grep obj.py g &&
    wt=$(autodev research status $id --json | json_get "j[\"worktree\"]") &&
    test "$(git -C "$wt" rev-parse HEAD)" = "$(git -C prot rev-parse HEAD)"
'

test_expect_success 'the evaluation command and tests are protected by default' '
    mkrepo harness &&
    mkdir harness/tests && echo "assert True" >harness/tests/t.py &&
    cp harness/obj.py harness/eval.py && git -C harness add -A &&
    git -C harness $GIT_ID commit -qm harness &&
    autodev research setup --repo harness --file obj.py --cmd "$PY eval.py" \
        --metric score --json >s.json &&
    json_get "j[\"config\"][\"protect\"]" <s.json >p &&
    grep "\"eval.py\"" p && grep "\"tests/\"" p
'

test_expect_success 'a gate that cannot run blocks the keep' '
    mkrepo nocheck &&
    autodev research run --repo nocheck --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 12 --repeats 1 --check "$TRASH/no-such-check" >out &&
    id=$(sid) &&
    test "$(count $id kept)" -eq 0 &&
    test "$(count $id rejected_by_gate)" -ge 1 &&
    autodev research status $id --json | json_get "[i[\"gates\"][\"check\"][\"detail\"] for i in
        j[\"iterations\"] if i[\"decision\"] == \"rejected_by_gate\"][0]" | grep "cannot run"
'

test_expect_success 'a check that passes lets the improvement through' '
    mkrepo okcheck &&
    autodev research run --repo okcheck --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 12 --repeats 1 --check true >out &&
    test "$(count $(sid) kept)" -ge 1
'

test_expect_success 'a dirty tree is refused and left as it was; --allow-dirty stashes it' '
    mkrepo dirty &&
    echo "# local change" >>dirty/obj.py &&
    before=$(autodev research list --json | json_get "len(j)") &&
    test_expect_code 1 autodev research setup --repo dirty --file obj.py \
        --cmd "$PY obj.py" --metric score 2>err &&
    grep "uncommitted changes" err &&
    test "$(autodev research list --json | json_get "len(j)")" = "$before" &&
    grep "# local change" dirty/obj.py &&
    autodev research setup --repo dirty --file obj.py --cmd "$PY obj.py" --metric score \
        --allow-dirty >out &&
    test "$(git -C dirty stash list | wc -l)" -eq 1 &&
    ! grep "# local change" dirty/obj.py
'

cat >slow.sh <<EOF
if [ -f $TRASH/slow ]; then touch $TRASH/running; sleep 3; fi
$PY obj.py
EOF
cat >slow2.sh <<EOF
sleep 0.2
$PY obj.py
EOF

test_expect_success 'resume after kill -9 in the run step: the worktree back on the kept commit, the edit run again' '
    mkrepo crash &&
    rm -f slow running &&
    autodev research setup --repo crash --file obj.py --cmd "sh $TRASH/slow.sh" --no-sandbox \
        --metric score --iterations 3 --repeats 1 >/dev/null &&
    id=$(sid) &&
    autodev research edit $id >/dev/null &&
    wt=$(autodev research status $id --json | json_get "j[\"worktree\"]") &&
    ! cmp -s crash/obj.py "$wt/obj.py" &&
    touch slow &&
    { "$AUTODEV_BIN" research run $id >/dev/null 2>&1 & pid=$!; } &&
    wait_for "test -f running" 20 &&
    kill -9 $pid && { wait $pid || :; } &&
    rm -f slow &&
    autodev research resume $id >out &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"status\"]" <s.json)" = completed &&
    test "$(json_get "len(j[\"iterations\"])" <s.json)" = 3 &&
    ! json_get "j[\"iterations\"][0][\"detail\"]" <s.json | grep interrupted &&
    json_get "j[\"iterations\"][0][\"detail\"][\"values\"]" <s.json | grep "\[\]" &&
    test "$(json_get "j[\"iterations\"][0][\"detail\"][\"resumed\"]" <s.json)" = 1 &&
    test "$(git -C "$wt" rev-parse HEAD)" = "$(json_get "j[\"best_commit\"]" <s.json)" &&
    test -z "$(git -C "$wt" status --porcelain)"
'

# iterations_of: how many iterations the newest session has (0 while there is none).
iterations_of() {
    autodev research list --json 2>/dev/null | json_get 'j[0]["id"] if j else ""' >cur_id &&
    if [ -s cur_id ] && [ "$(cat cur_id)" != "" ]; then
        autodev research status "$(cat cur_id)" --json 2>/dev/null | json_get 'len(j["iterations"])'
    else
        echo 0
    fi
}

test_expect_success 'resume after kill -9 of the whole loop, at whatever point it was' '
    mkrepo crash2 &&
    { "$AUTODEV_BIN" research run --repo crash2 --file obj.py --cmd "sh $TRASH/slow2.sh" --no-sandbox \
        --metric score --iterations 6 --repeats 1 >/dev/null 2>&1 & pid=$!; } &&
    wait_for "test \"\$(iterations_of)\" -ge 2" 60 &&
    kill -9 $pid && { wait $pid || :; } &&
    id=$(sid) &&
    autodev research resume $id >out &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"status\"]" <s.json)" = completed &&
    test "$(json_get "len(j[\"iterations\"])" <s.json)" = 6 &&
    wt=$(json_get "j[\"worktree\"]" <s.json) &&
    test "$(git -C "$wt" rev-parse HEAD)" = "$(json_get "j[\"best_commit\"]" <s.json)" &&
    test -z "$(git -C "$wt" status --porcelain)"
'

test_expect_success 'single steps refuse the wrong order; bad input is a usage error' '
    mkrepo steps &&
    autodev research setup --repo steps --file obj.py --cmd "$PY obj.py" --metric score \
        --repeats 1 >/dev/null &&
    id=$(sid) &&
    test_expect_code 1 autodev research decide $id 2>err && grep "run first" err &&
    test_expect_code 1 autodev research run $id 2>err && grep "edit first" err &&
    autodev research edit $id >/dev/null &&
    test_expect_code 1 autodev research edit $id 2>err && grep "run or decide it first" err &&
    autodev research run $id >/dev/null &&
    autodev research decide $id --json | json_get "j[\"phase\"]" | grep decided &&
    autodev research finalize $id >/dev/null &&
    test_expect_code 2 autodev research setup --repo steps --file ../x --cmd true \
        --metric score 2>err && grep "relative to the repository" err &&
    test_expect_code 2 autodev research setup --repo steps --file obj.py --cmd true \
        --metric score --pattern "(bad" 2>err && grep "bad pattern" err &&
    test_expect_code 2 autodev research status not-an-id 2>err
'

test_done
