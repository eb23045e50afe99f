#!/bin/sh
test_description='AlphaEvolver over HTTP: mutations (list, show, lineage, test, approve, reject, regenerate) and variants (list, one, top)'
. "$(dirname "$0")/lib.sh"

# The rows an evaluation leaves are written with SQL (mutant.py, as t1500
# does; the alpha.mutate job itself is tested in C); what the routes do with
# them is tested here.

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
    /usr/bin/python3 "$SERVER_DIR/mutant.py" "$DB" word_count "$@"
}

items() {
    jbody "len(j[\"items\"])"
}

test_expect_success 'setup: a skill, an agent, three mutants of its 1.0.0, tokens, the server' '
    autodev init >/dev/null &&
    autodev settings set enabled true >/dev/null &&
    autodev agent add ann --maturity SUPERVISED >/dev/null &&
    autodev skill add wc.py --name word_count --entry word_count >/dev/null &&
    mutant won pending wc_loop.py - ann yes >m1 &&
    mutant lost - wc_loop.py - - no >m2 &&
    mutant won pending wc_loop.py "$(cut -d" " -f1 m1)" ann yes >m3 &&
    make_token admin >admin && make_token reviewer >rev && make_token agent >agent &&
    start_server --workers 0
'
M1=$(cut -d" " -f1 m1 2>/dev/null); V1=$(cut -d" " -f2 m1 2>/dev/null)
M2=$(cut -d" " -f1 m2 2>/dev/null); M3=$(cut -d" " -f1 m3 2>/dev/null)

test_expect_success 'list: newest first, the filters of the CLI, pages by cursor' '
    test "$(api "$(cat agent)" GET /v1/mutations)" = 200 &&
    test "$(jbody "[m[\"id\"] for m in j[\"items\"]]")" = "[\"$M3\", \"$M2\", \"$M1\"]" &&
    test "$(jbody "j[\"items\"][0][\"risk_level\"]")" = low &&
    test "$(jbody "\"mutated_code\" in j[\"items\"][0]")" = false &&
    test "$(api "$(cat agent)" GET "/v1/mutations?decision=won")" = 200 && test "$(items)" = 2 &&
    test "$(api "$(cat agent)" GET "/v1/mutations?review=pending&agent=ann")" = 200 &&
    test "$(items)" = 2 &&
    test "$(api "$(cat agent)" GET "/v1/mutations?status=passed&skill=word_count")" = 200 &&
    test "$(items)" = 3 &&
    test "$(api "$(cat agent)" GET "/v1/mutations?status=failed")" = 200 && test "$(items)" = 0 &&
    test "$(api "$(cat agent)" GET "/v1/mutations?limit=2")" = 200 &&
    test "$(jbody "[m[\"id\"] for m in j[\"items\"]]")" = "[\"$M3\", \"$M2\"]" &&
    cur=$(jbody "j[\"next_cursor\"]") &&
    test "$(api "$(cat agent)" GET "/v1/mutations?limit=2&cursor=$cur")" = 200 &&
    test "$(jbody "[[m[\"id\"] for m in j[\"items\"]], j[\"next_cursor\"]]")" = "[[\"$M1\"], null]" &&
    test "$(api "$(cat agent)" GET "/v1/mutations?status=great")" = 400 && error_is bad_request &&
    test "$(api "$(cat agent)" GET "/v1/mutations?decision=maybe")" = 400 &&
    test "$(api "$(cat agent)" GET "/v1/mutations?skill=nosuch")" = 404 &&
    test "$(api "$(cat agent)" GET "/v1/mutations?agent=nobody")" = 404 &&
    test "$(api "$(cat agent)" GET "/v1/mutations?cursor=$M1")" = 400
'

test_expect_success 'show: code, test set, signals and noise floor, risk reasons, parent code, variants' '
    test "$(api "$(cat rev)" GET "/v1/mutations/$M1")" = 200 &&
    test "$(jbody "j[\"skill\"]")" = word_count &&
    test "$(jbody "len(j[\"test_set\"])")" = 2 &&
    test "$(jbody "j[\"proxy_signals\"][\"noise_floor_pct\"]")" = 3.0 &&
    test "$(jbody "j[\"fitness_delta\"]")" = 0.25 &&
    test "$(jbody "j[\"risk\"][\"reasons\"]")" = "[\"no new imports\"]" &&
    test "$(jbody "j[\"parent_semver\"]")" = 1.0.0 &&
    jbody "j[\"parent_code\"]" | grep -q "return len(text.split())" &&
    jbody "j[\"mutated_code\"]" | grep -q "n += 1" &&
    test "$(jbody "[v[\"id\"] for v in j[\"variants\"]]")" = "[\"$V1\"]" &&
    test "$(api "$(cat rev)" GET /v1/mutations/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b)" = 404 &&
    error_is not_found &&
    test "$(api "$(cat rev)" GET /v1/mutations/nosuch)" = 404
'

test_expect_success 'lineage: the mutation, then its ancestors' '
    test "$(api "$(cat agent)" GET "/v1/mutations/$M3/lineage")" = 200 &&
    test "$(jbody "[m[\"id\"] for m in j[\"items\"]]")" = "[\"$M3\", \"$M1\"]" &&
    test "$(api "$(cat agent)" GET "/v1/mutations/$M2/lineage")" = 200 && test "$(items)" = 1
'

test_expect_success 'test: parent and mutant replayed on the stored test set, nothing recorded' '
    before=$(autodev mutations show "$M1" --json | json_get "j[\"review_status\"]") &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M1/test" "{\"repeats\": 2}")" = 200 &&
    test "$(jbody "j[\"cases\"]")" = 2 &&
    test "$(jbody "j[\"repeats\"]")" = 2 &&
    test "$(jbody "j[\"parent\"][\"runs\"]")" = 4 &&
    test "$(jbody "j[\"mutant\"][\"execution_success\"]")" = true &&
    test "$(jbody "j[\"mutant\"][\"match_parent\"]")" = 1.0 &&
    test "$(jbody "j[\"mutant\"][\"match_expected\"]")" = 1.0 &&
    test "$(autodev mutations show "$M1" --json | json_get "j[\"review_status\"]")" = "$before" &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M2/test")" = 409 && error_is conflict &&
    grep -q "no stored test set" body &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M1/test" "{\"repeats\": 99}")" = 422 &&
    test "$(api "$(cat agent)" POST "/v1/mutations/$M1/test")" = 403
'

test_expect_success 'approve: a reviewer promotes a winner; a loser, a stale parent, twice: 409' '
    test "$(api "$(cat agent)" POST "/v1/mutations/$M1/approve")" = 403 &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M2/approve")" = 409 && error_is conflict &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M1/approve" "{\"who\": \"me\"}")" = 422 &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M1/approve")" = 200 &&
    test "$(jbody "j[\"semver\"]")" = 1.1.0 &&
    test "$(autodev skill show word_count --json | json_get "j[\"skill\"][\"version\"]")" = 1.1.0 &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M1/approve")" = 409 &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M3/approve")" = 409 &&
    grep -q "moved on" body
'

test_expect_success 'reject: a reason is required; then the mutation is rejected, once' '
    test "$(api "$(cat rev)" POST "/v1/mutations/$M3/reject" "{}")" = 422 &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M3/reject" "{\"reason\": \"\"}")" = 422 &&
    test "$(autodev mutations show "$M3" --json | json_get "j[\"review_status\"]")" = pending &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M3/reject" "{\"reason\": \"too clever\"}")" = 200 &&
    test "$(autodev mutations show "$M3" --json | json_get "[j[\"review_status\"], j[\"reason\"]]")" = "[\"rejected\", \"too clever\"]" &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M3/reject" "{\"reason\": \"again\"}")" = 409
'

test_expect_success 'regenerate: an alpha.mutate job for the parent version, one at a time' '
    test "$(api "$(cat rev)" POST "/v1/mutations/$M2/regenerate")" = 202 &&
    job=$(jbody "j[\"job_id\"]") &&
    test "$(jbody "j[\"kind\"]")" = alpha.mutate &&
    test "$(autodev jobs list --json | json_get "[x[\"kind\"] for x in j if x[\"id\"] == \"$job\"]")" = "[\"alpha.mutate\"]" &&
    test "$(api "$(cat rev)" POST "/v1/mutations/$M2/regenerate")" = 409 &&
    grep -q "$job" body
'

test_expect_success 'variants: list with pages, one, the top ones by fitness' '
    test "$(api "$(cat agent)" GET /v1/variants)" = 200 && test "$(items)" = 3 &&
    test "$(api "$(cat agent)" GET "/v1/variants?mutation=$M1")" = 200 &&
    test "$(jbody "[v[\"id\"] for v in j[\"items\"]]")" = "[\"$V1\"]" &&
    test "$(api "$(cat agent)" GET "/v1/variants?agent=ann&limit=1")" = 200 && test "$(items)" = 1 &&
    cur=$(jbody "j[\"next_cursor\"]") &&
    test "$(api "$(cat agent)" GET "/v1/variants?agent=ann&limit=1&cursor=$cur")" = 200 &&
    test "$(jbody "[j[\"items\"][0][\"id\"], j[\"next_cursor\"]]")" = "[\"$V1\", null]" &&
    test "$(api "$(cat agent)" GET "/v1/variants/$V1")" = 200 &&
    test "$(jbody "j[\"mutation_id\"]")" = "$M1" &&
    test "$(api "$(cat agent)" GET /v1/variants/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b)" = 404 &&
    # The approval made M1 score 1.0 (user_approved); the others keep 0.7 and 0.6.
    test "$(api "$(cat agent)" GET "/v1/variants/top?limit=2")" = 200 &&
    test "$(jbody "[v[\"mutation_id\"] for v in j[\"items\"]]")" = "[\"$M1\", \"$M3\"]" &&
    test "$(api "$(cat agent)" GET "/v1/variants/top")" = 200 &&
    test "$(jbody "[v[\"mutation_id\"] for v in j[\"items\"]]")" = "[\"$M1\", \"$M3\", \"$M2\"]" &&
    test "$(api "$(cat agent)" GET "/v1/variants/top?agent=ann")" = 200 &&
    test "$(jbody "[v[\"mutation_id\"] for v in j[\"items\"]]")" = "[\"$M1\", \"$M3\"]" &&
    test "$(api "$(cat agent)" GET "/v1/variants/top?limit=0")" = 400 &&
    test "$(api "$(cat agent)" GET "/v1/variants?mutation=x")" = 400 &&
    stop_server
'

test_done
