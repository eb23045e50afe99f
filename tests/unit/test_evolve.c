/*
 * Evolution research mode (evolve.h): the archive's properties over many
 * random programs (a program lands in the cell of its features; a better
 * one replaces the elite, a worse or equal one never does; migration moves
 * each island's best to the next island; a reset keeps the global best),
 * the PRNG, feature dimensions, the novelty fingerprint, and the store's
 * rows of migration 9.
 */
#include "compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "autodev/evolve.h"
#include "autodev/runtime.h"
#include "autodev/store.h"

#include "tmpdb.h"

#define TRIALS 300

static const struct ad_evolve_dim dims[2] = {
    { "length", 0, 1000, 10 },
    { "latency", 0, 50, 5 },
};

/* A program of island with random features and fitness (ids made up: "p<n>"). */
static void random_program(struct ad_evolve_prng *r, int island, int n,
                           struct ad_evolve_program *p)
{
    char cell[64];
    double len = floor(ad_evolve_prng_unit(r) * 1200) - 100;   /* some out of range: clamped */
    double lat = ad_evolve_prng_unit(r) * 60;

    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "p%d", n);
    p->island = island;
    p->features = json_pack("{s:f, s:f}", "length", len, "latency", lat);
    assert_int_equal(ad_evolve_cell_key(dims, 2, p->features, cell, sizeof(cell), NULL), 0);
    p->cell = strdup(cell);
    p->code = strdup("x");
    /* Few distinct values, so ties happen and are tested. */
    p->fitness = floor(ad_evolve_prng_unit(r) * 20);
    p->status = strdup("rejected");
    p->generation = 0;
    p->slot = n;
}

static int bin_of(double v, double min, double max, int bins)
{
    int b = (int)floor((v - min) / (max - min) * bins);

    return b < 0 ? 0 : b >= bins ? bins - 1 : b;
}

static void cell_is_the_bins_of_the_features(void **state)
{
    struct ad_evolve_prng r;

    (void)state;
    ad_evolve_prng_seed(&r, 11);
    for (int t = 0; t < TRIALS; t++) {
        struct ad_evolve_program p;
        char want[64];

        random_program(&r, 0, t, &p);
        snprintf(want, sizeof(want), "%d,%d",
                 bin_of(json_number_value(json_object_get(p.features, "length")), 0, 1000, 10),
                 bin_of(json_number_value(json_object_get(p.features, "latency")), 0, 50, 5));
        assert_string_equal(p.cell, want);
        ad_evolve_program_release(&p);
    }
}

static void cell_of_missing_feature_is_an_error(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    json_t *f = json_pack("{s:i, s:s}", "length", 10, "latency", "slow");
    char cell[64];

    (void)state;
    assert_int_equal(ad_evolve_cell_key(dims, 2, f, cell, sizeof(cell), &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "latency"));
    json_object_del(f, "latency");
    assert_int_equal(ad_evolve_cell_key(dims, 2, f, cell, sizeof(cell), &err), AD_EINVAL);
    json_decref(f);
}

/*
 * Placing random programs one by one: afterwards, each has the status the
 * rule gives against the elite of its cell at that moment, and each cell
 * of each island holds exactly one elite, the first of the highest
 * fitness placed there.
 */
static void place_keeps_one_elite_per_cell_and_only_better_replace(void **state)
{
    struct ad_evolve_archive a = { 0 };
    struct ad_evolve_prng r;

    (void)state;
    a.islands = 3;
    ad_evolve_prng_seed(&r, 5);
    for (int t = 0; t < TRIALS; t++) {
        struct ad_evolve_program p;
        int island = (int)(ad_evolve_prng_next(&r) % 3);
        long before, retired;
        double before_fit = NAN;
        enum ad_evolve_place d;

        random_program(&r, island, t, &p);
        before = ad_evolve_archive_elite(&a, island, p.cell);
        if (before >= 0)
            before_fit = a.v[before].fitness;
        assert_int_equal(ad_evolve_archive_add(&a, &p, NULL), 0);
        d = ad_evolve_archive_place(&a, a.n - 1, &retired);
        if (before < 0) {
            assert_int_equal(d, AD_PLACE_NEW);
        } else if (a.v[a.n - 1].fitness > before_fit) {
            assert_int_equal(d, AD_PLACE_REPLACED);
            assert_int_equal(retired, before);
            assert_string_equal(a.v[before].status, "retired");
        } else {
            assert_int_equal(d, AD_PLACE_REJECTED);
            assert_string_equal(a.v[a.n - 1].status, "rejected");
            assert_int_equal(ad_evolve_archive_elite(&a, island, a.v[a.n - 1].cell), before);
            continue;
        }
        /* It is now the elite of the cell of its features, on its island. */
        assert_string_equal(a.v[a.n - 1].status, "elite");
        assert_int_equal(ad_evolve_archive_elite(&a, island, a.v[a.n - 1].cell), (long)a.n - 1);
    }
    /* One elite per (island, cell), and it is the best (first of equals) placed there. */
    for (size_t i = 0; i < a.n; i++) {
        long e = ad_evolve_archive_elite(&a, a.v[i].island, a.v[i].cell);

        assert_true(e >= 0);
        assert_true(a.v[e].fitness >= a.v[i].fitness);
        if (a.v[e].fitness == a.v[i].fitness)
            assert_true((size_t)e <= i);
        if (!strcmp(a.v[i].status, "elite"))
            assert_int_equal(e, (long)i);
    }
    ad_evolve_archive_release(&a);
}

static void fill(struct ad_evolve_archive *a, int islands, uint64_t seed, int n)
{
    struct ad_evolve_prng r;

    a->islands = islands;
    ad_evolve_prng_seed(&r, seed);
    for (int t = 0; t < n; t++) {
        struct ad_evolve_program p;
        long retired;

        random_program(&r, (int)(ad_evolve_prng_next(&r) % (uint64_t)islands), t, &p);
        assert_int_equal(ad_evolve_archive_add(a, &p, NULL), 0);
        ad_evolve_archive_place(a, a->n - 1, &retired);
    }
}

/* After migration, island i + 1 holds a copy of island i's best (or a better elite there). */
static void migration_moves_each_best_to_the_next_island(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        struct ad_evolve_archive a = { 0 };
        int islands = 2 + (int)(seed % 4);
        long best[8];
        size_t first;

        fill(&a, islands, seed, 5 + (int)(seed % 30));
        for (int i = 0; i < islands; i++)
            best[i] = ad_evolve_archive_best(&a, i);
        assert_int_equal(ad_evolve_archive_migrate(&a, 3, &first, NULL), 0);
        for (int i = 0; i < islands; i++) {
            int to = (i + 1) % islands;
            long copy = -1, e;

            if (best[i] < 0)
                continue;
            for (size_t k = first; k < a.n; k++) {
                if (!strcmp(a.v[k].parent_id, a.v[best[i]].id) && a.v[k].island == to)
                    copy = (long)k;
            }
            assert_true(copy >= 0);
            assert_int_equal(a.v[copy].slot, AD_EVOLVE_SLOT_MIGRATION + i);
            assert_string_equal(a.v[copy].cell, a.v[best[i]].cell);
            /* The cell there now holds it, or something at least as good. */
            e = ad_evolve_archive_elite(&a, to, a.v[best[i]].cell);
            assert_true(e >= 0);
            assert_true(a.v[e].fitness >= a.v[best[i]].fitness);
            assert_true(a.v[ad_evolve_archive_best(&a, to)].fitness >= a.v[best[i]].fitness);
        }
        ad_evolve_archive_release(&a);
    }
}

/* A reset keeps the global best as an elite, and the reset islands hold only its copy. */
static void reset_keeps_the_global_best(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        struct ad_evolve_archive a = { 0 };
        int islands = 2 + (int)(seed % 5), nreset = 0;
        long g, g2;
        double gf;
        size_t first;

        fill(&a, islands, seed * 7, 10 + (int)(seed % 40));
        g = ad_evolve_archive_best(&a, -1);
        assert_true(g >= 0);
        gf = a.v[g].fitness;
        assert_int_equal(ad_evolve_archive_reset(&a, islands / 2, 4, &first, &nreset, NULL), 0);
        assert_int_equal(nreset, islands / 2);
        assert_string_equal(a.v[g].status, "elite");
        g2 = ad_evolve_archive_best(&a, -1);
        assert_true(a.v[g2].fitness == gf);
        for (size_t k = first; k < a.n; k++) {
            int isl = a.v[k].island;

            assert_string_equal(a.v[k].parent_id, a.v[g].id);
            assert_true(isl != a.v[g].island);
            /* The reset island's only elite is the copy. */
            for (size_t i = 0; i < a.n; i++) {
                if (a.v[i].island == isl && !strcmp(a.v[i].status, "elite"))
                    assert_int_equal(i, k);
            }
        }
        ad_evolve_archive_release(&a);
    }
}

static void prng_is_reproducible_and_saves(void **state)
{
    struct ad_evolve_prng a, b;
    struct ad_err err = AD_ERR_INIT;
    char hex[65];

    (void)state;
    ad_evolve_prng_seed(&a, 42);
    ad_evolve_prng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        assert_true(ad_evolve_prng_next(&a) == ad_evolve_prng_next(&b));
    ad_evolve_prng_save(&a, hex);
    assert_int_equal(strlen(hex), 64);
    assert_int_equal(ad_evolve_prng_load(&b, hex, &err), 0);
    for (int i = 0; i < 100; i++)
        assert_true(ad_evolve_prng_next(&a) == ad_evolve_prng_next(&b));
    ad_evolve_prng_seed(&b, 43);
    assert_false(ad_evolve_prng_next(&a) == ad_evolve_prng_next(&b));
    assert_int_equal(ad_evolve_prng_load(&b, "12", &err), AD_EINVAL);
    for (int i = 0; i < 1000; i++) {
        double u = ad_evolve_prng_unit(&a);

        assert_true(u >= 0 && u < 1);
    }
}

static void dims_parse(void **state)
{
    struct ad_evolve_dim d;
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    assert_int_equal(ad_evolve_dim_parse("bins:0:100:10", &d, &err), 0);
    assert_string_equal(d.name, "bins");
    assert_true(d.min == 0 && d.max == 100 && d.bins == 10);
    assert_int_equal(ad_evolve_dim_parse("bins:10:10:3", &d, &err), AD_EINVAL);
    assert_int_equal(ad_evolve_dim_parse("bins:0:1:0", &d, &err), AD_EINVAL);
    assert_int_equal(ad_evolve_dim_parse("bins:0:1:2.5", &d, &err), AD_EINVAL);
    assert_int_equal(ad_evolve_dim_parse("bins:0:1", &d, &err), AD_EINVAL);
    assert_int_equal(ad_evolve_dim_parse("bi-ns:0:1:2", &d, &err), AD_EINVAL);
    assert_int_equal(ad_evolve_dim_parse("bins:0:1:2:3", &d, &err), AD_EINVAL);
}

/* Layout and comments do not make a program new; a changed token does. */
static void fingerprint_ignores_layout_only(void **state)
{
    static const char a[] = "def f(x):\n    return x + 1\n";
    static const char b[] = "def f(x):   # add one\n\n    return x+1\n";
    static const char c[] = "def f(x):\n    return x + 2\n";
    static const char blocks[] =
        "def f(x):\n    # EVOLVE-BLOCK-START\n    y = x + 1\n    # EVOLVE-BLOCK-END\n"
        "    return y\n";
    static const char blocks2[] =
        "def f(x):\n    # EVOLVE-BLOCK-START\n    y = x + 1\n    # EVOLVE-BLOCK-END\n"
        "    return y * 2\n";
    char fa[17], fb[17], fc[17];
    uint64_t *ga, *gb, *gc;
    size_t na, nb, nc;

    (void)state;
    assert_int_equal(ad_evolve_fingerprint(a, fa, &ga, &na, NULL), 0);
    assert_int_equal(ad_evolve_fingerprint(b, fb, &gb, &nb, NULL), 0);
    assert_int_equal(ad_evolve_fingerprint(c, fc, &gc, &nc, NULL), 0);
    assert_string_equal(fa, fb);
    assert_string_not_equal(fa, fc);
    assert_true(ad_evolve_jaccard(ga, na, gb, nb) == 1.0);
    assert_true(ad_evolve_jaccard(ga, na, gc, nc) < 1.0);
    assert_true(ad_evolve_jaccard(ga, na, gc, nc) > 0.0);
    free(ga);
    free(gb);
    free(gc);
    /* Only the EVOLVE blocks count: the fixed rest may differ. */
    assert_int_equal(ad_evolve_fingerprint(blocks, fa, &ga, &na, NULL), 0);
    assert_int_equal(ad_evolve_fingerprint(blocks2, fb, &gb, &nb, NULL), 0);
    assert_string_equal(fa, fb);
    free(ga);
    free(gb);
}

/* ---- the store's rows --------------------------------------------------------- */

static void store_rows_round_trip(void **state)
{
    struct ad_runtime_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_runtime *rt = NULL;
    struct ad_store *st;
    struct tmpdb db;
    char tenant[AD_ID_SIZE];
    struct ad_evolve_run r = { 0 }, got = { 0 };
    struct ad_evolve_program p = { 0 }, *pv = NULL;
    struct ad_evolve_trace t = { 0 }, *tv = NULL;
    size_t n = 0;
    int64_t last = -1;
    char proposal[] = "proposal", gossip[] = "gossip", pid[AD_ID_SIZE];

    (void)state;
    tmpdb_make(&db, "evolve");
    o.db = db.path;
    o.create = 1;
    assert_int_equal(ad_runtime_open(&o, &rt, &err), 0);
    assert_int_equal(ad_runtime_tenant(rt, "default", 1, tenant, &err), 0);
    st = ad_runtime_store(rt);

    memcpy(r.tenant_id, tenant, AD_ID_SIZE);
    assert_int_equal(ad_id_new(r.skill_id), 0);
    assert_int_equal(ad_id_new(r.skill_version_id), 0);
    r.params = json_pack("{s:i}", "generations", 3);
    r.state = strdup("running");
    r.prng = strdup("00ff");
    assert_int_equal(ad_store_evolve_run_insert(st, &r, &err), 0);
    free(r.state);
    r.state = strdup("finished");
    assert_int_equal(ad_store_evolve_run_update(st, &r, &err), AD_EINVAL);
    free(r.state);
    r.state = strdup("done");
    r.generation = 3;
    r.usd = 0.25;
    assert_int_equal(ad_store_evolve_run_update(st, &r, &err), 0);
    assert_int_equal(ad_store_evolve_run_get(st, tenant, r.id, &got, &err), 0);
    assert_string_equal(got.state, "done");
    assert_int_equal(got.generation, 3);
    assert_true(got.usd == 0.25);
    ad_evolve_run_release(&got);

    memcpy(p.tenant_id, tenant, AD_ID_SIZE);
    memcpy(p.run_id, r.id, AD_ID_SIZE);
    p.code = strdup("def f():\n    return 1\n");
    p.code_hash = strdup("abc");
    p.fingerprint = strdup("def");
    p.status = strdup("elite");
    p.fitness = NAN;
    p.slot = 0;
    assert_int_equal(ad_store_evolve_program_insert(st, &p, &err), 0);
    memcpy(pid, p.id, AD_ID_SIZE);
    /* The same slot of the same generation twice: refused, so a resumed slot is never doubled. */
    assert_int_equal(ad_store_evolve_program_insert(st, &p, &err), AD_EEXIST);
    memcpy(p.id, pid, AD_ID_SIZE);
    p.fitness = 2.5;
    p.children = 4;
    assert_int_equal(ad_store_evolve_program_update(st, &p, &err), 0);
    assert_int_equal(ad_store_evolve_program_list(st, tenant, r.id, &pv, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_true(pv[0].fitness == 2.5);
    assert_int_equal(pv[0].children, 4);
    ad_evolve_program_list_free(pv, n);

    memcpy(t.tenant_id, tenant, AD_ID_SIZE);
    memcpy(t.run_id, r.id, AD_ID_SIZE);
    t.kind = proposal;
    t.data = json_pack("{s:i}", "slot", 0);
    for (t.seq = 1; t.seq <= 3; t.seq++)
        assert_int_equal(ad_store_evolve_trace_append(st, &t, &err), 0);
    t.seq = 2;
    assert_int_equal(ad_store_evolve_trace_append(st, &t, &err), AD_EEXIST);
    t.kind = gossip;
    t.seq = 9;
    assert_int_equal(ad_store_evolve_trace_append(st, &t, &err), AD_EINVAL);
    json_decref(t.data);
    assert_int_equal(ad_store_evolve_trace_last(st, tenant, r.id, &last, &err), 0);
    assert_int_equal(last, 3);
    assert_int_equal(ad_store_evolve_trace_list(st, tenant, r.id, 1, 0, &tv, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(tv[0].seq, 2);
    ad_evolve_trace_list_free(tv, n);

    ad_evolve_program_release(&p);
    ad_evolve_run_release(&r);
    ad_runtime_free(rt);
    tmpdb_remove(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cell_is_the_bins_of_the_features),
        cmocka_unit_test(cell_of_missing_feature_is_an_error),
        cmocka_unit_test(place_keeps_one_elite_per_cell_and_only_better_replace),
        cmocka_unit_test(migration_moves_each_best_to_the_next_island),
        cmocka_unit_test(reset_keeps_the_global_best),
        cmocka_unit_test(prng_is_reproducible_and_saves),
        cmocka_unit_test(dims_parse),
        cmocka_unit_test(fingerprint_ignores_layout_only),
        cmocka_unit_test(store_rows_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
