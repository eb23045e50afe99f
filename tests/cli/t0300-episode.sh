#!/bin/sh
test_description='episode add (single and batch), list, show, and bad input'
. "$(dirname "$0")/test-lib.sh"

# gen_lines FIRST LAST [AGENT]: JSON lines, every third one a failure.
gen_lines() {
    awk -v first="$1" -v last="$2" -v agent="${3:-alice}" 'BEGIN {
        for (i = first; i <= last; i++)
            printf "{\"agent\":\"%s\",\"task_description\":\"task %d\",\"task_kind\":\"%s\",\"success\":%s}\n",
                agent, i, (i % 2 ? "odd" : "even"), (i % 3 ? "true" : "false")
    }'
}

test_expect_success 'setup' '
    autodev init >/dev/null &&
    autodev agent add alice >/dev/null &&
    autodev agent add bob >/dev/null
'

test_expect_success 'episode add records one episode from stdin and prints its id' '
    cat >ep.json <<-\EOF &&
	{"agent": "alice", "task_description": "Parse the March invoices",
	 "task_kind": "csv.parse", "success": false,
	 "input": {"file": "march.csv"}, "expected": {"total": 12.5},
	 "error_trace": "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad float",
	 "tools_attempted": ["read_file", "parse_csv"], "context": {"source": "test"},
	 "execution_seconds": 1.5, "token_usage": 420,
	 "segments": [{"kind": "plan", "content": "read then parse"},
	              {"kind": "tool", "content": "parse_csv(march.csv)", "metadata": {"ms": 3}}]}
	EOF
    autodev episode add <ep.json >id &&
    test_line_count id 1 &&
    test "$(wc -c <id)" = 37 &&
    test "$(episode_count)" = 1
'

test_expect_success 'episode show prints the episode readably' '
    autodev episode show $(cat id) >out &&
    grep -q "Parse the March invoices" out &&
    grep -q "failed" out &&
    grep -q "ValueError: bad float" out &&
    grep -q "parse_csv(march.csv)" out &&
    grep -q "alice" out
'

test_expect_success 'episode show --json has every field and the segments' '
    autodev episode show $(cat id) --json >out &&
    test "$(json_get "j[\"id\"]" <out)" = "$(cat id)" &&
    test "$(json_get "j[\"success\"]" <out)" = false &&
    test "$(json_get "j[\"task_kind\"]" <out)" = csv.parse &&
    test "$(json_get "j[\"input\"][\"file\"]" <out)" = march.csv &&
    test "$(json_get "j[\"token_usage\"]" <out)" = 420 &&
    test "$(json_get "len(j[\"segments\"])" <out)" = 2 &&
    test "$(json_get "j[\"segments\"][1][\"metadata\"][\"ms\"]" <out)" = 3
'

test_expect_success 'episode add --file, --agent and agent_id' '
    echo "{\"task_description\": \"by --agent\", \"success\": true}" >a.json &&
    autodev episode add --file a.json --agent bob >id2 &&
    autodev episode show $(cat id2) --json >out &&
    bob=$(autodev agent show bob --json | json_get "j[\"id\"]") &&
    test "$(json_get "j[\"agent_id\"]" <out)" = "$bob" &&
    echo "{\"agent_id\": \"$bob\", \"task_description\": \"by id\", \"success\": true}" |
        autodev episode add --json >out &&
    test "$(json_get "len(j[\"id\"])" <out)" = 36 &&
    test "$(episode_count --agent bob)" = 2
'

test_expect_success 'the agent counters follow the episodes' '
    autodev agent show bob --json >out &&
    test "$(json_get "j[\"episode_count\"]" <out)" = 2 &&
    test "$(json_get "j[\"success_count\"]" <out)" = 2 &&
    test "$(json_get "j[\"failure_count\"]" <out)" = 0
'

# expect_refused STDIN-TEXT PATTERN: exit 2, one line matching, nothing stored.
expect_refused() {
    before=$(episode_count) &&
    printf "%s" "$1" >bad.json &&
    test_expect_code 2 autodev episode add <bad.json >out 2>err &&
    test_one_error err "$2" &&
    test ! -s out &&
    test "$(episode_count)" = "$before"
}

test_expect_success 'malformed JSON exits 2 with one line' '
    expect_refused "{\"agent\": \"alice\", \"task_description\": " "."
'

test_expect_success 'a missing field exits 2 naming it' '
    expect_refused "{\"agent\": \"alice\", \"success\": true}" "task_description"
'

test_expect_success 'a wrong type exits 2 naming the field' '
    expect_refused "{\"agent\": \"alice\", \"task_description\": \"x\", \"success\": \"yes\"}" \
        "success"
'

test_expect_success 'an unknown field exits 2 naming it' '
    expect_refused "{\"agent\": \"alice\", \"task_description\": \"x\", \"success\": true, \"colour\": 1}" \
        "colour"
'

test_expect_success 'an out-of-range number exits 2 naming the field' '
    expect_refused "{\"agent\": \"alice\", \"task_description\": \"x\", \"success\": true, \"constitutional_score\": 2}" \
        "constitutional_score"
'

test_expect_success 'a field over its cap is refused, not truncated' '
    big=$(printf "%016385d" 0) &&
    expect_refused "{\"agent\": \"alice\", \"task_description\": \"$big\", \"success\": true}" \
        "task_description"
'

test_expect_success 'an unknown agent exits 2 naming it' '
    expect_refused "{\"agent\": \"carol\", \"task_description\": \"x\", \"success\": true}" \
        "unknown agent .carol."
'

test_expect_success 'an episode without an agent exits 2' '
    expect_refused "{\"task_description\": \"x\", \"success\": true}" "agent"
'

test_expect_success 'a JSON value that is not an object exits 2' '
    expect_refused "[1, 2, 3]" "object" &&
    expect_refused "" "."
'

test_expect_success 'a document over 8 MiB is refused' '
    before=$(episode_count) &&
    python3 -c "import sys; sys.stdout.write(\"{\\\"x\\\": \\\"\" + \"a\" * (9 << 20) + \"\\\"}\")" >huge.json &&
    test_expect_code 2 autodev episode add <huge.json 2>err &&
    test_one_error err "8 MiB" &&
    test "$(episode_count)" = "$before"
'

test_expect_success 'episode add --batch records JSON lines in transactions' '
    before=$(episode_count) &&
    gen_lines 1 2500 >batch.jsonl &&
    autodev episode add --batch --batch-size 1000 <batch.jsonl >out &&
    grep -q "^2500 episodes recorded$" out &&
    test "$(autodev episode list --limit 10000 --json | json_get "len(j)")" = $((before + 2500))
'

test_expect_success 'blank lines are skipped; --json prints the count' '
    { gen_lines 1 2 bob; echo; echo "   "; gen_lines 3 3 bob; } >blank.jsonl &&
    autodev episode add --batch --json <blank.jsonl >out &&
    test "$(json_get "j[\"recorded\"]" <out)" = 3
'

test_expect_success 'a bad line rolls back its batch only and names the line' '
    before=$(episode_count) &&
    { gen_lines 1 2299; echo "{\"agent\": \"alice\", \"task_description\": \"bad\", \"success\": 7}";
      gen_lines 2301 2500; } >badline.jsonl &&
    test_expect_code 2 autodev episode add --batch --batch-size 1000 <badline.jsonl >out 2>err &&
    test_one_error err "line 2300: .*success.*2000 episodes committed" &&
    test ! -s out &&
    test "$(autodev episode list --limit 10000 --json | json_get "len(j)")" = $((before + 2000))
'

test_expect_success 'an unknown agent in a batch names the line' '
    before=$(episode_count) &&
    { gen_lines 1 5; gen_lines 6 6 nobody; } >unknown.jsonl &&
    test_expect_code 2 autodev episode add --batch --batch-size 2 <unknown.jsonl 2>err &&
    test_one_error err "line 6: unknown agent .nobody..*4 episodes committed" &&
    test "$(episode_count)" = $((before + 4))
'

test_expect_success 'a field over its cap in a batch names the line and the field' '
    before=$(episode_count) &&
    big=$(printf "%016385d" 0) &&
    { gen_lines 1 2; echo "{\"agent\": \"alice\", \"task_description\": \"$big\", \"success\": true}"; } \
        >cap.jsonl &&
    test_expect_code 2 autodev episode add --batch <cap.jsonl 2>err &&
    test_one_error err "line 3: .*task_description" &&
    test "$(episode_count)" = "$before"
'

test_expect_success 'a line over 1 MiB is refused, not truncated' '
    before=$(episode_count) &&
    { gen_lines 1 3; python3 -c "print(\"{\\\"x\\\": \\\"\" + \"a\" * (1 << 20) + \"\\\"}\")"; } >long.jsonl &&
    test_expect_code 2 autodev episode add --batch <long.jsonl 2>err &&
    test_one_error err "line 4: line longer than 1 MiB" &&
    test "$(episode_count)" = "$before"
'

test_expect_success 'batch options are checked' '
    test_expect_code 2 autodev episode add --batch --batch-size 0 </dev/null 2>err &&
    test_one_error err "batch-size" &&
    test_expect_code 2 autodev episode add --batch-size 10 </dev/null 2>err &&
    test_one_error err "needs --batch" &&
    test_expect_code 2 autodev episode add --file missing.json 2>err &&
    test_one_error err "missing.json"
'

test_expect_success 'episode list shows the newest first' '
    autodev episode list --limit 3 >out &&
    test_line_count out 4 &&
    head -n1 out | grep -Eq "^ID +CREATED +OUTCOME +AGENT +KIND +TASK$" &&
    autodev episode list --limit 3 --json >j &&
    test "$(json_get "j[0][\"id\"] > j[1][\"id\"] > j[2][\"id\"]" <j)" = true
'

test_expect_success 'episode list filters by outcome, kind and agent' '
    autodev episode list --failed --limit 100 --json >f &&
    test "$(json_get "len(j) > 0 and all(not e[\"success\"] for e in j)" <f)" = true &&
    autodev episode list --succeeded --limit 100 --json >s &&
    test "$(json_get "len(j) > 0 and all(e[\"success\"] for e in j)" <s)" = true &&
    autodev episode list --kind odd --limit 100 --json >k &&
    test "$(json_get "len(j) > 0 and all(e[\"task_kind\"] == \"odd\" for e in j)" <k)" = true &&
    test "$(episode_count --agent bob)" = 5 &&
    test_expect_code 2 autodev episode list --failed --succeeded 2>err &&
    test_one_error err "exclude" &&
    test_expect_code 2 autodev episode list --agent nobody 2>err &&
    test_one_error err "unknown agent .nobody."
'

test_expect_success 'episode list --before pages through' '
    autodev episode list --limit 4 --json >page1 &&
    last=$(json_get "j[3][\"id\"]" <page1) &&
    third=$(json_get "j[2][\"id\"]" <page1) &&
    autodev episode list --limit 2 --before "$third" --json >page2 &&
    test "$(json_get "j[0][\"id\"]" <page2)" = "$last" &&
    test_expect_code 2 autodev episode list --before nonsense 2>err &&
    test_one_error err "invalid episode id"
'

test_expect_success 'episode show of an unknown or invalid id exits 2' '
    test_expect_code 2 autodev episode show 00000000-0000-7000-8000-000000000000 2>err &&
    test_one_error err "unknown episode" &&
    test_expect_code 2 autodev episode show 42 2>err &&
    test_one_error err "invalid episode id .42."
'

test_expect_success 'every episode emitted its outcome event' '
    total=$(episode_count) &&
    failed=$(autodev episode list --failed --limit 10000 --json | json_get "len(j)") &&
    n=$(autodev events tail --since 0 --topic task.fail --json | wc -l) &&
    test "$n" = "$failed" &&
    m=$(autodev events tail --since 0 --topic task.success --json | wc -l) &&
    test $((n + m)) = "$total"
'

# num FIELD VALUE: an episode of alice with FIELD set to VALUE (raw JSON).
num() {
    echo "{\"agent\": \"alice\", \"task_description\": \"numbers\", \"success\": true, \"$1\": $2}"
}

test_expect_success 'token_usage and execution_seconds: at the cap accepted, past it exit 2' '
    before=$(autodev agent show alice --json | json_get "j[\"episode_count\"]") &&
    num token_usage 1000000000 | autodev episode add >/dev/null &&
    num execution_seconds 31536000 | autodev episode add >/dev/null &&
    num token_usage 1000000001 >big &&
    test_expect_code 2 autodev episode add <big 2>err &&
    test_one_error err "token_usage" &&
    num token_usage 9223372036854775807 >big &&
    test_expect_code 2 autodev episode add <big 2>err &&
    test_one_error err "token_usage" &&
    num execution_seconds 31536000.5 >big &&
    test_expect_code 2 autodev episode add <big 2>err &&
    test_one_error err "execution_seconds" &&
    num execution_seconds 1e308 >big &&
    test_expect_code 2 autodev episode add --batch <big 2>err &&
    test_one_error err "line 1: field .execution_seconds." &&
    after=$(autodev agent show alice --json | json_get "j[\"episode_count\"]") &&
    test $after = $((before + 2)) &&
    autodev episode add --help >help &&
    grep -q "\"execution_seconds\" (0..31536000, a year), \"token_usage\" (an integer," help &&
    grep -q "^0..1000000000)" help
'

test_done
