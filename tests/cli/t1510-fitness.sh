#!/bin/sh
test_description='fitness: delayed signals, the top variants, one variant in detail'
. "$(dirname "$0")/test-lib.sh"

# Variants are written by the AlphaEvolver job; here with SQL, as
# ad_variants_create would write them (the library's side is tested in
# tests/unit/test_fitness.c). variant.py DB AGENT SCORE prints the new id.
cat >variant.py <<'PY'
import sqlite3, sys, time, uuid
db, agent, score = sys.argv[1:4]
c = sqlite3.connect(db)
t, = c.execute("SELECT id FROM tenants WHERE name = 'default'").fetchone()
a, = c.execute("SELECT id FROM agents WHERE tenant_id = ? AND name = ?", (t, agent)).fetchone()
vid = str(uuid.uuid4())
c.execute("INSERT INTO workflow_variants (id, tenant_id, agent_id, workflow_definition,"
          " fitness_score, evaluation_status, created_at) VALUES (?, ?, ?, '{\"skill\": \"w\"}',"
          " ?, 'evaluated', ?)", (vid, t, a, None if score == "-" else float(score),
          time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())))
c.commit()
print(vid)
PY

variant() {
    /usr/bin/python3 variant.py "$DB" "$@"
}

# score VARIANT: its fitness score as fitness show --json gives it.
score() {
    autodev fitness show "$1" --json | json_get 'j["fitness_score"]'
}

events() {
    autodev events tail --topic variant.fitness --limit 10000 --json | wc -l
}

test_expect_success 'setup: two agents, three variants' '
    autodev init >/dev/null &&
    autodev agent add bot --maturity SUPERVISED >/dev/null &&
    autodev agent add other >/dev/null &&
    variant bot 0.7 >a && variant bot 0.5 >b && variant other - >c
'
A=$(cat a 2>/dev/null); B=$(cat b 2>/dev/null); C=$(cat c 2>/dev/null)

test_expect_success 'top lists the scored variants best first' '
    autodev fitness top >out &&
    test_line_count out 3 &&
    head -1 out | grep -q "^RANK  *VARIANT  *SCORE  *STATUS  *AGENT  *MUTATION  *EVALUATED$" &&
    grep -q "^1  *$A  *0.700  *evaluated  *bot  " out &&
    grep -q "^2  *$B  *0.500  " out
'

test_expect_success 'a delayed signal changes the ranking' '
    autodev fitness signal "$B" "{\"crm_conversion\": true}" >out &&
    grep -q "^variant $B: fitness 0.500 -> 1.000$" out &&
    printf "{\"error_signal\": true}" >sig.json &&
    autodev fitness signal "$A" --file sig.json >out &&
    grep -q "fitness 0.700 -> 0.500$" out &&
    autodev fitness top --json >j &&
    test "$(json_get "[v[\"id\"] for v in j]" <j)" = "[\"$B\", \"$A\"]"
'

test_expect_success 'signal --json takes the signal and prints JSON' '
    autodev fitness signal "$C" --json "{\"conversion_value\": 250}" >out &&
    test "$(json_get "j[\"fitness_score\"]" <out)" = 0.25 &&
    test "$(json_get "j[\"previous_score\"]" <out)" = null &&
    test "$(autodev fitness top --agent other --json | json_get "len(j)")" = 1
'

test_expect_success 'bad JSON is exit 2 with a clear error, and nothing is written' '
    before=$(events) &&
    test_expect_code 2 autodev fitness signal "$A" "{\"invoice_created\": tru" 2>err &&
    test_one_error err "signal: invalid json" &&
    test_expect_code 2 autodev fitness signal "$A" "{\"invoice_created\": 1}" 2>err &&
    test_one_error err "invoice_created. must be true or false" &&
    test_expect_code 2 autodev fitness signal "$A" "{\"refund\": true}" 2>err &&
    test_one_error err "unknown key .refund." &&
    test_expect_code 2 autodev fitness signal "$A" "[1]" 2>err &&
    test_one_error err "expected a JSON object" &&
    test_expect_code 2 autodev fitness signal "$A" 2>err &&
    test_one_error err "needs the signal" &&
    test "$(score "$A")" = 0.5 &&
    test "$(events)" = "$before"
'

test_expect_success 'an unknown variant exits 2 naming it' '
    test_expect_code 2 autodev fitness signal 01900000-0000-7000-8000-0000000000ff \
        "{\"invoice_created\": true}" 2>err &&
    test_one_error err "no variant .01900000-0000-7000-8000-0000000000ff." &&
    test_expect_code 2 autodev fitness show nope 2>err &&
    test_one_error err "no variant .nope." &&
    test_expect_code 2 autodev fitness top --agent nobody 2>err
'

test_expect_success 'show lists the delayed signals with their adjustments' '
    autodev fitness show "$B" >out &&
    grep -q "^score         1.000$" out &&
    grep -q "^agent         bot$" out &&
    grep -q "^  delayed  *1 signal(s)$" out &&
    grep -q "  +0.500  {\"crm_conversion\":true}$" out &&
    autodev fitness show "$B" --json >j &&
    test "$(json_get "j[\"fitness_signals\"][\"delayed\"][0][\"adjustment\"]" <j)" = 0.5
'

test_expect_success 'each change is a variant.fitness event' '
    autodev events tail --topic variant.fitness --json >ev &&
    test_line_count ev 3 &&
    tail -1 ev | json_get "j[\"payload\"][\"source\"]" | grep -q "^delayed$"
'

test_done
