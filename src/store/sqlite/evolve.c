/* Evolution research runs, programs and trace in SQLite (migration 9). */
#include "compat.h"

#include "sqlite/sqlite_int.h"

#define U SQ_UPDATE
#define T struct ad_evolve_run
static const struct sq_col run_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, agent_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, skill_id, SQ_FIXED, 0),
    SQ_COL(T, skill_version_id, SQ_FIXED, 0),
    SQ_JSONCOL(T, params, 0, U),
    SQ_COL(T, state, SQ_TEXT, U),
    SQ_COL(T, generation, SQ_INT, U),
    SQ_COL(T, prng, SQ_TEXT, U),
    SQ_COL(T, evaluations, SQ_INT64, U),
    SQ_COL(T, tokens, SQ_INT64, U),
    SQ_COL(T, usd, SQ_REAL, U),
    SQ_COL(T, best_program_id, SQ_FIXED, SQ_EMPTY_NULL | U),
    SQ_COL(T, reason, SQ_TEXT, U),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, updated_at, SQ_FIXED, U),
};
#undef T

#define T struct ad_evolve_program
static const struct sq_col program_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, run_id, SQ_FIXED, 0),
    SQ_COL(T, island, SQ_INT, U),
    SQ_COL(T, cell, SQ_TEXT, U),
    SQ_COL(T, code, SQ_TEXT, 0),
    SQ_COL(T, code_hash, SQ_TEXT, 0),
    SQ_COL(T, fingerprint, SQ_TEXT, 0),
    SQ_JSONCOL(T, features, 0, U),
    SQ_COL(T, fitness, SQ_REAL, SQ_NAN_NULL | U),
    SQ_JSONCOL(T, signals, 1, U),
    SQ_COL(T, parent_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, generation, SQ_INT, 0),
    SQ_COL(T, slot, SQ_INT, 0),
    SQ_COL(T, children, SQ_INT, U),
    SQ_COL(T, status, SQ_TEXT, U),
    SQ_COL(T, stage, SQ_INT, U),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, updated_at, SQ_FIXED, U),
};
#undef T

#define T struct ad_evolve_trace
static const struct sq_col trace_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, run_id, SQ_FIXED, 0),
    SQ_COL(T, seq, SQ_INT64, 0),
    SQ_COL(T, generation, SQ_INT, 0),
    SQ_COL(T, kind, SQ_TEXT, 0),
    SQ_JSONCOL(T, data, 0, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
};
#undef T
#undef U

static const struct sq_table run_table =
    SQ_TABLE("evolution run", struct ad_evolve_run, run_cols);
static const struct sq_table program_table =
    SQ_TABLE("evolution program", struct ad_evolve_program, program_cols);
static const struct sq_table trace_table =
    SQ_TABLE("evolution trace line", struct ad_evolve_trace, trace_cols);

static const struct sq_stmt run_insert = {
    &run_table, "INSERT INTO evolve_runs ({icols}) VALUES ({params})",
};
static const struct sq_stmt run_update = {
    &run_table, "UPDATE evolve_runs SET {set} WHERE tenant_id = :tenant_id AND id = :id",
};
static const struct sq_stmt run_get = {
    &run_table, "SELECT {cols} FROM evolve_runs WHERE tenant_id = ?1 AND id = ?2",
};
static const struct sq_stmt run_list = {
    &run_table, "SELECT {cols} FROM evolve_runs WHERE tenant_id = ?1"
                " ORDER BY created_at DESC, id DESC LIMIT ?2",
};
/* The run must be the tenant's: the foreign key alone accepts any tenant's. */
static const struct sq_stmt program_insert = {
    &program_table, "INSERT INTO evolve_programs ({icols}) SELECT {params}"
                    " WHERE EXISTS (SELECT 1 FROM evolve_runs"
                    " WHERE tenant_id = :tenant_id AND id = :run_id)",
};
static const struct sq_stmt program_update = {
    &program_table, "UPDATE evolve_programs SET {set} WHERE tenant_id = :tenant_id AND id = :id",
};
static const struct sq_stmt program_list = {
    &program_table, "SELECT {cols} FROM evolve_programs WHERE tenant_id = ?1 AND run_id = ?2"
                    " ORDER BY generation, slot, id",
};
static const struct sq_stmt trace_insert = {
    &trace_table, "INSERT INTO evolve_trace ({icols}) SELECT {params}"
                  " WHERE EXISTS (SELECT 1 FROM evolve_runs"
                  " WHERE tenant_id = :tenant_id AND id = :run_id)",
};
static const struct sq_stmt trace_list = {
    &trace_table, "SELECT {cols} FROM evolve_trace WHERE tenant_id = ?1 AND run_id = ?2"
                  " AND seq > ?3 ORDER BY seq LIMIT ?4",
};

static int write_row(struct sqlite_store *s, const struct sq_stmt *def, const void *row,
                     const char *const *json, struct stmt_slot **q, struct ad_err *err)
{
    int rc = ad__sq_prepare(s, def, q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, *q, row, json, err);
    if (rc)
        ad__sq_put(*q);
    return rc;
}

static int sqlite_run_insert(struct ad_store *st, const struct ad_evolve_run *r,
                             const char *const json[1], struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = write_row(s, &run_insert, r, json, &q, err);

    return rc ? rc : ad__sq_step_insert(s, q, r->tenant_id, "insert evolution run", err);
}

static int sqlite_run_update(struct ad_store *st, const struct ad_evolve_run *r,
                             const char *const json[1], struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = write_row(s, &run_update, r, json, &q, err);

    return rc ? rc : ad__sq_step_changed(s, q, "evolution run", r->id, err);
}

static int sqlite_run_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_evolve_run *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &run_get, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get evolution run", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown evolution run '%s'", id);
    if (rc)
        ad_evolve_run_release(out);
    return rc;
}

static int sqlite_run_list(struct ad_store *st, const char *tenant_id, int limit,
                           struct ad_evolve_run **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_evolve_run *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &run_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 2, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list evolution runs", err);
    if (rc) {
        ad_evolve_run_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_program_insert(struct ad_store *st, const struct ad_evolve_program *p,
                                 const char *const json[2], struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed = 0;
    int rc = write_row(s, &program_insert, p, json, &q, err);

    if (!rc)
        rc = ad__sq_step_cond(s, q, "insert evolution program", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "run '%s' already has a program in generation %d, "
                                        "slot %d", p->run_id, p->generation, p->slot);
    if (rc || changed)
        return rc;
    return ad_error(err, AD_ENOTFOUND, "unknown evolution run '%s'", p->run_id);
}

static int sqlite_program_update(struct ad_store *st, const struct ad_evolve_program *p,
                                 const char *const json[2], struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = write_row(s, &program_update, p, json, &q, err);

    return rc ? rc : ad__sq_step_changed(s, q, "evolution program", p->id, err);
}

static int sqlite_program_list(struct ad_store *st, const char *tenant_id, const char *run_id,
                               struct ad_evolve_program **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_evolve_program *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &program_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, run_id, -1, SQLITE_STATIC);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count,
                        "list evolution programs", err);
    if (rc) {
        ad_evolve_program_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_trace_append(struct ad_store *st, const struct ad_evolve_trace *t,
                               const char *const json[1], struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed = 0;
    int rc = write_row(s, &trace_insert, t, json, &q, err);

    if (!rc)
        rc = ad__sq_step_cond(s, q, "append evolution trace", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "run '%s' already has trace line %lld", t->run_id,
                        (long long)t->seq);
    if (rc || changed)
        return rc;
    return ad_error(err, AD_ENOTFOUND, "unknown evolution run '%s'", t->run_id);
}

static int sqlite_trace_list(struct ad_store *st, const char *tenant_id, const char *run_id,
                             int64_t after_seq, int limit, struct ad_evolve_trace **out,
                             size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_evolve_trace *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &trace_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q->stmt, 3, after_seq);
    sqlite3_bind_int(q->stmt, 4, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list evolution trace",
                        err);
    if (rc) {
        ad_evolve_trace_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_trace_last(struct ad_store *st, const char *tenant_id, const char *run_id,
                             int64_t *seq, struct ad_err *err)
{
    return ad__sq_ints(ad__sq(st), "SELECT coalesce(max(seq), 0) FROM evolve_trace"
                                   " WHERE tenant_id = ?1 AND run_id = ?2",
                       tenant_id, run_id, seq, 1, "last evolution trace line", err);
}

const struct ad__evolve_ops ad__sqlite_evolve_ops = {
    .trace_last = sqlite_trace_last,
    .run_insert = sqlite_run_insert,
    .run_update = sqlite_run_update,
    .run_get = sqlite_run_get,
    .run_list = sqlite_run_list,
    .program_insert = sqlite_program_insert,
    .program_update = sqlite_program_update,
    .program_list = sqlite_program_list,
    .trace_append = sqlite_trace_append,
    .trace_list = sqlite_trace_list,
};
