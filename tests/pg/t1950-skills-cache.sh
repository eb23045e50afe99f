#!/bin/sh
test_description='PostgreSQL: the server caches GET /v1/skills (the data version comes from LISTEN/NOTIFY), and a skill added or promoted by another process is in the next pages'
. "$(dirname "$0")/lib.sh"
pg_skip_all

skill_file() { # NAME DOC
    printf 'def %s(text: str) -> str:\n    """%s"""\n    return text\n' "$1" "$2" >"$1.py"
}

names() {
    api "$(cat tok)" GET /v1/skills >status && test "$(cat status)" = 200 &&
    jbody '" ".join(sorted(s["name"] for s in j["items"]))'
}

described() { # NAME: its description in the page
    api "$(cat tok)" GET /v1/skills >status && test "$(cat status)" = 200 &&
    jbody "[s[\"description\"] for s in j[\"items\"] if s[\"name\"] == \"$1\"][0]"
}

current() { # the current version of alpha in its page
    api "$(cat tok)" GET /v1/skills/alpha >status && test "$(cat status)" = 200 &&
    jbody 'j["version"]["semver"]'
}

# One HTTP thread: one page cache, so what one request cached the next one finds.
test_expect_success 'setup: a skill, a token, a server with one HTTP thread listening' '
    autodev init >/dev/null &&
    skill_file alpha "First." &&
    autodev skill add alpha.py --name alpha --entry alpha --description first >/dev/null &&
    make_token admin >tok &&
    start_server --workers 0 --threads 1 &&
    test "$(names)" = alpha &&
    wait_for "test \"\$(pgq \"SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'"'autodev listener $PG_SCHEMA'"'"' AND query = '"'"'LISTEN autodev_data'"'"'\")\" = 1" 60
'

# Proof that pages are kept: a change that notifies nobody (the triggers off,
# as only a superuser can) is not seen while nothing else is committed.
test_expect_success 'the page is cached: a change made without notifying is not seen' '
    test "$(described alpha)" = first &&
    test "$(described alpha)" = first &&
    pgq "ALTER TABLE skills DISABLE TRIGGER ad_data_update" &&
    pgq "UPDATE skills SET description = '"'"'changed quietly'"'"' WHERE name = '"'"'alpha'"'"'" &&
    pgq "ALTER TABLE skills ENABLE TRIGGER ad_data_update" &&
    test "$(described alpha)" = first
'

# Another process commits: its notification invalidates the page.
test_expect_success 'a skill added by another process is in the next page' '
    skill_file beta "Second." &&
    autodev skill add beta.py --name beta --entry beta --description second >/dev/null &&
    wait_for "test \"\$(names)\" = \"alpha beta\"" 30 &&
    test "$(described alpha)" = "changed quietly"
'

test_expect_success 'a new version promoted by another process is in the next page' '
    current >v1 && test -n "$(cat v1)" &&
    skill_file alpha "First, again." &&
    autodev skill add alpha.py --name alpha --entry alpha >/dev/null &&
    wait_for "test \"\$(current)\" != $(cat v1)" 30 &&
    autodev skill rollback alpha --to "$(cat v1)" >/dev/null &&
    wait_for "test \"\$(current)\" = $(cat v1)" 30
'

# The server's own write: the very next request sees it, no notification needed.
test_expect_success 'a rollback through the server is in the very next page' '
    skill_file alpha "First, a third time." &&
    autodev skill add alpha.py --name alpha --entry alpha >/dev/null &&
    wait_for "test \"\$(current)\" != $(cat v1)" 30 &&
    test "$(api "$(cat tok)" POST /v1/skills/alpha/rollback "{\"version\": \"$(cat v1)\"}")" = 200 &&
    test "$(current)" = "$(cat v1)"
'

test_expect_success 'the server stops cleanly' '
    stop_server
'

test_done
