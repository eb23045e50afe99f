#!/bin/sh
test_description='agent add, list, show, set-maturity'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup' '
    autodev init >/dev/null
'

test_expect_success 'agent add registers a STUDENT by default' '
    autodev agent add alice >out &&
    grep -q "alice" out &&
    autodev agent show alice >show &&
    grep -Eq "^maturity +STUDENT$" show
'

test_expect_success 'agent add --maturity takes any case' '
    autodev agent add bob --maturity intern >/dev/null &&
    autodev agent show bob --json >out &&
    test "$(json_get "j[\"maturity\"]" <out)" = INTERN &&
    test "$(json_get "j[\"episode_count\"]" <out)" = 0
'

test_expect_success 'agent add --json prints the agent' '
    autodev --json agent add carol --maturity=SUPERVISED >out &&
    test "$(json_get "j[\"name\"]" <out)" = carol &&
    test "$(json_get "len(j[\"id\"])" <out)" = 36
'

test_expect_success 'a taken name exits 2' '
    test_expect_code 2 autodev agent add alice 2>err &&
    test_one_error err "agent .alice. already exists"
'

test_expect_success 'an invalid name exits 2 and stores nothing' '
    test_expect_code 2 autodev agent add "two words" 2>err &&
    test_one_error err "invalid agent name .two words." &&
    test_expect_code 2 autodev agent add -- -dash 2>err &&
    test_line_count err 1 &&
    long=$(printf "%0129d" 0) &&
    test_expect_code 2 autodev agent add "$long" 2>err &&
    test_one_error err "invalid agent name" &&
    autodev agent list >out &&
    test_line_count out 4
'

test_expect_success 'an invalid maturity exits 2 naming it' '
    test_expect_code 2 autodev agent add dave --maturity GURU 2>err &&
    test_one_error err "invalid maturity .GURU." &&
    test_expect_code 2 autodev agent show dave 2>/dev/null
'

test_expect_success 'agent list shows every agent by name' '
    autodev agent list >out &&
    awk "NR > 1 { print \$1 }" out >names &&
    head -n1 out | grep -Eq "^NAME +MATURITY +EPISODES +SUCCEEDED +FAILED$" &&
    printf "%s\n" alice bob carol >expect &&
    test_cmp expect names
'

test_expect_success 'agent list --json and --limit' '
    autodev agent list --json >out &&
    test "$(json_get "[a[\"name\"] for a in j]" <out)" = "[\"alice\", \"bob\", \"carol\"]" &&
    autodev agent list --limit 2 --json >out &&
    test "$(json_get "len(j)" <out)" = 2 &&
    test_expect_code 2 autodev agent list --limit 0 2>err &&
    test_one_error err "invalid --limit .0." &&
    test_expect_code 2 autodev agent list --limit many 2>err &&
    test_one_error err "invalid --limit"
'

test_expect_success 'agent show of an unknown agent exits 2' '
    test_expect_code 2 autodev agent show zed 2>err >out &&
    test_one_error err "unknown agent .zed." &&
    test ! -s out
'

test_expect_success 'agent set-maturity changes the level' '
    autodev agent set-maturity alice AUTONOMOUS >out &&
    grep -q "STUDENT -> AUTONOMOUS" out &&
    autodev agent show alice --json >show &&
    test "$(json_get "j[\"maturity\"]" <show)" = AUTONOMOUS
'

test_expect_success 'agent set-maturity refuses bad input' '
    test_expect_code 2 autodev agent set-maturity alice WIZARD 2>err &&
    test_one_error err "invalid maturity .WIZARD." &&
    test_expect_code 2 autodev agent set-maturity nobody INTERN 2>err &&
    test_one_error err "unknown agent .nobody." &&
    test_expect_code 2 autodev agent set-maturity alice 2>err &&
    test_one_error err "usage"
'

test_expect_success 'missing arguments are usage errors' '
    test_expect_code 2 autodev agent add 2>err &&
    test_one_error err "usage" &&
    test_expect_code 2 autodev agent show 2>err &&
    test_one_error err "usage" &&
    test_expect_code 2 autodev agent list extra 2>err &&
    test_line_count err 1
'

test_expect_success 'agents of one tenant are invisible to another' '
    autodev --tenant other agent add alice --maturity INTERN >/dev/null &&
    autodev --tenant other agent list >out &&
    test_line_count out 2 &&
    autodev agent show alice --json >show &&
    test "$(json_get "j[\"maturity\"]" <show)" = AUTONOMOUS
'

test_done
