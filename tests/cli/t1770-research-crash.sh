#!/bin/sh
test_description='autodev research: kill -9 at each dangerous point of each step (AUTODEV_CRASH_AT), then resume: the worktree clean on the last kept commit, no iteration lost or counted twice, no duplicate commit, the report that of an uninterrupted run'
. "$(dirname "$0")/test-lib.sh"

PY=/usr/bin/python3
GIT_ID="-c user.name=t -c user.email=t@t.invalid"
ITER=6

# mkrepo DIR: a repository whose obj.py prints "score: |X - 4|", X = 10 in an EVOLVE block.
# With seed 1 the offline mutator's six iterations crash, revert and keep (the fifth).
mkrepo() {
    mkdir "$1" && git -C "$1" init -q &&
    printf '%s\n' '# EVOLVE-BLOCK-START' 'X = 10' '# EVOLVE-BLOCK-END' \
        'print("score: %d" % abs(X - 4))' >"$1/obj.py" &&
    git -C "$1" add obj.py && git -C "$1" $GIT_ID commit -qm init
}

sid() {
    autodev research list --json | json_get 'j[0]["id"]'
}

# research DIR: the session every case runs (deterministic: the offline mutator, seed 1).
research() {
    "$AUTODEV_BIN" research run --repo "$1" --file obj.py --cmd "$PY obj.py" --no-sandbox \
        --metric score --iterations $ITER --repeats 2
}

# norm REPORT_DIR: the report without what differs between two sessions (ids, commits, paths).
norm() {
    $PY - "$1" <<'EOF'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/report.json"))
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items()
                if k not in ("session_id", "repo", "commit", "ms")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
print(json.dumps(strip(r), sort_keys=True, indent=1))
for line in open(d + "/results.tsv").read().splitlines():
    print("\t".join(line.split("\t")[1:]))
EOF
}

autodev init >/dev/null || exit 1

test_expect_success 'an uninterrupted run: the report every crashed run must end with' '
    mkrepo ref &&
    research ref >out &&
    id=$(sid) &&
    wt=$(autodev research status $id --json | json_get "j[\"worktree\"]") &&
    norm "$(dirname "$wt")/$id.report" >ref.norm &&
    grep -q "	keep	obj.py" ref.norm &&
    grep -q "	discard	" ref.norm &&
    grep -q "	crash	" ref.norm &&
    test "$(autodev research status $id --json | json_get "len(j[\"iterations\"])")" = $ITER
'

# crash NAME POINT: kill -9 at POINT in a research run of a new repository NAME, resume,
# and check the session against the uninterrupted one. $id is the session.
crash() {
    mkrepo "$1" &&
    { AUTODEV_CRASH_AT="$2" research "$1" >crash.out 2>&1; st=$?; } ;
    test "$st" = 137 || { echo "# not killed: exit status $st"; cat crash.out; return 1; }
    id=$(sid) &&
    autodev research resume $id >resume.out &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"status\"]" <s.json)" = completed &&
    # every iteration once, in order: none lost, none counted twice
    test "$(json_get "[i[\"seq\"] for i in j[\"iterations\"]]" <s.json)" = "[1, 2, 3, 4, 5, 6]" &&
    ! json_get "[i[\"detail\"].get(\"failure\", \"\") for i in j[\"iterations\"]]" <s.json |
        grep interrupted &&
    wt=$(json_get "j[\"worktree\"]" <s.json) &&
    test -z "$(git -C "$wt" status --porcelain)" &&
    test "$(git -C "$wt" rev-parse HEAD)" = "$(json_get "j[\"best_commit\"]" <s.json)" &&
    # one commit per kept iteration on the branch, none twice
    kept=$(json_get "len([i for i in j[\"iterations\"] if i[\"decision\"] == \"kept\"])" <s.json) &&
    test "$(git -C "$wt" log --format=%s "autodev/research-$id" | grep -c "^research: ")" = "$kept" &&
    test -z "$(git -C "$wt" log --format=%B "autodev/research-$id" | grep "iteration [0-9]" |
        sort | uniq -d)" &&
    norm "$(dirname "$wt")/$id.report" >crash.norm &&
    test_cmp ref.norm crash.norm
}

test_expect_success 'setup: killed after the worktree is made, before the session row has it' '
    crash s1 research.setup.worktree &&
    test -d "$wt"
'

test_expect_success 'setup: killed with the baseline partly run' '
    crash s2 research.setup.baseline
'

test_expect_success 'setup: killed with the baseline measured, before the session row is final' '
    crash s3 research.setup.measured
'

test_expect_success 'edit: killed with the edit applied to the worktree, before its row' '
    crash e1 research.edit.applied:2
'

test_expect_success 'run: killed with one of the runs done' '
    crash r1 research.run.partial:1 &&
    test "$(json_get "j[\"iterations\"][1][\"detail\"][\"resumed\"]" <s.json)" = 1
'

test_expect_success 'run: killed with the edit measured, before the row' '
    crash r2 research.run.measured:3 &&
    test "$(json_get "j[\"iterations\"][2][\"detail\"][\"resumed\"]" <s.json)" = 1
'

test_expect_success 'decide: killed with the keep committed, before the iteration row and the best' '
    crash d1 research.decide.committed &&
    test "$(json_get "[i[\"detail\"].get(\"resumed\") for i in j[\"iterations\"]
        if i[\"decision\"] == \"kept\"][0]" <s.json)" = 1
'

test_expect_success 'decide: killed with the revert done, before the row' '
    crash d2 research.decide.reset &&
    test "$(json_get "[i[\"detail\"].get(\"resumed\") for i in j[\"iterations\"]
        if i[\"decision\"] != \"kept\"][0]" <s.json)" = 1
'

test_expect_success 'finalize: killed with the report written, before the status row' '
    crash f1 research.finalize.written
'

test_expect_success 'an iteration that kills autodev at every attempt is a crash after two resumes' '
    mkrepo loop &&
    { AUTODEV_CRASH_AT=research.run.measured:2 research loop >/dev/null 2>&1; test $? = 137; } &&
    id=$(sid) &&
    { AUTODEV_CRASH_AT=research.run.measured "$AUTODEV_BIN" research resume $id >/dev/null 2>&1;
      test $? = 137; } &&
    { AUTODEV_CRASH_AT=research.run.measured "$AUTODEV_BIN" research resume $id >/dev/null 2>&1;
      test $? = 137; } &&
    autodev research resume $id >/dev/null &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"iterations\"][1][\"decision\"]" <s.json)" = crashed &&
    json_get "j[\"iterations\"][1][\"detail\"][\"failure\"]" <s.json | grep "resumed 2 times" &&
    test "$(json_get "len(j[\"iterations\"])" <s.json)" = $ITER &&
    wt=$(json_get "j[\"worktree\"]" <s.json) &&
    test -z "$(git -C "$wt" status --porcelain)" &&
    test "$(git -C "$wt" rev-parse HEAD)" = "$(json_get "j[\"best_commit\"]" <s.json)"
'

test_expect_success 'an unknown crash point, or none, changes nothing' '
    mkrepo none &&
    AUTODEV_CRASH_AT=research.no.such.point research none >/dev/null &&
    id=$(sid) &&
    wt=$(autodev research status $id --json | json_get "j[\"worktree\"]") &&
    norm "$(dirname "$wt")/$id.report" >none.norm &&
    test_cmp ref.norm none.norm
'

test_done
