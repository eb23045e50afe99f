#!/bin/sh
test_description='autodev research --rules: the filter rules of a rules file (default .autodev/research-rules), named gates, the file protected, a malformed file refused at setup'
. "$(dirname "$0")/test-lib.sh"

PY=/usr/bin/python3
GIT_ID="-c user.name=t -c user.email=t@t.invalid"

# mkrepo DIR RULES: obj.py prints "score: |X - 4|" (X = 10 in an EVOLVE
# block); eval.py tries to append to the rules file, then runs obj.py;
# RULES (may be empty) goes to .autodev/research-rules.
mkrepo() {
    mkdir "$1" && git -C "$1" init -q &&
    printf '%s\n' '# EVOLVE-BLOCK-START' 'X = 10' '# EVOLVE-BLOCK-END' \
        'print("score: %d" % abs(X - 4))' >"$1/obj.py" &&
    cat >"$1/eval.py" <<-\EOF &&
	try:
	    with open(".autodev/research-rules", "a") as f:
	        f.write("# changed\n")
	    print("wrote rules")
	except OSError as e:
	    print("refused rules", e.errno)
	exec(open("obj.py").read())
	EOF
    if test -n "$2"; then mkdir "$1/.autodev" && printf '%s\n' "$2" >"$1/.autodev/research-rules"; fi &&
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

RULES='# the team'"'"'s rules
protect keep-data data/*
added no-x-change \bX\s*=
deleted no-print-removal print\('

test_expect_success 'the default rules file: a custom rule blocks every keep, its gate named' '
    mkrepo ruled "$RULES" &&
    autodev research run --repo ruled --file obj.py --cmd "$PY eval.py" --metric score \
        --iterations 6 --repeats 1 >out &&
    id=$(sid) &&
    test "$(count $id kept)" -eq 0 &&
    test "$(count $id rejected_by_gate)" -ge 1 &&
    autodev research status $id --json >s.json &&
    json_get "[i[\"gates\"][\"rule:no-x-change\"] for i in j[\"iterations\"] if i[\"decision\"] == \"rejected_by_gate\"][0]" <s.json >gate &&
    grep "\"ok\": false" gate && grep "X = " gate &&
    json_get "j[\"config\"][\"rules\"]" <s.json | grep "^.autodev/research-rules$" &&
    json_get "[r[\"name\"] for r in j[\"config\"][\"rule_set\"]]" <s.json >names &&
    grep keep-data names && grep no-print-removal names &&
    json_get "j[\"config\"][\"protect\"]" <s.json >protect &&
    grep "\"data/\*\"" protect && grep "\"\.autodev/research-rules\"" protect &&
    autodev research report $id --json | json_get "j[\"rejections_by_gate\"]" | grep "rule:no-x-change"
'

test_expect_success 'the same repository without that rule keeps an improvement' '
    mkrepo plain "" &&
    autodev research run --repo plain --file obj.py --cmd "$PY eval.py" --metric score \
        --iterations 6 --repeats 1 >out &&
    test "$(count $(sid) kept)" -ge 1
'

test_expect_success 'the rules file is protected: the command cannot write it (linux backend)' '
    autodev research status $(autodev research list --json | json_get "j[1][\"id\"]") --json >s.json &&
    wt=$(json_get "j[\"worktree\"]" <s.json) &&
    cmp ruled/.autodev/research-rules "$wt/.autodev/research-rules" &&
    json_get "j[\"iterations\"][0][\"detail\"][\"output_tail\"]" <s.json >tail &&
    if test "$(json_get "j[\"iterations\"][0][\"detail\"][\"sandbox_backend\"]" <s.json)" = linux; then
        grep "^refused rules 30$" tail
    fi
'

test_expect_success '--rules names another file of the repository' '
    mkrepo other "" &&
    printf "%s\n" "added no-x \\bX\\s*=" >other/my-rules &&
    git -C other add my-rules && git -C other $GIT_ID commit -qm rules &&
    autodev research run --repo other --file obj.py --cmd "$PY eval.py" --metric score \
        --iterations 6 --repeats 1 --rules my-rules >out &&
    id=$(sid) &&
    test "$(count $id kept)" -eq 0 && test "$(count $id rejected_by_gate)" -ge 1 &&
    autodev research status $id --json | json_get "j[\"config\"][\"protect\"]" | grep "\"my-rules\""
'

test_expect_success 'a malformed rules file is a clear error at setup, and nothing is written' '
    n=$(autodev research list --json | json_get "len(j)") &&
    mkrepo bad1 "protect ok-name data/
added bad-re (unclosed" &&
    test_must_fail autodev research setup --repo bad1 --file obj.py --cmd "$PY eval.py" \
        --metric score 2>err &&
    grep "rules file .*research-rules. line 2: the pattern does not compile" err &&
    mkrepo bad2 "forbid x y" &&
    test_must_fail autodev research setup --repo bad2 --file obj.py --cmd "$PY eval.py" \
        --metric score 2>err &&
    grep "line 1: unknown rule kind .forbid." err &&
    mkrepo bad3 "added dup a
deleted dup b" &&
    test_must_fail autodev research setup --repo bad3 --file obj.py --cmd "$PY eval.py" \
        --metric score 2>err &&
    grep "line 2: rule .dup. is named twice" err &&
    test_must_fail autodev research setup --repo bad3 --file obj.py --cmd "$PY eval.py" \
        --metric score --rules missing-file 2>err &&
    grep "cannot read the rules file" err &&
    test "$(autodev research list --json | json_get "len(j)")" -eq "$n"
'

test_done
