/*
 * Module hooks: HMAC against RFC 4231, the signature scheme and its
 * tolerance, the key file's creation and permission checks, topic
 * matching, derived secrets and rotation, and the replay guard.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "autodev/hooks.h"
#include "autodev/runtime.h"
#include "autodev/secret.h"
#include "autodev/store.h"

#include "tmpdb.h"

/* RFC 4231, test cases 1 and 2 (HMAC-SHA-256). */
static void hmac_matches_rfc4231(void **state)
{
    unsigned char key1[20];
    char out[AD_HOOKS_SECRET_SIZE];

    (void)state;
    memset(key1, 0x0b, sizeof(key1));
    ad_hmac_sha256_hex(key1, sizeof(key1), "Hi There", 8, out);
    assert_string_equal(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    ad_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, out);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* The signature is HMAC(secret, "<ts>." + body), and verify holds to it. */
static void signature_scheme_and_tolerance(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    const char *secret = "Jefe", *body = "{\"a\":1}";
    char sig[AD_HOOKS_SIGNATURE_SIZE], want[AD_HOOKS_SECRET_SIZE], bad[AD_HOOKS_SIGNATURE_SIZE];
    const int64_t ts = 1700000000;

    (void)state;
    ad_hooks_sign(secret, ts, body, strlen(body), sig);
    ad_hmac_sha256_hex(secret, 4, "1700000000.{\"a\":1}", 18, want);
    assert_memory_equal(sig, "sha256=", 7);
    assert_string_equal(sig + 7, want);

    assert_int_equal(ad_hooks_verify(secret, "1700000000", sig, body, strlen(body), ts, &err), 0);
    /* 5 minutes either way, not a second more. */
    assert_int_equal(ad_hooks_verify(secret, "1700000000", sig, body, 7, ts + 300, &err), 0);
    assert_int_equal(ad_hooks_verify(secret, "1700000000", sig, body, 7, ts - 300, &err), 0);
    assert_int_equal(ad_hooks_verify(secret, "1700000000", sig, body, 7, ts + 301, &err),
                     AD_EPERM);
    assert_non_null(strstr(err.msg, "tolerance"));
    assert_int_equal(ad_hooks_verify(secret, "1700000000", sig, body, 7, ts - 301, &err),
                     AD_EPERM);
    /* A changed body, timestamp or secret fails; so do malformed headers. */
    assert_int_equal(ad_hooks_verify(secret, "1700000000", sig, "{\"a\":2}", 7, ts, &err),
                     AD_EPERM);
    assert_non_null(strstr(err.msg, "does not match"));
    assert_int_equal(ad_hooks_verify(secret, "1700000001", sig, body, 7, ts, &err), AD_EPERM);
    assert_int_equal(ad_hooks_verify("Jeff", "1700000000", sig, body, 7, ts, &err), AD_EPERM);
    assert_int_equal(ad_hooks_verify(secret, NULL, sig, body, 7, ts, &err), AD_EPERM);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(ad_hooks_verify(secret, "1700000000", NULL, body, 7, ts, &err), AD_EPERM);
    assert_int_equal(ad_hooks_verify(secret, "17e8", sig, body, 7, ts, &err), AD_EPERM);
    assert_int_equal(ad_hooks_verify(secret, "1700000000", sig + 7, body, 7, ts, &err),
                     AD_EPERM);
    memcpy(bad, sig, sizeof(bad));
    for (char *p = bad + 7; *p; p++)
        *p = (char)(*p >= 'a' ? *p - 32 : *p);   /* upper-case hex is not the form */
    assert_int_equal(ad_hooks_verify(secret, "1700000000", bad, body, 7, ts, &err), AD_EPERM);
}

static void key_file_is_made_private_and_checked(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    unsigned char k1[AD_SIGNING_KEY_SIZE], k2[AD_SIGNING_KEY_SIZE];
    char dir[] = "/tmp/ad-test-hooks-XXXXXX", path[128], link_path[128];
    struct stat sb;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/signing.key", dir);
    snprintf(link_path, sizeof(link_path), "%s/link.key", dir);
    assert_int_equal(ad_signing_key_load(path, k1, &err), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, AD_SIGNING_KEY_SIZE);
    /* The second load reads the same key. */
    assert_int_equal(ad_signing_key_load(path, k2, &err), 0);
    assert_memory_equal(k1, k2, sizeof(k1));
    /* Readable by the group or others: refused, and the file left alone. */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(ad_signing_key_load(path, k2, &err), AD_EPERM);
    assert_non_null(strstr(err.msg, "chmod 600"));
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(ad_signing_key_load(path, k2, &err), AD_EPERM);
    assert_int_equal(chmod(path, 0600), 0);
    /* A symbolic link is not followed. */
    assert_int_equal(symlink(path, link_path), 0);
    assert_int_equal(ad_signing_key_load(link_path, k2, &err), AD_EPERM);
    /* A key of the wrong size is refused, not padded. */
    unlink(link_path);
    f = fopen(path, "ab");
    assert_non_null(f);
    fputc('x', f);
    fclose(f);
    assert_int_equal(ad_signing_key_load(path, k2, &err), AD_EPERM);
    unlink(path);
    rmdir(dir);
}

static void topics_match_and_parse(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    json_t *t = NULL;

    (void)state;
    assert_int_equal(ad_hooks_topics_parse("task.fail,variant.fitness", &t, &err), 0);
    assert_int_equal(json_array_size(t), 2);
    assert_true(ad_hooks_topics_match(t, "task.fail"));
    assert_true(ad_hooks_topics_match(t, "variant.fitness"));
    assert_false(ad_hooks_topics_match(t, "task.success"));
    assert_false(ad_hooks_topics_match(t, "task"));
    json_decref(t);
    assert_int_equal(ad_hooks_topics_parse("*", &t, &err), 0);
    assert_true(ad_hooks_topics_match(t, "task.success"));
    json_decref(t);
    assert_int_equal(ad_hooks_topics_parse("task.fail,no.such", &t, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "no.such"));
    assert_null(t);
    assert_int_equal(ad_hooks_topics_parse("task.fail,,task.success", &t, &err), AD_EINVAL);
    assert_int_equal(ad_hooks_topics_parse("", &t, &err), AD_EINVAL);
}

struct env {
    struct tmpdb db;
    struct ad_runtime *rt;
    struct ad_hooks *h;
    char tenant[AD_ID_SIZE];
    char key[160];
};

static void env_open(struct env *e)
{
    struct ad_runtime_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;

    tmpdb_make(&e->db, "hooks");
    o.db = e->db.path;
    o.create = 1;
    assert_int_equal(ad_runtime_open(&o, &e->rt, &err), 0);
    assert_int_equal(ad_runtime_tenant(e->rt, "default", 1, e->tenant, &err), 0);
    assert_int_equal(ad_runtime_hooks(e->rt, &e->h, &err), 0);
    snprintf(e->key, sizeof(e->key), "%s/signing.key", e->db.dir);
}

static void env_close(struct env *e)
{
    ad_runtime_free(e->rt);
    unlink(e->key);
    tmpdb_remove(&e->db);
}

/* Secrets differ per webhook and per rotation, are registered for masking, and are not stored. */
static void secrets_are_derived_and_rotate(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_webhook a = { 0 }, b = { 0 };
    char sa[AD_HOOKS_SECRET_SIZE], sb[AD_HOOKS_SECRET_SIZE], again[AD_HOOKS_SECRET_SIZE];
    char line[200];
    json_t *topics = json_pack("[s]", "task.fail");
    struct env e;
    FILE *f;

    (void)state;
    env_open(&e);
    assert_int_equal(ad_webhook_add(e.h, e.tenant, "https://example.invalid/a", topics, "a", &a,
                                    sa, &err), 0);
    assert_int_equal(ad_webhook_add(e.h, e.tenant, "http://example.invalid/b", topics, NULL, &b,
                                    sb, &err), 0);
    assert_int_equal(strlen(sa), 64);
    assert_string_not_equal(sa, sb);
    assert_int_equal(ad_webhook_secret(e.h, e.tenant, a.id, 0, again, &err), 0);
    assert_string_equal(again, sa);
    assert_int_equal(ad_webhook_secret(e.h, e.tenant, a.id, 1, again, &err), 0);
    assert_string_not_equal(again, sa);
    snprintf(line, sizeof(line), "secret %s here", again);
    assert_true(ad_secret_contains(line));
    /* Bad input: a url that is not http(s), no topics. */
    assert_int_equal(ad_webhook_add(e.h, e.tenant, "file:///etc/passwd", topics, NULL, NULL, sa,
                                    &err), AD_EINVAL);
    assert_int_equal(ad_webhook_add(e.h, e.tenant, "http:///x", topics, NULL, NULL, sa, &err),
                     AD_EINVAL);
    /* The database file holds no secret. */
    ad_runtime_free(e.rt);
    e.rt = NULL;
    f = fopen(e.db.path, "rb");
    assert_non_null(f);
    {
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf), f);

        assert_null(memmem(buf, n, sa, 64));
        assert_null(memmem(buf, n, sb, 64));
        assert_null(memmem(buf, n, again, 64));
    }
    fclose(f);
    ad_webhook_release(&a);
    ad_webhook_release(&b);
    json_decref(topics);
    env_close(&e);
}

/* A signature verifies once; the second time it is a replay. Old receipts are pruned. */
static void replays_are_refused(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    char secret[AD_HOOKS_SECRET_SIZE], sig[AD_HOOKS_SIGNATURE_SIZE], ts[24], later[AD_TIME_SIZE];
    const char *body = "{\"crm_conversion\": true}";
    int64_t now = ad_now_ms() / 1000, count = 0;
    struct env e;

    (void)state;
    env_open(&e);
    assert_int_equal(ad_signals_secret(e.h, e.tenant, 0, secret, &err), 0);
    snprintf(ts, sizeof(ts), "%lld", (long long)now);
    ad_hooks_sign(secret, now, body, strlen(body), sig);
    assert_int_equal(ad_signals_verify(e.h, e.tenant, ts, sig, body, strlen(body), &err), 0);
    assert_int_equal(ad_signals_verify(e.h, e.tenant, ts, sig, body, strlen(body), &err),
                     AD_EPERM);
    assert_non_null(strstr(err.msg, "replay"));
    /* A new timestamp is a new signature. */
    snprintf(ts, sizeof(ts), "%lld", (long long)now - 1);
    ad_hooks_sign(secret, now - 1, body, strlen(body), sig);
    assert_int_equal(ad_signals_verify(e.h, e.tenant, ts, sig, body, strlen(body), &err), 0);
    /* After a rotation the old secret no longer verifies. */
    assert_int_equal(ad_signals_secret(e.h, e.tenant, 1, secret, &err), 0);
    snprintf(ts, sizeof(ts), "%lld", (long long)now - 2);
    ad_hooks_sign("not the secret", now - 2, body, strlen(body), sig);
    assert_int_equal(ad_signals_verify(e.h, e.tenant, ts, sig, body, strlen(body), &err),
                     AD_EPERM);
    /* Receipts older than a time go (the window's end is what ad_signals_verify passes). */
    ad_time_iso(ad_now_ms() + 1000, later);
    assert_int_equal(ad_store_signal_receipt_prune(ad_runtime_store(e.rt), later, &count, &err),
                     0);
    assert_int_equal(count, 2);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hmac_matches_rfc4231),
        cmocka_unit_test(signature_scheme_and_tolerance),
        cmocka_unit_test(key_file_is_made_private_and_checked),
        cmocka_unit_test(topics_match_and_parse),
        cmocka_unit_test(secrets_are_derived_and_rotate),
        cmocka_unit_test(replays_are_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
