#!/bin/sh
test_description='help, usage, the man page and the version'
. "$(dirname "$0")/test-lib.sh"

# The commands as the general help lists them.
commands() {
    autodev help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'
}

# "agent add", "agent list", ... from the usage lines of each command.
subcommands() {
    for c in $(commands); do
        autodev help "$c" | sed -n 's/^\(usage:\|   or:\) autodev //p' |
            awk '$2 ~ /^[a-z][a-z-]*$/ { print $1 " " $2 }'
    done | sort -u
}

test_expect_success 'autodev --help prints the usage and exits 0' '
    autodev --help >out &&
    grep -q "^usage: autodev" out &&
    grep -q "^Commands:" out &&
    grep -q -- "--tenant NAME" out
'

test_expect_success 'autodev help prints the same as --help' '
    autodev --help >expect &&
    autodev help >actual &&
    test_cmp expect actual
'

test_expect_success 'the general help lists every command' '
    commands >actual &&
    printf "%s
" init db agent episode settings events jobs serve worker mcp token webhook signals sandbox skill task gate candidates notifications mutations research evolve lineage fitness llm edit propose synth demo advise completion help >expect &&
    test_cmp expect actual
'

test_expect_success 'every command answers --help with its usage and exit 0' '
    for c in $(commands); do
        autodev "$c" --help >out.$c 2>err.$c || { echo "$c --help failed"; exit 1; }
        grep -q "^usage: autodev $c" out.$c || { echo "$c: no usage"; exit 1; }
        test ! -s err.$c || exit 1
    done
'

test_expect_success 'autodev help COMMAND and COMMAND --help print the same text' '
    for c in $(commands); do
        autodev help "$c" >expect &&
        autodev "$c" --help >actual &&
        test_cmp expect actual || exit 1
    done
'

test_expect_success 'every subcommand answers --help and -h with exit 0' '
    subcommands >subs &&
    test $(wc -l <subs) -ge 10 &&
    while read -r c s; do
        autodev $c $s --help >out || { echo "$c $s --help failed"; exit 1; }
        grep -q "^usage: autodev $c" out || exit 1
        autodev $c $s -h >out2 && test_cmp out out2 || exit 1
    done <subs
'

test_expect_success '--help works among other options and before the command' '
    autodev agent add bob --maturity INTERN --help >out &&
    grep -q "^usage: autodev agent add" out &&
    autodev --help jobs >out2 &&
    grep -q "^usage: autodev jobs" out2 &&
    test ! -e "$AUTODEV_HOME"
'

test_expect_success 'autodev help --man equals docs/autodev.1' '
    autodev help --man >actual &&
    test_cmp "$AUTODEV_SRC/docs/autodev.1" actual
'

test_expect_success 'the man page has a section for every command' '
    autodev help --man >man &&
    for c in $(commands); do
        grep -q "^\.SS \"autodev $c\"" man || { echo "no section for $c"; exit 1; }
    done &&
    grep -q "^\.SH EXIT STATUS" man &&
    grep -q "^\.SH ENVIRONMENT" man
'

if command -v groff >/dev/null 2>&1; then
test_expect_success 'the man page renders without troff warnings' '
    groff -man -Tutf8 -ww -z "$AUTODEV_SRC/docs/autodev.1" 2>err &&
    test ! -s err
'
else
test_skip 'the man page renders without troff warnings' 'no groff'
fi

test_expect_success '--version prints the version' '
    autodev --version >out &&
    grep -Eq "^autodev [0-9]+\.[0-9]+\.[0-9]+$" out
'

test_expect_success 'an unknown command exits 2 with one line' '
    test_expect_code 2 autodev frobnicate 2>err >out &&
    test_one_error err "unknown command .frobnicate." &&
    test ! -s out
'

test_expect_success 'no command prints the usage on stderr and exits 2' '
    test_expect_code 2 autodev >out 2>err &&
    grep -q "^usage: autodev" err &&
    test ! -s out
'

test_expect_success 'help for an unknown command exits 2' '
    test_expect_code 2 autodev help frobnicate 2>err &&
    test_one_error err "unknown command"
'

test_expect_success 'a missing or unknown subcommand exits 2' '
    test_expect_code 2 autodev agent 2>err &&
    test_one_error err "missing subcommand" &&
    test_expect_code 2 autodev agent fly 2>err &&
    test_one_error err "unknown agent subcommand .fly."
'

test_expect_success 'an unknown option exits 2 naming it' '
    autodev init >/dev/null &&
    test_expect_code 2 autodev agent list --colour 2>err &&
    test_one_error err "unknown option .--colour." &&
    test_expect_code 2 autodev agent list --limit 2>err &&
    test_one_error err "option .--limit. requires a value"
'

test_expect_success 'a bad global option value exits 2' '
    test_expect_code 2 autodev --log-level loud agent list 2>err &&
    test_one_error err "invalid log level .loud." &&
    test_expect_code 2 autodev agent list --tenant 2>err &&
    test_one_error err "requires a value"
'

test_done
