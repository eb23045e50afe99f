#!/bin/sh
test_description='autodev propose mutate: offline mutants as edits'
. "$(dirname "$0")/test-lib.sh"

mkdir repo
cat >repo/skill.py <<'PY'
LIMIT = 10  # never mutated: outside the EVOLVE block


def score(xs):
    # EVOLVE-BLOCK-START
    total = 0
    for x in xs:
        if x > 3:
            total += x * 2
    # EVOLVE-BLOCK-END
    return total
PY

test_expect_success 'the same seed gives the same mutants' '
    autodev propose mutate repo/skill.py --seed 5 --count 4 >a &&
    autodev propose mutate repo/skill.py --seed 5 --count 4 >b &&
    test_cmp a b &&
    test "$(grep -c "^# mutant " a)" = 4
'

test_expect_success 'every mutant applies with edit apply and stays in the block' '
    (cd repo && autodev propose mutate skill.py --seed 9 --count 6 --json) >m &&
    n=$(json_get "len(j)" <m) &&
    i=0 &&
    while [ $i -lt $n ]; do
        rm -rf work && cp -r repo work &&
        json_get "j[$i][\"edit\"]" <m >edit &&
        autodev edit apply --repo work --file skill.py <edit >/dev/null &&
        ! cmp -s repo/skill.py work/skill.py &&
        grep -q "^LIMIT = 10  # never mutated" work/skill.py &&
        grep -q "^    return total$" work/skill.py || exit 1
        i=$((i + 1))
    done
'

test_expect_success '--ops limits the operators' '
    autodev propose mutate repo/skill.py --ops compare --count 10 --json >m &&
    test "$(json_get "sorted(set(x[\"op\"] for x in j))" <m)" = "[\"compare\"]"
'

test_expect_success 'bad options and files are clear errors' '
    test_expect_code 2 autodev propose mutate repo/skill.py --ops nonsense 2>err &&
    test_one_error err "unknown operator .nonsense." &&
    test_expect_code 2 autodev propose mutate repo/skill.py --count 0 2>err &&
    test_expect_code 2 autodev propose mutate nope.py 2>err &&
    test_one_error err "cannot open .nope.py."
'

test_done
