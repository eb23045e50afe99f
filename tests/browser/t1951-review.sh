#!/bin/sh
test_description='The review web UI in headless Chromium on a real autodev serve: log in, approve and reject candidates, approve a mutation, change a setting, watch the live feed, keyboard only, hostile text'
BROWSER_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BROWSER_DIR/../server/lib.sh"

# Debian's chromium driven by npm's playwright-core (package.json, an exact
# version; `npm ci` fetches it when node_modules is missing). Without
# either the whole script is skipped, saying why.
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
why=""
if [ -z "$CHROMIUM" ] || ! "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>&1; then
    why="chromium cannot run (scripts/install-deps installs it)"
elif ! command -v node >/dev/null 2>&1; then
    why="node is missing (scripts/install-deps installs nodejs and npm)"
elif [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ] &&
     ! (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1); then
    why="npm ci of playwright-core failed (no registry?)"
fi
if [ -n "$why" ]; then
    test_skip 'the review UI in headless Chromium' "$why"
    test_done
fi

ART=$BROWSER_DIR/artifacts
ORDER="Find the order number in this message"
failure() {
    case $1 in
    1) in='{"text": "Hi! Order number: 4471 shipped on 2024-05-02."}' want='"4471"' ;;
    *) in='{"text": "Thanks for waiting (3 items). Order number: 90210"}' want='"90210"' ;;
    esac
    printf '{"agent": "ann", "task_description": "%s", "success": false, "input": %s, "expected": %s, "error_trace": "NoSkillError: no skill matches the task"}' \
        "$ORDER" "$in" "$want"
}
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

test_expect_success 'setup: a store, tokens, the server with one worker' '
    autodev init >/dev/null &&
    autodev settings set enabled true >/dev/null &&
    autodev agent add ann --maturity INTERN >/dev/null &&
    autodev skill add wc.py --name word_count --entry word_count >/dev/null &&
    make_token admin >admin && make_token reviewer >rev && make_token agent >agent &&
    start_server --workers 1 --poll 50
'

test_expect_success 'fixture: a candidate from the Memento loop (no model), two more, two mutations' '
    test "$(api "$(cat agent)" POST /v1/episodes "$(failure 1)")" = 201 &&
    test "$(api "$(cat agent)" POST /v1/episodes "$(failure 2)")" = 201 &&
    wait_for "api \"\$(cat rev)\" GET \"/v1/candidates?agent=ann&status=validated\" >/dev/null &&
              test \"\$(jbody \"len(j[\\\"items\\\"])\")\" = 1" 120 &&
    jbody "j[\"items\"][0][\"id\"]" >cand_ok &&
    hostile=$(printf "Counts <img src=x onerror=window.__pwned=1> \\033[31mred\\033[0m") &&
    /usr/bin/python3 "$BROWSER_DIR/cand.py" "$DB" ann count_vowels "$hostile" "$hostile task" >cand_bad &&
    /usr/bin/python3 "$BROWSER_DIR/cand.py" "$DB" ann count_letters "Count letters" "Count the letters" >cand_key &&
    /usr/bin/python3 "$BROWSER_DIR/../server/mutant.py" "$DB" word_count won pending wc_loop.py - ann yes >m1 &&
    /usr/bin/python3 "$BROWSER_DIR/../server/mutant.py" "$DB" word_count won pending wc_loop.py "$(cut -d" " -f1 m1)" ann yes >m2
'

test_expect_success 'the scenario runs in headless Chromium' '
    rm -rf "$ART" && mkdir -p "$ART" &&
    BASE=$(base) ADMIN=$(cat admin) REVIEWER=$(cat rev) AGENT=$(cat agent) \
    CAND_OK=$(cat cand_ok) CAND_BAD=$(cat cand_bad) CAND_KEY=$(cat cand_key) \
    MUT=$(cut -d" " -f1 m1) CHROMIUM="$CHROMIUM" ARTIFACTS="$ART" RESULTS="$TRASH/results" \
        node "$BROWSER_DIR/review.mjs" &&
    test -s "$TRASH/results"
'

# One TAP line per step of the scenario, with its detail when it failed.
step_ok() {
    /usr/bin/python3 - "$TRASH/results" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["step"] == sys.argv[2]:
        print(r["detail"], file=sys.stderr)
        sys.exit(0 if r["ok"] else 1)
print("step did not run", file=sys.stderr)
sys.exit(1)
PY
}

for s in 'login' \
         'approve a candidate and see the catalog gain the skill' \
         'hostile text is shown literally and runs no script' \
         'reject a candidate with a required reason' \
         'approve a mutation and see the new version' \
         'change a setting (admin)' \
         'watch an event arrive in the live feed' \
         'keyboard only: approve a candidate' \
         'every page renders; screenshots saved' \
         'every API call carried the token; no console errors' \
         'an agent token is refused at login with the reason (GET /v1/me)' \
         'a 401 returns to the login'; do
    test_expect_success "browser: $s" "step_ok '$s'"
done

test_expect_success 'a screenshot of every page' '
    for p in 01-login 02-queue 03-candidate 04-candidate-hostile 05-mutation 06-skill \
             07-settings 08-live 09-agents 10-agent 11-research 12-skills; do
        test -s "$ART/$p.png" || { echo "no $p.png" >&2; return 1; }
    done
'

test_expect_success 'the server stops cleanly' '
    stop_server
'

test_done
