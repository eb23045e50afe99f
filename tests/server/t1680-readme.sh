#!/bin/sh
test_description='the README: every request of "Using it over HTTP" works against a real server'
. "$(dirname "$0")/lib.sh"

# The sh block of the section, its curl commands one by one (a command
# continued by a backslash joined), with -f so an HTTP error fails it.
cat >requests.py <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("### Using it over HTTP", 1)[1]
block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
cmds, cur = [], ""
for line in block.split("\n"):
    cur += line
    if cur.rstrip().endswith("\\"):
        cur = cur.rstrip()[:-1]
        continue
    cmd = re.sub(r"\s+#\s.*$", "", cur).strip()
    cur = ""
    if cmd.startswith("curl "):
        cmds.append(cmd)
for c in cmds:
    print(c.replace("curl -s ", "curl -sf --max-time 3 ", 1))
PY

test_expect_success 'setup: the store of the README, its tokens, a candidate to approve, the server' '
    cp "$AUTODEV_SRC/examples/episodes.jsonl" . &&
    autodev init >/dev/null &&
    autodev agent add support-bot --maturity INTERN >/dev/null &&
    autodev settings set enabled true >/dev/null &&
    for i in 4471 90210; do
        printf "{\"agent\": \"support-bot\", \"task_description\": \"Find the order number\", \"success\": false, \"input\": {\"text\": \"Order number: $i\"}, \"expected\": \"$i\", \"error_trace\": \"NoSkillError: none\"}" |
            autodev episode add >/dev/null || exit 1
    done &&
    autodev jobs run --until-idle >/dev/null 2>&1 &&
    autodev candidates list --status validated --json | json_get "j[0][\"id\"]" >cid &&
    printf "def word_count(text: str) -> int:\n    return len(text.split())\n" >wc.py &&
    printf "def word_count(text: str) -> int:\n    n = 0\n    for _ in text.split():\n        n += 1\n    return n\n" >wc2.py &&
    autodev skill add wc.py --name word_count --entry word_count >/dev/null &&
    /usr/bin/python3 "$SERVER_DIR/mutant.py" "$DB" word_count won pending wc2.py - - yes | cut -d" " -f1 >mid &&
    /usr/bin/python3 -c "import zipfile
with zipfile.ZipFile(\"my-skill.zip\", \"w\", zipfile.ZIP_DEFLATED) as z:
    z.writestr(\"my-skill/SKILL.md\", \"---\\nname: my-skill\\ndescription: Echo a text.\\n---\\n\")
    z.writestr(\"my-skill/scripts/my_skill.py\", \"def my_skill(text: str) -> str:\\n    return text\\n\")
" &&
    make_token admin >tok &&
    start_server --workers 1 &&
    /usr/bin/python3 requests.py "$AUTODEV_SRC/README.md" >requests &&
    test "$(wc -l <requests)" -ge 22
'

test_expect_success 'each request of the section is answered without an error' '
    AUTODEV_URL=$(base) TOKEN=$(cat tok) CID=$(cat cid) MID=$(cat mid) &&
    export AUTODEV_URL TOKEN CID MID &&
    while read -r req; do
        eval "$req" >out 2>&1
        rc=$?
        # The event stream never ends: its time running out is its success.
        case $req in *"/v1/events"*) test $rc = 28 && rc=0 ;; esac
        test $rc = 0 || { echo "failed ($rc): $req"; cat out; exit 1; }
    done <requests &&
    test "$(autodev candidates show "$(cat cid)" --json | json_get "j[\"status\"]")" = promoted &&
    test "$(autodev agent show billing-bot --json | json_get "j[\"maturity\"]")" = INTERN &&
    test "$(autodev mutations show "$(cat mid)" --json | json_get "j[\"review_status\"]")" = approved &&
    test "$(autodev skill show my_skill --json | json_get "j[\"skill\"][\"version\"]")" = 1.0.0 &&
    /usr/bin/python3 -c "import zipfile; assert \"word-count/SKILL.md\" in zipfile.ZipFile(\"word-count.zip\").namelist()" &&
    stop_server
'

test_done
