/*
 * autodev db copy: every row of one store into another (SQLite to
 * PostgreSQL, back, or SQLite to SQLite), then a compare of both sides.
 *
 * One generic row stream per table, not a copier per entity: each backend
 * gives a table's columns (names, kinds, foreign keys) from its catalog and
 * its rows as typed values (struct ad__copy_ops); this file merges the two
 * sides' column lists, moves the rows in batches and checks the result.
 *
 * Order and references. Tables go in AD__STORE_TABLES' order, each after
 * the tables it references. A column that references its own table or one
 * copied later (skills.current_version_id; the parent columns of versions,
 * mutations and variants) is written NULL with its row and set once every
 * table is in: the foreign keys are checked per statement on both
 * backends, and not deferrable on PostgreSQL.
 *
 * One transaction. The target's rows are written in one transaction, read
 * back inside it and compared with the source; any mismatch or error
 * rolls it all back, so a copy either lands whole and verified or leaves
 * the target as it was (there is nothing to resume: run it again). The
 * source is opened read-only and read in one snapshot.
 *
 * The compare: per table the row count and a SHA-256 over the rows in key
 * order (bytewise), each value in one canonical encoding, so that the same
 * data gives the same checksum on either backend: JSON parsed and written
 * again with sorted keys and every number as a double; times as
 * milliseconds since the epoch; reals in their shortest round-trip form.
 * SQLite keeps JSON and times as TEXT, so which columns are JSON comes
 * from json_cols below (PostgreSQL's catalog must agree: a jsonb column
 * missing there is an error, caught by the PostgreSQL round-trip test) and
 * times are the columns named *_at, run_after and lease_until.
 *
 * schema_migrations is neither copied nor compared: each store's rows
 * there are the history of its own schema, made by its own backend's
 * migrations (PostgreSQL has one SQLite does not need, 13), and both stores
 * must be at this binary's newest version before anything is copied.
 */
#include "compat.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "autodev/clock.h"
#include "autodev/json.h"
#include "autodev/store.h"

#include "store_backend.h"

/* Rows written per statement (PostgreSQL takes at most 65535 parameters). */
#define BATCH_ROWS 200
/* How often a long table reports progress. */
#define PROGRESS_EVERY 10000

/* The schema's JSON columns ("table.column"), which SQLite keeps as TEXT. */
static const char *const json_cols[] = {
    "tenants.settings",
    "episodes.input", "episodes.expected", "episodes.output", "episodes.tools_attempted",
    "episodes.context",
    "episode_segments.metadata",
    "skills.input_schema",
    "skill_executions.input", "skill_executions.output",
    "skill_candidates.failure_pattern", "skill_candidates.validation_result",
    "tool_mutations.proxy_signals", "tool_mutations.test_set", "tool_mutations.risk",
    "workflow_variants.workflow_definition", "workflow_variants.fitness_signals",
    "notifications.payload",
    "events.payload",
    "jobs.payload",
    "research_sessions.budget", "research_sessions.config", "research_sessions.state",
    "research_iterations.gate_results", "research_iterations.detail",
    "agent_sessions.transcript", "agent_sessions.state",
    "failure_patterns.episode_ids", "failure_patterns.outcome",
    "webhooks.topics",
    "webhook_deliveries.payload",
    "evolve_runs.params",
    "evolve_programs.features", "evolve_programs.signals",
    "evolve_trace.data",
};

static bool is_json_col(const char *table, const char *col)
{
    size_t tl = strlen(table);

    for (size_t i = 0; i < AD_ARRAY_SIZE(json_cols); i++) {
        if (!strncmp(json_cols[i], table, tl) && json_cols[i][tl] == '.' &&
            !strcmp(json_cols[i] + tl + 1, col))
            return true;
    }
    return false;
}

static bool is_time_col(const char *col)
{
    size_t n = strlen(col);

    return (n > 3 && !strcmp(col + n - 3, "_at")) || !strcmp(col, "run_after") ||
           !strcmp(col, "lease_until");
}

/* The kind the compare uses: the schema's, whatever the backend stores it as. */
static enum ad__col_kind schema_kind(const char *table, const struct ad__col *c)
{
    if (c->kind == AD__COL_TEXT && is_json_col(table, c->name))
        return AD__COL_JSON;
    if (c->kind == AD__COL_TEXT && is_time_col(c->name))
        return AD__COL_TIME;
    return c->kind;
}

static const char *kind_name(enum ad__col_kind k)
{
    static const char *const names[] = { "integer", "real", "text", "blob", "json", "time" };

    return (unsigned)k < AD_ARRAY_SIZE(names) ? names[k] : "?";
}

/* ---- one table's columns, as both sides have them --------------------------------- */

struct table_cols {
    struct ad__col *cols;     /* the source's order, kinds as the compare reads them */
    struct ad__col *to_cols;  /* the same names, kinds as the target stores them */
    size_t n;
    bool *late;               /* written after every table is in (see the top comment) */
};

static void table_cols_release(struct table_cols *t)
{
    free(t->cols);
    free(t->to_cols);
    free(t->late);
    memset(t, 0, sizeof(*t));
}

static int table_index(const char *name)
{
    for (size_t i = 0; i < ad_store_table_total(); i++) {
        if (!strcmp(ad_store_table_name(i), name))
            return (int)i;
    }
    return -1;
}

static const struct ad__col *find_col(const struct ad__col *cols, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(cols[i].name, name))
            return &cols[i];
    }
    return NULL;
}

static int merge_col(const char *table, struct ad__col *c, const struct ad__col *d,
                     struct ad_err *err)
{
    enum ad__col_kind a = schema_kind(table, c), b = schema_kind(table, d);

    if (a != b)
        return ad_error(err, AD_EINTERNAL,
                        "column '%s.%s' is %s in the source and %s in the target", table,
                        c->name, kind_name(a), kind_name(b));
    c->kind = a;
    if (!c->ref[0])
        memcpy(c->ref, d->ref, sizeof(c->ref));
    return 0;
}

/* Both sides' columns of table i: the same names (in any order) and kinds. */
static int table_cols_load(struct ad_store *from, struct ad_store *to, int i,
                           struct table_cols *t, struct ad_err *err)
{
    const char *name = ad_store_table_name((size_t)i);
    struct ad__col *dc = NULL;
    size_t dn = 0, k;
    int rc;

    memset(t, 0, sizeof(*t));
    rc = from->ops->copy->columns(from, i, &t->cols, &t->n, err);
    if (rc)
        return ad_error_prefix(err, "source");
    rc = to->ops->copy->columns(to, i, &dc, &dn, err);
    if (rc) {
        ad_error_prefix(err, "target");
        goto fail;
    }
    if (dn != t->n) {
        rc = ad_error(err, AD_ECORRUPT, "table '%s' has %zu columns in the source, %zu in the target",
                      name, t->n, dn);
        goto fail;
    }
    t->to_cols = calloc(t->n, sizeof(*t->to_cols));
    t->late = calloc(t->n, sizeof(*t->late));
    if (!t->to_cols || !t->late) {
        rc = ad_error(err, AD_ENOMEM, "out of memory reading the columns of '%s'", name);
        goto fail;
    }
    for (k = 0; k < t->n; k++) {
        const struct ad__col *d = find_col(dc, dn, t->cols[k].name);
        int ref;

        if (!d) {
            rc = ad_error(err, AD_ECORRUPT, "column '%s.%s' is missing in the target", name,
                          t->cols[k].name);
            goto fail;
        }
        t->to_cols[k] = *d;
        rc = merge_col(name, &t->cols[k], d, err);
        if (rc)
            goto fail;
        t->to_cols[k].kind = t->cols[k].kind;
        ref = t->cols[k].ref[0] ? table_index(t->cols[k].ref) : -1;
        t->late[k] = ref >= i;
    }
    free(dc);
    return 0;
fail:
    free(dc);
    table_cols_release(t);
    return rc;
}

/* ---- the canonical encoding and the checksum ------------------------------------- */

struct digest {
    EVP_MD_CTX *md;
    int64_t rows;
};

static int digest_init(struct digest *d, struct ad_err *err)
{
    d->rows = 0;
    d->md = EVP_MD_CTX_new();
    if (!d->md || EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(d->md);
        d->md = NULL;
        return ad_error(err, AD_ENOMEM, "out of memory for a checksum");
    }
    return 0;
}

static void digest_final(struct digest *d, char hex[AD_STORE_SUM_SIZE])
{
    unsigned char h[32];
    unsigned int len = 0;

    EVP_DigestFinal_ex(d->md, h, &len);
    for (unsigned int i = 0; i < len && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    EVP_MD_CTX_free(d->md);
    d->md = NULL;
}

static void put(struct digest *d, const void *p, size_t n)
{
    EVP_DigestUpdate(d->md, p, n);
}

static void putf(struct digest *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct digest *d, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(d, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/*
 * The shortest %.*g text of r that reads back as r, from 15 digits up (a
 * double's shorter forms come out of %.15g with the zeros stripped; going
 * up from 1 cost a tenth of a copy in printf). Only its being a function
 * of r matters to the compare.
 */
static void real_text(double r, char buf[40])
{
    if (isnan(r)) {
        snprintf(buf, 40, "nan");
        return;
    }
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, 40, "%.*g", p, r);
        if (strtod(buf, NULL) == r)
            return;
    }
}

/* A JSON text with sorted keys and numbers as doubles; NULL when it does not parse. */
static char *canonical_json(const char *s, size_t len)
{
    json_t *j = json_loadb(s, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL,
                           NULL);
    char *text = j ? ad_json_dumps_flags(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                                JSON_REAL_PRECISION(17))
                   : NULL;

    json_decref(j);
    return text;
}

static void put_text(struct digest *d, char tag, const char *s, size_t len)
{
    putf(d, "%c%zu:", tag, len);
    put(d, s, len);
}

static void digest_value(struct digest *d, enum ad__col_kind kind, const struct ad__val *v)
{
    char buf[40];

    if (v->null) {
        put(d, "n", 1);
        return;
    }
    switch (kind) {
    case AD__COL_INT:
        putf(d, "i%lld;", (long long)v->i);
        return;
    case AD__COL_REAL:
        real_text(v->r, buf);
        putf(d, "r%s;", buf);
        return;
    case AD__COL_JSON: {
        char *text = canonical_json(v->s, v->len);

        if (text)
            put_text(d, 'j', text, strlen(text));
        else
            put_text(d, 'x', v->s, v->len);
        free(text);
        return;
    }
    case AD__COL_TIME: {
        char t[AD_TIME_SIZE + 8];
        int64_t ms;

        if (v->len < sizeof(t)) {
            memcpy(t, v->s, v->len);
            t[v->len] = '\0';
            if (!ad_time_parse(t, &ms)) {
                putf(d, "T%lld;", (long long)ms);
                return;
            }
        }
        put_text(d, 'x', v->s, v->len);
        return;
    }
    case AD__COL_BLOB:
        put_text(d, 'b', v->s, v->len);
        return;
    default:
        put_text(d, 't', v->s, v->len);
        return;
    }
}

/*
 * A value read as the column's kind: an integer in a real column (SQLite
 * keeps 1.0 as 1 in some cases) is a real; anything else that does not fit
 * is refused, naming the column.
 */
static int coerce(const char *table, const struct ad__col *c, struct ad__val *v,
                  struct ad_err *err)
{
    if (v->null || v->kind == c->kind)
        return 0;
    if (c->kind == AD__COL_REAL && v->kind == AD__COL_INT) {
        v->r = (double)v->i;
    } else if (c->kind == AD__COL_INT && v->kind == AD__COL_REAL && v->r == (double)(int64_t)v->r) {
        v->i = (int64_t)v->r;
    } else if ((c->kind == AD__COL_JSON || c->kind == AD__COL_TIME) && v->kind == AD__COL_TEXT) {
        /* Text holding JSON or a time: what SQLite stores them as. */
    } else if (c->kind == AD__COL_TEXT && v->kind != AD__COL_BLOB) {
        return ad_error(err, AD_ECORRUPT, "column '%s.%s' holds a %s where text belongs", table,
                        c->name, kind_name(v->kind));
    } else {
        return ad_error(err, AD_ECORRUPT, "column '%s.%s' holds a %s where a %s belongs", table,
                        c->name, kind_name(v->kind), kind_name(c->kind));
    }
    v->kind = c->kind;
    return 0;
}

/* ---- the rows in flight -------------------------------------------------------------- */

/* A value kept past the scan's callback: strings copied, NUL-terminated. */
static int keep(struct ad__val *dst, const struct ad__val *src, struct ad_err *err)
{
    char *s;

    *dst = *src;
    if (src->null || src->kind == AD__COL_INT || src->kind == AD__COL_REAL)
        return 0;
    s = malloc(src->len + 1);
    if (!s)
        return ad_error(err, AD_ENOMEM, "out of memory copying a row");
    memcpy(s, src->s, src->len);
    s[src->len] = '\0';
    dst->s = s;
    return 0;
}

static void drop(struct ad__val *v)
{
    if (!v->null && v->kind != AD__COL_INT && v->kind != AD__COL_REAL)
        free((char *)v->s);
    memset(v, 0, sizeof(*v));
    v->null = true;
}

/* A late column's value, set once every table is in. */
struct late_set {
    int table;
    size_t col;
    struct ad__val key, val;
};

struct copy {
    struct ad_store *from, *to;
    const struct ad_store_copy_options *o;
    int table;
    const char *name;
    struct table_cols *t;
    struct digest *d;
    bool write;
    bool reporting;            /* scanning the source: progress is reported */
    struct ad__val *batch;     /* BATCH_ROWS * t->n */
    size_t nbatch;
    struct late_set *late;
    size_t nlate, alate;
};

static int flush(struct copy *c, struct ad_err *err)
{
    size_t n = c->nbatch * c->t->n;
    int rc = 0;

    if (c->nbatch)
        rc = c->to->ops->copy->insert(c->to, c->table, c->t->to_cols, c->t->n, c->batch,
                                      c->nbatch, err);
    for (size_t i = 0; i < n; i++)
        drop(&c->batch[i]);
    c->nbatch = 0;
    return rc;
}

static int add_late(struct copy *c, const struct ad__val *key, const struct ad__val *val,
                    size_t k, struct ad_err *err)
{
    struct late_set *l;
    int rc;

    if (c->nlate == c->alate) {
        size_t a = c->alate ? c->alate * 2 : 64;

        l = realloc(c->late, a * sizeof(*l));
        if (!l)
            return ad_error(err, AD_ENOMEM, "out of memory copying a row");
        c->late = l;
        c->alate = a;
    }
    l = &c->late[c->nlate];
    memset(l, 0, sizeof(*l));
    l->table = c->table;
    l->col = k;
    rc = keep(&l->key, key, err);
    if (rc)
        return rc;
    rc = keep(&l->val, val, err);
    if (rc) {
        drop(&l->key);
        return rc;
    }
    c->nlate++;
    return 0;
}

static int on_row(void *arg, const struct ad__val *in, struct ad_err *err)
{
    struct copy *c = arg;
    size_t n = c->t->n;
    struct ad__val *row = c->write ? &c->batch[c->nbatch * n] : NULL;
    struct ad__val v;
    int rc = 0;

    for (size_t k = 0; k < n; k++) {
        v = in[k];
        rc = coerce(c->name, &c->t->cols[k], &v, err);
        if (rc)
            return rc;
        digest_value(c->d, c->t->cols[k].kind, &v);
        if (!row)
            continue;
        /*
         * JSON or a time that the source keeps as text goes across as that
         * text, byte for byte (jsonb and timestamptz parse it); only a
         * source's own JSON (jsonb's spaced form) is written compact again.
         */
        if (in[k].kind == AD__COL_TEXT)
            v.kind = AD__COL_TEXT;
        if (c->t->late[k] && !v.null) {
            struct ad__val key = in[0];

            rc = coerce(c->name, &c->t->cols[0], &key, err);
            if (!rc)
                rc = add_late(c, &key, &v, k, err);
            memset(&row[k], 0, sizeof(row[k]));
            row[k].null = true;
        } else {
            rc = keep(&row[k], &v, err);
        }
        if (rc) {
            for (size_t j = 0; j < k; j++)
                drop(&row[j]);
            return rc;
        }
    }
    put(c->d, "\n", 1);
    c->d->rows++;
    if (c->reporting && c->o->progress && c->d->rows % PROGRESS_EVERY == 0)
        c->o->progress(c->o->progress_arg, c->name, c->d->rows, false);
    if (row && ++c->nbatch == BATCH_ROWS)
        rc = flush(c, err);
    return rc;
}

/* ---- the whole copy --------------------------------------------------------------------- */

static int scan_table(struct copy *c, struct ad_store *st, bool write, struct digest *d,
                      struct ad_err *err)
{
    int rc = digest_init(d, err);

    if (rc)
        return rc;
    c->d = d;
    c->write = write;
    c->reporting = st == c->from;
    rc = st->ops->copy->scan(st, c->table, st == c->from ? c->t->cols : c->t->to_cols, c->t->n,
                             on_row, c, err);
    if (!rc && write)
        rc = flush(c, err);
    for (size_t i = 0; c->batch && i < c->nbatch * c->t->n; i++)
        drop(&c->batch[i]);
    c->nbatch = 0;
    return rc;
}

static int set_late(struct copy *c, struct table_cols *all, struct ad_err *err)
{
    int rc = 0;

    for (size_t i = 0; !rc && i < c->nlate; i++) {
        struct late_set *l = &c->late[i];
        struct table_cols *t = &all[l->table];

        rc = c->to->ops->copy->set(c->to, l->table, &t->to_cols[0], &l->key, &t->to_cols[l->col],
                                   &l->val, err);
    }
    return rc;
}

static void late_release(struct copy *c)
{
    for (size_t i = 0; i < c->nlate; i++) {
        drop(&c->late[i].key);
        drop(&c->late[i].val);
    }
    free(c->late);
    c->late = NULL;
    c->nlate = c->alate = 0;
}

/* ---- helpers of the backends' row streams (store_backend.h) ---------------- */

int ad__copy_ident(struct ad_buf *b, const char *name)
{
    if (strchr(name, '"'))
        return AD_EINVAL;
    return ad_buf_addf(b, "\"%s\"", name);
}

int ad__copy_insert_head(struct ad_buf *b, const char *table, const struct ad__col *cols,
                         size_t ncols)
{
    int rc = ad_buf_adds(b, "INSERT INTO ");

    if (!rc)
        rc = ad__copy_ident(b, table);
    if (!rc)
        rc = ad_buf_adds(b, " (");
    for (size_t i = 0; !rc && i < ncols; i++) {
        if (i)
            rc = ad_buf_adds(b, ", ");
        if (!rc)
            rc = ad__copy_ident(b, cols[i].name);
    }
    if (!rc)
        rc = ad_buf_adds(b, ") VALUES ");
    return rc;
}

/* Every table except schema_migrations must be empty in a copy's target. */
static int check_empty(struct ad_store *to, struct ad_err *err)
{
    for (size_t i = 0; i < ad_store_table_total(); i++) {
        const char *name = ad_store_table_name(i);
        int64_t n = 0;
        int rc;

        if (!strcmp(name, "schema_migrations"))
            continue;
        rc = ad_store_table_count(to, name, &n, err);
        if (rc)
            return ad_error_prefix(err, "target");
        if (n > 0)
            return ad_error(err, AD_EEXIST,
                            "the target database already holds rows (%s: %lld); copy into an "
                            "empty database (a new file, or a new PostgreSQL database or schema)",
                            name, (long long)n);
    }
    return 0;
}

static int copy_tables(struct copy *c, struct ad_store_copy_table *out, struct ad_err *err)
{
    size_t total = ad_store_table_total();
    struct table_cols *all = calloc(total, sizeof(*all));
    struct digest d;
    int rc = 0;

    if (!all)
        return ad_error(err, AD_ENOMEM, "out of memory copying");
    memset(&d, 0, sizeof(d));
    for (size_t i = 0; !rc && i < total; i++) {
        rc = table_cols_load(c->from, c->to, (int)i, &all[i], err);
        if (rc)
            break;
        c->table = (int)i;
        c->name = ad_store_table_name(i);
        c->t = &all[i];
        free(c->batch);
        c->batch = c->write ? calloc(BATCH_ROWS * all[i].n, sizeof(*c->batch)) : NULL;
        if (c->write && !c->batch) {
            rc = ad_error(err, AD_ENOMEM, "out of memory copying");
            break;
        }
        out[i].name = c->name;
        if (!strcmp(c->name, "schema_migrations")) {
            out[i].ok = true;    /* each store's own: left out (see the top) */
            continue;
        }
        rc = scan_table(c, c->from, c->write, &d, err);
        if (rc) {
            ad_error_prefix(err, "%s", c->name);
            break;
        }
        out[i].from_rows = d.rows;
        digest_final(&d, out[i].from_sum);
        if (c->o->progress)
            c->o->progress(c->o->progress_arg, c->name, d.rows, true);
    }
    if (!rc && c->write)
        rc = set_late(c, all, err);
    if (!rc && c->write)
        rc = c->to->ops->copy->finish(c->to, err);
    /* Read back what the target now holds (inside the copy's transaction). */
    for (size_t i = 0; !rc && i < total; i++) {
        if (!strcmp(out[i].name, "schema_migrations"))
            continue;
        c->table = (int)i;
        c->name = out[i].name;
        c->t = &all[i];
        rc = scan_table(c, c->to, false, &d, err);
        if (rc) {
            ad_error_prefix(err, "%s", c->name);
            break;
        }
        out[i].to_rows = d.rows;
        digest_final(&d, out[i].to_sum);
        out[i].ok = out[i].from_rows == out[i].to_rows && !strcmp(out[i].from_sum, out[i].to_sum);
    }
    if (d.md)
        EVP_MD_CTX_free(d.md);
    free(c->batch);
    c->batch = NULL;
    late_release(c);
    for (size_t i = 0; i < total; i++)
        table_cols_release(&all[i]);
    free(all);
    return rc;
}

/* ---- opening both sides ---------------------------------------------------------------- */

/* A scheme this store knows, or a plain path: "mysql://" is refused, not taken as a file. */
static int check_uri(const char *what, const char *uri, struct ad_err *err)
{
    const char *colon;

    if (!uri || !*uri)
        return ad_error(err, AD_EINVAL, "no %s database given", what);
    colon = strstr(uri, "://");
    if (colon && ad_store_uri_file(uri) == uri) {
        return ad_error(err, AD_EINVAL,
                        "unknown database scheme '%.*s' in the %s (use a SQLite path, "
                        "sqlite:PATH or postgres://...)",
                        (int)(colon - uri > 32 ? 32 : colon - uri), uri, what);
    }
    return 0;
}

static int same_database(const char *from, const char *to)
{
    const char *ff = ad_store_uri_file(from), *tf = ad_store_uri_file(to);
    struct stat a, b;

    if (!ff || !tf)
        return !ff && !tf && !strcmp(from, to);
    if (!strcmp(ff, tf))
        return 1;
    return stat(ff, &a) == 0 && stat(tf, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

static int open_both(const struct ad_store_copy_options *o, struct ad_store **from,
                     struct ad_store **to, struct ad_err *err)
{
    struct ad_store_options so = { 0 };
    const char *file;
    struct stat sb;
    int rc;

    *from = *to = NULL;
    rc = check_uri("source", o->from, err);
    if (!rc)
        rc = check_uri("target", o->to, err);
    if (rc)
        return rc;
    if (same_database(o->from, o->to))
        return ad_error(err, AD_EINVAL, "the source and the target are the same database");
    file = ad_store_uri_file(o->from);
    if (file && stat(file, &sb) != 0)
        return ad_error(err, AD_ENOTFOUND, "no source database at '%s'", file);
    so.busy_timeout_ms = o->busy_timeout_ms;
    so.flags = AD_STORE_READONLY;
    rc = ad_store_open(o->from, &so, from, err);
    if (rc == AD_ENOTSUP && err && strstr(err->msg, "needs an upgrade")) {
        char msg[sizeof(err->msg)];

        snprintf(msg, sizeof(msg), "%s", err->msg);
        return ad_error(err, rc, "source: %s: run 'autodev --db URI db migrate' on it first",
                        msg);
    }
    if (rc)
        return ad_error_prefix(err, "source");
    so.flags = (o->flags & AD_STORE_COPY_VERIFY) ? AD_STORE_READONLY : AD_STORE_CREATE;
    file = ad_store_uri_file(o->to);
    if ((o->flags & AD_STORE_COPY_VERIFY) && file && stat(file, &sb) != 0)
        rc = ad_error(err, AD_ENOTFOUND, "no target database at '%s'", file);
    else
        rc = ad_store_open(o->to, &so, to, err);
    if (rc) {
        ad_error_prefix(err, "target");
        ad_store_free(*from);
        *from = NULL;
    }
    return rc;
}

static int check_versions(struct ad_store *from, struct ad_store *to, struct ad_err *err)
{
    int fc = 0, fl = 0, tc = 0, tl = 0;
    int rc = ad_store_schema_version(from, &fc, &fl, err);

    if (!rc)
        rc = ad_store_schema_version(to, &tc, &tl, err);
    if (rc)
        return rc;
    if (fc != fl)
        return ad_error(err, AD_ENOTSUP,
                        "the source has schema version %d, this autodev %d: run 'autodev db "
                        "migrate' on it first", fc, fl);
    if (tc != tl)
        return ad_error(err, AD_ENOTSUP,
                        "the target has schema version %d, this autodev %d: run 'autodev db "
                        "migrate' on it first", tc, tl);
    return 0;
}

static int count_mismatches(const struct ad_store_copy_table *t, size_t n)
{
    int bad = 0;

    for (size_t i = 0; i < n; i++)
        bad += !t[i].ok;
    return bad;
}

int ad_store_copy(const struct ad_store_copy_options *o, struct ad_store_copy_table **tables,
                  size_t *n, struct ad_err *err)
{
    struct ad_store *from = NULL, *to = NULL;
    struct ad_store_copy_table *out = NULL;
    struct copy c;
    bool verify = o->flags & AD_STORE_COPY_VERIFY, reading = false, writing = false;
    bool to_reading = false;
    int rc, bad;

    *tables = NULL;
    *n = 0;
    memset(&c, 0, sizeof(c));
    rc = open_both(o, &from, &to, err);
    if (rc)
        return rc;
    rc = check_versions(from, to, err);
    if (!rc && !verify)
        rc = check_empty(to, err);
    out = rc ? NULL : calloc(ad_store_table_total(), sizeof(*out));
    if (!rc && !out)
        rc = ad_error(err, AD_ENOMEM, "out of memory copying");
    if (!rc) {
        rc = from->ops->copy->read_begin(from, err);
        reading = !rc;
    }
    if (!rc && verify) {
        rc = to->ops->copy->read_begin(to, err);
        to_reading = !rc;
    } else if (!rc) {
        rc = ad__level_begin(to, err);
        writing = !rc;
        if (!rc)
            rc = to->ops->copy->write_begin(to, err);
    }
    c.from = from;
    c.to = to;
    c.o = o;
    c.write = !verify;
    if (!rc)
        rc = copy_tables(&c, out, err);
    bad = rc ? 0 : count_mismatches(out, ad_store_table_total());
    if (!rc && bad)
        rc = ad_error(err, AD_ECORRUPT, "%d table(s) differ between the source and the target%s",
                      bad, verify ? "" : "; nothing was written");
    if (writing)
        rc = ad__level_end(to, rc, err);
    else if (to_reading)
        to->ops->copy->read_end(to);
    if (reading)
        from->ops->copy->read_end(from);
    ad_store_free(from);
    ad_store_free(to);
    if (out && (!rc || bad)) {
        size_t k = 0;

        for (size_t i = 0; i < ad_store_table_total(); i++) {
            if (strcmp(out[i].name, "schema_migrations") != 0)
                out[k++] = out[i];
        }
        *tables = out;
        *n = k;
    } else {
        free(out);
    }
    return rc;
}
