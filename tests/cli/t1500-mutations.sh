#!/bin/sh
test_description='AlphaEvolver mutations: list, show with its diff, approve, reject, lineage'
. "$(dirname "$0")/test-lib.sh"

# No command makes a mutation yet (the alpha.mutate job does), so the rows
# an evaluation leaves are written here with SQL, as the engine's
# ad_mutations_create and _save would write them. What the library does
# with them is tested in C (tests/unit/test_mutations.c); this script tests
# the commands' parsing, printing and errors.
cat >mutant.py <<'PY'
"""mutant.py DB SKILL DECISION REVIEW CODEFILE: a mutation of SKILL's current
version (DECISION won/lost/-, REVIEW pending/-) with one scored variant;
prints the mutation's id and the variant's."""
import json, sqlite3, sys, time, uuid
db, skill, decision, review, codefile = sys.argv[1:6]
c = sqlite3.connect(db)
t, = c.execute("SELECT id FROM tenants WHERE name = 'default'").fetchone()
sid, vid = c.execute("SELECT id, current_version_id FROM skills WHERE tenant_id = ?"
                     " AND name = ?", (t, skill)).fetchone()
now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
mid, var = str(uuid.uuid4()), str(uuid.uuid4())
signals = {"repeats": 5, "match_rate": {"parent": 1.0, "mutant": 1.0},
           "median_ms": {"parent": 12.5, "mutant": 7.25}}
risk = {"level": "low", "score": 0.1,
        "reasons": ["no new imports", "\x1b[31mred\x1b[0m in a reason"]}
c.execute("INSERT INTO tool_mutations (id, tenant_id, tool_name, mutated_code, sandbox_status,"
          " skill_id, parent_skill_version_id, mutant_index, trigger, proposer,"
          " mutation_operator, proxy_signals, decision, decision_reason, fitness_delta,"
          " risk_score, risk, review_status, created_at, evaluated_at) VALUES"
          " (?, ?, ?, ?, 'passed', ?, ?, 0, 'latency', 'offline', 'llm', ?, ?, ?, ?, 0.1, ?, ?,"
          " ?, ?)",
          (mid, t, skill, open(codefile).read(), sid, vid, json.dumps(signals),
           None if decision == "-" else decision, "median latency down 42%, outputs equal",
           0.25 if decision == "won" else -0.1, json.dumps(risk),
           None if review == "-" else review, now, now))
c.execute("INSERT INTO workflow_variants (id, tenant_id, tool_mutation_id, skill_version_id,"
          " workflow_definition, fitness_score, fitness_signals, evaluation_status, created_at)"
          " VALUES (?, ?, ?, ?, '{\"skill\": \"w\"}', 0.5, ?, 'evaluated', ?)",
          (var, t, mid, vid, json.dumps({"proxy": {"syntax_error": False,
           "execution_success": True, "user_approved": False, "score": 0.5}}), now))
c.commit()
print(mid, var)
PY

cat >wc.py <<'PY'
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())
PY
cat >wc_loop.py <<'PY'
def word_count(text: str) -> int:
    """Count the words in a text."""
    n = 0
    for _ in text.split():
        n += 1
    return n
PY

mutant() {
    /usr/bin/python3 mutant.py "$DB" word_count "$@"
}

test_expect_success 'setup: a skill and three mutants of its 1.0.0' '
    autodev init >/dev/null &&
    autodev skill add wc.py --name word_count --entry word_count >/dev/null &&
    mutant won pending wc_loop.py >m1 &&
    mutant lost - wc_loop.py >m2 &&
    mutant won pending wc_loop.py >m3 &&
    test "$(autodev mutations list --json | json_get "len(j)")" = 3
'
M1=$(cut -d" " -f1 m1 2>/dev/null); V1=$(cut -d" " -f2 m1 2>/dev/null)
M2=$(cut -d" " -f1 m2 2>/dev/null); M3=$(cut -d" " -f1 m3 2>/dev/null)

test_expect_success 'list prints a header and one row per mutation' '
    autodev mutations list >out &&
    test_line_count out 4 &&
    head -1 out | grep -q "^ID  *SKILL  *TRIGGER  *PROPOSER  *OPERATOR  *STATUS  *DECISION  *GAIN  *RISK  *REVIEW$" &&
    grep "^$M1 " out | grep -q "word_count  *latency  *offline  *llm  *passed  *won  *+0.250  *low  *pending$" &&
    grep "^$M2 " out | grep -q "lost  *-0.100  *low  *-$"
'

test_expect_success 'list filters by decision, review, status and skill' '
    autodev mutations list --decision lost --json >out &&
    test "$(json_get "[m[\"id\"] for m in j]" <out)" = "[\"$M2\"]" &&
    test "$(autodev mutations list --review pending --json | json_get "len(j)")" = 2 &&
    test "$(autodev mutations list --status failed --json | json_get "len(j)")" = 0 &&
    test "$(autodev mutations list --skill word_count --limit 1 --json | json_get "len(j)")" = 1
'

test_expect_success 'list refuses a bad filter with exit 2' '
    test_expect_code 2 autodev mutations list --decision draw 2>err &&
    test_one_error err "invalid decision .draw." &&
    test_expect_code 2 autodev mutations list --review maybe 2>err &&
    test_one_error err "invalid review .maybe." &&
    test_expect_code 2 autodev mutations list --skill nope 2>err &&
    test_one_error err "no skill named .nope." &&
    test_expect_code 2 autodev mutations list --limit 1001 2>err
'

test_expect_success 'show prints the signals sorted, the risk reasons and a side-by-side diff' '
    autodev mutations show "$M1" >out &&
    grep -q "^skill         word_count (made from 1.0.0)$" out &&
    grep -q "^decision      won: median latency down 42%, outputs equal$" out &&
    grep -q "^fitness delta +0.250$" out &&
    grep -q "^risk          low (0.10)$" out &&
    grep -q "^  - no new imports$" out &&
    sed -n "/^signals:/,/^diff/p" out >sig &&
    test "$(sed -n 2p sig | cut -c3-12)" = "match_rate" &&
    grep -q "^  median_ms  *parent 12.5  mutant 7.25$" sig &&
    test "$(sed -n 4p sig | cut -c3-9)" = "repeats" &&
    grep -q "^def word_count(text: str) -> int: .*  def word_count(text: str) -> int:$" out &&
    grep -q "^    return len(text.split())  *|     n = 0$" out &&
    grep -q "^  *>         n += 1$" out
'

test_expect_success 'show escapes what the mutation carries' '
    autodev mutations show "$M1" >out &&
    grep -q "\\\\u001b\[31mred" out &&
    ! grep -q "$(printf "\033")" out
'

test_expect_success 'show --json has the code and the parent code' '
    autodev mutations show "$M1" --json >out &&
    test "$(json_get "j[\"parent_semver\"]" <out)" = 1.0.0 &&
    json_get "j[\"parent_code\"]" <out | grep -q "return len(text.split())" &&
    json_get "j[\"mutated_code\"]" <out | grep -q "n += 1" &&
    test "$(json_get "j[\"risk\"][\"level\"]" <out)" = low &&
    test "$(json_get "j[\"decision\"]" <out)" = won
'

test_expect_success 'an unknown or malformed id exits 2 naming it' '
    test_expect_code 2 autodev mutations show 01900000-0000-7000-8000-0000000000ff 2>err &&
    test_one_error err "no mutation .01900000-0000-7000-8000-0000000000ff." &&
    test_expect_code 2 autodev mutations approve not-an-id 2>err &&
    test_one_error err "no mutation .not-an-id." &&
    test_expect_code 2 autodev lineage 01900000-0000-7000-8000-0000000000ff 2>err &&
    test_one_error err "no skill or mutation"
'

test_expect_success 'reject needs a reason; nothing changes without one' '
    test_expect_code 2 autodev mutations reject "$M3" 2>err &&
    test_one_error err "needs --reason" &&
    test "$(autodev mutations show "$M3" --json | json_get "j[\"review_status\"]")" = pending
'

test_expect_success 'approve refuses a mutation that lost, and writes nothing' '
    test_expect_code 2 autodev mutations approve "$M2" 2>err &&
    test_one_error err "lost; only a mutation that won" &&
    autodev skill show word_count --json >s &&
    test "$(json_get "len(j[\"versions\"])" <s)" = 1
'

test_expect_success 'approve makes a new minor version with the parent as its lineage' '
    autodev mutations approve "$M1" --reviewer ann --reason "same outputs, faster" >out &&
    grep -q "^promoted word_count 1.1.0 (version .*, from mutation $M1)$" out &&
    autodev skill show word_count --json >s &&
    test "$(json_get "j[\"version\"][\"semver\"]" <s)" = 1.1.0 &&
    test "$(json_get "j[\"version\"][\"parent_semver\"]" <s)" = 1.0.0 &&
    test "$(json_get "j[\"version\"][\"origin\"]" <s)" = alpha &&
    autodev mutations show "$M1" --json >m &&
    test "$(json_get "j[\"review_status\"]" <m)" = approved &&
    test "$(json_get "j[\"reviewed_by\"]" <m)" = ann &&
    test "$(autodev fitness show "$V1" --json | json_get "j[\"evaluation_status\"]")" = promoted
'

test_expect_success 'lineage of the skill shows the alpha version with its delta and score' '
    autodev lineage word_count >out &&
    grep -q "^lineage of word_count (current 1.1.0)" out &&
    grep -q "^\* 1.1.0  *alpha  *$M1  .*  +0.250  *1.000$" out &&
    grep -q "^  1.0.0  *manual  *-  " out &&
    autodev lineage word_count --json >j &&
    test "$(json_get "[v[\"semver\"] for v in j[\"versions\"]]" <j)" = "[\"1.1.0\", \"1.0.0\"]"
'

test_expect_success 'lineage of a mutation shows its chain and the version it was made from' '
    autodev lineage "$M1" >out &&
    grep -q "^$M1  *0  *llm  *won  *+0.250  *approved  " out &&
    grep -q "^made from this version of word_count" out &&
    grep -q "^  1.0.0  *manual" out &&
    autodev lineage "$M1" --json >j &&
    test "$(json_get "j[\"skill\"]" <j)" = word_count
'

test_expect_success 'approve refuses a mutant of a version the skill moved on from' '
    test_expect_code 2 autodev mutations approve "$M3" 2>err &&
    test_one_error err "the skill moved on: current 1.1.0, mutation made from 1.0.0" &&
    test "$(autodev skill show word_count --json | json_get "len(j[\"versions\"])")" = 2
'

test_expect_success 'reject with a reason; a decided mutation cannot be decided again' '
    autodev mutations reject "$M3" --reason "made from an old version" --reviewer bob >out &&
    grep -q "^rejected mutation $M3 of word_count$" out &&
    autodev mutations show "$M3" --json >m &&
    test "$(json_get "j[\"review_status\"]" <m)" = rejected &&
    test "$(json_get "j[\"reason\"]" <m)" = "made from an old version" &&
    test_expect_code 2 autodev mutations approve "$M1" 2>err &&
    test_one_error err "not awaiting review"
'

test_expect_success 'skill rollback to the ancestor restores the old code' '
    autodev skill rollback word_count --to 1.0.0 >/dev/null &&
    autodev skill show word_count --json >s &&
    test "$(json_get "j[\"version\"][\"semver\"]" <s)" = 1.0.0 &&
    json_get "j[\"version\"][\"code\"]" <s | grep -q "return len(text.split())"
'

test_expect_success 'every command has --help' '
    for c in mutations lineage fitness; do
        autodev $c --help >out && grep -q "autodev $c" out || exit 1
    done
'

test_done
