#!/bin/sh
test_description='module boundaries: scripts/check-boundaries passes on the tree and fails on each planted violation'
. "$(dirname "$0")/test-lib.sh"

check() {
    /usr/bin/python3 "$AUTODEV_SRC/scripts/check-boundaries" "$@"
}

# A copy of the sources to plant violations in (only what the script reads).
fresh_copy() {
    rm -rf copy &&
    mkdir copy &&
    cp -R "$AUTODEV_SRC/include" "$AUTODEV_SRC/src" copy/
}

# Plants: appends line to file of the copy; the check must fail naming file and rule.
planted() {
    file=$1 rule=$2 line=$3
    fresh_copy &&
    printf '%s\n' "$line" >>"copy/$file" &&
    test_expect_code 1 check copy >out 2>err &&
    grep "^$file:[0-9]*: $rule:" out
}

test_expect_success 'the tree keeps its boundaries' '
    check "$AUTODEV_SRC" >out 2>&1 || { cat out; false; }
'

test_expect_success 'an upward include fails (store includes learn)' '
    planted src/store/store.c include "#include \"autodev/learn.h\"" &&
    grep -q "module store may not use .autodev/learn.h. (module learn)" out
'

test_expect_success "another module's private header fails (agent includes sb_int.h)" '
    planted src/agent/catalog.c include "#include \"sb_int.h\"" &&
    grep -q "another module.s private header" out
'

test_expect_success 'a table written by a module that does not own it fails (learn inserts a job)' '
    planted src/learn/gate.c owner "static void f(void) { ad_store_job_insert(0, 0, 0); }" &&
    grep -q "ad_store_job_insert is module jobs.s table; learn must call its API" out
'

test_expect_success 'a face calling the store fails (the CLI lists agents itself)' '
    planted src/cli/cmd_agent.c owner "static void f(void) { ad_store_agent_list(0); }" &&
    grep -q "a face calls the store (ad_store_agent_list)" out
'

test_expect_success 'the store handle is opened by the runtime only' '
    planted src/agent/task.c owner "static void f(void) { ad_store_open(0, 0, 0, 0); }" &&
    grep -q "ad_store_open belongs to the runtime" out
'

test_expect_success 'a topic given as a string literal fails' '
    planted src/learn/gate.c topic "static void f(void) { ad_bus_emit(0, 0, \"made.up\", 0, 0, 0); }"
'

test_expect_success 'a topic without its row in the topic table fails' '
    fresh_copy &&
    sed -i "s|^#define AD_TOPIC_NOTIFICATION \"notification\"|&\n#define AD_TOPIC_MADE_UP \"made.up\"|" \
        copy/include/autodev/topics.h &&
    test_expect_code 1 check copy >out 2>err &&
    grep -q "^src/bus/topics.c:1: topic: AD_TOPIC_MADE_UP has no row in the topic table" out
'

test_expect_success 'an internal function without the ad__ prefix fails' '
    planted src/jobs/jobs.c prefix "int ad_jobs_helper(void) { return 0; }" &&
    grep -q "ad_jobs_helper is not declared in include/" out
'

test_expect_success 'a module the table does not know fails' '
    fresh_copy &&
    mkdir copy/src/rogue &&
    echo "int x;" >copy/src/rogue/rogue.c &&
    test_expect_code 1 check copy >out 2>err &&
    grep -q "module rogue is not in the module table" out
'

test_done
