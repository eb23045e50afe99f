#!/bin/sh
test_description='text from agents, skills, bundles and models never reaches the terminal raw'
. "$(dirname "$0")/test-lib.sh"

# Hostile text: an OSC window title, a screen clear, a colour, a bell, a C1
# CSI (U+009B) and a right-to-left override (U+202E). Everything the CLI
# stores and prints back carries it.
EVIL=$(printf 'Extract \033]0;pwned\007 the \033[2J\033[31mcode \302\233 id \342\200\256 here')
# The same inside a JSON string, where C0 controls must be escaped.
EVIL_J=$(printf '%s' "$EVIL" | sed 's/\x1b/\\u001b/g; s/\x07/\\u0007/g')

# clean FILE: no raw control byte, C1 or bidi override in FILE (tab and newline allowed).
clean() {
    /usr/bin/python3 - "$1" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8", "surrogateescape")
bad = [c for c in text
       if (ord(c) < 0x20 and c not in "\n\t") or ord(c) == 0x7f
       or 0x80 <= ord(c) <= 0x9f or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069
       or 0xdc80 <= ord(c) <= 0xdcff]
if bad:
    print("%s: raw %r" % (sys.argv[1], bad[:5]), file=sys.stderr)
    sys.exit(1)
EOF
}

# shown CMD...: CMD succeeds (or exits 1) and neither its stdout nor its
# stderr holds a raw control character; its stdout shows the escape.
shown() {
    autodev "$@" >out 2>err
    rc=$?
    test $rc -le 1 || { echo "exit $rc: $*" >&2; cat err >&2; return 1; }
    clean out && clean err || { echo "raw control characters from: $*" >&2; return 1; }
}

cat >model.sh <<EOF
#!/bin/sh
cat >/dev/null
printf '%s' "$EVIL"
EOF
chmod +x model.sh
cat >evil.py <<EOF
# $EVIL
def evil(text: str) -> str:
    """$EVIL"""
    print("$EVIL")
    return text + "$EVIL"
EOF

test_expect_success 'setup: hostile text in every table' '
    autodev init >/dev/null &&
    autodev settings set enabled true >/dev/null &&
    autodev agent add bot --maturity INTERN >/dev/null &&
    autodev skill add evil.py --name evil --entry evil >/dev/null &&
    for i in 1 2; do
        test_expect_code 1 autodev task run --agent bot --description "$EVIL" \
            --input "{\"text\": \"see ABC-10$i now\"}" --expect "\"ABC-10$i\"" \
            >/dev/null 2>&1 || return 1
    done &&
    printf "{\"agent\": \"bot\", \"task_description\": \"%s\", \"success\": false,
             \"error_trace\": \"%s\", \"segments\": [{\"kind\": \"%s\", \"content\": \"%s\"}]}" \
        "$EVIL_J" "$EVIL_J" note "$EVIL_J" | autodev episode add >/dev/null &&
    autodev jobs run --until-idle >jobs.out 2>jobs.err &&
    autodev jobs enqueue store.check --key "$EVIL" >/dev/null &&
    AUTODEV_LLM="exec:$TRASH/model.sh" autodev agent run bot "$EVIL" >/dev/null &&
    autodev candidates list --json | json_get "len(j)" >n && test "$(cat n)" = 1
'

test_expect_success 'the JSON of every listing reads back the exact hostile text' '
    autodev episode list --limit 1 --json | json_get "j[0][\"task_description\"]" >got &&
    printf "%s\n" "$EVIL" >want && test_cmp want got &&
    autodev agent sessions --json | json_get "j[0][\"task\"]" >got && test_cmp want got &&
    autodev skill list --json | json_get "j[0][\"description\"]" >got && test_cmp want got &&
    autodev episode list --json >j && clean j
'

test_expect_success 'no listing or view prints a raw control character' '
    eid=$(autodev episode list --limit 1 --json | json_get "j[0][\"id\"]") &&
    sid=$(autodev agent sessions --json | json_get "j[0][\"id\"]") &&
    cid=$(autodev candidates list --json | json_get "j[0][\"id\"]") &&
    for json in "" --json; do
        shown agent list $json && shown agent show bot $json &&
        shown episode list $json && shown episode show "$eid" $json &&
        shown skill list $json && shown skill show evil $json && shown skill search evil $json &&
        shown skill run evil --input "{\"text\": \"$EVIL_J\"}" $json &&
        shown task run --agent bot --skill evil --description d --input "\"x\"" $json &&
        shown jobs list $json && shown events tail --limit 100 $json &&
        shown agent sessions $json && shown agent sessions --show "$sid" $json &&
        shown candidates list $json && shown candidates show "$cid" $json &&
        shown notifications $json && shown llm usage $json && shown settings list $json &&
        shown gate check bot memento_skills $json || return 1
    done &&
    shown episode show "$eid" &&
    grep -q "Extract \\\\u001b\]0;pwned\\\\u0007 the \\\\u001b\[2J\\\\u001b\[31mcode \\\\u009b id \\\\u202e here" out &&
    clean jobs.out && clean jobs.err
'

test_expect_success 'errors that quote hostile input are escaped too' '
    test_expect_code 2 autodev agent show "$EVIL" 2>err &&
    clean err && test_one_error err "agent" &&
    test_expect_code 2 autodev skill run evil --input "$EVIL" 2>err &&
    clean err &&
    test_expect_code 2 autodev "$EVIL" 2>err && clean err
'

test_expect_success 'the runtime notices of a job go through the same path' '
    grep -q "^autodev: memento: candidate " jobs.err
'

test_done
