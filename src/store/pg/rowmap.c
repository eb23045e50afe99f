/* The column maps' reader and binder (rowmap.h). */
#include "compat.h"

#include <math.h>

#include "pg/rowmap.h"

int ad__pgm_read(const PGresult *res, int r, int c0, const struct pgm_table *t, void *obj,
                 struct ad_err *err)
{
    char *base = obj;
    int i, rc = 0;

    for (i = 0; !rc && i < t->ncols; i++) {
        const struct pgm_col *c = &t->cols[i];
        void *m = base + c->off;
        int col = c0 + i;

        switch (c->type) {
        case PGM_FIXED:
            ad__pg_fixed(res, r, col, m, c->size);
            break;
        case PGM_TEXT:
            rc = ad__pg_dup(res, r, col, (char **)m, err);
            break;
        case PGM_JSON:
            rc = ad__pg_json(res, r, col, (json_t **)m, err);
            break;
        case PGM_INT:
            *(int *)m = (int)ad__pg_i64(res, r, col);
            break;
        case PGM_INT64:
            *(int64_t *)m = ad__pg_i64(res, r, col);
            break;
        case PGM_REAL:
            *(double *)m = PQgetisnull(res, r, col) && !(c->flags & PGM_NAN_NULL)
                               ? 0.0 : ad__pg_double(res, r, col);
            break;
        case PGM_BOOL:
            *(bool *)m = ad__pg_i64(res, r, col) != 0;
            break;
        case PGM_ENUM:
            if ((c->flags & PGM_NULLABLE) && PQgetisnull(res, r, col)) {
                *(int *)m = -1;
            } else {
                int v = 0;

                rc = ad__pg_enum(res, r, col, c->e, &v, err);
                *(int *)m = v;
            }
            break;
        default:
            rc = ad_error(err, AD_EINTERNAL, "column %d of %s: unknown type", i, t->what);
        }
    }
    return rc;
}

void ad__pgm_params(const struct pgm_table *t, const void *obj, const char *const *json,
                    pgm_buf *buf, const char **p)
{
    const char *base = obj;
    int i;

    for (i = 0; i < t->ncols; i++) {
        const struct pgm_col *c = &t->cols[i];
        const void *m = base + c->off;

        switch (c->type) {
        case PGM_FIXED:
            p[i] = (c->flags & PGM_EMPTY_NULL) ? ad__pg_opt(m) : (const char *)m;
            break;
        case PGM_TEXT:
            p[i] = *(char *const *)m;
            break;
        case PGM_JSON:
            p[i] = json ? json[c->aux] : NULL;
            break;
        case PGM_INT:
            p[i] = ad__pg_i64_text(*(const int *)m, buf[i]);
            break;
        case PGM_INT64:
            p[i] = ad__pg_i64_text(*(const int64_t *)m, buf[i]);
            break;
        case PGM_REAL:
            p[i] = ad__pg_double_text(*(const double *)m, buf[i]);
            break;
        case PGM_BOOL:
            p[i] = *(const bool *)m ? "1" : "0";
            break;
        case PGM_ENUM:
            p[i] = ad__enum_name(c->e, *(const int *)m);    /* NULL for -1 */
            break;
        default:
            p[i] = NULL;
        }
    }
}

int ad__pgm_collect(const PGresult *res, const struct pgm_table *t, const struct pgm_elem *e,
                    int (*row)(const PGresult *res, int r, void *elem, struct ad_err *err),
                    void **out, size_t *n, struct ad_err *err)
{
    int i, count = PQntuples(res), rc = 0;
    char *v;

    *out = NULL;
    *n = 0;
    if (count == 0)
        return 0;    /* an empty list is NULL, as SQLite's */
    v = calloc((size_t)count, e->size);
    if (!v)
        return ad_error(err, AD_ENOMEM, "out of memory listing %s rows", t->what);
    for (i = 0; !rc && i < count; i++) {
        void *elem = v + (size_t)i * e->size;

        e->init(elem);
        rc = row ? row(res, i, elem, err) : ad__pgm_read(res, i, 0, t, elem, err);
    }
    if (rc) {
        int k;

        for (k = 0; k < i; k++)
            e->release(v + (size_t)k * e->size);
        free(v);
        return rc;
    }
    *out = v;
    *n = (size_t)count;
    return 0;
}

int ad__pgm_list(struct pg_store *s, const char *tenant, const char *sql, int np,
                 const char *const *params, const struct pgm_table *t,
                 const struct pgm_elem *e, void **out, size_t *n, const char *what,
                 struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant, sql, np, params, &r, what, err);

    if (!rc)
        rc = ad__pgm_collect(r, t, e, NULL, out, n, err);
    PQclear(r);
    return rc;
}

int ad__pgm_exists(struct pg_store *s, const char *sql, const char *tenant_id, const char *id,
                   struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant_id, sql, 2, p, &r, "look up a row", err);

    if (!rc)
        rc = PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

const char *ad__pgm_mask_array(const struct ad__enum *e, unsigned mask, char *buf, size_t size)
{
    size_t len = 0, i;

    if (!mask)
        return NULL;
    buf[len++] = '{';
    for (i = 0; i < e->n && i < 32; i++) {
        if (!(mask & (1u << i)))
            continue;
        len += (size_t)snprintf(buf + len, size > len ? size - len : 0, "%s%s",
                                buf[len - 1] == '{' ? "" : ",", e->names[i]);
    }
    if (len + 2 > size)
        return "{}";
    buf[len++] = '}';
    buf[len] = '\0';
    return buf;
}
