#!/bin/sh
test_description='autodev mcp with the official MCP TypeScript SDK client over stdio: every tool, error results, roles, the research steps on a temporary git repository'
. "$(dirname "$0")/../cli/test-lib.sh"

MCP_DIR=$AUTODEV_SRC/tests/mcp
NODE=/usr/bin/node
GIT_ID="-c user.name=t -c user.email=t@t.invalid"

# Skipped, visibly, only when node cannot run; a failed install is a failure.
if ! "$NODE" -e 'process.exit(0)' 2>/dev/null; then
    test_skip 'the MCP SDK client' "node cannot run at $NODE (scripts/install-deps adds nodejs)"
    test_done
fi
if [ ! -d "$MCP_DIR/node_modules/@modelcontextprotocol/sdk" ]; then
    say "npm ci in $MCP_DIR (the SDK version pinned in package-lock.json)"
    (cd "$MCP_DIR" && npm ci --no-audit --no-fund >"$TRASH/npm.log" 2>&1) || {
        test_expect_success 'npm ci installs the pinned MCP SDK' 'cat npm.log; false'
        test_done
    }
fi

cat >wc.py <<'PY'
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())
PY

mkdir repo && git -C repo init -q &&
printf '%s\n' '# EVOLVE-BLOCK-START' 'X = 10' '# EVOLVE-BLOCK-END' \
    'print("score: %d" % abs(X - 4))' >repo/obj.py &&
git -C repo add obj.py && git -C repo $GIT_ID commit -qm init || exit 1

autodev init >/dev/null &&
autodev agent add bot >/dev/null &&
autodev skill add wc.py --name word_count --entry word_count >/dev/null || exit 1
REVIEWER_TOKEN=$(autodev token create --role reviewer) &&
AGENT_TOKEN=$(autodev token create --role agent) || exit 1
export REVIEWER_TOKEN AGENT_TOKEN REPO="$TRASH/repo"

# The client prints TAP itself; its plan is this script's.
NODE_PATH=$MCP_DIR/node_modules "$NODE" "$MCP_DIR/sdk-client.mjs"
rc=$?
if [ "$rc" -eq 0 ]; then
    cd / && rm -rf "$TRASH"
else
    echo "# left $TRASH for a look"
fi
exit "$rc"
