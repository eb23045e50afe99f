#!/bin/sh
test_description='skill export: every folder shape autodev writes passes the Agent Skills reference validator (npm skills-ref); an import refuses what it refuses'
. "$(dirname "$0")/../cli/test-lib.sh"

REF_DIR=$AUTODEV_SRC/tests/skills-ref
NODE=/usr/bin/node
REF="$REF_DIR/node_modules/skills-ref/dist/cli.js"

# Skipped, visibly, only when node or npm cannot run; a failed install is a failure.
if ! "$NODE" -e 'process.exit(0)' 2>/dev/null; then
    test_skip 'the skills-ref validator' "node cannot run at $NODE (scripts/install-deps adds nodejs)"
    test_done
fi
if [ ! -f "$REF" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        test_skip 'the skills-ref validator' "npm is missing (scripts/install-deps adds npm)"
        test_done
    fi
    say "npm ci in $REF_DIR (the skills-ref version pinned in package-lock.json)"
    (cd "$REF_DIR" && npm ci --no-audit --no-fund >"$TRASH/npm.log" 2>&1) || {
        test_expect_success 'npm ci installs the pinned skills-ref' 'cat npm.log; false'
        test_done
    }
fi

# valid DIR: the reference validator accepts the folder (its own words on failure).
valid() {
    "$NODE" "$REF" validate "$1" >"$TRASH/ref.out" 2>&1 && grep -q "^Valid skill: " "$TRASH/ref.out" ||
        { cat "$TRASH/ref.out" >&2; return 1; }
}

# invalid DIR TEXT: the reference validator refuses the folder, saying TEXT.
invalid() {
    ! "$NODE" "$REF" validate "$1" >"$TRASH/ref.out" 2>&1 && grep -q "$2" "$TRASH/ref.out" ||
        { cat "$TRASH/ref.out" >&2; return 1; }
}

# skill_md DIR NAME DESCRIPTION [BODY]: a folder with just SKILL.md.
skill_md() {
    mkdir -p "$1" && printf -- '---\nname: %s\ndescription: %s\n---\n%s' "$2" "$3" "${4:-}" \
        >"$1/SKILL.md"
}

test_expect_success 'setup: skills of every shape autodev supports' '
    autodev init >/dev/null &&
    cat >wc.py <<-\EOF &&
	def word_count(text: str) -> int:
	    """Count the words in a text."""
	    return len(text.split())
	EOF
    autodev skill add wc.py --name word_count --entry word_count >/dev/null &&
    printf "%s\n" "{\"input\": {\"text\": \"INV-1 due\"}, \"output\": \"INV-1\"}" \
        "{\"input\": {\"text\": \"see INV-22\"}, \"output\": \"INV-22\"}" >ex.jsonl &&
    autodev synth --examples ex.jsonl --name extract_invoice >inv.py 2>/dev/null &&
    autodev skill add inv.py --name extract_invoice --entry extract_invoice >/dev/null &&
    skill_md in/brand-voice brand-voice "Write in the house voice, short and plain." \
        "\n# Brand voice\n\nSay it once.\n" &&
    autodev skill import in/brand-voice >/dev/null &&
    skill_md in/pdf-tools pdf-tools "Split, merge and stamp PDF files." "\nRun a script.\n" &&
    mkdir in/pdf-tools/scripts &&
    printf "import sys\nprint(sys.argv[1:])\n" >in/pdf-tools/scripts/split.py &&
    printf "def merge(a, b):\n    return a + b\n" >in/pdf-tools/scripts/merge.py &&
    printf "#!/bin/sh\necho stamped\n" >in/pdf-tools/scripts/stamp.sh &&
    autodev skill import in/pdf-tools >/dev/null &&
    skill_md in/csv-clean csv-clean "Clean a CSV file." "\nUse scripts/tidy.py.\n" &&
    mkdir in/csv-clean/scripts &&
    printf "def tidy(text):\n    return text.strip()\n" >in/csv-clean/scripts/tidy.py &&
    autodev skill import in/csv-clean >/dev/null &&
    printf "def dashes(x: int) -> int:\n    \"\"\"Rules --- and ---- lines: \\\"quoted\\\" too.\"\"\"\n    return x\n" >dashes.py &&
    echo "{\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"integer\",
          \"description\": \"a --- b\"}}, \"required\": [\"x\"]}" >dashes.json &&
    autodev skill add dashes.py --name dashes --entry dashes --schema dashes.json >/dev/null &&
    printf "def nodoc(x: int) -> int:\n    return x\n" >nodoc.py &&
    autodev skill add nodoc.py --name blank_doc --entry nodoc --description "   " >/dev/null &&
    autodev skill add nodoc.py --name no_doc --entry nodoc >/dev/null
'

test_expect_success 'the validator runs: it refuses a folder that breaks the spec' '
    skill_md bad/Bad-Name Bad-Name "x" &&
    invalid bad/Bad-Name "must be lowercase"
'

for s in word_count extract_invoice brand_voice pdf_tools csv_clean dashes blank_doc no_doc; do
    test_expect_success "skill export $s: the reference validator accepts the folder" "
        autodev skill export $s out >/dev/null &&
        valid out/$(echo $s | tr _ -)
    "
done

test_expect_success 'each shape is what it says: a function skill has one script, a kept folder its own' '
    test "$(ls out/word-count/scripts)" = word_count.py &&
    test "$(ls out/extract-invoice/scripts)" = extract_invoice.py &&
    ! test -e out/brand-voice/scripts &&
    test "$(ls out/pdf-tools/scripts | tr "\n" " ")" = "merge.py split.py stamp.sh " &&
    test "$(ls out/csv-clean/scripts)" = tidy.py &&
    grep -q "^description: \"Rules \\\\x2D\\\\x2D\\\\x2D and" out/dashes/SKILL.md &&
    grep -q "u002d" out/dashes/SKILL.md &&
    grep -q "^description: \"The blank_doc skill: calls nodoc.\"" out/blank-doc/SKILL.md
'

test_expect_success 'an export with dashes in its text reads back the same' '
    mkdir again && cp -r out/dashes again/ &&
    AUTODEV_HOME=$TRASH/h2 autodev init >/dev/null &&
    AUTODEV_HOME=$TRASH/h2 autodev skill import again/dashes >/dev/null &&
    AUTODEV_HOME=$TRASH/h2 autodev skill show dashes --json >d.json &&
    json_get "j[\"skill\"][\"description\"]" <d.json >got &&
    printf "%s\n" "Rules --- and ---- lines: \"quoted\" too." >want && test_cmp want got &&
    AUTODEV_HOME=$TRASH/h2 autodev skill export dashes back >/dev/null &&
    diff -r out/dashes back/dashes
'

test_expect_success 'what the validator refuses, import refuses with its reason; what it takes, import takes' '
    e=$(/usr/bin/python3 -c "print(chr(0x1F600) * 600)") &&
    skill_md big/emoji-desc emoji-desc "$e" &&
    invalid big/emoji-desc "Description exceeds 1024 character limit" &&
    test_expect_code 2 autodev skill import big/emoji-desc 2>err &&
    grep -q "description must be 1 to 1024 characters .*not 1200" err &&
    a=$(/usr/bin/python3 -c "print(\"a\" * 1024)") &&
    skill_md big/long-desc long-desc "$a" &&
    valid big/long-desc &&
    autodev skill import big/long-desc >/dev/null &&
    skill_md big/blank-desc blank-desc "\"  \"" &&
    invalid big/blank-desc "must be a non-empty string" &&
    test_expect_code 2 autodev skill import big/blank-desc 2>err &&
    grep -q "must not be blank" err &&
    skill_md big/wrong-dir other-name "x" &&
    invalid big/wrong-dir "must match skill name" &&
    test_expect_code 2 autodev skill import big/wrong-dir 2>err &&
    grep -q "other-name" err
'

test_done
