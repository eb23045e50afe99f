#!/bin/sh
test_description='fitness term: custom fitness terms registered per workspace, run in the sandbox, weighted with the built-in score'
. "$(dirname "$0")/test-lib.sh"

# A variant written with SQL as ad_variants_create writes it (t1510 does the
# same): variant.py DB TENANT SCORE prints the new id.
cat >variant.py <<'PY'
import sqlite3, sys, time, uuid
db, tenant, score = sys.argv[1:4]
c = sqlite3.connect(db)
t, = c.execute("SELECT id FROM tenants WHERE name = ?", (tenant,)).fetchone()
vid = str(uuid.uuid4())
c.execute("INSERT INTO workflow_variants (id, tenant_id, workflow_definition, fitness_score,"
          " fitness_signals, evaluation_status, created_at) VALUES (?, ?, '{\"skill\": \"w\"}',"
          " ?, '{\"latency_ms\": 200}', 'evaluated', ?)",
          (vid, t, float(score), time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())))
c.commit()
print(vid)
PY

variant() {
    /usr/bin/python3 variant.py "$DB" "$@"
}

near() {
    /usr/bin/python3 -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - float(sys.argv[2])) < 1e-6 else 1)' "$1" "$2"
}

cat >speed.py <<'PY'
def term(signals):
    # 1 at 0 ms, 0 at 1000 ms and beyond
    return max(0.0, 1.0 - signals.get("latency_ms", 1000) / 1000.0)
PY
cat >flat.py <<'PY'
def term(signals):
    return 0.2
PY

test_expect_success 'setup' '
    autodev init >/dev/null &&
    autodev --tenant globex agent add spy >/dev/null
'

test_expect_success 'term add, list, show: the code stored with its weight and sha256' '
    autodev fitness term add speed --file speed.py --weight 3 >out &&
    grep -q "^added fitness term speed (weight 3, sha256 [0-9a-f]\{12\})$" out &&
    autodev fitness term add flat --file flat.py >out &&
    autodev fitness term list >out &&
    test_line_count out 3 &&
    head -1 out | grep -q "^NAME  *WEIGHT  *ENABLED  *SHA256  *UPDATED$" &&
    grep -q "^flat  *1  *yes  " out &&
    grep -q "^speed  *3  *yes  *$(sha256sum speed.py | cut -c1-64)  " out &&
    autodev fitness term show speed >out &&
    grep -q "^weight    3$" out &&
    grep -q "return max(0.0, 1.0 - signals.get" out &&
    autodev fitness term list --json >j &&
    test "$(json_get "[t[\"name\"] for t in j]" <j)" = "[\"flat\", \"speed\"]"
'

test_expect_success 'term test runs it once in the sandbox: its value, or its error' '
    autodev fitness term test speed --signals "{\"latency_ms\": 250}" >out &&
    test "$(cat out)" = 0.75 &&
    cat >boom.py <<-\PY &&
	def term(signals):
	    return signals["missing"]
	PY
    autodev fitness term add boom --file boom.py >/dev/null &&
    test_expect_code 1 autodev fitness term test boom --signals "{}" >out 2>err &&
    test_one_error err "fitness term .boom. failed: KeyError: .missing." &&
    test_expect_code 2 autodev fitness term test speed --signals "[1]" 2>err &&
    test_one_error err "expected a JSON object" &&
    test_expect_code 2 autodev fitness term test nope --signals "{}" 2>err &&
    test_one_error err "no fitness term .nope."
'

test_expect_success 'apply blends the terms into a variant score by the formula; the failure is recorded' '
    V=$(variant default 0.5) &&
    autodev fitness term apply "$V" >out &&
    grep -q "^variant $V: fitness 0.500 -> " out &&
    autodev fitness show "$V" --json >j &&
    score=$(json_get "j[\"fitness_score\"]" <j) &&
    # (B + 3 * 0.8 + 1 * 0.2) / (1 + 3 + 1); boom is left out of both sums
    near "$score" "$(/usr/bin/python3 -c "print((0.5 + 3 * 0.8 + 1 * 0.2) / 5)")" &&
    json_get "j[\"fitness_signals\"][\"terms\"][\"values\"][\"boom\"][\"error\"]" <j | grep -q "KeyError" &&
    test "$(json_get "j[\"fitness_signals\"][\"terms\"][\"builtin\"]" <j)" = 0.5 &&
    test "$(json_get "j[\"fitness_signals\"][\"terms\"][\"values\"][\"speed\"][\"value\"]" <j)" = 0.8
'

test_expect_success 'a delayed signal moves the built-in score and the terms run again' '
    V=$(variant default 0.5) &&
    autodev fitness signal "$V" "{\"invoice_created\": true}" >out &&
    autodev fitness show "$V" --json >j &&
    near "$(json_get "j[\"fitness_score\"]" <j)" "$(/usr/bin/python3 -c "print((0.9 + 3 * 0.8 + 0.2) / 5)")"
'

test_expect_success 'another workspace: its variants do not get these terms' '
    W=$(variant globex 0.5) &&
    autodev --tenant globex fitness term list >out &&
    test_line_count out 0 &&
    autodev --tenant globex fitness term apply "$W" >out &&
    grep -q "fitness 0.500 -> 0.500$" out &&
    autodev --tenant globex fitness show "$W" --json >j &&
    test "$(json_get "\"terms\" in j[\"fitness_signals\"]" <j)" = false
'

test_expect_success 'bad terms are refused with a clear error and nothing is stored' '
    printf "def term(s) return 1\n" >syntax.py &&
    test_expect_code 2 autodev fitness term add bad --file syntax.py 2>err &&
    test_one_error err "not a term: line 1: " &&
    printf "def score(s):\n    return 1\n" >noterm.py &&
    test_expect_code 2 autodev fitness term add bad --file noterm.py 2>err &&
    test_one_error err "no top-level function .term." &&
    test_expect_code 2 autodev fitness term add 9bad --file flat.py 2>err &&
    test_one_error err "expected a Python identifier" &&
    test_expect_code 2 autodev fitness term add bad --file flat.py --weight 0 2>err &&
    test_one_error err "--weight: expected a number > 0" &&
    test_expect_code 2 autodev fitness term add flat --file flat.py 2>err &&
    test_one_error err "a fitness term named .flat. already exists" &&
    /usr/bin/python3 -c "print(\"#\" * 20000)" >big.py &&
    test_expect_code 2 autodev fitness term add bad --file big.py 2>err &&
    test_one_error err "code is 20001 bytes, more than 16384" &&
    test_expect_code 2 autodev fitness term add bad --file missing.py 2>err &&
    grep -q "missing.py" err &&
    autodev fitness term list >out &&
    test_line_count out 4 &&
    ! grep -q "^bad " out
'

test_expect_success 'term remove' '
    autodev fitness term remove boom >out &&
    grep -q "^removed fitness term boom$" out &&
    test_expect_code 2 autodev fitness term remove boom 2>err &&
    test_one_error err "no fitness term .boom." &&
    autodev fitness term list >out &&
    test_line_count out 3
'

test_done
