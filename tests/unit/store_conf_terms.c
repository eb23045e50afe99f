/*
 * The conformance suite (store_suite.h): a workspace's fitness terms
 * (fitness_terms, migration 12). Insert and get with every field, the list
 * by name and its enabled filter, delete, tenant isolation, a taken name,
 * and the refusals, each naming its field and writing nothing.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <math.h>

#include "autodev/store.h"

#include "store_suite.h"

#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void fill_term(struct ad_fitness_term *t, const char *tenant, const char *name,
                      double weight, bool enabled)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->tenant_id, sizeof(t->tenant_id), "%s", tenant);
    t->name = (char *)name;
    t->code = (char *)"def term(signals):\n    return 0.5\n";
    snprintf(t->code_sha, sizeof(t->code_sha), "%s", SHA);
    t->weight = weight;
    t->enabled = enabled;
}

static void test_term_round_trip(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_fitness_term t, got;

    fill_term(&t, f->tenant, "latency_ok", 2.5, true);
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), 0);
    assert_true(ad_id_valid(t.id));
    assert_true(t.created_at[0] != '\0');
    assert_string_equal(t.created_at, t.updated_at);
    assert_int_equal(ad_store_fitness_term_get(f->st, f->tenant, "latency_ok", &got, &err), 0);
    assert_string_equal(got.id, t.id);
    assert_string_equal(got.tenant_id, f->tenant);
    assert_string_equal(got.name, "latency_ok");
    assert_string_equal(got.code, t.code);
    assert_string_equal(got.code_sha, SHA);
    assert_true(fabs(got.weight - 2.5) < 1e-12);
    assert_true(got.enabled);
    assert_string_equal(got.created_at, t.created_at);
    assert_string_equal(got.updated_at, t.updated_at);
    ad_fitness_term_release(&got);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM fitness_terms"), 1);
}

static void test_term_list_and_delete(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_fitness_term t, *v = NULL;
    size_t n = 9;

    fill_term(&t, f->tenant, "zeta", 1, true);
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), 0);
    fill_term(&t, f->tenant, "alpha", 1, false);
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), 0);
    fill_term(&t, f->tenant, "mid", 0.25, true);
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), 0);
    assert_int_equal(ad_store_fitness_term_list(f->st, f->tenant, false, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].name, "alpha");
    assert_false(v[0].enabled);
    assert_string_equal(v[1].name, "mid");
    assert_string_equal(v[2].name, "zeta");
    ad_fitness_term_list_free(v, n);
    assert_int_equal(ad_store_fitness_term_list(f->st, f->tenant, true, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "mid");
    ad_fitness_term_list_free(v, n);
    assert_int_equal(ad_store_fitness_term_delete(f->st, f->tenant, "mid", &err), 0);
    assert_int_equal(ad_store_fitness_term_delete(f->st, f->tenant, "mid", &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown fitness term 'mid'");
    assert_int_equal(ad_store_fitness_term_get(f->st, f->tenant, "mid", &t, &err), AD_ENOTFOUND);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM fitness_terms"), 2);
}

static void test_term_tenant_isolation(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_fitness_term t, *v = NULL;
    size_t n = 9;

    fill_term(&t, f->tenant, "shared", 1, true);
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), 0);
    /* The same name in another tenant is another term; a second one in the same is taken. */
    fill_term(&t, f->other, "shared", 3, true);
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), 0);
    fill_term(&t, f->tenant, "shared", 1, true);
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), AD_EEXIST);
    assert_msg_has(&err, "a fitness term named 'shared' already exists");
    assert_int_equal(ad_store_fitness_term_list(f->st, f->other, false, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_true(fabs(v[0].weight - 3) < 1e-12);
    ad_fitness_term_list_free(v, n);
    /* Deleting one tenant's term leaves the other's. */
    assert_int_equal(ad_store_fitness_term_delete(f->st, f->other, "shared", &err), 0);
    assert_int_equal(ad_store_fitness_term_get(f->st, f->tenant, "shared", &t, &err), 0);
    ad_fitness_term_release(&t);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM fitness_terms"), 1);
}

static void test_term_refusals(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_fitness_term t;
    char *big = malloc(AD_FITNESS_TERM_CODE_MAX + 2);

    fill_term(&t, f->tenant, "1abc", 1, true);
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), AD_EINVAL);
    assert_msg_has(&err, "Python identifier");
    fill_term(&t, f->tenant, "ok", 0, true);
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), AD_EINVAL);
    assert_msg_has(&err, "weight");
    fill_term(&t, f->tenant, "ok", NAN, true);
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), AD_EINVAL);
    assert_msg_has(&err, "weight");
    fill_term(&t, f->tenant, "ok", 1, true);
    t.code_sha[3] = 'X';
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), AD_EINVAL);
    assert_msg_has(&err, "code_sha");
    fill_term(&t, f->tenant, "ok", 1, true);
    t.code = (char *)"";
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), AD_EINVAL);
    assert_msg_has(&err, "code is empty");
    assert_non_null(big);
    memset(big, '#', AD_FITNESS_TERM_CODE_MAX + 1);
    big[AD_FITNESS_TERM_CODE_MAX + 1] = '\0';
    fill_term(&t, f->tenant, "ok", 1, true);
    t.code = big;
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), AD_ETOOBIG);
    free(big);
    fill_term(&t, "0190a0b0-0000-7000-8000-000000000000", "ok", 1, true);
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown tenant");
    assert_int_equal(ad_store_fitness_term_get(f->st, f->tenant, "no such", &t, &err),
                     AD_EINVAL);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM fitness_terms"), 0);
}

/* ---- the group ---------------------------------------------------------- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
const struct CMUnitTest suite_terms[] = {
    T(test_term_round_trip),
    T(test_term_list_and_delete),
    T(test_term_tenant_isolation),
    T(test_term_refusals),
};
#undef T

const size_t suite_nterms = AD_ARRAY_SIZE(suite_terms);
