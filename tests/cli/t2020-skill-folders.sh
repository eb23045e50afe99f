#!/bin/sh
test_description='autodev skill import|export: Agent Skills folders as written elsewhere'
. "$(dirname "$0")/test-lib.sh"

# Folders shaped like the public ones (written for this test): one with
# instructions only, one with several scripts and references, one whose only
# script has no function named after the skill, and one whose description is
# over the specification's 1024 characters.

mkdir -p src/brand-voice src/pdf-tools/scripts src/pdf-tools/reference src/log-digest/scripts
cat >src/brand-voice/SKILL.md <<'MD'
---
name: brand-voice
description: Write in the house brand voice. Use when drafting copy, emails or release notes.
license: Apache-2.0
---

# Brand voice

- Short sentences; no exclamation marks.
- Name the reader's problem before the product.
MD
cat >src/brand-voice/LICENSE.txt <<'TXT'
Licensed under the Apache License 2.0.
TXT

cat >src/pdf-tools/SKILL.md <<'MD'
---
name: pdf-tools
description: "Split, merge and extract text from PDF files: use it when the task names a PDF."
allowed-tools: Bash Read
metadata:
  author: example
---
# PDF tools

Run `scripts/split.py IN OUT_DIR` to split, `scripts/merge.py OUT IN...` to merge.
See reference/forms.md for forms.
MD
printf 'import sys\n\nif __name__ == "__main__":\n    print("split", sys.argv[1:])\n' \
    >src/pdf-tools/scripts/split.py
printf 'import sys\n\nif __name__ == "__main__":\n    print("merge", sys.argv[1:])\n' \
    >src/pdf-tools/scripts/merge.py
printf '#!/bin/sh\necho check\n' >src/pdf-tools/scripts/check.sh
printf '# Forms\n\nFill fields by name.\n' >src/pdf-tools/reference/forms.md
printf '\000\001\002binary\377' >src/pdf-tools/reference/blank.bin

cat >src/log-digest/SKILL.md <<'MD'
---
name: log-digest
description: Summarise a log file into its error lines.
---
Run scripts/digest.py with the log on stdin.
MD
cat >src/log-digest/scripts/digest.py <<'PY'
import sys


def main():
    for line in sys.stdin:
        if "ERROR" in line:
            print(line.rstrip())


if __name__ == "__main__":
    main()
PY

test_expect_success 'setup' '
    autodev init >/dev/null
'

test_expect_success 'an instruction-only skill imports; its body is its instructions' '
    autodev skill import src/brand-voice >out &&
    grep -Eq "^imported brand_voice 1\.0\.0" out &&
    autodev skill run brand_voice --json >run &&
    test "$(json_get "j[\"status\"]" <run)" = ok &&
    json_get "j[\"output\"][\"instructions\"]" <run >instr &&
    grep -q "^# Brand voice" instr &&
    grep -q "no exclamation marks" instr &&
    test "$(json_get "j[\"output\"][\"scripts\"]" <run)" = "[]"
'

test_expect_success 'a skill with several scripts imports; each is a resource' '
    autodev skill import src/pdf-tools/ >out &&
    grep -Eq "^imported pdf_tools 1\.0\.0" out &&
    autodev skill run pdf_tools --json >run &&
    test "$(json_get "j[\"output\"][\"scripts\"]" <run)" = "[\"check.sh\", \"merge.py\", \"split.py\"]" &&
    autodev skill run pdf_tools --input "\"split.py\"" --json >run &&
    json_get "j[\"output\"]" <run >split &&
    { cat src/pdf-tools/scripts/split.py && echo; } >want &&
    test_cmp want split
'

test_expect_success 'a script with no function named after the skill imports as a resource' '
    autodev skill import src/log-digest >out &&
    grep -Eq "^imported log_digest 1\.0\.0" out &&
    autodev skill show log_digest --json >show &&
    test "$(json_get "j[\"skill\"][\"entry_function\"]" <show)" = log_digest &&
    autodev skill run log_digest --json >run &&
    test "$(json_get "j[\"output\"][\"scripts\"]" <run)" = "[\"digest.py\"]"
'

test_expect_success 'export gives back each folder byte for byte' '
    for s in brand_voice pdf_tools log_digest; do
        autodev skill export $s exp >/dev/null || return 1
    done &&
    diff -r src/brand-voice exp/brand-voice &&
    diff -r src/pdf-tools exp/pdf-tools &&
    diff -r src/log-digest exp/log-digest &&
    cmp src/pdf-tools/reference/blank.bin exp/pdf-tools/reference/blank.bin &&
    autodev --home "$TRASH/h2" init >/dev/null &&
    autodev --home "$TRASH/h2" skill import exp/pdf-tools >/dev/null &&
    autodev --home "$TRASH/h2" skill export pdf_tools again >/dev/null &&
    diff -r src/pdf-tools again/pdf-tools
'

test_expect_success 'a one-script skill with its entry still imports as code' '
    mkdir -p src/word-count/scripts &&
    printf "def word_count(text: str) -> int:\n    return len(text.split())\n" \
        >src/word-count/scripts/word_count.py &&
    printf -- "---\nname: word-count\ndescription: Count words.\n---\nCounts words.\n" \
        >src/word-count/SKILL.md &&
    autodev skill import src/word-count >/dev/null &&
    autodev skill run word_count --input "\"a b c\"" --json >run &&
    test "$(json_get "j[\"output\"]" <run)" = 3
'

test_expect_success 'what the specification refuses is refused with its reason, adding nothing' '
    mkdir -p src/long-desc &&
    d=$(/usr/bin/python3 -c "print(\"x\" * 1025)") &&
    printf -- "---\nname: long-desc\ndescription: %s\n---\nBody.\n" "$d" >src/long-desc/SKILL.md &&
    test_expect_code 2 autodev skill import src/long-desc 2>err &&
    test_one_error err "cannot import .src/long-desc.: .*1 to 1024 characters.*not 1025" &&
    mkdir -p src/no-desc && printf -- "---\nname: no-desc\n---\nBody.\n" >src/no-desc/SKILL.md &&
    test_expect_code 2 autodev skill import src/no-desc 2>err &&
    test_one_error err "no .description." &&
    mkdir -p src/Bad-Name && printf -- "---\nname: Bad-Name\ndescription: d\n---\n" \
        >src/Bad-Name/SKILL.md &&
    test_expect_code 2 autodev skill import src/Bad-Name 2>err &&
    test_one_error err "Bad-Name" &&
    autodev skill list >out &&
    ! grep -q "long_desc\|no_desc\|bad" out
'

test_expect_success 'a description of 1024 non-ASCII characters is within the limit' '
    mkdir -p src/wide-desc &&
    d=$(/usr/bin/python3 -c "print(\"\\u00e9\" * 1024)") &&
    printf -- "---\nname: wide-desc\ndescription: %s\n---\nBody.\n" "$d" >src/wide-desc/SKILL.md &&
    autodev skill import src/wide-desc >/dev/null &&
    autodev skill export wide_desc exp >/dev/null &&
    diff -r src/wide-desc exp/wide-desc
'

test_done
