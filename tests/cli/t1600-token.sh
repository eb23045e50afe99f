#!/bin/sh
test_description='autodev token: create (shown once, stored as a hash), list, revoke'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'create prints a token once; list shows its name and role, never the token' '
    autodev init >/dev/null &&
    autodev token create --role admin --name ops >tok 2>err &&
    grep -Eq "^adt_[A-Za-z0-9_-]{43}$" tok &&
    test_line_count tok 1 &&
    grep -q "only time it is shown" err &&
    autodev token list >list &&
    grep -Eq "^[0-9a-f-]{36}  ops +admin " list &&
    ! grep -q "$(cat tok)" list &&
    autodev token list --json >list.json &&
    test "$(json_get "j[0][\"name\"]" <list.json)" = ops &&
    test "$(json_get "sorted(j[0].keys())" <list.json)" = \
        "[\"created_at\", \"id\", \"last_used_at\", \"name\", \"revoked_at\", \"role\"]"
'

test_expect_success 'the store keeps the SHA-256 of the token, not the token' '
    sqlite3 "$DB" .dump >dump &&
    ! grep -q "$(cat tok)" dump &&
    hash=$(printf %s "$(cat tok)" | sha256sum | cut -d" " -f1) &&
    test "$(sqlite3 "$DB" "SELECT count(*) FROM api_tokens WHERE token_hash = '\''$hash'\''")" = 1
'

test_expect_success 'two tokens never share a value; a default name says the role' '
    autodev token create --role agent >a1 2>/dev/null &&
    autodev token create --role agent >a2 2>/dev/null &&
    ! test_cmp a1 a2 >/dev/null &&
    autodev token list --json | json_get "sorted(t[\"name\"][:6] for t in j)" >names &&
    grep -q "\"agent-\", \"agent-\", \"ops\"" names &&
    autodev token create --role reviewer --json >r.json &&
    test "$(json_get "j[\"role\"]" <r.json)" = reviewer &&
    grep -Eq "\"token\": ?\"adt_" r.json
'

test_expect_success 'bad input: a role it does not hand out, a taken name, a bad name, no role' '
    test_expect_code 2 autodev token create --role operator 2>err &&
    test_one_error err "invalid role .operator." &&
    test_expect_code 2 autodev token create --role admin --name ops 2>err &&
    test_one_error err "a token named .ops. already exists" &&
    test_expect_code 2 autodev token create --role admin --name "no spaces" 2>err &&
    test_one_error err "invalid token name" &&
    test_expect_code 2 autodev token create 2>err &&
    test_one_error err "needs --role" &&
    test "$(autodev token list --json | json_get "len(j)")" = 4
'

test_expect_success 'revoke by name or id; a revoked token leaves the list, --all shows it' '
    autodev token revoke ops >out &&
    grep -q "^revoked token ops " out &&
    test "$(autodev token list --json | json_get "len(j)")" = 3 &&
    autodev token list --all --json >all &&
    test "$(json_get "[t[\"revoked_at\"] is not None for t in j if t[\"name\"] == \"ops\"][0]" <all)" = true &&
    test_expect_code 2 autodev token revoke ops 2>err &&
    test_one_error err "already revoked" &&
    id=$(json_get "j[\"id\"]" <r.json) &&
    autodev token revoke "$id" >/dev/null &&
    test_expect_code 2 autodev token revoke nosuch 2>err &&
    test_one_error err "unknown token .nosuch."
'

test_expect_success 'tokens belong to their tenant' '
    autodev --tenant acme token create --role admin --name ops >acme 2>/dev/null &&
    test "$(autodev --tenant acme token list --json | json_get "len(j)")" = 1 &&
    test "$(autodev token list --json | json_get "len(j)")" = 2 &&
    test_expect_code 2 autodev token revoke "$(autodev --tenant acme token list --json | json_get "j[0][\"id\"]")" 2>err
'

test_done
