/*
 * Rows: the column descriptions of sqlite_int.h at work. One description
 * per table says, column by column, which member of the entity's struct
 * holds it and how; from it come the column lists of the statements
 * (expanded once per connection), the binding of a row's members to the
 * statement's ":<column>" parameters, and the reading of a result row back
 * into the struct. Adding a column is one line in its table's description.
 *
 * Binding goes by parameter number, looked up once when the statement is
 * prepared (ad__sq_map_params), so a bound insert costs what the
 * hand-written bindings cost: one switch per column.
 *
 * Sections: templates, binding, reading, stepping.
 */
#include "compat.h"

#include <math.h>

#include "autodev/buf.h"
#include "autodev/json.h"

#include "sqlite/sqlite_int.h"

#define MEMBER(base, T, off) ((T *)((char *)(base) + (off)))
#define CMEMBER(base, T, off) ((const T *)((const char *)(base) + (off)))

/* ---- templates ---------------------------------------------------------- */

enum list_kind { LIST_COLS, LIST_LIGHT, LIST_ICOLS, LIST_PARAMS, LIST_SET };

static int list_has(const struct sq_col *c, enum list_kind k)
{
    if (k == LIST_ICOLS || k == LIST_PARAMS)
        return !(c->flags & SQ_NOINSERT);
    if (k == LIST_SET)
        return (c->flags & SQ_UPDATE) != 0;
    return 1;
}

/* Appends one of the table's lists; prefix applies to column names ("k."). */
static int add_list(struct ad_buf *b, const struct sq_table *t, enum list_kind k,
                    const char *prefix, size_t plen)
{
    const char *sep = "";
    size_t i;
    int rc = 0;

    for (i = 0; !rc && i < t->ncols; i++) {
        const struct sq_col *c = &t->cols[i];

        if (!list_has(c, k))
            continue;
        rc = ad_buf_adds(b, sep);
        sep = ", ";
        if (rc)
            break;
        if (k == LIST_PARAMS)
            rc = ad_buf_addf(b, ":%s", c->name);
        else if (k == LIST_SET)
            rc = ad_buf_addf(b, "%s = :%s", c->name, c->name);
        else if (k == LIST_LIGHT && (c->flags & SQ_HEAVY))
            rc = ad_buf_adds(b, "NULL");
        else
            rc = ad_buf_addf(b, "%.*s%s", (int)plen, prefix, c->name);
    }
    return rc;
}

/* One placeholder (the text between the braces); -1 for an unknown one. */
static int add_placeholder(struct ad_buf *b, const struct sq_table *t, const char *p, size_t n)
{
    static const struct { const char *name; enum list_kind kind; } names[] = {
        { "cols", LIST_COLS }, { "light", LIST_LIGHT }, { "icols", LIST_ICOLS },
        { "params", LIST_PARAMS }, { "set", LIST_SET },
    };
    size_t i, len;

    for (i = 0; i < AD_ARRAY_SIZE(names); i++) {
        len = strlen(names[i].name);
        if (n >= len && !memcmp(p + n - len, names[i].name, len) &&
            (n == len || (names[i].kind == LIST_COLS && p[n - len - 1] == '.')))
            return add_list(b, t, names[i].kind, p, n - len);
    }
    return -1;
}

char *ad__sq_expand(const struct sq_stmt *def)
{
    struct ad_buf b = AD_BUF_INIT;
    const char *p = def->sql, *open, *close;
    int rc = 0;

    while (!rc && (open = strchr(p, '{')) != NULL) {
        close = strchr(open, '}');
        rc = close ? ad_buf_add(&b, p, (size_t)(open - p)) : -1;
        if (!rc)
            rc = add_placeholder(&b, def->table, open + 1, (size_t)(close - open - 1));
        p = close ? close + 1 : p;
    }
    if (!rc)
        rc = ad_buf_adds(&b, p);
    if (rc) {
        ad_buf_release(&b);
        return NULL;
    }
    return ad_buf_detach(&b, NULL);
}

int ad__sq_map_params(struct stmt_slot *slot, struct ad_err *err)
{
    const struct sq_table *t = slot->def->table;
    char name[80];
    size_t i;

    slot->param = calloc(t->ncols ? t->ncols : 1, sizeof(*slot->param));
    if (!slot->param)
        return ad_error(err, AD_ENOMEM, "out of memory");
    for (i = 0; i < t->ncols; i++) {
        snprintf(name, sizeof(name), ":%s", t->cols[i].name);
        slot->param[i] = sqlite3_bind_parameter_index(slot->stmt, name);
    }
    return 0;
}

/* ---- binding ------------------------------------------------------------ */

static int enum_value(const void *row, const struct sq_col *c)
{
    return *CMEMBER(row, int, c->off);
}

/*
 * Strings are bound SQLITE_STATIC: they outlive the step, and ad__sq_put
 * unbinds them. A NAN binds as NULL whatever the flags: SQLite would store
 * it as NULL anyway.
 */
static int bind_col(sqlite3_stmt *q, int i, const struct sq_col *c, const void *row,
                    const char *const *json)
{
    const char *t;
    double d;

    switch ((enum sq_type)c->type) {
    case SQ_TEXT:
        t = *CMEMBER(row, char *const, c->off);
        break;
    case SQ_FIXED:
        t = CMEMBER(row, char, c->off);
        if (!t[0] && (c->flags & SQ_EMPTY_NULL))
            t = NULL;
        break;
    case SQ_JSON:
        t = json ? json[c->aux] : NULL;
        break;
    case SQ_ENUM:
        t = ad__enum_name(c->e, enum_value(row, c));
        break;
    case SQ_INT:
        return sqlite3_bind_int64(q, i, *CMEMBER(row, int, c->off));
    case SQ_INT64:
        return sqlite3_bind_int64(q, i, *CMEMBER(row, int64_t, c->off));
    case SQ_BOOL:
        return sqlite3_bind_int(q, i, *CMEMBER(row, bool, c->off) ? 1 : 0);
    case SQ_REAL:
        d = *CMEMBER(row, double, c->off);
        return isnan(d) ? sqlite3_bind_null(q, i) : sqlite3_bind_double(q, i, d);
    default:
        return SQLITE_MISUSE;
    }
    return t ? sqlite3_bind_text(q, i, t, -1, SQLITE_STATIC) : sqlite3_bind_null(q, i);
}

int ad__sq_bind_row(struct sqlite_store *s, struct stmt_slot *q, const void *row,
                    const char *const *json, struct ad_err *err)
{
    const struct sq_table *t = q->def->table;
    size_t i;
    int rc;

    for (i = 0; i < t->ncols; i++) {
        if (!q->param[i])
            continue;
        rc = bind_col(q->stmt, q->param[i], &t->cols[i], row, json);
        if (rc == SQLITE_NOMEM)
            return ad_error(err, AD_ENOMEM, "out of memory");
        if (rc != SQLITE_OK)
            return ad__sq_fail(s, rc, "bind", err);
    }
    return 0;
}

void ad__sq_bind_text(sqlite3_stmt *q, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(q, name);

    if (i > 0)
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

void ad__sq_bind_int(sqlite3_stmt *q, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(q, name);

    if (i > 0)
        sqlite3_bind_int64(q, i, v);
}

/* ---- reading ------------------------------------------------------------ */

/* A NULL column reads as NULL. */
static int read_text(sqlite3_stmt *q, int i, char **out, struct ad_err *err)
{
    const unsigned char *t = sqlite3_column_text(q, i);

    *out = NULL;
    if (!t && sqlite3_column_type(q, i) == SQLITE_NULL)
        return 0;
    if (!t)
        return ad_error(err, AD_ENOMEM, "out of memory");
    *out = strdup((const char *)t);
    return *out ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
}

static int read_json(sqlite3_stmt *q, int i, json_t **out, struct ad_err *err)
{
    const char *t = (const char *)sqlite3_column_text(q, i);
    json_error_t jerr;

    *out = NULL;
    if (!t && sqlite3_column_type(q, i) != SQLITE_NULL)
        return ad_error(err, AD_ENOMEM, "out of memory");
    if (!t)
        return 0;
    *out = json_loadb(t, (size_t)sqlite3_column_bytes(q, i), JSON_DECODE_ANY, &jerr);
    if (*out)
        return 0;
    /* jansson out of memory is not a corrupt row. */
    if (ad_json_load_code(&jerr) == AD_ENOMEM)
        return ad_error(err, AD_ENOMEM, "out of memory reading column '%s'",
                        sqlite3_column_name(q, i));
    return ad_error(err, AD_ECORRUPT, "column '%s' holds invalid json: %s",
                    sqlite3_column_name(q, i), jerr.text);
}

/* An id or a time: NULL reads as "", and a longer text is cut (the schema never holds one). */
static void read_fixed(sqlite3_stmt *q, int i, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(q, i) : 0;

    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

/* An enumeration's name back to its value; the row's id says which row is bad. */
static int read_enum(sqlite3_stmt *q, int i, const struct sq_table *t, const struct sq_col *c,
                     void *row, struct ad_err *err)
{
    const char *name = (const char *)sqlite3_column_text(q, i);
    int v = ad__enum_parse(c->e, name);

    if (!name && (c->flags & SQ_NULLABLE))
        v = -1;
    else if (v < 0)
        return ad_error(err, AD_ECORRUPT, "%s '%s' has an invalid %s", t->what,
                        (const char *)sqlite3_column_text(q, 0), c->e->label);
    *MEMBER(row, int, c->off) = v;
    return 0;
}

static int read_col(sqlite3_stmt *q, int i, const struct sq_table *t, const struct sq_col *c,
                    void *row, struct ad_err *err)
{
    switch ((enum sq_type)c->type) {
    case SQ_TEXT:
        return read_text(q, i, MEMBER(row, char *, c->off), err);
    case SQ_FIXED:
        read_fixed(q, i, MEMBER(row, char, c->off), c->size);
        return 0;
    case SQ_JSON:
        return read_json(q, i, MEMBER(row, json_t *, c->off), err);
    case SQ_ENUM:
        return read_enum(q, i, t, c, row, err);
    case SQ_INT:
        *MEMBER(row, int, c->off) = sqlite3_column_int(q, i);
        return 0;
    case SQ_INT64:
        *MEMBER(row, int64_t, c->off) = sqlite3_column_int64(q, i);
        return 0;
    case SQ_BOOL:
        *MEMBER(row, bool, c->off) = sqlite3_column_int(q, i) != 0;
        return 0;
    case SQ_REAL:
        *MEMBER(row, double, c->off) =
            (c->flags & SQ_NAN_NULL) && sqlite3_column_type(q, i) == SQLITE_NULL
                ? NAN
                : sqlite3_column_double(q, i);
        return 0;
    }
    return ad_error(err, AD_EINTERNAL, "column '%s' of unknown type", c->name);
}

/*
 * Every column is read even after a failure, so that the struct holds
 * either a value or its zero in each member (ad_<entity>_release frees it
 * all); the first error is the one reported.
 */
int ad__sq_read_row(sqlite3_stmt *q, const struct sq_table *t, void *row, struct ad_err *err)
{
    size_t i;
    int rc = 0, r;

    for (i = 0; i < t->ncols; i++) {
        r = read_col(q, (int)i, t, &t->cols[i], row, rc ? NULL : err);
        if (!rc)
            rc = r;
    }
    return rc;
}

/* ---- stepping ----------------------------------------------------------- */

/* Grows a result array of elem-sized entries by doubling. */
static int grow(void **v, size_t *alloc, size_t n, size_t elem, struct ad_err *err)
{
    size_t na;
    void *nv;

    if (n < *alloc)
        return 0;
    na = *alloc ? *alloc * 2 : 16;
    nv = realloc(*v, na * elem);
    if (!nv)
        return ad_error(err, AD_ENOMEM, "out of memory");
    memset((char *)nv + *alloc * elem, 0, (na - *alloc) * elem);
    *v = nv;
    *alloc = na;
    return 0;
}

static int fill(struct stmt_slot *q, ad__sq_row_fn *fn, void *elem, struct ad_err *err)
{
    if (fn)
        return fn(q->stmt, elem, err);
    return ad__sq_read_row(q->stmt, q->def->table, elem, err);
}

int ad__sq_collect(struct sqlite_store *s, struct stmt_slot *q, size_t elem, ad__sq_row_fn *fn,
                   void **out, size_t *n, const char *what, struct ad_err *err)
{
    size_t alloc = 0;
    int rc;

    *out = NULL;
    *n = 0;
    for (;;) {
        rc = sqlite3_step(q->stmt);
        if (rc != SQLITE_ROW)
            break;
        rc = grow(out, &alloc, *n, elem, err);
        if (rc)
            break;
        rc = fill(q, fn, (char *)*out + *n * elem, err);
        (*n)++;
        if (rc)
            break;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = ad__sq_fail(s, rc, what, err);
    ad__sq_put(q);
    return rc;
}

int ad__sq_step_one(struct sqlite_store *s, struct stmt_slot *q, ad__sq_row_fn *fn, void *out,
                    const char *what, struct ad_err *err)
{
    int rc = sqlite3_step(q->stmt);

    if (rc == SQLITE_ROW)
        rc = fill(q, fn, out, err);
    else if (rc == SQLITE_DONE)
        rc = AD_ENOTFOUND;
    else
        rc = ad__sq_fail(s, rc, what, err);
    ad__sq_put(q);
    return rc;
}

int ad__sq_step_changed(struct sqlite_store *s, struct stmt_slot *q, const char *what,
                        const char *id, struct ad_err *err)
{
    int rc = sqlite3_step(q->stmt);

    if (rc != SQLITE_DONE)
        rc = ad__sq_fail(s, rc, what, err);
    else if (sqlite3_changes(s->db) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown %s '%s'", what, id);
    else
        rc = 0;
    ad__sq_put(q);
    return rc;
}

int ad__sq_step_cond(struct sqlite_store *s, struct stmt_slot *q, const char *what,
                     int *changed, struct ad_err *err)
{
    int rc = sqlite3_step(q->stmt);

    *changed = 0;
    if (rc == SQLITE_DONE) {
        rc = 0;
        *changed = sqlite3_changes(s->db) > 0;
    } else if (ad__sq_code(rc) == AD_EEXIST) {
        rc = AD_EEXIST;    /* the caller words the message */
    } else {
        rc = ad__sq_fail(s, rc, what, err);
    }
    ad__sq_put(q);
    return rc;
}

/* SQLite reports a missing parent row as a constraint failure; the message names the tenant. */
int ad__sq_step_insert(struct sqlite_store *s, struct stmt_slot *q, const char *tenant_id,
                       const char *what, struct ad_err *err)
{
    int rc = sqlite3_step(q->stmt);

    if (rc == SQLITE_DONE)
        rc = 0;
    else if (ad__sq_code(rc) == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", tenant_id);
    else
        rc = ad__sq_fail(s, rc, what, err);
    ad__sq_put(q);
    return rc;
}

int ad__sq_ints(struct sqlite_store *s, const char *sql, const char *a, const char *b,
                int64_t *out, int n, const char *what, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, sql, &q, err), i;

    if (rc)
        return rc;
    if (a)
        sqlite3_bind_text(q->stmt, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(q->stmt, 2, b, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        for (i = 0; i < n; i++)
            out[i] = sqlite3_column_int64(q->stmt, i);
        rc = 0;
    } else {
        rc = ad__sq_fail(s, rc, what, err);
    }
    ad__sq_put(q);
    return rc;
}

int ad__sq_exists(struct sqlite_store *s, const char *sql, const char *tenant_id,
                  const char *id, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, sql, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : ad__sq_fail(s, rc, "find row", err);
    ad__sq_put(q);
    return rc;
}
