/*
 * The evolution archive, in memory and pure (evolve.h): the PRNG, the
 * grid's cells, placing a program in its island's grid, ring migration,
 * the reset of the weakest islands, and the novelty fingerprint. The
 * generation (evolve.c) writes what these decide.
 *
 * Sections: the PRNG / dimensions and cells / the archive / novelty.
 */
#include "compat.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodev/evolve.h"
#include "autodev/pytok.h"

/* ---- the PRNG --------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ad_evolve_prng_seed(struct ad_evolve_prng *p, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        p->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t ad_evolve_prng_next(struct ad_evolve_prng *p)
{
    uint64_t *s = p->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

double ad_evolve_prng_unit(struct ad_evolve_prng *p)
{
    return (double)(ad_evolve_prng_next(p) >> 11) * 0x1.0p-53;
}

void ad_evolve_prng_save(const struct ad_evolve_prng *p, char out[65])
{
    for (int i = 0; i < 4; i++)
        snprintf(out + 16 * i, 17, "%016llx", (unsigned long long)p->s[i]);
}

int ad_evolve_prng_load(struct ad_evolve_prng *p, const char *hex, struct ad_err *err)
{
    if (!hex || strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
        return ad_error(err, AD_EINVAL, "a PRNG state is 64 lower-case hex digits");
    for (int i = 0; i < 4; i++) {
        char part[17];

        memcpy(part, hex + 16 * i, 16);
        part[16] = '\0';
        p->s[i] = strtoull(part, NULL, 16);
    }
    return 0;
}

/* ---- dimensions and cells --------------------------------------------------------- */

static int parse_num(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno || end == s || *end || !isfinite(*out) ? -1 : 0;
}

int ad_evolve_dim_parse(const char *s, struct ad_evolve_dim *out, struct ad_err *err)
{
    char buf[128], *f[4], *p;
    double bins;
    int n = 0;

    memset(out, 0, sizeof(*out));
    if (!s || strlen(s) >= sizeof(buf))
        return ad_error(err, AD_EINVAL, "feature '%s': expected NAME:MIN:MAX:BINS", s ? s : "");
    memcpy(buf, s, strlen(s) + 1);
    for (p = buf; n < 4; n++) {
        f[n] = p;
        p = strchr(p, ':');
        if (!p)
            break;
        *p++ = '\0';
    }
    if (n != 3 || p)
        return ad_error(err, AD_EINVAL, "feature '%s': expected NAME:MIN:MAX:BINS", s);
    if (!*f[0] || strlen(f[0]) >= sizeof(out->name) ||
        strspn(f[0], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
            strlen(f[0]))
        return ad_error(err, AD_EINVAL, "feature '%s': the name must be 1 to 31 letters, digits "
                                        "or _", s);
    if (parse_num(f[1], &out->min) < 0 || parse_num(f[2], &out->max) < 0 || out->min >= out->max)
        return ad_error(err, AD_EINVAL, "feature '%s': MIN and MAX must be numbers, MIN < MAX", s);
    if (parse_num(f[3], &bins) < 0 || bins != floor(bins) || bins < 1 || bins > 64)
        return ad_error(err, AD_EINVAL, "feature '%s': BINS must be a whole number 1..64", s);
    memcpy(out->name, f[0], strlen(f[0]) + 1);
    out->bins = (int)bins;
    return 0;
}

int ad_evolve_cell_key(const struct ad_evolve_dim *dims, size_t ndims, const json_t *features,
                       char *out, size_t size, struct ad_err *err)
{
    size_t len = 0;

    if (size)
        out[0] = '\0';
    for (size_t d = 0; d < ndims; d++) {
        const json_t *v = json_object_get(features, dims[d].name);
        double x, b;
        int k;

        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return ad_error(err, AD_EINVAL, "feature '%s' is missing or not a number",
                            dims[d].name);
        x = json_number_value(v);
        b = floor((x - dims[d].min) / (dims[d].max - dims[d].min) * dims[d].bins);
        k = b < 0 ? 0 : b >= dims[d].bins ? dims[d].bins - 1 : (int)b;
        k = snprintf(out + len, size - len, "%s%d", d ? "," : "", k);
        if (k < 0 || (size_t)k >= size - len)
            return ad_error(err, AD_ETOOBIG, "cell key longer than %zu bytes", size);
        len += (size_t)k;
    }
    return 0;
}

/* ---- the archive ------------------------------------------------------------------ */

void ad_evolve_archive_release(struct ad_evolve_archive *a)
{
    if (!a)
        return;
    ad_evolve_program_list_free(a->v, a->n);
    memset(a, 0, sizeof(*a));
}

int ad_evolve_archive_add(struct ad_evolve_archive *a, struct ad_evolve_program *p,
                          struct ad_err *err)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        struct ad_evolve_program *v = realloc(a->v, cap * sizeof(*v));

        if (!v)
            return ad_error(err, AD_ENOMEM, "out of memory");
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = *p;
    memset(p, 0, sizeof(*p));
    return 0;
}

static bool is_elite(const struct ad_evolve_program *p)
{
    return p->status && !strcmp(p->status, "elite");
}

long ad_evolve_archive_elite(const struct ad_evolve_archive *a, int island, const char *cell)
{
    for (size_t i = 0; cell && i < a->n; i++) {
        const struct ad_evolve_program *p = &a->v[i];

        if (is_elite(p) && p->island == island && p->cell && !strcmp(p->cell, cell))
            return (long)i;
    }
    return -1;
}

long ad_evolve_archive_best(const struct ad_evolve_archive *a, int island)
{
    long best = -1;

    for (size_t i = 0; i < a->n; i++) {
        const struct ad_evolve_program *p = &a->v[i];

        if (!is_elite(p) || (island >= 0 && p->island != island) || isnan(p->fitness))
            continue;
        if (best < 0 || p->fitness > a->v[best].fitness)
            best = (long)i;
    }
    return best;
}

static int set_status(struct ad_evolve_program *p, const char *s)
{
    char *c = strdup(s);

    if (!c)
        return -1;
    free(p->status);
    p->status = c;
    return 0;
}

enum ad_evolve_place ad_evolve_archive_place(struct ad_evolve_archive *a, size_t i,
                                             long *retired)
{
    struct ad_evolve_program *p = &a->v[i];
    long e = -1;

    *retired = -1;
    for (size_t k = 0; k < a->n; k++) {
        if (k != i && is_elite(&a->v[k]) && a->v[k].island == p->island && a->v[k].cell &&
            p->cell && !strcmp(a->v[k].cell, p->cell)) {
            e = (long)k;
            break;
        }
    }
    /* Statuses are short literals: a strdup that fails leaves the old one, so the
     * decision is returned either way and the caller's write says what holds. */
    if (e < 0) {
        set_status(p, "elite");
        return AD_PLACE_NEW;
    }
    if (!isnan(p->fitness) && (isnan(a->v[e].fitness) || p->fitness > a->v[e].fitness)) {
        set_status(&a->v[e], "retired");
        set_status(p, "elite");
        *retired = e;
        return AD_PLACE_REPLACED;
    }
    set_status(p, "rejected");
    return AD_PLACE_REJECTED;
}

/* A copy of program src for island, as a new (unsaved) program of generation gen. */
static int copy_program(struct ad_evolve_archive *a, size_t src, int island, int gen, int slot,
                        struct ad_err *err)
{
    const struct ad_evolve_program *s = &a->v[src];
    struct ad_evolve_program c = { 0 };

    memcpy(c.tenant_id, s->tenant_id, AD_ID_SIZE);
    memcpy(c.run_id, s->run_id, AD_ID_SIZE);
    memcpy(c.parent_id, s->id, AD_ID_SIZE);
    c.island = island;
    c.cell = s->cell ? strdup(s->cell) : NULL;
    c.code = strdup(s->code ? s->code : "");
    c.code_hash = s->code_hash ? strdup(s->code_hash) : NULL;
    c.fingerprint = s->fingerprint ? strdup(s->fingerprint) : NULL;
    c.features = s->features ? json_deep_copy(s->features) : NULL;
    c.signals = s->signals ? json_deep_copy(s->signals) : NULL;
    c.fitness = s->fitness;
    c.generation = gen;
    c.slot = slot;
    c.stage = s->stage;
    c.status = strdup("rejected");
    if ((s->cell && !c.cell) || !c.code || (s->code_hash && !c.code_hash) ||
        (s->fingerprint && !c.fingerprint) || (s->features && !c.features) ||
        (s->signals && !c.signals) || !c.status) {
        ad_evolve_program_release(&c);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    if (ad_evolve_archive_add(a, &c, err) < 0) {
        ad_evolve_program_release(&c);
        return AD_ENOMEM;
    }
    return 0;
}

int ad_evolve_archive_migrate(struct ad_evolve_archive *a, int gen, size_t *first,
                              struct ad_err *err)
{
    long best[AD_EVOLVE_ISLANDS_MAX];
    int rc = 0;

    *first = a->n;
    if (a->islands < 2 || a->islands > AD_EVOLVE_ISLANDS_MAX)
        return 0;
    for (int i = 0; i < a->islands; i++)
        best[i] = ad_evolve_archive_best(a, i);
    for (int i = 0; rc == 0 && i < a->islands; i++) {
        long r;

        if (best[i] < 0)
            continue;
        rc = copy_program(a, (size_t)best[i], (i + 1) % a->islands, gen,
                          AD_EVOLVE_SLOT_MIGRATION + i, err);
        if (rc == 0)
            ad_evolve_archive_place(a, a->n - 1, &r);
    }
    return rc;
}

int ad_evolve_archive_reset(struct ad_evolve_archive *a, int k, int gen, size_t *first,
                            int *nreset, struct ad_err *err)
{
    long g = ad_evolve_archive_best(a, -1);
    bool done[AD_EVOLVE_ISLANDS_MAX] = { false };
    int rc = 0;

    *first = a->n;
    *nreset = 0;
    if (g < 0 || a->islands < 2 || a->islands > AD_EVOLVE_ISLANDS_MAX)
        return 0;
    done[a->v[g].island] = true;
    for (int round = 0; rc == 0 && round < k; round++) {
        int weakest = -1;
        double wf = INFINITY;

        /* The weakest island not reset yet: no elite at all beats any fitness. */
        for (int i = 0; i < a->islands; i++) {
            long b = ad_evolve_archive_best(a, i);
            double f = b < 0 ? -INFINITY : a->v[b].fitness;

            if (!done[i] && (weakest < 0 || f < wf)) {
                weakest = i;
                wf = f;
            }
        }
        if (weakest < 0)
            break;
        done[weakest] = true;
        for (size_t i = 0; i < a->n; i++) {
            if (is_elite(&a->v[i]) && a->v[i].island == weakest)
                set_status(&a->v[i], "retired");
        }
        rc = copy_program(a, (size_t)g, weakest, gen, AD_EVOLVE_SLOT_RESET + weakest, err);
        if (rc == 0) {
            long r;

            ad_evolve_archive_place(a, a->n - 1, &r);
            (*nreset)++;
        }
    }
    return rc;
}

/* ---- novelty ---------------------------------------------------------------------- */

#define FNV_OFF 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * FNV_PRIME;
    return h;
}

/* The byte ranges of code's EVOLVE blocks, or the whole of it: [lo, hi) pairs. */
static bool in_blocks(const char *code, size_t off)
{
    const char *p = code, *s;
    bool any = false;

    while ((s = strstr(p, "EVOLVE-BLOCK-START"))) {
        const char *e = strstr(s, "EVOLVE-BLOCK-END");

        any = true;
        if (!e)
            e = code + strlen(code);
        if (off >= (size_t)(s - code) && off < (size_t)(e - code))
            return true;
        p = e;
        if (!*p)
            break;
        p++;
    }
    return !any;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int ad_evolve_fingerprint(const char *code, char out[17], uint64_t **grams, size_t *ngrams,
                          struct ad_err *err)
{
    struct ad_pytok t = AD_PYTOK_INIT;
    uint64_t *th = NULL, *g = NULL, h = FNV_OFF;
    size_t nt = 0, ng = 0;
    int rc = ad_pytok_run(code, strlen(code), &t, err);

    *grams = NULL;
    *ngrams = 0;
    if (rc < 0)
        return rc;
    th = calloc(t.ntoks ? t.ntoks : 1, sizeof(*th));
    g = calloc(t.ntoks ? t.ntoks : 1, sizeof(*g));
    if (!th || !g) {
        rc = ad_error(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < t.ntoks; i++) {
        const struct ad_tok *k = &t.toks[i];

        if (k->kind == AD_TOK_WS || k->kind == AD_TOK_COMMENT || k->kind == AD_TOK_NL ||
            k->kind == AD_TOK_NEWLINE || !in_blocks(code, k->off))
            continue;
        th[nt++] = fnv(FNV_OFF, code + k->off, k->len);
        h = fnv(h, code + k->off, k->len);
        h = fnv(h, "\x1f", 1);
    }
    for (size_t i = 0; i + 2 < nt || (i == 0 && nt && nt < 3); i++) {
        uint64_t x = th[i];

        if (i + 1 < nt)
            x = fnv(x, &th[i + 1], sizeof(th[i + 1]));
        if (i + 2 < nt)
            x = fnv(x, &th[i + 2], sizeof(th[i + 2]));
        g[ng++] = x;
    }
    qsort(g, ng, sizeof(*g), cmp_u64);
    nt = 0;
    for (size_t i = 0; i < ng; i++) {
        if (i == 0 || g[i] != g[i - 1])
            g[nt++] = g[i];
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    *grams = g;
    *ngrams = nt;
    g = NULL;
out:
    free(th);
    free(g);
    ad_pytok_release(&t);
    return rc;
}

double ad_evolve_jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    size_t i = 0, j = 0, both = 0;

    if (na + nb == 0)
        return 1;
    while (i < na && j < nb) {
        if (a[i] == b[j]) {
            both++;
            i++;
            j++;
        } else if (a[i] < b[j]) {
            i++;
        } else {
            j++;
        }
    }
    return (double)both / (double)(na + nb - both);
}
