#!/bin/sh
test_description='evolve: runs of generations over an archive of islands; the same seed gives the same trace; kill -9 and resume give the same archive; stop file, SIGINT, preflight, review'
. "$(dirname "$0")/test-lib.sh"

unset AUTODEV_LLM

# A FunSearch-style skill: a priority function (the EVOLVE block) inside a
# fixed greedy bin-packing loop. Its output's "score" (minus the bins used)
# is the fitness: it depends on the outputs only, never on timing. With w 0
# every bin has the same priority: first fit; w > 0 is best fit, which
# packs these inputs into fewer bins.
cat >"$TRASH/pack.py" <<'EOF'
def priority(item, space):
    # EVOLVE-BLOCK-START
    waste = space - item
    w = 0.0
    return -waste * w
    # EVOLVE-BLOCK-END

def pack(items):
    bins = []
    for it in items:
        best, bp = None, None
        for i, s in enumerate(bins):
            if s >= it:
                p = priority(it, s)
                if bp is None or p > bp:
                    best, bp = i, p
        if best is None:
            bins.append(100 - it)
        else:
            bins[best] -= it
    return {"score": -len(bins), "bins": len(bins)}
EOF

# items SEED: 60 item sizes in 20..60, the same for the same SEED.
items() {
    /usr/bin/python3 -c 'import random, sys
r = random.Random(int(sys.argv[1]))
print(",".join(str(r.randint(20, 60)) for _ in range(60)))' "$1"
}

OPTS="--generations 5 --population 4 --islands 2 --fitness output --feature length:0:1000:8
      --migration-interval 2 --stagnation 3"

# archive RUN: the run's elites without their ids (which differ from run to run).
archive() {
    autodev evolve show "$1" --json |
    json_get 'sorted((e["island"], e["cell"], e["fitness"], e["code_hash"], e["generation"], e["slot"]) for e in j["elites"])'
}

# run_state RUN EXPR: EXPR over evolve status --json.
run_state() {
    autodev evolve status "$1" --json | json_get "$2"
}

test_expect_success 'setup: the skill and three recorded inputs' '
    autodev init >/dev/null &&
    autodev skill add "$TRASH/pack.py" --name pack --entry pack >/dev/null &&
    for s in 1 2 3; do
        autodev skill run pack --input "{\"items\": [$(items $s)]}" >/dev/null || return 1
    done
'

test_expect_success 'evolve --help and the man page list it' '
    autodev evolve --help >out &&
    grep -q "evolve run SKILL" out && grep -q -- "--stop-file PATH" out &&
    autodev help --man | grep -q "evolve resume RUN"
'

test_expect_success 'bad input: an unknown skill, a bad feature, a budget no generation fits' '
    test_expect_code 2 autodev evolve run nosuch $OPTS 2>err &&
    test_one_error err "nosuch" &&
    test_expect_code 2 autodev evolve run pack --feature length:5:1:3 2>err &&
    test_one_error err "MIN < MAX" &&
    test_expect_code 2 autodev evolve run pack $OPTS --max-evaluations 5 2>err &&
    test_one_error err "preflight: one generation takes up to [0-9]+ evaluations, over the budget of 5" &&
    test_expect_code 2 autodev evolve status 01234567-89ab-7cde-8f01-23456789abcd 2>err &&
    test_one_error err "unknown evolution run" &&
    test "$(autodev evolve list --json | json_get "len(j)")" = 0
'

test_expect_success 'a skill with no recorded input cannot be evolved' '
    autodev skill add "$TRASH/pack.py" --name fresh --entry pack >/dev/null &&
    test_expect_code 2 autodev evolve run fresh $OPTS 2>err &&
    test_one_error err "no recorded input"
'

test_expect_success 'run: the id first, the preflight, one line per generation, done' '
    autodev evolve run pack $OPTS --seed 7 >run1 &&
    head -n 1 run1 | grep -Eq "^[0-9a-f-]{36}$" &&
    sed -n 2p run1 | grep -q "^preflight: at most [0-9]* evaluations, 0 model calls" &&
    test "$(grep -c "^generation [1-5]/5  best " run1)" = 5 &&
    grep -q "evaluations/s" run1 &&
    head -n 1 run1 >id1 &&
    test "$(run_state $(cat id1) "j[\"state\"]")" = done &&
    test "$(run_state $(cat id1) "j[\"generation\"]")" = 5
'

test_expect_success 'show --json has the best: code, fitness, signals' '
    autodev evolve show $(cat id1) --json >show &&
    json_get "j[\"best\"][\"code\"]" <show | grep -q "def pack" &&
    json_get "j[\"best\"][\"fitness\"] == max(e[\"fitness\"] for e in j[\"elites\"])" <show | grep -qx true &&
    json_get "j[\"best\"][\"signals\"][\"evaluations\"] > 0" <show | grep -qx true &&
    json_get "\"tests\" in j[\"params\"]" <show | grep -qx false
'

test_expect_success 'show --json has the curve: one point a generation, the best never falling, ending at the best' '
    json_get "[c[\"generation\"] for c in j[\"curve\"]] == list(range(len(j[\"curve\"])))" <show | grep -qx true &&
    json_get "len(j[\"curve\"]) >= j[\"generation\"]" <show | grep -qx true &&
    json_get "all(a[\"best\"] is None or (b[\"best\"] is not None and b[\"best\"] >= a[\"best\"]) for a, b in zip(j[\"curve\"], j[\"curve\"][1:]))" <show | grep -qx true &&
    json_get "j[\"curve\"][-1][\"best\"] >= j[\"best\"][\"fitness\"] - 1e-9" <show | grep -qx true &&
    json_get "sum(c[\"programs\"] for c in j[\"curve\"]) == j[\"programs\"]" <show | grep -qx true
'

test_expect_success 'the trace holds proposals, decisions, a migration and the generations' '
    autodev evolve trace $(cat id1) >trace1 &&
    test "$(grep -c "\"kind\":\"generation\"" trace1)" = 5 &&
    grep -q "\"kind\":\"migration\"" trace1 &&
    test "$(grep -c "\"kind\":\"proposal\"" trace1)" = 20 &&
    /usr/bin/python3 -c "import json, sys
[json.loads(l) for l in open(sys.argv[1])]" trace1
'

test_expect_success 'near-duplicates are dropped before they run' '
    grep "\"decision\":\"duplicate\"" trace1 >dups &&
    test -s dups &&
    ! grep -q "\"stage\"" dups
'

test_expect_success 'the same seed gives the same trace and archive; another seed another trace' '
    autodev evolve run pack $OPTS --seed 7 >run2 &&
    head -n 1 run2 >id2 &&
    autodev evolve trace $(cat id2) >trace2 &&
    test_cmp trace1 trace2 &&
    archive $(cat id1) >a1 && archive $(cat id2) >a2 && test_cmp a1 a2 &&
    autodev evolve run pack $OPTS --seed 8 >run3 &&
    autodev evolve trace $(head -n 1 run3) >trace3 &&
    ! cmp -s trace1 trace3
'

test_expect_success 'the best program, better than the seed, went to review as a mutation' '
    grep -q "^best program put to review: mutation " run1 &&
    mid=$(sed -n "s/^best program put to review: mutation \([^ ]*\) .*/\1/p" run1) &&
    autodev mutations show $mid --json >mut &&
    json_get "j[\"review_status\"]" <mut | grep -qx pending &&
    json_get "j[\"mutated_code\"]" <mut | grep -q "w = 0\.[1-9]\|w = [1-9]" &&
    seed=$(grep "\"slot\":-1" trace1 | json_get "j[\"data\"][\"fitness\"]") &&
    json_get "j[\"proxy_signals\"][\"fitness\"] > $seed" <mut | grep -qx true
'

test_expect_success 'kill -9 mid-run, then resume: the same trace and archive as without the kill' '
    ( "$AUTODEV_BIN" evolve run pack $OPTS --seed 7 >killed 2>/dev/null & echo $! >pid; wait ) &
    wait_for "test -s killed" 30 &&
    id=$(head -n 1 killed) &&
    wait_for "test \$(run_state $id \"j[\\\"generation\\\"]\") -ge 2" 120 &&
    kill -9 $(cat pid) &&
    sleep 0.2 &&
    test "$(run_state $id "j[\"state\"]")" = running &&
    autodev evolve resume $id >resumed &&
    test "$(run_state $id "j[\"state\"]")" = done &&
    test "$(run_state $id "j[\"generation\"]")" = 5 &&
    autodev evolve trace $id >trace4 &&
    test_cmp trace1 trace4 &&
    archive $id >a4 && test_cmp a1 a4
'

test_expect_success 'a stop file stops after the current generation; resume finishes the same run' '
    rm -f stop &&
    ( autodev evolve run pack $OPTS --seed 7 --stop-file stop >stopped 2>&1; echo $? >rc ) &
    wait_for "grep -q \"^generation 1/5\" stopped" 120 &&
    touch stop &&
    wait_for "test -s rc" 120 &&
    test "$(cat rc)" = 0 &&
    id=$(head -n 1 stopped) &&
    grep -q "stopped (stop file)" stopped &&
    test "$(run_state $id "j[\"state\"]")" = stopped &&
    test "$(run_state $id "j[\"generation\"]")" -lt 5 &&
    autodev evolve resume $id >/dev/null &&
    autodev evolve trace $id >trace5 &&
    test_cmp trace1 trace5
'

test_expect_success 'SIGINT stops cleanly after the current generation' '
    ( "$AUTODEV_BIN" evolve run pack $OPTS --seed 7 >sigint 2>&1 & echo $! >pid2; wait $!; echo $? >rc2 ) &
    wait_for "grep -q \"^generation 1/5\" sigint" 120 &&
    kill -INT $(cat pid2) &&
    wait_for "test -s rc2" 120 &&
    test "$(cat rc2)" = 0 &&
    id=$(head -n 1 sigint) &&
    test "$(run_state $id "j[\"state\"]")" = stopped &&
    test "$(run_state $id "j[\"reason\"]")" = SIGINT
'

test_expect_success 'a finished run cannot be resumed; list shows the runs' '
    test_expect_code 1 autodev evolve resume $(cat id1) 2>err &&
    test_one_error err "is done" &&
    test "$(autodev evolve list --json | json_get "len(j)")" -ge 5
'

test_expect_success 'an AUTONOMOUS agent with background_evolution: the best is promoted at once' '
    autodev agent add auto --maturity AUTONOMOUS >/dev/null &&
    autodev settings set background_evolution true >/dev/null &&
    autodev evolve run pack $OPTS --seed 7 --agent auto >run6 &&
    mid=$(sed -n "s/^best program promoted automatically: mutation \([^ ]*\)$/\1/p" run6) &&
    autodev mutations show $mid --json >mut6 &&
    json_get "j[\"review_status\"]" <mut6 | grep -qx auto_approved &&
    autodev skill show pack --json >skill6 &&
    json_get "j[\"skill\"][\"version\"]" <skill6 | grep -qx 1.1.0
'

test_done
