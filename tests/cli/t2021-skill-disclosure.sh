#!/bin/sh
test_description='autodev agent run: Agent Skills disclosed progressively (load_skill, run_skill_script)'
. "$(dirname "$0")/test-lib.sh"

. "$AUTODEV_SRC/tests/cli/llm-lib.sh"

# tool_result CASE I M: the content of message M of the I-th request.
tool_result() {
    /usr/bin/python3 -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results?case=" + sys.argv[2]))
print(r[sys.argv[2]]["requests"][int(sys.argv[3])]["messages"][int(sys.argv[4])]["content"])' \
        "http://127.0.0.1:$port" "$1" "$2" "$3"
}

test_expect_success 'setup: an agent and a skill folder kept whole' '
    autodev init >/dev/null &&
    autodev agent add bot --maturity SUPERVISED >/dev/null &&
    mkdir -p log-digest/scripts &&
    printf -- "---\nname: log-digest\ndescription: Summarise a log into its error lines.\n---\n# Log digest\n\nPipe the log to scripts/digest.py.\n" \
        >log-digest/SKILL.md &&
    cat >log-digest/scripts/digest.py <<-\PY &&
	import os
	import sys

	# The scratch copy of the folder is the working directory.
	assert os.path.exists("SKILL.md")
	for line in sys.stdin:
	    if "ERROR" in line:
	        print("found:", line.strip(), "args:", " ".join(sys.argv[1:]))
	open("made-by-script.txt", "w").write("x")
	PY
    autodev skill import log-digest >/dev/null
'

test_expect_success 'load_skill returns the body; run_skill_script runs the script in the sandbox' '
    OPENAI_BASE_URL=$base/skills_disclosure/v1 TMPDIR=$TRASH/tmp \
        autodev agent run bot "What went wrong in this log?" >out &&
    case_ok skills_disclosure 4 &&
    grep -q "One error: disk full." out &&
    tool_result skills_disclosure 1 3 >loaded &&
    grep -q "# Log digest" loaded &&
    grep -q "Pipe the log to scripts/digest.py" loaded &&
    grep -q "digest.py" loaded &&
    tool_result skills_disclosure 2 5 >ran &&
    grep -q "found: ERROR disk full args: --quiet" ran &&
    ! grep -q "found: ok" ran &&
    test ! -e log-digest/made-by-script.txt &&
    test -z "$(ls "$TRASH/tmp" 2>/dev/null)"
'

test_expect_success 'a catalog without kept folders is not offered the two tools' '
    autodev --home "$TRASH/h2" init >/dev/null &&
    printf "def inc(n: int) -> int:\n    return n + 1\n" >inc.py &&
    autodev --home "$TRASH/h2" skill add inc.py --name inc --entry inc >/dev/null &&
    autodev --home "$TRASH/h2" agent add bot --maturity SUPERVISED >/dev/null &&
    OPENAI_BASE_URL=$base/agent_two_turn/v1 autodev --home "$TRASH/h2" agent run bot "x" \
        >/dev/null 2>&1;
    /usr/bin/python3 -c "import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + \"/_results?case=agent_two_turn\"))
names = [t[\"function\"][\"name\"] for t in r[\"agent_two_turn\"][\"requests\"][0][\"tools\"]]
sys.exit(0 if \"inc\" in names and \"load_skill\" not in names else 1)" "http://127.0.0.1:$port"
'

test_done
