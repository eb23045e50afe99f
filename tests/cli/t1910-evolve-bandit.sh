#!/bin/sh
test_description='evolve with two models: proposals from the chain, chosen by a cost-aware UCB bandit; with equal gains the cheaper model gets the traffic'
. "$(dirname "$0")/test-lib.sh"

# Two loopback models: openai:cheap-model and anthropic:dear-model, whose
# replies make the same program (best fit instead of first fit) and so the
# same gain; dear-model's tokens cost 50 times as much.
/usr/bin/python3 "$AUTODEV_SRC/tests/llm/llmserver.py" --cases "$AUTODEV_SRC/tests/llm/cases" \
    --port-file "$TRASH/port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
wait_for 'test -s "$TRASH/port"' 20 || { echo "Bail out! no llm server"; exit 1; }
port=$(cat "$TRASH/port")
base="http://127.0.0.1:$port/case"
export OPENAI_API_KEY=sk-test-openai-0123456789 ANTHROPIC_API_KEY=sk-ant-test-0123456789
export OPENAI_BASE_URL=$base/evolve_cheap/v1 ANTHROPIC_BASE_URL=$base/evolve_dear
export AUTODEV_LLM=openai:cheap-model,anthropic:dear-model
echo '{"cheap-model": {"input": 1, "output": 1}, "dear-model": {"input": 50, "output": 50}}' \
    >"$TRASH/prices.json"
export AUTODEV_LLM_PRICES="$TRASH/prices.json"

cat >"$TRASH/pack.py" <<'PY'
def priority(item, space):
    # EVOLVE-BLOCK-START
    waste = space - item
    w = 0.0
    return -waste * w
    # EVOLVE-BLOCK-END

def pack(items):
    bins = []
    for it in items:
        best, bp = None, None
        for i, s in enumerate(bins):
            if s >= it:
                p = priority(it, s)
                if bp is None or p > bp:
                    best, bp = i, p
        if best is None:
            bins.append(100 - it)
        else:
            bins[best] -= it
    return {"score": -len(bins), "bins": len(bins)}
PY

# served CASE: requests the case got.
served() {
    /usr/bin/python3 -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results"))
print(r.get(sys.argv[2], {}).get("consumed", 0))' "http://127.0.0.1:$port" "$1"
}

test_expect_success 'setup: the skill and two recorded inputs' '
    autodev init >/dev/null &&
    autodev skill add "$TRASH/pack.py" --name pack --entry pack >/dev/null &&
    for s in 1 2; do
        items=$(/usr/bin/python3 -c "import random; r = random.Random($s); print(\",\".join(str(r.randint(20, 60)) for _ in range(60)))") &&
        autodev skill run pack --input "{\"items\": [$items]}" >/dev/null || return 1
    done
'

test_expect_success 'the preflight counts the model calls and refuses a budget they exceed' '
    test_expect_code 2 autodev evolve run pack --generations 4 --population 4 --islands 1 \
        --fitness output --feature length:0:1000:4 --budget-usd 0.01 2>err &&
    test_one_error err "preflight: the run is expected to cost \\\$[0-9.]+, over the budget of \\\$0.01" &&
    test "$(served evolve_cheap)" = 0
'

test_expect_success 'with equal gains, traffic shifts to the cheaper model' '
    autodev evolve run pack --generations 4 --population 4 --islands 1 --fitness output \
        --feature length:0:1000:4 --seed 3 >run &&
    sed -n 2p run | grep -q "16 model calls" &&
    id=$(head -n 1 run) &&
    autodev evolve trace $id >trace &&
    cheap=$(grep -c "\"kind\":\"proposal\".*\"arm\":\"openai:cheap-model\"\|\"arm\":\"openai:cheap-model\".*\"kind\":\"proposal\"" trace) &&
    dear=$(grep -c "\"kind\":\"proposal\".*\"arm\":\"anthropic:dear-model\"\|\"arm\":\"anthropic:dear-model\".*\"kind\":\"proposal\"" trace) &&
    echo "cheap $cheap dear $dear" &&
    test "$dear" -ge 1 &&
    test $((cheap + dear)) = 16 &&
    test "$cheap" -ge $((3 * dear)) &&
    test "$(served evolve_cheap)" = "$cheap" &&
    test "$(served evolve_dear)" = "$dear"
'

test_expect_success 'both models found the better program; cost and tokens are on the run' '
    grep "\"kind\":\"proposal\"" trace | grep -q "replaced elite\|new cell" &&
    autodev evolve status $(head -n 1 run) --json >st &&
    json_get "j[\"tokens\"] == 680 * 16" <st | grep -qx true &&
    json_get "j[\"usd\"] > 0" <st | grep -qx true &&
    grep -q "\"kind\":\"prompt\"" trace && grep -q "\"kind\":\"reply\"" trace
'

test_done
