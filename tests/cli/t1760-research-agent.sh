#!/bin/sh
test_description='autodev agent run drives autoresearch: the research steps are tools of the agent loop (the loopback LLM plays the model)'
. "$(dirname "$0")/test-lib.sh"

/usr/bin/python3 "$AUTODEV_SRC/tests/llm/llmserver.py" --cases "$AUTODEV_SRC/tests/llm/cases" \
    --port-file "$TRASH/port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
wait_for 'test -s "$TRASH/port"' 20 || { echo "Bail out! no llm server"; exit 1; }
port=$(cat "$TRASH/port")
export OPENAI_API_KEY=sk-test-openai-0123456789 AUTODEV_LLM=openai:gpt-4o-mini
unset AUTODEV_LLM_PRICES ANTHROPIC_API_KEY
GIT_ID="-c user.name=t -c user.email=t@t.invalid"

# case_ok CASE N: the case got exactly N requests, each as expected.
case_ok() {
    /usr/bin/python3 -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results?case=" + sys.argv[2]))
c = r.get(sys.argv[2], {})
ok = c.get("consumed") == int(sys.argv[3]) and not c.get("mismatches")
if not ok:
    print("case %s: consumed %s, want %s; mismatches %s" % (sys.argv[2], c.get("consumed"),
          sys.argv[3], c.get("mismatches")), file=sys.stderr)
sys.exit(0 if ok else 1)' "http://127.0.0.1:$port" "$1" "$2"
}

test_expect_success 'setup: an agent and a repository' '
    autodev init >/dev/null &&
    autodev agent add bot --maturity INTERN >/dev/null &&
    mkdir r && git -C r init -q &&
    printf "%s\n" "# EVOLVE-BLOCK-START" "X = 10" "# EVOLVE-BLOCK-END" \
        "print(\"score: %d\" % abs(X - 4))" >r/obj.py &&
    git -C r add obj.py && git -C r $GIT_ID commit -qm init
'

test_expect_success 'the model lists sessions, sets one up through the tools, and answers' '
    OPENAI_BASE_URL=http://127.0.0.1:$port/case/agent_research_tools/v1 \
        autodev agent run bot "Set up autoresearch on r to lower score." >out &&
    case_ok agent_research_tools 4 &&
    grep "tool call   research_status" out &&
    grep "tool call   research_setup" out &&
    autodev research list --json >list.json &&
    test "$(json_get "len(j)" <list.json)" = 1 &&
    test "$(json_get "j[0][\"baseline\"]" <list.json)" = 6.0 &&
    test "$(json_get "j[0][\"status\"]" <list.json)" = running &&
    json_get "j[0][\"config\"][\"workdir\"]" <list.json | grep "/research$" &&
    test "$(json_get "j[0][\"config\"][\"sandbox\"]" <list.json)" = true
'

test_done
