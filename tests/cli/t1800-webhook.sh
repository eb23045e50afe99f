#!/bin/sh
test_description='webhook and signals: the command line, its bad input, the key file'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup' '
    autodev init >/dev/null
'

test_expect_success 'add prints the id and the secret; list shows no secret' '
    autodev webhook add http://127.0.0.1:9/a --topics task.fail,task.success \
        --description "the a hook" >out &&
    test_line_count out 2 &&
    sed -n 1p out >id && sed -n 2p out >secret &&
    grep -Eq "^[0-9a-f]{64}$" secret &&
    autodev webhook list >list &&
    grep -q "^$(cat id)  *yes  *1  *\[\"task.fail\",\"task.success\"\]  *http://127.0.0.1:9/a$" list &&
    autodev webhook list --json >list.json &&
    ! grep -q "$(cat secret)" list.json &&
    test "$(json_get "j[0][\"description\"]" <list.json)" = "the a hook" &&
    test "$(stat -c %a "$AUTODEV_HOME/signing.key")" = 600
'

test_expect_success 'secret shows the same secret; --rotate a new one, generation 2' '
    test "$(autodev webhook secret "$(cat id)")" = "$(cat secret)" &&
    autodev webhook secret "$(cat id)" --rotate >new 2>err &&
    ! cmp -s new secret &&
    grep -q "previous secret no longer verifies" err &&
    test "$(autodev webhook secret "$(cat id)")" = "$(cat new)" &&
    test "$(autodev webhook list --json | json_get "j[0][\"secret_generation\"]")" = 2
'

test_expect_success 'bad input is refused with a clear error and nothing is added' '
    test_expect_code 2 autodev webhook add ftp://x --topics "*" 2>err &&
    grep -q "must start with http:// or https://" err &&
    test_expect_code 2 autodev webhook add http://x/ --topics no.such 2>err &&
    grep -q "unknown topic .no.such." err &&
    test_expect_code 2 autodev webhook add http://x/ 2>err &&
    grep -q "needs --topics" err &&
    test_expect_code 2 autodev webhook add "http://x/a b" --topics "*" 2>err &&
    grep -q "blank or control character" err &&
    test_expect_code 2 autodev webhook remove not-an-id 2>err &&
    test_expect_code 2 autodev webhook deliveries --status lost 2>err &&
    grep -q "invalid status .lost." err &&
    test_expect_code 2 autodev webhook replay 2>err &&
    grep -q "usage: autodev webhook replay" err &&
    test "$(autodev webhook list --json | json_get "len(j)")" = 1
'

test_expect_success 'test queues one delivery to that webhook only' '
    autodev webhook add http://127.0.0.1:9/b --topics "*" >b &&
    autodev webhook test "$(cat id)" >out &&
    grep -q "queued a webhook.test event" out &&
    autodev webhook deliveries --json >d.json &&
    test "$(json_get "[d[\"webhook_id\"] for d in j]" <d.json)" = "[\"$(cat id)\"]" &&
    test "$(json_get "j[0][\"status\"]" <d.json)" = pending &&
    test "$(autodev webhook deliveries --webhook "$(sed -n 1p b)" --json | json_get "len(j)")" = 0 &&
    json_get "j[0][\"id\"]" <d.json >did &&
    test_expect_code 2 autodev webhook replay "$(cat did)" 2>err &&
    grep -q "is pending: only failed or dead ones are replayed" err
'

test_expect_success 'a removed webhook fails its pending delivery unsent' '
    autodev webhook remove "$(cat id)" >out &&
    grep -q "^removed webhook $(cat id)$" out &&
    autodev jobs run >/dev/null 2>&1 &&
    test "$(autodev webhook deliveries --json | json_get "[[d[\"status\"], d[\"last_error\"], d[\"attempts\"]] for d in j if d[\"id\"] == \"$(cat did)\"][0]")" = "[\"failed\", \"webhook removed\", 0]" &&
    test_expect_code 2 autodev webhook remove "$(cat id)" 2>err &&
    grep -q "unknown webhook" err
'

test_expect_success 'signals secret: per tenant, rotated on demand' '
    autodev signals secret >s1 && autodev signals secret >s2 && cmp s1 s2 &&
    autodev --tenant other signals secret >o1 && ! cmp -s s1 o1 &&
    autodev signals secret --rotate >s3 2>/dev/null && ! cmp -s s1 s3 &&
    test "$(autodev --json signals secret | json_get "j[\"secret\"]")" = "$(cat s3)"
'

test_expect_success 'a key file others may read is refused, and left alone' '
    chmod 644 "$AUTODEV_HOME/signing.key" &&
    test_must_fail autodev signals secret 2>err &&
    grep -q "open to group or others (mode 644); chmod 600 it" err &&
    test "$(stat -c %a "$AUTODEV_HOME/signing.key")" = 644 &&
    chmod 600 "$AUTODEV_HOME/signing.key" &&
    test "$(autodev signals secret)" = "$(cat s3)"
'

test_expect_success 'AUTODEV_SIGNING_KEY_FILE moves the key, and the secrets with it' '
    AUTODEV_SIGNING_KEY_FILE="$TRASH/other.key" autodev signals secret >k &&
    test -f "$TRASH/other.key" && ! cmp -s k s3
'

test_done
