#!/bin/sh
test_description='autodev research, what issue 19 asks of a whole session: the progress line (hypothesis, value ± noise, decision), the report (baseline with noise, best, kept edits with diff and gain, rejections by gate, dead ends, cost), results.tsv keep/discard/crash, the research.* events, the wall-time budget at an iteration boundary'
. "$(dirname "$0")/test-lib.sh"

PY=/usr/bin/python3
GIT_ID="-c user.name=t -c user.email=t@t.invalid"

mkrepo() {
    mkdir "$1" && git -C "$1" init -q &&
    printf '%s\n' '# EVOLVE-BLOCK-START' 'X = 10' '# EVOLVE-BLOCK-END' \
        'print("score: %d" % abs(X - 4))' >"$1/obj.py" &&
    git -C "$1" add obj.py && git -C "$1" $GIT_ID commit -qm init
}

sid() {
    autodev research list --json | json_get 'j[0]["id"]'
}

autodev init >/dev/null || exit 1

test_expect_success 'a session of six iterations: keep, discard and crash' '
    mkrepo a &&
    autodev research run --repo a --file obj.py --cmd "$PY obj.py" --no-sandbox \
        --metric score --iterations 6 --repeats 2 >out &&
    test "$(autodev research status $(sid) --json | json_get "j[\"status\"]")" = completed
'

# The session of the tests below (tests run in subshells: their variables do not last).
id=$(sid)
wt=$(autodev research status $id --json | json_get 'j["worktree"]')
report=$(dirname "$wt")/$id.report

test_expect_success 'one progress line per iteration: hypothesis, value ± noise, decision' '
    test "$(grep -c "^#[0-9]" out)" = 6 &&
    grep "^#5 kept  *5  *± 0  *obj.py: number: 10 -> 9 at line 2$" out &&
    grep "^#2 reverted  *16  *± 0  *obj.py: number: 10 -> 20" out &&
    grep "^#1 crashed  *-  *± 0  *exit status 1$" out
'

test_expect_success 'report.md: baseline with noise, best, the kept edit with its diff and gain, rejections, dead ends, cost' '
    md=$report/report.md &&
    grep "^- baseline: 6 ± 0 (median ± MAD)$" $md &&
    grep "^- best: 5 at [0-9a-f]\{12\}$" $md &&
    grep "^### 5\. [0-9a-f]\{12\}: 5 (gain 1)$" $md &&
    sed -n "/^### 5\./,/^## Rejections/p" $md >kept &&
    grep "^-X = 10$" kept && grep "^+X = 9$" kept &&
    grep "^## Rejections by gate$" $md &&
    sed -n "/^## Dead ends/,/^## Cost/p" $md >dead &&
    grep "^- 1 crashed: obj.py: delete" dead && grep "^- 2 reverted: obj.py: number: 10 -> 20" dead &&
    ! grep "^- 5 " dead &&
    grep "^No model tokens (the offline mutator), \$0.$" $md &&
    grep "^Stopped by: iterations.$" $md
'

test_expect_success 'report.json: the same, and the status completed' '
    j=$report/report.json &&
    test "$(json_get "j[\"status\"]" <$j)" = completed &&
    test "$(json_get "j[\"baseline\"] == {\"median\": 6, \"mad\": 0, \"values\": [6, 6]}" <$j)" = true &&
    test "$(json_get "[k[\"seq\"] for k in j[\"kept\"]]" <$j)" = "[5]" &&
    test "$(json_get "j[\"kept\"][0][\"gain\"]" <$j)" = 1.0 &&
    json_get "j[\"kept\"][0][\"diff\"]" <$j | grep "^+X = 9" &&
    test "$(json_get "[d[\"seq\"] for d in j[\"dead_ends\"]]" <$j)" = "[1, 2, 3, 4, 6]" &&
    test "$(json_get "j[\"cost\"] == {\"tokens\": 0, \"usd\": 0, \"spark_consumed\": 24}" <$j)" = true
'

test_expect_success 'results.tsv: commit, metric, keep/discard/crash, description' '
    tsv=$report/results.tsv &&
    head -1 $tsv | grep "^commit	metric	status	description$" &&
    test "$(wc -l <$tsv)" = 8 &&
    sed -n 2p $tsv | grep "^[0-9a-f]\{12\}	6	keep	baseline$" &&
    grep "^-	-	crash	obj.py: delete" $tsv &&
    grep "^-	16	discard	obj.py: number: 10 -> 20" $tsv &&
    grep "^[0-9a-f]\{12\}	5	keep	obj.py: number: 10 -> 9" $tsv
'

test_expect_success 'the events: research.started, one research.iteration per decision, research.finished' '
    autodev events tail --since 0 --limit 10000 --topic research.started --json >ev1 &&
    grep -c "\"$id\"" ev1 >n && test "$(cat n)" = 1 &&
    autodev events tail --since 0 --limit 10000 --topic research.iteration --json >ev2 &&
    grep -c "\"$id\"" ev2 >n && test "$(cat n)" = 6 &&
    autodev events tail --since 0 --limit 10000 --topic research.finished --json >ev3 &&
    grep -c "\"$id\"" ev3 >n && test "$(cat n)" = 1
'

cat >slow.sh <<EOF
sleep 1
$PY obj.py
EOF

test_expect_success 'the wall-time budget stops the loop at an iteration boundary' '
    mkrepo w &&
    autodev research run --repo w --file obj.py --cmd "sh $TRASH/slow.sh" --no-sandbox \
        --metric score --iterations 50 --repeats 1 --max-seconds 2 >out &&
    id=$(sid) &&
    autodev research status $id --json >s.json &&
    n=$(json_get "len(j[\"iterations\"])" <s.json) &&
    test "$n" -ge 1 && test "$n" -lt 50 &&
    test "$(json_get "[i[\"phase\"] for i in j[\"iterations\"] if i[\"phase\"] != \"decided\"]" <s.json)" = "[]" &&
    wt=$(json_get "j[\"worktree\"]" <s.json) &&
    grep "^Stopped by: max_seconds.$" "$(dirname "$wt")/$id.report/report.md"
'

test_done
