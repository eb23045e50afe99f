/*
 * db copy's row stream on SQLite (store_backend.h, struct ad__copy_ops):
 * a table's columns from PRAGMA table_info and foreign_key_list, its rows
 * in key order, and rows written as they are. The statements are made per
 * table from the catalog's names (never from a caller's text) and go
 * through the connection's cache like any other plain statement.
 */
#include "compat.h"

#include "autodev/buf.h"
#include "autodev/json.h"

#include "sqlite/sqlite_int.h"

/* An identifier from the catalog, double-quoted; one with a quote is refused. */
static enum ad__col_kind kind_of(const char *decl)
{
    if (!decl)
        return AD__COL_TEXT;
    if (!strcasecmp(decl, "INTEGER") || !strcasecmp(decl, "INT") || !strcasecmp(decl, "BIGINT"))
        return AD__COL_INT;
    if (!strcasecmp(decl, "REAL") || !strcasecmp(decl, "DOUBLE"))
        return AD__COL_REAL;
    if (!strcasecmp(decl, "BLOB"))
        return AD__COL_BLOB;
    return AD__COL_TEXT;
}

static int pragma_rows(struct sqlite_store *s, const char *pragma, const char *table,
                       sqlite3_stmt **q, struct ad_err *err)
{
    char sql[160];
    int rc;

    snprintf(sql, sizeof(sql), "SELECT * FROM pragma_%s(?1)", pragma);
    rc = sqlite3_prepare_v2(s->db, sql, -1, q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(*q, 1, table, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(*q);
        *q = NULL;
        return ad__sq_fail(s, rc, "read the columns", err);
    }
    return 0;
}

static int sq_columns(struct ad_store *st, int table, struct ad__col **out, size_t *n,
                      struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    const char *name = ad_store_table_name((size_t)table);
    struct ad__col *cols = NULL;
    sqlite3_stmt *q = NULL;
    size_t nc = 0, i;
    int rc;

    *out = NULL;
    *n = 0;
    rc = pragma_rows(s, "table_info", name, &q, err);
    while (!rc) {
        struct ad__col *c;
        int step = sqlite3_step(q);

        if (step != SQLITE_ROW) {
            rc = step == SQLITE_DONE ? 0 : ad__sq_fail(s, step, "read the columns", err);
            break;
        }
        c = realloc(cols, (nc + 1) * sizeof(*c));
        if (!c) {
            rc = ad_error(err, AD_ENOMEM, "out of memory reading the columns of '%s'", name);
            break;
        }
        cols = c;
        memset(&cols[nc], 0, sizeof(cols[nc]));
        ad__copy_fixed(cols[nc].name, sizeof(cols[nc].name),
                       (const char *)sqlite3_column_text(q, 1));
        cols[nc].kind = kind_of((const char *)sqlite3_column_text(q, 2));
        nc++;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (!rc)
        rc = pragma_rows(s, "foreign_key_list", name, &q, err);
    /* Columns: id, seq, table, from, to, ... */
    while (!rc) {
        const char *from;
        int step = sqlite3_step(q);

        if (step != SQLITE_ROW) {
            rc = step == SQLITE_DONE ? 0 : ad__sq_fail(s, step, "read the foreign keys", err);
            break;
        }
        from = (const char *)sqlite3_column_text(q, 3);
        for (i = 0; from && i < nc; i++) {
            if (!strcmp(cols[i].name, from))
                ad__copy_fixed(cols[i].ref, sizeof(cols[i].ref),
                               (const char *)sqlite3_column_text(q, 2));
        }
    }
    sqlite3_finalize(q);
    if (!rc && nc == 0)
        rc = ad_error(err, AD_ECORRUPT, "table '%s' is missing", name);
    if (rc) {
        free(cols);
        return rc;
    }
    *out = cols;
    *n = nc;
    return 0;
}

static int plain(struct sqlite_store *s, const char *sql, const char *what, struct ad_err *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : ad__sq_fail(s, rc, what, err);
}

/* A deferred BEGIN: the first read takes the snapshot every later scan shares. */
static int sq_read_begin(struct ad_store *st, struct ad_err *err)
{
    return plain(ad__sq(st), "BEGIN", "begin a read", err);
}

static void sq_read_end(struct ad_store *st)
{
    sqlite3_exec(ad__sq(st)->db, "ROLLBACK", NULL, NULL, NULL);
}

static int select_sql(const char *table, const struct ad__col *cols, size_t ncols,
                      struct ad_buf *b)
{
    int rc = ad_buf_adds(b, "SELECT ");

    for (size_t i = 0; !rc && i < ncols; i++) {
        if (i)
            rc = ad_buf_adds(b, ", ");
        if (!rc)
            rc = ad__copy_ident(b, cols[i].name);
    }
    if (!rc)
        rc = ad_buf_adds(b, " FROM ");
    if (!rc)
        rc = ad__copy_ident(b, table);
    /* BINARY collation: bytewise, as PostgreSQL's COLLATE "C". */
    if (!rc)
        rc = ad_buf_adds(b, " ORDER BY ");
    if (!rc)
        rc = ad__copy_ident(b, cols[0].name);
    return rc;
}

static void read_value(sqlite3_stmt *q, int c, struct ad__val *v)
{
    memset(v, 0, sizeof(*v));
    switch (sqlite3_column_type(q, c)) {
    case SQLITE_NULL:
        v->null = true;
        break;
    case SQLITE_INTEGER:
        v->kind = AD__COL_INT;
        v->i = sqlite3_column_int64(q, c);
        break;
    case SQLITE_FLOAT:
        v->kind = AD__COL_REAL;
        v->r = sqlite3_column_double(q, c);
        break;
    case SQLITE_BLOB:
        v->kind = AD__COL_BLOB;
        v->s = sqlite3_column_blob(q, c);
        v->len = (size_t)sqlite3_column_bytes(q, c);
        if (!v->s)
            v->s = "";
        break;
    default:
        v->kind = AD__COL_TEXT;
        v->s = (const char *)sqlite3_column_text(q, c);
        v->len = (size_t)sqlite3_column_bytes(q, c);
        if (!v->s)
            v->s = "";
        break;
    }
}

static int sq_scan(struct ad_store *st, int table, const struct ad__col *cols, size_t ncols,
                   ad__row_fn fn, void *arg, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    const char *name = ad_store_table_name((size_t)table);
    struct ad_buf sql = AD_BUF_INIT;
    struct ad__val *row = calloc(ncols ? ncols : 1, sizeof(*row));
    sqlite3_stmt *q = NULL;
    int rc;

    if (!row)
        return ad_error(err, AD_ENOMEM, "out of memory reading '%s'", name);
    rc = select_sql(name, cols, ncols, &sql);
    if (rc) {
        rc = ad_error(err, rc, "cannot make the statement reading '%s'", name);
        goto out;
    }
    rc = sqlite3_prepare_v2(s->db, sql.ptr, -1, &q, NULL);
    if (rc != SQLITE_OK) {
        rc = ad__sq_fail(s, rc, "read rows", err);
        goto out;
    }
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        for (size_t i = 0; i < ncols; i++)
            read_value(q, (int)i, &row[i]);
        rc = fn(arg, row, err);
        if (rc)
            goto out;
    }
    rc = rc == SQLITE_DONE ? 0 : ad__sq_fail(s, rc, "read rows", err);
out:
    sqlite3_finalize(q);
    ad_buf_release(&sql);
    free(row);
    return rc;
}

/* No tenant to set; references are checked per statement (the copy orders them). */
static int sq_write_begin(struct ad_store *st, struct ad_err *err)
{
    return 0;
}

/*
 * A JSON value as the store writes it: jansson's compact text (PostgreSQL
 * gives jsonb's spaced form). Text that does not parse goes in as it is.
 */
static int bind_value(sqlite3_stmt *q, int p, const struct ad__val *v)
{
    if (v->null)
        return sqlite3_bind_null(q, p);
    switch (v->kind) {
    case AD__COL_INT:
        return sqlite3_bind_int64(q, p, v->i);
    case AD__COL_REAL:
        return sqlite3_bind_double(q, p, v->r);
    case AD__COL_BLOB:
        return sqlite3_bind_blob64(q, p, v->s, v->len, SQLITE_TRANSIENT);
    case AD__COL_JSON: {
        json_t *j = json_loadb(v->s, v->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        char *text = j ? ad_json_dumps_flags(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        int rc;

        json_decref(j);
        if (!text)
            return sqlite3_bind_text64(q, p, v->s, v->len, SQLITE_TRANSIENT, SQLITE_UTF8);
        rc = sqlite3_bind_text64(q, p, text, strlen(text), free, SQLITE_UTF8);
        return rc;
    }
    default:
        return sqlite3_bind_text64(q, p, v->s, v->len, SQLITE_TRANSIENT, SQLITE_UTF8);
    }
}

static int insert_sql(const char *table, const struct ad__col *cols, size_t ncols,
                      struct ad_buf *b)
{
    int rc = ad__copy_insert_head(b, table, cols, ncols);

    if (!rc)
        rc = ad_buf_adds(b, "(");
    for (size_t i = 0; !rc && i < ncols; i++)
        rc = ad_buf_adds(b, i ? ", ?" : "?");
    if (!rc)
        rc = ad_buf_adds(b, ")");
    return rc;
}

static int sq_insert(struct ad_store *st, int table, const struct ad__col *cols, size_t ncols,
                     const struct ad__val *rows, size_t nrows, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    const char *name = ad_store_table_name((size_t)table);
    struct ad_buf sql = AD_BUF_INIT;
    int rc = insert_sql(name, cols, ncols, &sql);

    if (rc) {
        ad_buf_release(&sql);
        return ad_error(err, rc, "cannot make the statement writing '%s'", name);
    }
    for (size_t r = 0; !rc && r < nrows; r++) {
        struct stmt_slot *q = NULL;

        rc = ad__sq_get(s, sql.ptr, &q, err);
        if (rc)
            break;
        for (size_t i = 0; !rc && i < ncols; i++)
            rc = bind_value(q->stmt, (int)i + 1, &rows[r * ncols + i]);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(q->stmt);
        if (rc == SQLITE_DONE) {
            rc = 0;
        } else {
            rc = ad__sq_fail(s, rc, name, err);
        }
        ad__sq_put(q);
    }
    ad_buf_release(&sql);
    return rc;
}

static int sq_set(struct ad_store *st, int table, const struct ad__col *key,
                  const struct ad__val *keyval, const struct ad__col *col,
                  const struct ad__val *val, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    const char *name = ad_store_table_name((size_t)table);
    struct ad_buf sql = AD_BUF_INIT;
    struct stmt_slot *q = NULL;
    int rc = ad_buf_adds(&sql, "UPDATE ");

    if (!rc)
        rc = ad__copy_ident(&sql, name);
    if (!rc)
        rc = ad_buf_adds(&sql, " SET ");
    if (!rc)
        rc = ad__copy_ident(&sql, col->name);
    if (!rc)
        rc = ad_buf_adds(&sql, " = ?1 WHERE ");
    if (!rc)
        rc = ad__copy_ident(&sql, key->name);
    if (!rc)
        rc = ad_buf_adds(&sql, " = ?2");
    if (rc) {
        ad_buf_release(&sql);
        return ad_error(err, rc, "cannot make the statement writing '%s'", name);
    }
    rc = ad__sq_get(s, sql.ptr, &q, err);
    if (!rc) {
        rc = bind_value(q->stmt, 1, val);
        if (rc == SQLITE_OK)
            rc = bind_value(q->stmt, 2, keyval);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(q->stmt);
        rc = rc == SQLITE_DONE ? 0 : ad__sq_fail(s, rc, name, err);
        ad__sq_put(q);
    }
    ad_buf_release(&sql);
    return rc;
}

/* events.seq is MAX(seq) + 1 at each append (sqlite/events.c): nothing to move on. */
static int sq_finish(struct ad_store *st, struct ad_err *err)
{
    return 0;
}

const struct ad__copy_ops ad__sqlite_copy_ops = {
    .columns = sq_columns,
    .read_begin = sq_read_begin,
    .read_end = sq_read_end,
    .scan = sq_scan,
    .write_begin = sq_write_begin,
    .insert = sq_insert,
    .set = sq_set,
    .finish = sq_finish,
};
