/*
 * db copy's row stream on PostgreSQL (store_backend.h, struct ad__copy_ops):
 * a table's columns and foreign keys from the catalog of the connection's
 * schema, its rows through a cursor in key order (text keys COLLATE "C",
 * bytewise as SQLite's), and rows written many to a statement. Every
 * statement runs with autodev.tenant '*', which the tables' policy lets see
 * and write every tenant's rows (schema.c); a role the policy does not
 * cover sees none, and the copy's compare says so.
 *
 * The texts are made per table from the catalog's names, so they go
 * through ad__pg_run_text (never prepared).
 */
#include "compat.h"

#include <errno.h>
#include <math.h>

#include "autodev/buf.h"

#include "pg/pg_int.h"

/* Rows fetched from the cursor at a time. */
#define FETCH_ROWS "500"

static enum ad__col_kind kind_of(const char *type)
{
    if (!strcmp(type, "bigint") || !strcmp(type, "integer") || !strcmp(type, "smallint"))
        return AD__COL_INT;
    if (!strcmp(type, "double precision") || !strcmp(type, "real") || !strcmp(type, "numeric"))
        return AD__COL_REAL;
    if (!strcmp(type, "jsonb") || !strcmp(type, "json"))
        return AD__COL_JSON;
    if (!strncmp(type, "timestamp", 9))
        return AD__COL_TIME;
    if (!strcmp(type, "bytea"))
        return AD__COL_BLOB;
    return AD__COL_TEXT;
}

static const char columns_sql[] =
    "SELECT column_name::text, data_type::text FROM information_schema.columns"
    " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";
static const char refs_sql[] =
    "SELECT a.attname::text, cf.relname::text FROM pg_constraint c"
    " JOIN pg_class ct ON ct.oid = c.conrelid JOIN pg_class cf ON cf.oid = c.confrelid"
    " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
    " WHERE c.contype = 'f' AND ct.relname = $1"
    " AND ct.relnamespace = current_schema()::regnamespace";

static int pg_columns(struct ad_store *st, int table, struct ad__col **out, size_t *n,
                      struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *name = ad_store_table_name((size_t)table);
    struct ad__col *cols = NULL;
    PGresult *r = NULL;
    int rc, nr, i, j;

    *out = NULL;
    *n = 0;
    rc = ad__pg_run(s, NULL, columns_sql, 1, &name, &r, "read the columns", err);
    if (rc)
        return rc;
    nr = PQntuples(r);
    if (nr == 0) {
        PQclear(r);
        return ad_error(err, AD_ECORRUPT, "table '%s' is missing", name);
    }
    cols = calloc((size_t)nr, sizeof(*cols));
    if (!cols) {
        PQclear(r);
        return ad_error(err, AD_ENOMEM, "out of memory reading the columns of '%s'", name);
    }
    for (i = 0; i < nr; i++) {
        ad__copy_fixed(cols[i].name, sizeof(cols[i].name), ad__pg_text(r, i, 0));
        cols[i].kind = kind_of(ad__pg_text(r, i, 1));
    }
    PQclear(r);
    r = NULL;
    rc = ad__pg_run(s, NULL, refs_sql, 1, &name, &r, "read the foreign keys", err);
    for (j = 0; !rc && j < PQntuples(r); j++) {
        for (i = 0; i < nr; i++) {
            if (!strcmp(cols[i].name, ad__pg_text(r, j, 0)))
                ad__copy_fixed(cols[i].ref, sizeof(cols[i].ref), ad__pg_text(r, j, 1));
        }
    }
    PQclear(r);
    if (rc) {
        free(cols);
        return rc;
    }
    *out = cols;
    *n = (size_t)nr;
    return 0;
}

static int plain(struct pg_store *s, const char *sql, const char *what, struct ad_err *err)
{
    return ad__pg_run_text(s, NULL, sql, 0, NULL, NULL, what, err);
}

/*
 * One snapshot for every scan of a store opened read-only: a read-only
 * repeatable-read transaction of its own (store.c's levels refuse a
 * read-only store), its tenant set locally.
 */
static int pg_read_begin(struct ad_store *st, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    int rc = plain(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin a read", err);

    if (rc)
        return rc;
    s->depth = 1;
    s->tenant_tx[0] = '\0';
    return ad__pg_run_text(s, AD_PG_ALL_TENANTS, "SELECT 1", 0, NULL, NULL, "begin a read", err);
}

static void pg_read_end(struct ad_store *st)
{
    struct pg_store *s = ad__pg(st);
    PGresult *r = PQexec(s->conn, "ROLLBACK");

    PQclear(r);
    s->depth = 0;
    s->lost = 0;
    s->tenant_tx[0] = '\0';
}

static int select_sql(const char *table, const struct ad__col *cols, size_t ncols,
                      struct ad_buf *b)
{
    int rc = ad_buf_adds(b, "DECLARE ad_copy NO SCROLL CURSOR FOR SELECT ");

    for (size_t i = 0; !rc && i < ncols; i++) {
        if (i)
            rc = ad_buf_adds(b, ", ");
        /* Times in the store's own text form; the rest in PostgreSQL's text output. */
        if (!rc && cols[i].kind == AD__COL_TIME)
            rc = ad_buf_adds(b, "ad_ts(");
        if (!rc)
            rc = ad__copy_ident(b, cols[i].name);
        if (!rc && cols[i].kind == AD__COL_TIME)
            rc = ad_buf_adds(b, ")");
    }
    if (!rc)
        rc = ad_buf_adds(b, " FROM ");
    if (!rc)
        rc = ad__copy_ident(b, table);
    if (!rc)
        rc = ad_buf_adds(b, " ORDER BY ");
    if (!rc)
        rc = ad__copy_ident(b, cols[0].name);
    if (!rc && (cols[0].kind == AD__COL_TEXT))
        rc = ad_buf_adds(b, " COLLATE \"C\"");
    return rc;
}

static int read_value(const PGresult *r, int row, int c, const struct ad__col *col,
                      struct ad__val *v, unsigned char **blob, struct ad_err *err)
{
    const char *text = PQgetvalue(r, row, c);
    char *end = NULL;

    memset(v, 0, sizeof(*v));
    if (PQgetisnull(r, row, c)) {
        v->null = true;
        return 0;
    }
    v->kind = col->kind;
    switch (col->kind) {
    case AD__COL_INT:
        errno = 0;
        v->i = strtoll(text, &end, 10);
        if (errno || end == text || *end)
            return ad_error(err, AD_ECORRUPT, "column '%s': '%s' is not an integer", col->name,
                            text);
        return 0;
    case AD__COL_REAL:
        v->r = strtod(text, &end);
        if (end == text || *end)
            return ad_error(err, AD_ECORRUPT, "column '%s': '%s' is not a number", col->name,
                            text);
        return 0;
    case AD__COL_BLOB:
        free(*blob);
        *blob = PQunescapeBytea((const unsigned char *)text, &v->len);
        if (!*blob)
            return ad_error(err, AD_ENOMEM, "out of memory reading column '%s'", col->name);
        v->s = (const char *)*blob;
        return 0;
    default:
        v->s = text;
        v->len = (size_t)PQgetlength(r, row, c);
        return 0;
    }
}

static int pg_scan(struct ad_store *st, int table, const struct ad__col *cols, size_t ncols,
                   ad__row_fn fn, void *arg, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *name = ad_store_table_name((size_t)table);
    struct ad_buf sql = AD_BUF_INIT;
    struct ad__val *row = calloc(ncols ? ncols : 1, sizeof(*row));
    unsigned char **blobs = calloc(ncols ? ncols : 1, sizeof(*blobs));
    int rc, nr = 1;

    if (!row || !blobs) {
        rc = ad_error(err, AD_ENOMEM, "out of memory reading '%s'", name);
        goto out;
    }
    rc = select_sql(name, cols, ncols, &sql);
    if (rc) {
        rc = ad_error(err, rc, "cannot make the statement reading '%s'", name);
        goto out;
    }
    rc = ad__pg_run_text(s, AD_PG_ALL_TENANTS, sql.ptr, 0, NULL, NULL, "read rows", err);
    while (!rc && nr > 0) {
        PGresult *r = NULL;

        rc = ad__pg_run_text(s, NULL, "FETCH " FETCH_ROWS " FROM ad_copy", 0, NULL, &r,
                             "read rows", err);
        nr = rc ? 0 : PQntuples(r);
        for (int i = 0; !rc && i < nr; i++) {
            for (size_t c = 0; !rc && c < ncols; c++)
                rc = read_value(r, i, (int)c, &cols[c], &row[c], &blobs[c], err);
            if (!rc)
                rc = fn(arg, row, err);
        }
        PQclear(r);
    }
    if (!rc)
        rc = plain(s, "CLOSE ad_copy", "read rows", err);
out:
    for (size_t i = 0; blobs && i < ncols; i++)
        free(blobs[i]);
    free(blobs);
    free(row);
    ad_buf_release(&sql);
    return rc;
}

/* Inside the caller's transaction: every tenant's rows, for this transaction only. */
static int pg_write_begin(struct ad_store *st, struct ad_err *err)
{
    return ad__pg_run_text(ad__pg(st), AD_PG_ALL_TENANTS, "SELECT 1", 0, NULL, NULL,
                           "begin the copy", err);
}

/* A value as a text parameter (NULL for NULL); buf holds numbers' text. */
static const char *param_of(const struct ad__val *v, char buf[32], char **owned)
{
    *owned = NULL;
    if (v->null)
        return NULL;
    switch (v->kind) {
    case AD__COL_INT:
        return ad__pg_i64_text(v->i, buf);
    case AD__COL_REAL:
        if (isnan(v->r))
            return "NaN";
        if (isinf(v->r))
            return v->r > 0 ? "Infinity" : "-Infinity";
        snprintf(buf, 32, "%.17g", v->r);
        return buf;
    case AD__COL_BLOB: {
        size_t len = 0;

        *owned = (char *)PQescapeByteaConn(NULL, (const unsigned char *)v->s, v->len, &len);
        return *owned;
    }
    default:
        return v->s;    /* NUL-terminated by the caller (copy.c) */
    }
}

static int insert_sql(const char *table, const struct ad__col *cols, size_t ncols, size_t nrows,
                      struct ad_buf *b)
{
    int rc = ad__copy_insert_head(b, table, cols, ncols);
    size_t p = 1;

    for (size_t r = 0; !rc && r < nrows; r++) {
        rc = ad_buf_adds(b, r ? ", (" : "(");
        for (size_t i = 0; !rc && i < ncols; i++)
            rc = ad_buf_addf(b, i ? ", $%zu" : "$%zu", p++);
        if (!rc)
            rc = ad_buf_adds(b, ")");
    }
    return rc;
}

static int pg_insert(struct ad_store *st, int table, const struct ad__col *cols, size_t ncols,
                     const struct ad__val *rows, size_t nrows, struct ad_err *err)
{
    const char *name = ad_store_table_name((size_t)table);
    size_t n = ncols * nrows, i;
    const char **params = calloc(n ? n : 1, sizeof(*params));
    char (*bufs)[32] = calloc(n ? n : 1, sizeof(*bufs));
    char **owned = calloc(n ? n : 1, sizeof(*owned));
    struct ad_buf sql = AD_BUF_INIT;
    int rc = 0;

    if (!params || !bufs || !owned || n > 65535) {
        rc = ad_error(err, AD_ENOMEM, "out of memory writing '%s'", name);
        goto out;
    }
    for (i = 0; i < n; i++) {
        params[i] = param_of(&rows[i], bufs[i], &owned[i]);
        if (rows[i].kind == AD__COL_BLOB && !rows[i].null && !owned[i]) {
            rc = ad_error(err, AD_ENOMEM, "out of memory writing '%s'", name);
            goto out;
        }
    }
    rc = insert_sql(name, cols, ncols, nrows, &sql);
    if (rc) {
        rc = ad_error(err, rc, "cannot make the statement writing '%s'", name);
        goto out;
    }
    rc = ad__pg_run_text(ad__pg(st), AD_PG_ALL_TENANTS, sql.ptr, (int)n, params, NULL, name,
                         err);
out:
    for (i = 0; owned && i < n; i++)
        PQfreemem(owned[i]);
    free(owned);
    free(bufs);
    free(params);
    ad_buf_release(&sql);
    return rc;
}

static int pg_set(struct ad_store *st, int table, const struct ad__col *key,
                  const struct ad__val *keyval, const struct ad__col *col,
                  const struct ad__val *val, struct ad_err *err)
{
    const char *name = ad_store_table_name((size_t)table);
    char buf[2][32];
    char *owned[2];
    const char *params[2];
    struct ad_buf sql = AD_BUF_INIT;
    int rc = ad_buf_adds(&sql, "UPDATE ");

    params[0] = param_of(val, buf[0], &owned[0]);
    params[1] = param_of(keyval, buf[1], &owned[1]);
    if (!rc)
        rc = ad__copy_ident(&sql, name);
    if (!rc)
        rc = ad_buf_adds(&sql, " SET ");
    if (!rc)
        rc = ad__copy_ident(&sql, col->name);
    if (!rc)
        rc = ad_buf_adds(&sql, " = $1 WHERE ");
    if (!rc)
        rc = ad__copy_ident(&sql, key->name);
    if (!rc)
        rc = ad_buf_adds(&sql, " = $2");
    if (rc)
        rc = ad_error(err, rc, "cannot make the statement writing '%s'", name);
    else
        rc = ad__pg_run_text(ad__pg(st), AD_PG_ALL_TENANTS, sql.ptr, 2, params, NULL, name,
                             err);
    PQfreemem(owned[0]);
    PQfreemem(owned[1]);
    ad_buf_release(&sql);
    return rc;
}

/* The outbox's sequence past the copied seqs, so the next append continues above them. */
static const char seq_sql[] =
    "SELECT setval('events_seq', m) FROM (SELECT max(seq) AS m FROM events) x"
    " WHERE m IS NOT NULL";

static int pg_finish(struct ad_store *st, struct ad_err *err)
{
    return ad__pg_run(ad__pg(st), AD_PG_ALL_TENANTS, seq_sql, 0, NULL, NULL,
                      "move the events sequence on", err);
}

const struct ad__copy_ops ad__pg_copy_ops = {
    .columns = pg_columns,
    .read_begin = pg_read_begin,
    .read_end = pg_read_end,
    .scan = pg_scan,
    .write_begin = pg_write_begin,
    .insert = pg_insert,
    .set = pg_set,
    .finish = pg_finish,
};
