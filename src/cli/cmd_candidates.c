/*
 * autodev candidates: review the skills Memento-Skills wrote for repeated
 * failures: list, show, test, approve, reject, regenerate.
 *
 * The policy (what may be approved, the catalog version, the events) is the
 * library's (learn.h); this file looks the candidate up so that a wrong id
 * is a usage error, and prints.
 *
 * Sections: shared helpers; JSON forms; list; show; test; approve and
 * reject; regenerate.
 *
 * The patch risk: risk_score is a column, set when Memento inserts the
 * candidate; the reasons are the "risk" object Memento puts into
 * validation_result. show prints both, and --json gives the object as
 * "risk" (the score's tier alone when the candidate is not validated yet).
 */
#include "compat.h"

#include <getopt.h>
#include <math.h>
#include <pwd.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/risk.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "cli.h"

/* ---- shared helpers --------------------------------------------------- */

static const char *str0(const char *s)
{
    return s ? s : "";
}

/* The candidate id; a malformed or unknown one is a usage error. */
static int lookup(struct ad_ctx *ctx, const char *id, struct ad_skill_candidate *c)
{
    struct ad_err err = AD_ERR_INIT;
    int rc;

    ad_skill_candidate_init(c);
    if (!ad_id_valid(id))
        return ad__usage_error(ctx, "no candidate '%s'", id);
    rc = ad_candidates_get(ctx->store, ctx->tenant_id, id, c, &err);
    if (rc == AD_ENOTFOUND)
        return ad__usage_error(ctx, "no candidate '%s'", id);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

/*
 * A review the candidate's state forbids (approving a failed one) is the
 * user's mistake, not a runtime failure: exit 2 with the library's words.
 */
static int die_review(struct ad_ctx *ctx, const char *id, const struct ad_err *err)
{
    if (err->code == AD_ESTATE)
        return ad__usage_error(ctx, "%s", err->msg);
    if (err->code == AD_ENOTFOUND)
        return ad__usage_error(ctx, "no candidate '%s'", id);
    return ad__die_err(ctx, err);
}

/* --reviewer NAME, else the login name, else "cli". */
static int reviewer_of(struct ad_ctx *ctx, const char *given, char out[AD_NAME_MAX + 1])
{
    const struct passwd *pw;

    if (given) {
        if (!*given || strlen(given) > AD_NAME_MAX)
            return ad__usage_error(ctx, "invalid reviewer '%s': expected 1..%d bytes", given,
                                   AD_NAME_MAX);
        snprintf(out, AD_NAME_MAX + 1, "%s", given);
        return 0;
    }
    pw = getpwuid(getuid());
    snprintf(out, AD_NAME_MAX + 1, "%s", pw && pw->pw_name && *pw->pw_name ? pw->pw_name : "cli");
    return 0;
}


static void print_block(FILE *out, const char *indent, const char *text)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        fprintf(out, "%s%.*s\n", indent, (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

/* ---- JSON forms ------------------------------------------------------- */

static json_t *num_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

static const char *time_or_null(const char *t)
{
    return t[0] ? t : NULL;
}

/*
 * The candidate's patch risk: validation_result's "risk" when there is one,
 * else the level and score of its risk_score, else JSON null. A new
 * reference, NULL only when out of memory.
 */
static json_t *risk_of(const struct ad_skill_candidate *c)
{
    json_t *r = json_object_get(c->validation_result, "risk");

    if (json_is_object(r))
        return json_incref(r);
    if (isnan(c->risk_score))
        return json_null();
    return json_pack("{s:s, s:f}", "level",
                     ad_risk_level_name(ad_risk_level_of_score(c->risk_score)), "score",
                     c->risk_score);
}

/* The candidate; with full, its code, failure pattern, validation and risk too. */
static json_t *candidate_json(const struct ad_skill_candidate *c, const char *agent, int full)
{
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:o, s:s?, s:s?,"
                          " s:s?, s:o, s:s, s:s?, s:s?}",
                          "id", c->id, "skill_name", str0(c->skill_name),
                          "skill_description", c->skill_description,
                          "status", ad_candidate_status_name(c->status),
                          "review_status", ad_review_status_name(c->review_status),
                          "agent_id", c->agent_id[0] ? c->agent_id : NULL, "agent", agent,
                          "source_episode_id",
                          c->source_episode_id[0] ? c->source_episode_id : NULL,
                          "fitness_score", num_or_null(c->fitness_score),
                          "reviewed_by", c->reviewed_by,
                          "reviewed_at", time_or_null(c->reviewed_at),
                          "reason", c->reason, "risk_score", num_or_null(c->risk_score),
                          "created_at", c->created_at,
                          "validated_at", time_or_null(c->validated_at),
                          "promoted_at", time_or_null(c->promoted_at));

    if (j && full &&
        (json_object_set_new(j, "generated_code", json_string(str0(c->generated_code))) < 0 ||
         json_object_set(j, "failure_pattern",
                         c->failure_pattern ? c->failure_pattern : json_null()) < 0 ||
         json_object_set(j, "validation_result",
                         c->validation_result ? c->validation_result : json_null()) < 0 ||
         json_object_set_new(j, "risk", risk_of(c)) < 0)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- list --------------------------------------------------------------- */

static int parse_status(struct ad_ctx *ctx, const char *s, unsigned *mask)
{
    enum ad_candidate_status st;

    if (ad_candidate_status_parse(s, &st) < 0)
        return ad__usage_error(ctx, "invalid status '%s': expected pending, validating, "
                               "validated, failed, promoted or rejected", s);
    *mask |= 1u << st;
    return 0;
}

#define CANDIDATE_ROW "%-36s  %-10s  %-13s  %-24s  %-16s  %s"

static void print_candidate_line(struct ad_ctx *ctx, const struct ad_skill_candidate *c,
                                 const char *agent)
{
    const char *review = ad_review_status_name(c->review_status);

    fprintf(ctx->out, CANDIDATE_ROW "\n", c->id,
            ad_candidate_status_name(c->status), review ? review : "-", str0(c->skill_name),
            agent ? agent : "-", c->created_at);
}

static int print_candidates(struct ad_ctx *ctx, const struct ad_skill_candidate *v, size_t n)
{
    struct ad_name_cache names = { 0 };
    json_t *arr = ctx->json ? json_array() : NULL;
    int rc = 0;

    if (!ctx->json && n > 0)
        ad__print_header(ctx, CANDIDATE_ROW, "ID", "STATUS", "REVIEW", "SKILL", "AGENT",
                         "CREATED");
    for (size_t i = 0; i < n; i++) {
        const char *agent = ad__agent_name(ctx, &names, v[i].agent_id);

        if (!ctx->json)
            print_candidate_line(ctx, &v[i], agent);
        else if (arr && json_array_append_new(arr, candidate_json(&v[i], agent, 0)) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (ctx->json)
        rc = ad__print_json(ctx, arr);
    ad__name_cache_release(&names);
    return rc;
}

static int candidates_list(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "status", required_argument, NULL, 's' },
        { "agent", required_argument, NULL, 'a' },
        { "limit", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_candidate_filter f = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    struct ad_skill_candidate *v = NULL;
    const char *agent = NULL;
    int64_t limit = AD_LIST_DEFAULT;
    size_t n = 0;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'a': agent = optarg; break;
        case 's':
            if (parse_status(ctx, optarg, &f.status_mask) != 0)
                return AD_EXIT_USAGE;
            break;
        case 'l':
            if (ad__parse_int(ctx, "--limit", optarg, 1, AD_LIST_MAX, &limit) != 0)
                return AD_EXIT_USAGE;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "candidates list takes no argument");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0 && agent)
        rc = ad__agent_lookup(ctx, agent, &a);
    if (rc != 0)
        return rc;
    f.agent_id = agent ? a.id : NULL;
    f.limit = (int)limit;
    if (ad_candidates_list(ctx->store, ctx->tenant_id, &f, &v, &n, &err) < 0)
        rc = ad__die_err(ctx, &err);
    else
        rc = print_candidates(ctx, v, n);
    ad_skill_candidate_list_free(v, n);
    ad_agent_release(&a);
    return rc;
}

/* ---- show --------------------------------------------------------------- */

/* "label  value" for a JSON value, compact and on one line. */
static void print_json_line(FILE *out, const char *label, const json_t *v)
{
    char *s = v ? ad_json_dumps(v) : NULL;

    fprintf(out, "  %-12s", label);
    ad__print_clipped(out, s ? s : "-", 200);
    fputc('\n', out);
    free(s);
}

/*
 * Inputs with what they should give: an "expected" member is shown, a JSON
 * null included (the function must return None); none means the episode
 * recorded none, and only running is checked.
 */
static void print_examples(FILE *out, const char *what, const json_t *examples)
{
    const json_t *v;
    size_t i;

    json_array_foreach(examples, i, v) {
        char label[32];

        snprintf(label, sizeof(label), "%s %zu", what, i + 1);
        print_json_line(out, label, json_object_get(v, "input"));
        if (json_object_get(v, "expected"))
            print_json_line(out, "  expected", json_object_get(v, "expected"));
    }
}

static void print_pattern(FILE *out, const json_t *fp)
{
    const json_t *ids = json_object_get(fp, "episode_ids");
    const json_t *examples = json_object_get(fp, "examples");
    const json_t *v;
    size_t i;

    fputs("failure pattern:\n", out);
    if (!json_is_object(fp)) {
        fputs("  (none recorded)\n", out);
        return;
    }
    fprintf(out, "  %-12s", "task");
    ad__print_clipped(out, str0(ad_json_str(fp, "task")), 200);
    fputc('\n', out);
    fprintf(out, "  %-12s%s\n", "task kind",
            ad_json_str(fp, "task_kind") ? ad_json_str(fp, "task_kind") : "-");
    fprintf(out, "  %-12s%s\n", "error type",
            ad_json_str(fp, "error_type") ? ad_json_str(fp, "error_type") : "-");
    fprintf(out, "  %-12s", "episodes");
    json_array_foreach(ids, i, v)
        fprintf(out, "%s%s", i ? ", " : "", str0(json_string_value(v)));
    fputs(json_array_size(ids) ? "\n" : "-\n", out);
    print_json_line(out, "tools", json_object_get(fp, "tools_attempted"));
    if (ad_json_str(fp, "proposer"))
        fprintf(out, "  %-12s%s\n", "proposer", ad_json_str(fp, "proposer"));
    if (json_is_integer(json_object_get(fp, "made_from")))
        fprintf(out, "  %-12s%" JSON_INTEGER_FORMAT " example(s)\n", "made from",
                json_integer_value(json_object_get(fp, "made_from")));
    print_examples(out, "example", examples);
    print_examples(out, "held-out", json_object_get(fp, "held_out"));
}

static void print_validation(FILE *out, const json_t *vr)
{
    const json_t *checks = json_object_get(vr, "checks");
    const json_t *ck;
    size_t i;

    fputs("validation:", out);
    if (!json_is_object(vr)) {
        fputs(" not run yet\n", out);
        return;
    }
    fprintf(out, " %s\n", ad_json_str(vr, "summary") ? ad_json_str(vr, "summary") : "-");
    json_array_foreach(checks, i, ck) {
        const char *e = ad_json_str(ck, "error");

        fprintf(out, "  %-7s %s\n", json_is_true(json_object_get(ck, "ok")) ? "ok" : "failed",
                str0(ad_json_str(ck, "name")));
        if (e && *e)
            print_block(out, "          ", e);
    }
    /* What a pass is worth: few examples, no input it was not made from. */
    json_array_foreach(json_object_get(vr, "warnings"), i, ck)
        fprintf(out, "  caution %s\n", str0(json_string_value(ck)));
}

/*
 * "risk  HIGH 0.62", then one line per reason: its level, line (or "-" for
 * the whole code), rule and detail.
 */
static void print_risk(FILE *out, const struct ad_skill_candidate *c)
{
    const json_t *r = json_object_get(c->validation_result, "risk"), *v;
    size_t i;

    fprintf(out, "%-13s", "risk");
    if (isnan(c->risk_score) && !json_is_object(r)) {
        fputs("-\n", out);
        return;
    }
    if (!json_is_object(r)) {
        fprintf(out, "%s %.2f (its reasons come with the validation)\n",
                ad_risk_level_name(ad_risk_level_of_score(c->risk_score)), c->risk_score);
        return;
    }
    fprintf(out, "%s %.2f\n", str0(ad_json_str(r, "level")),
            json_number_value(json_object_get(r, "score")));
    json_array_foreach(json_object_get(r, "reasons"), i, v) {
        json_int_t line = json_integer_value(json_object_get(v, "line"));
        char where[32] = "-";

        if (line > 0)
            snprintf(where, sizeof(where), "line %" JSON_INTEGER_FORMAT, line);
        fprintf(out, "  %-8s  %-10s %s: ", str0(ad_json_str(v, "level")), where,
                str0(ad_json_str(v, "rule")));
        ad__print_clipped(out, str0(ad_json_str(v, "detail")), 200);
        fputc('\n', out);
    }
    if (json_integer_value(json_object_get(r, "findings")) > (json_int_t)i)
        fprintf(out, "  ... %" JSON_INTEGER_FORMAT " findings in all\n",
                json_integer_value(json_object_get(r, "findings")));
}

static void print_show_text(struct ad_ctx *ctx, const struct ad_skill_candidate *c,
                            const char *agent)
{
    FILE *out = ctx->out;
    const char *review = ad_review_status_name(c->review_status);

    fprintf(out, "%-13s%s\n", "id", c->id);
    fprintf(out, "%-13s%s\n", "skill", str0(c->skill_name));
    fprintf(out, "%-13s", "description");
    ad__print_clipped(out, str0(c->skill_description), 200);
    fputc('\n', out);
    fprintf(out, "%-13s%s\n", "status", ad_candidate_status_name(c->status));
    fprintf(out, "%-13s%s", "review", review ? review : "-");
    if (c->reviewed_by)
        fprintf(out, " by %s at %s", c->reviewed_by, c->reviewed_at[0] ? c->reviewed_at : "-");
    fputc('\n', out);
    if (c->reason)
        fprintf(out, "%-13s%s\n", "reason", c->reason);
    fprintf(out, "%-13s%s\n", "agent", agent ? agent : "-");
    fprintf(out, "%-13s%s\n", "created", c->created_at);
    fprintf(out, "%-13s%s\n", "validated", c->validated_at[0] ? c->validated_at : "-");
    fprintf(out, "%-13s%s\n", "promoted", c->promoted_at[0] ? c->promoted_at : "-");
    print_risk(out, c);
    print_pattern(out, c->failure_pattern);
    print_validation(out, c->validation_result);
    fputs("code:\n", out);
    print_block(out, "    ", str0(c->generated_code));
}

static int candidates_show(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_name_cache names = { 0 };
    struct ad_skill_candidate c;
    const char *agent;
    int rc;

    ad_skill_candidate_init(&c);
    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev candidates show ID");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0)
        rc = lookup(ctx, argv[1], &c);
    if (rc != 0) {
        ad_skill_candidate_release(&c);
        return rc;
    }
    agent = ad__agent_name(ctx, &names, c.agent_id);
    if (ctx->json)
        rc = ad__print_json(ctx, candidate_json(&c, agent, 1));
    else
        print_show_text(ctx, &c, agent);
    ad__name_cache_release(&names);
    ad_skill_candidate_release(&c);
    return rc;
}

/* ---- test --------------------------------------------------------------- */

/* Prints a trial run like 'skill run' does; a failed one also exits 1. */
static int print_try(struct ad_ctx *ctx, const struct ad_skill_candidate *c,
                     const struct ad_sandbox_result *res)
{
    char *error = res->status == AD_SB_OK ? NULL : ad_skill_result_error(res);
    struct ad_str line;
    int rc = 0;

    if (ctx->json) {
        rc = ad__print_json(ctx, json_pack("{s:s, s:s, s:s, s:b, s:O?, s:s?, s:I}",
                                           "candidate_id", c->id, "skill_name",
                                           str0(c->skill_name), "status",
                                           ad_sb_status_name(res->status), "success",
                                           res->status == AD_SB_OK, "output", res->output,
                                           "error", error, "wall_ms", (json_int_t)res->wall_ms));
    } else {
        char *out = ad_json_dumps(res->output ? res->output : json_null());

        fprintf(ctx->out, "%-11s%s (%s)\n", "candidate", c->id, str0(c->skill_name));
        fprintf(ctx->out, "%-11s%s (%" PRId64 " ms)\n", "status",
                ad_sb_status_name(res->status), res->wall_ms);
        fprintf(ctx->out, "%-11s%s\n", "output", out ? out : "?");
        if (error) {
            fputs("error:\n", ctx->out);
            print_block(ctx->out, "    ", error);
        }
        free(out);
    }
    if (rc == 0 && res->status != AD_SB_OK) {
        line = ad_str_last_line(error ? error : "the run failed");
        rc = ad__die_code(ctx, AD_EIO, "candidate %s failed: %.*s", c->id, (int)line.len,
                          line.ptr);
    }
    free(error);
    return rc;
}

static int parse_test(struct ad_ctx *ctx, int argc, char **argv, json_t **input,
                      struct ad_sandbox_limits *lim)
{
    static const struct option longopts[] = {
        { "input", required_argument, NULL, 'i' },
        { "input-file", required_argument, NULL, 'I' },
        { "timeout", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    const char *text = NULL, *path = NULL;
    int64_t secs;
    int c;

    *input = NULL;
    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'i': text = optarg; break;
        case 'I': path = optarg; break;
        case 't':
            if (ad__parse_int(ctx, "--timeout", optarg, 1, 86400, &secs) != 0)
                return AD_EXIT_USAGE;
            lim->wall_ms = secs * 1000;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return ad__usage_error(ctx, "usage: autodev candidates test ID [--input JSON | "
                               "--input-file F]");
    if (text && path)
        return ad__usage_error(ctx, "give --input or --input-file, not both");
    if (text || path)
        return ad__json_arg(ctx, "--input", text, path, input);
    return 0;
}

static int candidates_test(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_sandbox_limits lim = { 0 };
    struct ad_sandbox_result res;
    struct ad_skill_candidate c;
    struct ad_sandbox *sb = NULL;
    json_t *input = NULL;
    int rc;

    ad_skill_candidate_init(&c);
    memset(&res, 0, sizeof(res));
    rc = parse_test(ctx, argc, argv, &input, &lim);
    if (rc == 0)
        rc = ad__ctx_tenant(ctx, 0);
    /* A wrong id is a usage error before any sandbox starts. */
    if (rc == 0)
        rc = lookup(ctx, argv[optind], &c);
    if (rc == 0)
        rc = ad__ctx_sandbox(ctx, &sb);
    if (rc != 0)
        goto out;
    if (ad_memento_try(sb, &c, input, &lim, &res, &err) < 0)
        rc = ad__die_err(ctx, &err);
    else
        rc = print_try(ctx, &c, &res);
out:
    ad_sandbox_result_clear(&res);
    ad_skill_candidate_release(&c);
    json_decref(input);
    return rc;
}

/* ---- approve and reject --------------------------------------------------- */

static int candidates_approve(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "reviewer", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate c;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    char reviewer[AD_NAME_MAX + 1];
    const char *given = NULL, *id;
    int rc, ch;

    ad_skill_candidate_init(&c);
    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (ch == '?')
            return AD_EXIT_USAGE;
        given = optarg;
    }
    if (argc - optind != 1)
        return ad__usage_error(ctx, "usage: autodev candidates approve ID [--reviewer NAME]");
    id = argv[optind];
    if (reviewer_of(ctx, given, reviewer) != 0)
        return AD_EXIT_USAGE;
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = lookup(ctx, id, &c);
    ad_skill_candidate_release(&c);
    if (rc != 0)
        return rc;
    if (ad_memento_approve(ctx->store, ctx->bus, ctx->tenant_id, id, reviewer, &s, &v,
                           &err) < 0)
        return die_review(ctx, id, &err);
    if (ctx->json)
        rc = ad__print_json(ctx, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "candidate_id", id,
                                           "skill", str0(s.name), "semver", v.semver,
                                           "skill_id", s.id, "version_id", v.id,
                                           "reviewed_by", reviewer));
    else
        fprintf(ctx->out, "promoted %s %s (skill %s)\n", str0(s.name), v.semver, s.id);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}

static int candidates_reject(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "reason", required_argument, NULL, 'R' },
        { "reviewer", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate c;
    char reviewer[AD_NAME_MAX + 1];
    const char *given = NULL, *reason = NULL, *id;
    int rc, ch;

    ad_skill_candidate_init(&c);
    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (ch) {
        case 'R': reason = optarg; break;
        case 'r': given = optarg; break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return ad__usage_error(ctx, "usage: autodev candidates reject ID --reason TEXT "
                               "[--reviewer NAME]");
    id = argv[optind];
    if (!reason || !*reason)
        return ad__usage_error(ctx, "candidates reject needs --reason TEXT");
    if (strlen(reason) > AD_REASON_MAX)
        return ad__usage_error(ctx, "--reason longer than %d bytes", AD_REASON_MAX);
    if (reviewer_of(ctx, given, reviewer) != 0)
        return AD_EXIT_USAGE;
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = lookup(ctx, id, &c);
    if (rc != 0) {
        ad_skill_candidate_release(&c);
        return rc;
    }
    if (ad_memento_reject(ctx->store, ctx->bus, ctx->tenant_id, id, reviewer, reason,
                          &err) < 0)
        rc = die_review(ctx, id, &err);
    else if (ctx->json)
        rc = ad__print_json(ctx, json_pack("{s:s, s:s, s:s, s:s}", "candidate_id", id,
                                           "skill_name", str0(c.skill_name),
                                           "reviewed_by", reviewer, "reason", reason));
    else
        fprintf(ctx->out, "rejected %s (candidate %s)\n", str0(c.skill_name), id);
    ad_skill_candidate_release(&c);
    return rc;
}

/* ---- regenerate ----------------------------------------------------------- */

static int candidates_regenerate(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate c;
    char job_id[AD_ID_SIZE];
    int rc;

    ad_skill_candidate_init(&c);
    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev candidates regenerate ID");
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = lookup(ctx, argv[1], &c);
    ad_skill_candidate_release(&c);
    if (rc != 0)
        return rc;
    if (ad_memento_regenerate(ctx->store, ctx->tenant_id, argv[1], job_id, &err) < 0)
        return die_review(ctx, argv[1], &err);
    if (ctx->json)
        return ad__print_json(ctx, json_pack("{s:s, s:s, s:s}", "candidate_id", argv[1],
                                             "job_id", job_id, "kind", AD_MEMENTO_JOB));
    fprintf(ctx->out, "queued %s job %s; run it with: autodev jobs run\n", AD_MEMENTO_JOB,
            job_id);
    return 0;
}

int cmd_candidates(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "list", candidates_list },
        { "show", candidates_show },
        { "test", candidates_test },
        { "approve", candidates_approve },
        { "reject", candidates_reject },
        { "regenerate", candidates_regenerate },
        { NULL, NULL },
    };

    return ad__run_sub("candidates", subs, argc, argv, ctx);
}
