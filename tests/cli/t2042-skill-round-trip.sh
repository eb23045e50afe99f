#!/bin/sh
test_description='skill import then export gives the folder back byte for byte where autodev changed nothing, for every shape'
. "$(dirname "$0")/test-lib.sh"

# Fixtures written for this test, one per shape (none copied from elsewhere).
# Each is imported into the catalog, exported again and compared file by file.

# same SRC OUT: the two folders hold the same files with the same bytes.
same() {
    diff -r "$1" "$2" &&
    (cd "$1" && find . -type f | sort) >"$TRASH/a.list" &&
    (cd "$2" && find . -type f | sort) >"$TRASH/b.list" &&
    test_cmp "$TRASH/a.list" "$TRASH/b.list" &&
    while read -r f; do cmp "$1/$f" "$2/$f" || return 1; done <"$TRASH/a.list"
}

test_expect_success 'setup: one folder per shape' '
    autodev init >/dev/null &&
    mkdir -p in/tone-guide &&
    printf "%s\n" "---" "name: tone-guide" \
        "description: >-" "  How to write replies to customers: plain words," \
        "  short sentences, no blame." \
        "license: CC-BY-4.0" "allowed-tools: Read Grep" "metadata:" "  author: test" \
        "  tags: \"style, tone\"" "---" "" "# Tone" "" "Write as you speak." "" \
        "- one idea a sentence" "- say sorry once" >in/tone-guide/SKILL.md &&
    mkdir -p in/slugify/scripts &&
    printf "%s\r\n" "---" "name: slugify" "description: Turn a title into a URL slug." \
        "compatibility: Python 3.8 or later" "---" "" "Call slugify(text) in scripts/main.py." \
        >in/slugify/SKILL.md &&
    printf "%s\n" "import re" "" "" "def slugify(text: str) -> str:" \
        "    \"\"\"The title in lower case, words joined by -.\"\"\"" \
        "    return re.sub(r\"[^a-z0-9]+\", \"-\", text.lower()).strip(\"-\")" \
        >in/slugify/scripts/main.py &&
    printf "    # no newline at the end" >>in/slugify/scripts/main.py &&
    mkdir -p in/sheet-tools/scripts in/sheet-tools/references in/sheet-tools/assets &&
    printf "%s\n" "---" "name: sheet-tools" \
        "description: Read, sum and chart spreadsheet columns." "---" "" \
        "Pick the script for the job; see references/formats.md." >in/sheet-tools/SKILL.md &&
    printf "import csv, sys\nprint(sum(float(r[1]) for r in csv.reader(sys.stdin)))\n" \
        >in/sheet-tools/scripts/sum_col.py &&
    printf "def chart(rows):\n    return len(rows)\n" >in/sheet-tools/scripts/chart.py &&
    printf "#!/bin/sh\nhead -n 1 \"\$1\"\n" >in/sheet-tools/scripts/header.sh &&
    printf "CSV and TSV, UTF-8.\n" >in/sheet-tools/references/formats.md &&
    printf "\211PNG\r\n\032\n\000\001\002\377" >in/sheet-tools/assets/logo.png &&
    mkdir -p in/mail-merge/scripts &&
    printf "%s\n" "---" "name: mail-merge" "description: Fill a letter template from rows." \
        "---" "" "Run scripts/merge.py." >in/mail-merge/SKILL.md &&
    printf "def fill(template, row):\n    return template.format(**row)\n" \
        >in/mail-merge/scripts/merge.py &&
    cat >wc.py <<-\EOF &&
	def word_count(text: str) -> int:
	    """Count the words in a text."""
	    return len(text.split())
	EOF
    autodev skill add wc.py --name word_count --entry word_count >/dev/null &&
    autodev skill export word_count in >/dev/null
'

for shape in "tone-guide:instructions only" "slugify:one script, a SKILL.md autodev would rewrite" \
             "sheet-tools:several scripts, references and a binary asset" \
             "mail-merge:one script with no function named after the skill" \
             "word-count:one script as autodev exports it"; do
    name=${shape%%:*}
    test_expect_success "round trip, ${shape#*:}: import, export, the same bytes" "
        autodev --home \"\$TRASH/h-$name\" init >/dev/null &&
        autodev --home \"\$TRASH/h-$name\" skill import in/$name >/dev/null &&
        autodev --home \"\$TRASH/h-$name\" skill export $(echo $name | tr - _) out-$name \
            >/dev/null &&
        same in/$name out-$name/$name
    "
done

test_expect_success 'the one-script skill runs its own script' '
    autodev --home "$TRASH/h-slugify" skill run slugify --input "{\"text\": \"Hello, World\"}" \
        --json >run.json &&
    test "$(json_get "j[\"output\"]" <run.json)" = hello-world
'

test_expect_success 'a new version is rendered afresh: its SKILL.md says so, its script is its own' '
    h="$TRASH/h-slugify" &&
    autodev --home "$h" skill show slugify --json | json_get "j[\"version\"][\"code\"]" >v1.py &&
    sed "s/text.lower()/text.casefold()/" v1.py >v2.py &&
    ! cmp -s v1.py v2.py &&
    autodev --home "$h" skill add v2.py --name slugify --entry slugify >/dev/null &&
    autodev --home "$h" skill export slugify out-v2 >/dev/null &&
    grep -q "^  version: 1.1.0$" out-v2/slugify/SKILL.md &&
    ! grep -q "autodev: SKILL.md kept verbatim" out-v2/slugify/scripts/slugify.py &&
    grep -q "casefold" out-v2/slugify/scripts/slugify.py &&
    ! test -e out-v2/slugify/scripts/main.py &&
    autodev --home "$h" skill export slugify out-v1 --version 1.0.0 >/dev/null &&
    same in/slugify out-v1/slugify
'

test_done
