/*
 * autodev skill: add, list, show, run, rollback, search, export, import.
 *
 * The catalog's policy (names, version numbers, schemas, bundles) lives in
 * the agent module (skill.h); this file parses options, looks things up so
 * that a wrong name is a usage error before the sandbox starts, and prints.
 *
 * Sections: shared helpers; JSON forms; add; list and search; show; run;
 * rollback; export and import.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/agent.h"
#include "autodev/alpha.h"
#include "autodev/json.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "cli.h"

#define SEARCH_DEFAULT 10
#define DESC_COLUMNS 60

/* ---- shared helpers --------------------------------------------------- */

static const char *str0(const char *s)
{
    return s ? s : "";
}

static int check_name(struct ad_ctx *ctx, const char *name)
{
    if (!ad_skill_name_valid(name))
        return ad__usage_error(ctx, "invalid skill name '%s': expected 1..64 of a-z, 0-9 and "
                               "'_', starting and ending with a letter or digit, no '__'",
                               name);
    return 0;
}

static int check_semver(struct ad_ctx *ctx, const char *opt, const char *s)
{
    if (!ad_semver_valid(s))
        return ad__usage_error(ctx, "invalid %s '%s': expected MAJOR.MINOR.PATCH", opt, s);
    return 0;
}

static int parse_timeout(struct ad_ctx *ctx, const char *s, struct ad_sandbox_limits *lim)
{
    int64_t v;

    if (ad__parse_int(ctx, "--timeout", s, 1, 86400, &v) != 0)
        return AD_EXIT_USAGE;
    lim->wall_ms = v * 1000;
    return 0;
}

/*
 * The JSON of --input TEXT or --input-file F (at most one of them) into
 * *out, NULL when neither is given. Input is capped like the columns that
 * record it, so a run is never refused after the fact.
 */
static int read_input(struct ad_ctx *ctx, const char *text, const char *path, json_t **out)
{
    *out = NULL;
    if (text && path)
        return ad__usage_error(ctx, "give --input or --input-file, not both");
    if (!text && !path)
        return 0;
    return ad__json_arg(ctx, "--input", text, path, out);
}

/* The skill named name, with version semver (NULL: the current one). */
static int lookup(struct ad_ctx *ctx, const char *name, const char *semver, struct ad_skill *s,
                  struct ad_skill_version *v)
{
    struct ad_err err = AD_ERR_INIT;
    int rc = ad_catalog_get(ctx->store, ctx->tenant_id, name, semver, s, v, &err);

    if (rc == AD_ENOTFOUND && !semver)
        return ad__usage_error(ctx, "unknown skill '%s'", name);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

/* The semver of s's current version into out; "-" when it cannot be read. */
static void current_semver(struct ad_ctx *ctx, const struct ad_skill *s,
                           char out[AD_SEMVER_SIZE])
{
    struct ad_skill_version v = { 0 };

    snprintf(out, AD_SEMVER_SIZE, "-");
    if (s->current_version_id[0] &&
        ad_catalog_version_get(ctx->store, ctx->tenant_id, s->current_version_id, &v,
                               NULL) == 0)
        snprintf(out, AD_SEMVER_SIZE, "%s", v.semver);
    ad_skill_version_release(&v);
}

static void print_block(FILE *out, const char *label, const char *text)
{
    fprintf(out, "%s\n", label);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        fprintf(out, "    %.*s\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

/* ---- JSON forms ------------------------------------------------------- */

static json_t *skill_json(const struct ad_skill *s, const char *semver)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:O?, s:s, s:s?, s:s, s:s, s:s}",
                     "id", s->id, "name", str0(s->name), "description", str0(s->description),
                     "entry_function", str0(s->entry_function), "input_schema", s->input_schema,
                     "status", str0(s->status), "version", semver,
                     "current_version_id", s->current_version_id,
                     "created_at", s->created_at, "updated_at", s->updated_at);
}

static json_t *version_json(const struct ad_skill_version *v, const char *parent_semver,
                            int current, int with_code)
{
    const char *origin = ad_skill_origin_name(v->origin);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:b, s:s}",
                          "id", v->id, "semver", v->semver, "origin", origin ? origin : "?",
                          "origin_id", v->origin_id,
                          "parent_version_id",
                          v->parent_version_id[0] ? v->parent_version_id : NULL,
                          "parent_semver", parent_semver, "current", current,
                          "created_at", v->created_at);

    if (j && with_code && json_object_set_new(j, "code", json_string(str0(v->code))) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* The semver of the version with id in vs, or NULL. */
static const char *semver_of(const struct ad_skill_version *vs, size_t n, const char *id)
{
    for (size_t i = 0; id[0] && i < n; i++) {
        if (!strcmp(vs[i].id, id))
            return vs[i].semver;
    }
    return NULL;
}

/* ---- add ---------------------------------------------------------------- */

/* --schema FILE: a JSON object that can describe a tool's parameters. */
static int read_schema(struct ad_ctx *ctx, const char *path, json_t **out)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf b;
    int rc;

    *out = NULL;
    ad_buf_init(&b, AD_JSON_FIELD_MAX);
    rc = ad__read_path(ctx, path, &b);
    if (rc != 0) {
        ad_buf_release(&b);
        return rc;
    }
    rc = ad_json_parse(b.ptr, b.len, AD_JSON_FIELD_MAX, out, &err);
    ad_buf_release(&b);
    if (rc == 0)
        rc = ad_skill_schema_check(*out, &err);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
        return ad__die_code(ctx, rc, "--schema '%s': %s", path, err.msg);
    }
    return 0;
}

static int print_added(struct ad_ctx *ctx, const char *verb, const struct ad_skill *s,
                       const struct ad_skill_version *v)
{
    json_t *j;

    if (!ctx->json) {
        fprintf(ctx->out, "%s %s %s (%s)\n", verb, s->name, v->semver, v->id);
        return 0;
    }
    j = json_pack("{s:o, s:o}", "skill", skill_json(s, v->semver), "version",
                  version_json(v, NULL, 1, 0));
    return ad__print_json(ctx, j);
}

/* Adds a; the skill and version added go to s and v. */
static int catalog_add(struct ad_ctx *ctx, const struct ad_skill_add *a, struct ad_skill *s,
                       struct ad_skill_version *v, const char *hint)
{
    struct ad_err err = AD_ERR_INIT;
    int rc = ad_catalog_add(ctx->store, a, s, v, &err);

    if (rc == AD_EEXIST && a->semver)
        return ad__die_code(ctx, rc, "skill '%s' already has version %s%s", a->name, a->semver,
                            hint);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

static int skill_add(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "name", required_argument, NULL, 'n' },
        { "entry", required_argument, NULL, 'e' },
        { "description", required_argument, NULL, 'd' },
        { "schema", required_argument, NULL, 's' },
        { "version", required_argument, NULL, 'v' },
        { "major", no_argument, NULL, 'M' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_skill_add a = { .origin = AD_ORIGIN_MANUAL, .bump = AD_BUMP_MINOR };
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_buf code;
    const char *schema_path = NULL;
    json_t *schema = NULL;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'n': a.name = optarg; break;
        case 'e': a.entry = optarg; break;
        case 'd': a.description = optarg; break;
        case 's': schema_path = optarg; break;
        case 'v': a.semver = optarg; break;
        case 'M': a.bump = AD_BUMP_MAJOR; break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return ad__usage_error(ctx, "usage: autodev skill add FILE --name NAME --entry FUNCTION");
    if (!a.name)
        return ad__usage_error(ctx, "skill add needs --name NAME");
    if (!a.entry)
        return ad__usage_error(ctx, "skill add needs --entry FUNCTION");
    if (check_name(ctx, a.name) != 0 ||
        (a.semver && check_semver(ctx, "--version", a.semver) != 0))
        return AD_EXIT_USAGE;
    if (a.semver && a.bump == AD_BUMP_MAJOR)
        return ad__usage_error(ctx, "--version and --major exclude each other");

    ad_buf_init(&code, AD_SKILL_CODE_MAX);
    rc = ad__read_path(ctx, argv[optind], &code);
    if (rc == 0 && schema_path)
        rc = read_schema(ctx, schema_path, &schema);
    if (rc == 0)
        rc = ad__ctx_tenant(ctx, 1);
    if (rc != 0)
        goto out;
    a.tenant_id = ctx->tenant_id;
    a.code = code.ptr;
    a.code_len = code.len;
    a.input_schema = schema;
    rc = catalog_add(ctx, &a, &s, &v, "");
    if (rc == 0)
        rc = print_added(ctx, "added", &s, &v);
out:
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    json_decref(schema);
    ad_buf_release(&code);
    return rc;
}

/* ---- list and search ---------------------------------------------------- */

struct row {
    const struct ad_skill *s;
    char semver[AD_SEMVER_SIZE];
    double score;   /* search only */
};

static void print_rows(struct ad_ctx *ctx, const struct row *r, size_t n, int scored)
{
    int wname = 4, wver = 7;

    for (size_t i = 0; i < n; i++) {
        int ln = (int)strlen(str0(r[i].s->name)), lv = (int)strlen(r[i].semver);

        wname = ln > wname ? ln : wname;
        wver = lv > wver ? lv : wver;
    }
    if (n > 0) {
        if (scored)
            fprintf(ctx->out, "%9s  ", "SCORE");
        ad__print_header(ctx, "%-*s  %-*s  %-10s  %s", wname, "NAME", wver, "VERSION", "STATUS",
                         "DESCRIPTION");
    }
    for (size_t i = 0; i < n; i++) {
        if (scored)
            fprintf(ctx->out, "%9.3g  ", r[i].score);
        fprintf(ctx->out, "%-*s  %-*s  %-10s  ", wname, r[i].s->name, wver, r[i].semver,
                str0(r[i].s->status));
        ad__print_clipped(ctx->out, str0(r[i].s->description), DESC_COLUMNS);
        fputc('\n', ctx->out);
    }
}

static int print_row_json(struct ad_ctx *ctx, const struct row *r, size_t n, int scored)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < n; i++) {
        json_t *j = skill_json(r[i].s, r[i].semver);

        if (j && scored && json_object_set_new(j, "score", json_real(r[i].score)) < 0) {
            json_decref(j);
            j = NULL;
        }
        if (json_array_append_new(arr, j) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return ad__print_json(ctx, arr);
}

/* Prints skills (and their search scores) with each one's current version. */
static int print_skills(struct ad_ctx *ctx, const struct ad_skill *skills,
                        const struct ad_skill_hit *hits, size_t n)
{
    struct row *rows = calloc(n ? n : 1, sizeof(*rows));
    int rc = 0;

    if (!rows)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        rows[i].s = hits ? &hits[i].skill : &skills[i];
        rows[i].score = hits ? hits[i].score : 0;
        current_semver(ctx, rows[i].s, rows[i].semver);
    }
    if (ctx->json)
        rc = print_row_json(ctx, rows, n, hits != NULL);
    else
        print_rows(ctx, rows, n, hits != NULL);
    free(rows);
    return rc;
}

static int parse_limit(struct ad_ctx *ctx, int argc, char **argv, int64_t *limit)
{
    static const struct option longopts[] = {
        { "limit", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c == '?')
            return AD_EXIT_USAGE;
        if (c == 'l' && ad__parse_int(ctx, "--limit", optarg, 1, AD_LIST_MAX, limit) != 0)
            return AD_EXIT_USAGE;
    }
    return 0;
}

static int skill_list(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill *v = NULL;
    int64_t limit = AD_LIST_DEFAULT;
    size_t n = 0;
    int rc;

    if (parse_limit(ctx, argc, argv, &limit) != 0)
        return AD_EXIT_USAGE;
    if (optind < argc)
        return ad__usage_error(ctx, "skill list takes no argument");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc != 0)
        return rc;
    if (ad_catalog_list(ctx->store, ctx->tenant_id, NULL, (int)limit, &v, &n, &err) < 0)
        return ad__die_err(ctx, &err);
    rc = print_skills(ctx, v, NULL, n);
    ad_skill_list_free(v, n);
    return rc;
}

static int skill_search(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf q = AD_BUF_INIT;
    struct ad_skill_hit *hits = NULL;
    int64_t limit = SEARCH_DEFAULT;
    size_t n = 0;
    int rc;

    if (parse_limit(ctx, argc, argv, &limit) != 0)
        return AD_EXIT_USAGE;
    if (optind >= argc)
        return ad__usage_error(ctx, "usage: autodev skill search TEXT... [--limit N]");
    ad_buf_init(&q, AD_TASK_DESC_MAX);
    for (int i = optind; i < argc; i++) {
        if ((i > optind && ad_buf_addch(&q, ' ') < 0) || ad_buf_adds(&q, argv[i]) < 0) {
            ad_buf_release(&q);
            return ad__usage_error(ctx, "search text longer than %d bytes", AD_TASK_DESC_MAX);
        }
    }
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0 && ad_catalog_search(ctx->store, ctx->tenant_id, q.ptr, (int)limit, &hits, &n,
                                     &err) < 0)
        rc = ad__die_err(ctx, &err);
    else if (rc == 0)
        rc = print_skills(ctx, NULL, hits, n);
    ad_skill_hits_free(hits, n);
    ad_buf_release(&q);
    return rc;
}

/* ---- show --------------------------------------------------------------- */

static void print_show_text(struct ad_ctx *ctx, const struct ad_skill *s,
                            const struct ad_skill_version *v,
                            const struct ad_skill_version *vs, size_t n)
{
    FILE *out = ctx->out;
    char *schema = s->input_schema ? ad_json_dumps(s->input_schema) : NULL;
    char label[AD_SEMVER_SIZE + 16];

    fprintf(out, "%-13s%s\n", "name", s->name);
    fprintf(out, "%-13s%s\n", "id", s->id);
    fprintf(out, "%-13s%s\n", "description", str0(s->description));
    fprintf(out, "%-13s%s\n", "entry", str0(s->entry_function));
    fprintf(out, "%-13s%s\n", "status", str0(s->status));
    fprintf(out, "%-13s%s\n", "current", str0(semver_of(vs, n, s->current_version_id)));
    fprintf(out, "%-13s%s\n", "created", s->created_at);
    fprintf(out, "%-13s%s\n", "updated", s->updated_at);
    fprintf(out, "%-13s%s\n", "input schema", schema ? schema : "-");
    free(schema);
    fprintf(out, "versions (newest first; * current):\n");
    for (size_t i = n; i-- > 0;) {
        const char *parent = semver_of(vs, n, vs[i].parent_version_id);
        const char *origin = ad_skill_origin_name(vs[i].origin);

        fprintf(out, "  %c %-10s %-9s %s  %s%s\n",
                strcmp(vs[i].id, s->current_version_id) ? ' ' : '*', vs[i].semver,
                origin ? origin : "?", vs[i].created_at, parent ? "parent " : "first version",
                parent ? parent : "");
    }
    snprintf(label, sizeof(label), "code of %s:", v->semver);
    print_block(out, label, str0(v->code));
}

static int print_show_json(struct ad_ctx *ctx, const struct ad_skill *s,
                           const struct ad_skill_version *v,
                           const struct ad_skill_version *vs, size_t n)
{
    json_t *arr = json_array();
    const char *cur = semver_of(vs, n, s->current_version_id);

    for (size_t i = 0; arr && i < n; i++) {
        json_t *j = version_json(&vs[i], semver_of(vs, n, vs[i].parent_version_id),
                                 !strcmp(vs[i].id, s->current_version_id), 0);

        if (json_array_append_new(arr, j) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (!arr)
        return ad__print_json(ctx, NULL);
    return ad__print_json(ctx, json_pack("{s:o, s:o, s:o}", "skill", skill_json(s, cur),
                                         "version",
                                         version_json(v, semver_of(vs, n, v->parent_version_id),
                                                      !strcmp(v->id, s->current_version_id), 1),
                                         "versions", arr));
}

static int skill_show(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "version", required_argument, NULL, 'v' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 }, *vs = NULL;
    const char *semver = NULL;
    size_t n = 0;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c == '?')
            return AD_EXIT_USAGE;
        if (c == 'v')
            semver = optarg;
    }
    if (argc - optind != 1)
        return ad__usage_error(ctx, "usage: autodev skill show NAME [--version V]");
    if (check_name(ctx, argv[optind]) != 0 ||
        (semver && check_semver(ctx, "--version", semver) != 0))
        return AD_EXIT_USAGE;
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0)
        rc = lookup(ctx, argv[optind], semver, &s, &v);
    if (rc != 0)
        return rc;
    if (ad_catalog_versions(ctx->store, ctx->tenant_id, s.id, &vs, &n, &err) < 0)
        rc = ad__die_err(ctx, &err);
    else if (ctx->json)
        rc = print_show_json(ctx, &s, &v, vs, n);
    else
        print_show_text(ctx, &s, &v, vs, n);
    ad_skill_version_list_free(vs, n);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}

/* ---- run ---------------------------------------------------------------- */

/* What one run did, whichever way it ran. Everything borrowed. */
struct run_view {
    const char *skill;
    const char *semver;
    const char *status;
    bool success;
    const json_t *output;
    const char *error;          /* NULL when the run succeeded */
    const char *execution_id;
    const char *episode_id;     /* NULL without --agent */
    int64_t wall_ms;
};

static int print_run_json(struct ad_ctx *ctx, const struct run_view *r)
{
    const char *xid = r->execution_id[0] ? r->execution_id : NULL;

    return ad__print_json(ctx, json_pack("{s:s, s:s, s:s, s:b, s:O?, s:s?, s:s?, s:s?, s:I}",
                                         "skill", r->skill, "semver", r->semver,
                                         "status", r->status, "success", r->success,
                                         "output", r->output, "error", r->error,
                                         "execution_id", xid, "episode_id", r->episode_id,
                                         "wall_ms", (json_int_t)r->wall_ms));
}

/* Prints the run; a failed one also gets its one-line error and exit 1. */
static int print_run(struct ad_ctx *ctx, const struct run_view *r)
{
    struct ad_str line;
    int rc = 0;

    if (ctx->json) {
        rc = print_run_json(ctx, r);
    } else {
        char *out = ad_json_dumps(r->output ? r->output : json_null());

        fprintf(ctx->out, "%-11s%s %s\n", "skill", r->skill, r->semver);
        fprintf(ctx->out, "%-11s%s (%" PRId64 " ms)\n", "status", r->status, r->wall_ms);
        fprintf(ctx->out, "%-11s%s\n", "output", out ? out : "?");
        if (r->execution_id[0])
            fprintf(ctx->out, "%-11s%s\n", "execution", r->execution_id);
        if (r->episode_id)
            fprintf(ctx->out, "%-11s%s\n", "episode", r->episode_id);
        if (r->error)
            print_block(ctx->out, "error:", r->error);
        free(out);
    }
    if (rc != 0 || r->success)
        return rc;
    line = ad_str_last_line(r->error ? r->error : "the run failed");
    return ad__die_code(ctx, AD_EIO, "skill '%s' %s failed: %.*s", r->skill, r->semver,
                        (int)line.len, line.ptr);
}

/* Runs v of s and records the execution, with no agent and no episode. */
static int run_direct(struct ad_ctx *ctx, struct ad_sandbox *sb, const struct ad_skill *s,
                      const struct ad_skill_version *v, const json_t *input,
                      const struct ad_sandbox_limits *lim)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_sandbox_result res;
    struct run_view view = { 0 };
    char xid[AD_ID_SIZE] = "";
    char *error = NULL;
    int rc;

    memset(&res, 0, sizeof(res));
    rc = ad_skill_execute(sb, s, v, input, lim, &res, &err);
    if (rc == 0)
        rc = ad_skill_execution_record(ctx->store, ctx->bus, s, v, NULL, NULL, input, &res, 0,
                                       xid, &err);
    if (rc < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    error = ad_skill_result_error(&res);
    view.skill = s->name;
    view.semver = v->semver;
    view.status = ad_sb_status_name(res.status);
    view.success = res.status == AD_SB_OK;
    view.output = res.output;
    view.error = error;
    view.execution_id = xid;
    view.wall_ms = res.wall_ms;
    rc = print_run(ctx, &view);
out:
    free(error);
    ad_sandbox_result_clear(&res);
    return rc;
}

/* Runs the skill as a task of agent_id: an episode is recorded with the run. */
static int run_as_task(struct ad_ctx *ctx, struct ad_sandbox *sb, const char *agent_id,
                       const struct ad_skill *s, const char *semver, const json_t *input,
                       const struct ad_sandbox_limits *lim)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_task_outcome o;
    struct run_view view = { 0 };
    char desc[AD_NAME_MAX + 16], kind[AD_NAME_MAX + 16];
    struct ad_task t = {
        .tenant_id = ctx->tenant_id, .agent_id = agent_id, .description = desc,
        .task_kind = kind, .skill = s->name, .semver = semver, .input = input, .limits = lim,
    };
    int rc;

    snprintf(desc, sizeof(desc), "run skill %s", s->name);
    snprintf(kind, sizeof(kind), "skill.%s", s->name);
    memset(&o, 0, sizeof(o));
    ad_episode_init(&o.episode);
    rc = ad_task_run(ctx->store, ctx->bus, sb, &t, &o, &err);
    if (rc < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    view.skill = o.skill_name[0] ? o.skill_name : s->name;
    view.semver = o.semver;
    view.status = o.status[0] ? o.status : "-";
    view.success = o.episode.success;
    view.output = o.episode.output;
    view.error = o.episode.error_trace;
    view.execution_id = o.execution_id;
    view.episode_id = o.episode.id;
    view.wall_ms = (int64_t)(o.episode.execution_seconds * 1000.0 + 0.5);
    rc = print_run(ctx, &view);
out:
    ad_task_outcome_release(&o);
    return rc;
}

struct run_opts {
    const char *name, *input, *input_file, *semver, *agent;
    struct ad_sandbox_limits limits;
};

static int parse_run(struct ad_ctx *ctx, int argc, char **argv, struct run_opts *o)
{
    static const struct option longopts[] = {
        { "input", required_argument, NULL, 'i' },
        { "input-file", required_argument, NULL, 'I' },
        { "version", required_argument, NULL, 'v' },
        { "agent", required_argument, NULL, 'a' },
        { "timeout", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'i': o->input = optarg; break;
        case 'I': o->input_file = optarg; break;
        case 'v': o->semver = optarg; break;
        case 'a': o->agent = optarg; break;
        case 't':
            if (parse_timeout(ctx, optarg, &o->limits) != 0)
                return AD_EXIT_USAGE;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return ad__usage_error(ctx, "usage: autodev skill run NAME [--input JSON | "
                               "--input-file F] [--version V] [--agent NAME]");
    if (check_name(ctx, argv[optind]) != 0 ||
        (o->semver && check_semver(ctx, "--version", o->semver) != 0))
        return AD_EXIT_USAGE;
    o->name = argv[optind];
    return 0;
}

static int skill_run(int argc, char **argv, struct ad_ctx *ctx)
{
    struct run_opts o = { 0 };
    struct ad_agent agent = { 0 };
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_sandbox *sb = NULL;
    json_t *input = NULL;
    int rc;

    rc = parse_run(ctx, argc, argv, &o);
    if (rc == 0)
        rc = read_input(ctx, o.input, o.input_file, &input);
    if (rc == 0)
        rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0 && o.agent)
        rc = ad__agent_lookup(ctx, o.agent, &agent);
    /* A wrong name or version is a usage error before any sandbox starts. */
    if (rc == 0)
        rc = lookup(ctx, o.name, o.semver, &s, &v);
    if (rc == 0)
        rc = ad__ctx_sandbox(ctx, &sb);
    if (rc == 0 && o.agent)
        rc = run_as_task(ctx, sb, agent.id, &s, o.semver, input, &o.limits);
    else if (rc == 0)
        rc = run_direct(ctx, sb, &s, &v, input, &o.limits);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    ad_agent_release(&agent);
    json_decref(input);
    return rc;
}

/* ---- rollback ----------------------------------------------------------- */

static int skill_rollback(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "to", required_argument, NULL, 'T' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    char was[AD_SEMVER_SIZE];
    const char *to = NULL, *name;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c == '?')
            return AD_EXIT_USAGE;
        if (c == 'T')
            to = optarg;
    }
    if (argc - optind != 1)
        return ad__usage_error(ctx, "usage: autodev skill rollback NAME --to V");
    name = argv[optind];
    if (!to)
        return ad__usage_error(ctx, "skill rollback needs --to V");
    if (check_name(ctx, name) != 0 || check_semver(ctx, "--to", to) != 0)
        return AD_EXIT_USAGE;
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = lookup(ctx, name, NULL, &s, &v);
    if (rc != 0)
        return rc;
    snprintf(was, sizeof(was), "%s", v.semver);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    if (ad_catalog_rollback(ctx->store, ctx->tenant_id, name, to, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        return ad__print_json(ctx, json_pack("{s:s, s:s, s:s}", "skill", name, "current", to,
                                             "previous", was));
    fprintf(ctx->out, "%s: current version is now %s (was %s)\n", name, to, was);
    return 0;
}

/* ---- evolve --------------------------------------------------------------- */

static int skill_evolve(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "agent", required_argument, NULL, 'a' },
        { "version", required_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_agent agent = { 0 };
    const char *agent_name = NULL, *semver = NULL, *name;
    char job_id[AD_ID_SIZE] = "";
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'a': agent_name = optarg; break;
        case 'V': semver = optarg; break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return ad__usage_error(ctx, "usage: autodev skill evolve NAME [--agent NAME] [--version V]");
    name = argv[optind];
    if (check_name(ctx, name) != 0 || (semver && check_semver(ctx, "--version", semver) != 0))
        return AD_EXIT_USAGE;
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = lookup(ctx, name, semver, &s, &v);
    if (rc == 0 && agent_name)
        rc = ad__agent_lookup(ctx, agent_name, &agent);
    if (rc == 0 && ad_alpha_enqueue(ctx->store, ctx->tenant_id, v.id, agent_name ? agent.id : NULL,
                                    AD_TRIGGER_MANUAL, job_id, &err) < 0) {
        if (err.code == AD_EEXIST && !ctx->json) {
            fprintf(ctx->out, "%s %s: an alpha.mutate job is already open: %s\n", name,
                    v.semver, job_id);
            rc = 0;
        } else {
            rc = ad__die_err(ctx, &err);
        }
    } else if (rc == 0 && ctx->json) {
        rc = ad__print_json(ctx, json_pack("{s:s, s:s, s:s}", "skill", name, "version",
                                           v.semver, "job_id", job_id));
    } else if (rc == 0) {
        fprintf(ctx->out, "%s %s: alpha.mutate job %s queued (run it with: autodev jobs run)\n",
                name, v.semver, job_id);
    }
    ad_agent_release(&agent);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}

/* ---- export and import -------------------------------------------------- */

/* The input schema of version v: the skill's for the current one, else its own. */
static json_t *schema_of(const struct ad_skill *s, const struct ad_skill_version *v)
{
    json_t *schema = NULL;

    if (strcmp(v->id, s->current_version_id) != 0 &&
        ad_skill_schema_derive(v->code, strlen(v->code), s->entry_function, &schema,
                               NULL) == 0)
        return schema;
    return json_incref(s->input_schema);
}

static int write_bundle(struct ad_ctx *ctx, const struct ad_skill *s,
                        const struct ad_skill_version *v, const char *dir, bool force)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_bundle b = { 0 };
    struct ad_buf path = AD_BUF_INIT;
    char script[AD_NAME_MAX + 8], folder[AD_NAME_MAX + 1], *desc = NULL;
    size_t dlen = strlen(dir);
    int rc;

    snprintf(script, sizeof(script), "%s.py", s->name);
    rc = ad_skill_name_to_agentskills(s->name, folder, sizeof(folder), &err);
    /* A kept folder goes back as it came, byte for byte. */
    if (rc == 0 && ad_skill_code_is_folder(v->code)) {
        rc = ad_skill_folder_write(v->code, folder, dir, force, &err);
        goto written;
    }
    /* The bundle borrows every string; of it only the schema is released. */
    b.name = s->name;
    /* The format wants 1..1024 characters, not blank; the catalog allows none and 4096. */
    desc = ad_skill_md_description(s->description, s->name, s->entry_function);
    if (!desc)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    b.description = desc;
    b.semver = (char *)v->semver;
    b.entry = s->entry_function;
    b.script = script;
    b.code = v->code;
    b.input_schema = schema_of(s, v);
    if (rc == 0)
        rc = ad_skill_bundle_write(&b, dir, force, &err);
    json_decref(b.input_schema);
    free(desc);
written:
    if (rc == AD_EEXIST)
        return ad__die_code(ctx, rc, "%s (use --force to replace it)", err.msg);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    if (ad_buf_addf(&path, "%.*s/%s", (int)dlen, dir, folder) < 0)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    if (ctx->json)
        rc = ad__print_json(ctx, json_pack("{s:s, s:s, s:s}", "path", path.ptr,
                                           "skill", s->name, "semver", v->semver));
    else
        fprintf(ctx->out, "%s\n", path.ptr);
    ad_buf_release(&path);
    return rc;
}

static int skill_export(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "version", required_argument, NULL, 'v' },
        { "force", no_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    const char *semver = NULL;
    bool force = false;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'v': semver = optarg; break;
        case 'f': force = true; break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (argc - optind != 2)
        return ad__usage_error(ctx, "usage: autodev skill export NAME DIR [--version V] "
                               "[--force]");
    if (check_name(ctx, argv[optind]) != 0 ||
        (semver && check_semver(ctx, "--version", semver) != 0))
        return AD_EXIT_USAGE;
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0)
        rc = lookup(ctx, argv[optind], semver, &s, &v);
    if (rc == 0)
        rc = write_bundle(ctx, &s, &v, argv[optind + 1], force);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}

static int import_bundle(struct ad_ctx *ctx, const char *dir)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_bundle b = { 0 };
    struct ad_skill_add a = { .origin = AD_ORIGIN_IMPORT };
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    char hint[512], *code = NULL;
    int rc;

    rc = ad_skill_bundle_read(dir, &b, &err);
    if (rc < 0) {
        const char *msg = err.msg;
        size_t n = strlen(dir);

        /* Say the folder once when the message starts with it already. */
        if (!strncmp(msg, dir, n) && msg[n] == ':' && msg[n + 1] == ' ')
            msg += n + 2;
        rc = ad__die_code(ctx, rc, "cannot import '%s': %s", dir, msg);
        goto out;
    }
    rc = ad__ctx_tenant(ctx, 1);
    if (rc != 0)
        goto out;
    a.tenant_id = ctx->tenant_id;
    a.name = b.name;
    a.description = b.description;
    /* A bundle that names no entry calls the function named like the skill. */
    a.entry = b.entry ? b.entry : b.name;
    /* A one-script folder's SKILL.md goes along, for an export byte for byte. */
    rc = ad_skill_bundle_catalog_code(&b, &code, &err);
    if (rc < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    a.code = code;
    a.input_schema = b.input_schema;
    a.semver = b.semver ? b.semver : "1.0.0";
    snprintf(hint, sizeof(hint), " (raise metadata.version in %s/SKILL.md to import it as a "
             "new version)", dir);
    rc = catalog_add(ctx, &a, &s, &v, hint);
    if (rc == 0)
        rc = print_added(ctx, "imported", &s, &v);
out:
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    ad_skill_bundle_release(&b);
    free(code);
    return rc;
}

static int skill_import(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_buf dir = AD_BUF_INIT;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev skill import DIR");
    if (ad_buf_adds(&dir, argv[1]) < 0)
        return ad__usage_error(ctx, "folder name too long: '%s'", argv[1]);
    /* "word-count/" names the folder word-count, whose name the bundle must carry. */
    while (dir.len > 1 && dir.ptr[dir.len - 1] == '/')
        dir.ptr[--dir.len] = '\0';
    rc = import_bundle(ctx, dir.ptr);
    ad_buf_release(&dir);
    return rc;
}

int cmd_skill(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "add", skill_add },
        { "list", skill_list },
        { "show", skill_show },
        { "run", skill_run },
        { "rollback", skill_rollback },
        { "evolve", skill_evolve },
        { "search", skill_search },
        { "export", skill_export },
        { "import", skill_import },
        { NULL, NULL },
    };

    return ad__run_sub("skill", subs, argc, argv, ctx);
}
