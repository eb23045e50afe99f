/*
 * autodev mutations: review what AlphaEvolver made of existing skills:
 * list, show (signals, risk, decision and a side-by-side diff against the
 * parent version), approve, reject.
 *
 * The policy (what may be approved, the new version, the events) is the
 * library's (fitness.h); this file looks the mutation up so that a wrong
 * id is a usage error, and prints.
 *
 * Sections: shared helpers; JSON forms; list; show; approve and reject.
 */
#include "compat.h"

#include <getopt.h>
#include <math.h>
#include <pwd.h>
#include <unistd.h>

#include "autodev/fitness.h"
#include "autodev/json.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "cli.h"

/* Each column of the diff, in characters: two of them and the marks fit 100. */
#define DIFF_WIDTH 47

/* ---- shared helpers --------------------------------------------------- */

static const char *str0(const char *s)
{
    return s ? s : "";
}

static const char *dash(const char *s)
{
    return s && *s ? s : "-";
}

/* The mutation id; a malformed or unknown one is a usage error. */
static int lookup(struct ad_ctx *ctx, const char *id, struct ad_tool_mutation *m)
{
    struct ad_err err = AD_ERR_INIT;
    int rc;

    ad_tool_mutation_init(m);
    if (!ad_id_valid(id))
        return ad__usage_error(ctx, "no mutation '%s'", id);
    rc = ad_mutations_get(ctx->store, ctx->tenant_id, id, m, &err);
    if (rc == AD_ENOTFOUND)
        return ad__usage_error(ctx, "no mutation '%s'", id);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

/*
 * A review the mutation's state forbids (approving a loser, a stale
 * parent) is the user's mistake, not a runtime failure: exit 2 with the
 * library's words.
 */
static int die_review(struct ad_ctx *ctx, const char *id, const struct ad_err *err)
{
    if (err->code == AD_ESTATE || err->code == AD_ECONFLICT)
        return ad__usage_error(ctx, "%s", err->msg);
    if (err->code == AD_ENOTFOUND)
        return ad__usage_error(ctx, "no mutation '%s'", id);
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

static const char *risk_level(const struct ad_tool_mutation *m)
{
    return ad_json_str(m->risk, "level");
}

/* The gain column: the fitness delta, else the proxy signals' gain_pct, else "-". */
static void gain_text(const struct ad_tool_mutation *m, char *out, size_t size)
{
    const json_t *pct = json_object_get(m->proxy_signals, "gain_pct");

    if (!isnan(m->fitness_delta))
        snprintf(out, size, "%+.3f", m->fitness_delta);
    else if (json_is_number(pct))
        snprintf(out, size, "%+.0f%%", json_number_value(pct));
    else
        snprintf(out, size, "-");
}

/* The semver of version id of the tenant, into out ("?" when it cannot be read). */
static void semver_of(struct ad_ctx *ctx, const char *id, char out[AD_SEMVER_SIZE],
                      struct ad_skill_version *keep)
{
    struct ad_skill_version v = { 0 };

    snprintf(out, AD_SEMVER_SIZE, "%s", id[0] ? "?" : "-");
    if (!id[0] || ad_catalog_version_get(ctx->store, ctx->tenant_id, id, &v, NULL) < 0)
        return;
    snprintf(out, AD_SEMVER_SIZE, "%s", v.semver);
    if (keep)
        *keep = v;
    else
        ad_skill_version_release(&v);
}

/* ---- JSON forms ------------------------------------------------------- */

static json_t *num_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

static const char *opt(const char *s)
{
    return s[0] ? s : NULL;
}

static json_t *json_or_null(const json_t *v)
{
    return v ? json_incref((json_t *)v) : json_null();
}

/* The mutation; with full, its code, edit and test set too. */
static json_t *mutation_json(const struct ad_tool_mutation *m, int full)
{
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:i, s:s?, s:s?, s:s?,"
                          " s:s, s:s?, s:o, s:s?, s:o, s:o, s:o, s:s?}",
                          "id", m->id, "skill", str0(m->tool_name), "skill_id", opt(m->skill_id),
                          "parent_skill_version_id", opt(m->parent_skill_version_id),
                          "parent_mutation_id", opt(m->parent_tool_id), "agent_id",
                          opt(m->agent_id), "job_id", opt(m->job_id), "mutant_index",
                          m->mutant_index, "trigger", m->trigger, "proposer", m->proposer,
                          "operator", m->mutation_operator, "status",
                          ad_mutation_status_name(m->status), "decision",
                          ad_mutation_decision_name(m->decision), "fitness_delta",
                          num_or_null(m->fitness_delta), "risk_level", risk_level(m),
                          "risk_score", num_or_null(m->risk_score), "risk", json_or_null(m->risk),
                          "proxy_signals", json_or_null(m->proxy_signals), "review_status",
                          ad_review_status_name(m->review_status));
    json_t *more = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:s?}", "decision_reason",
                             m->decision_reason, "execution_error", m->execution_error,
                             "reviewed_by", m->reviewed_by, "reviewed_at", opt(m->reviewed_at),
                             "reason", m->reason, "created_at", m->created_at, "evaluated_at",
                             opt(m->evaluated_at));
    int bad = !j || !more || json_object_update(j, more) < 0;

    json_decref(more);
    if (!bad)
        bad = json_object_set_new(j, "promoted_version_id",
                                  m->promoted_version_id[0] ? json_string(m->promoted_version_id)
                                                            : json_null()) < 0;
    if (!bad && full)
        bad = json_object_set_new(j, "mutated_code", json_string(str0(m->mutated_code))) < 0 ||
              json_object_set_new(j, "edit", m->edit ? json_string(m->edit) : json_null()) < 0 ||
              json_object_set_new(j, "test_set", json_or_null(m->test_set)) < 0;
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- list --------------------------------------------------------------- */

struct list_args {
    const char *skill;
    struct ad_mutation_filter f;
};

static int parse_list(struct ad_ctx *ctx, int argc, char **argv, struct list_args *a)
{
    static const struct option longopts[] = {
        { "skill", required_argument, NULL, 'k' },
        { "status", required_argument, NULL, 's' },
        { "review", required_argument, NULL, 'r' },
        { "decision", required_argument, NULL, 'd' },
        { "limit", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    enum ad_mutation_status ms;
    enum ad_review_status rs;
    enum ad_mutation_decision d;
    int64_t limit = AD_MUTATION_LIST_DEFAULT;
    int c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'k': a->skill = optarg; break;
        case 's':
            if (ad_mutation_status_parse(optarg, &ms) < 0)
                return ad__usage_error(ctx, "invalid status '%s': expected pending, running, "
                                       "passed, failed, error or timeout", optarg);
            a->f.status = (int)ms;
            break;
        case 'r':
            if (ad_review_status_parse(optarg, &rs) < 0)
                return ad__usage_error(ctx, "invalid review '%s': expected pending, approved, "
                                       "rejected or auto_approved", optarg);
            a->f.review_status = (int)rs;
            break;
        case 'd':
            if (ad_mutation_decision_parse(optarg, &d) < 0)
                return ad__usage_error(ctx, "invalid decision '%s': expected won or lost",
                                       optarg);
            a->f.decision = (int)d;
            break;
        case 'l':
            if (ad__parse_int(ctx, "--limit", optarg, 1, AD_MUTATION_LIST_MAX, &limit) != 0)
                return AD_EXIT_USAGE;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "mutations list takes no argument");
    a->f.limit = (int)limit;
    return 0;
}

#define MUTATION_ROW "%-36s  %-16s  %-10s  %-8s  %-8s  %-7s  %-8s  %-7s  %-7s  %s"

static void print_mutation_line(struct ad_ctx *ctx, const struct ad_tool_mutation *m)
{
    char gain[32];

    gain_text(m, gain, sizeof(gain));
    fprintf(ctx->out, MUTATION_ROW "\n", m->id, str0(m->tool_name), dash(m->trigger),
            dash(m->proposer), dash(m->mutation_operator), ad_mutation_status_name(m->status),
            dash(ad_mutation_decision_name(m->decision)), gain, dash(risk_level(m)),
            dash(ad_review_status_name(m->review_status)));
}

static int print_mutations(struct ad_ctx *ctx, const struct ad_tool_mutation *v, size_t n)
{
    json_t *arr = ctx->json ? json_array() : NULL;

    if (!ctx->json && n > 0)
        ad__print_header(ctx, MUTATION_ROW, "ID", "SKILL", "TRIGGER", "PROPOSER", "OPERATOR",
                         "STATUS", "DECISION", "GAIN", "RISK", "REVIEW");
    for (size_t i = 0; i < n; i++) {
        if (!ctx->json)
            print_mutation_line(ctx, &v[i]);
        else if (arr && json_array_append_new(arr, mutation_json(&v[i], 0)) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return ctx->json ? ad__print_json(ctx, arr) : 0;
}

static int mutations_list(int argc, char **argv, struct ad_ctx *ctx)
{
    struct list_args a = { NULL, AD_MUTATION_FILTER_INIT };
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation *v = NULL;
    struct ad_skill s = { 0 };
    struct ad_skill_version sv = { 0 };
    size_t n = 0;
    int rc = parse_list(ctx, argc, argv, &a);

    if (rc == 0)
        rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0 && a.skill) {
        rc = ad_catalog_get(ctx->store, ctx->tenant_id, a.skill, NULL, &s, &sv, &err);
        rc = rc == AD_ENOTFOUND ? ad__usage_error(ctx, "no skill named '%s'", a.skill)
                                : rc < 0 ? ad__die_err(ctx, &err) : 0;
        a.f.skill_id = s.id;
    }
    if (rc != 0)
        goto out;
    if (ad_mutations_list(ctx->store, ctx->tenant_id, &a.f, &v, &n, &err) < 0)
        rc = ad__die_err(ctx, &err);
    else
        rc = print_mutations(ctx, v, n);
out:
    ad_tool_mutation_list_free(v, n);
    ad_skill_release(&s);
    ad_skill_version_release(&sv);
    return rc;
}

/* ---- show --------------------------------------------------------------- */

static void print_block(FILE *out, const char *indent, const char *text)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        fprintf(out, "%s%.*s\n", indent, (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

static void print_value(FILE *out, const json_t *v)
{
    char *s = ad_json_dumps(v);

    ad__print_clipped(out, s ? s : "?", 200);
    free(s);
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Every proxy signal, keys sorted; one that compares the two sides
 * ({"parent": .., "mutant": ..}) is printed as such.
 */
static void print_signals(FILE *out, const json_t *sig)
{
    size_t n = json_object_size(sig), i = 0;
    const char **keys;
    const char *k;
    json_t *v;

    fputs("signals:", out);
    if (!json_is_object(sig) || n == 0) {
        fputs(" none recorded\n", out);
        return;
    }
    fputc('\n', out);
    keys = calloc(n, sizeof(*keys));
    if (!keys)
        return;
    json_object_foreach((json_t *)sig, k, v)
        keys[i++] = k;
    qsort(keys, n, sizeof(*keys), key_cmp);
    for (i = 0; i < n; i++) {
        const json_t *val = json_object_get(sig, keys[i]);
        const json_t *p = json_object_get(val, "parent"), *m = json_object_get(val, "mutant");

        fprintf(out, "  %-22s ", keys[i]);
        if (json_is_object(val) && p && m) {
            fputs("parent ", out);
            print_value(out, p);
            fputs("  mutant ", out);
            print_value(out, m);
        } else {
            print_value(out, val);
        }
        fputc('\n', out);
    }
    free(keys);
}

static void print_risk(FILE *out, const struct ad_tool_mutation *m)
{
    const json_t *reasons = json_object_get(m->risk, "reasons"), *r;
    size_t i;

    fprintf(out, "%-14s%s", "risk", dash(risk_level(m)));
    if (!isnan(m->risk_score))
        fprintf(out, " (%.2f)", m->risk_score);
    fputc('\n', out);
    json_array_foreach(reasons, i, r) {
        fputs("  - ", out);
        if (json_is_string(r))
            ad__print_clipped(out, json_string_value(r), 300);
        else
            print_value(out, r);
        fputc('\n', out);
    }
}

static void print_head(struct ad_ctx *ctx, const struct ad_tool_mutation *m, const char *semver)
{
    FILE *out = ctx->out;
    const char *review = ad_review_status_name(m->review_status);
    char gain[32], promoted[AD_SEMVER_SIZE];

    gain_text(m, gain, sizeof(gain));
    fprintf(out, "%-14s%s\n", "id", m->id);
    fprintf(out, "%-14s%s (made from %s)\n", "skill", str0(m->tool_name), semver);
    if (m->parent_tool_id[0])
        fprintf(out, "%-14s%s\n", "parent", m->parent_tool_id);
    fprintf(out, "%-14s%s (mutant %d)\n", "job", dash(opt(m->job_id)), m->mutant_index + 1);
    fprintf(out, "%-14s%s\n", "trigger", dash(m->trigger));
    fprintf(out, "%-14s%s\n", "proposer", dash(m->proposer));
    fprintf(out, "%-14s%s\n", "operator", dash(m->mutation_operator));
    fprintf(out, "%-14s%s\n", "status", ad_mutation_status_name(m->status));
    if (m->execution_error) {
        fputs("error:\n", out);
        print_block(out, "    ", m->execution_error);
    }
    fprintf(out, "%-14s%s", "decision", dash(ad_mutation_decision_name(m->decision)));
    if (m->decision_reason) {
        fputs(": ", out);
        ad__print_clipped(out, m->decision_reason, 400);
    }
    fputc('\n', out);
    fprintf(out, "%-14s%s\n", "fitness delta", gain);
    print_risk(out, m);
    fprintf(out, "%-14s%s", "review", review ? review : "-");
    if (m->reviewed_by)
        fprintf(out, " by %s at %s", m->reviewed_by, dash(m->reviewed_at));
    fputc('\n', out);
    if (m->reason)
        fprintf(out, "%-14s%s\n", "reason", m->reason);
    semver_of(ctx, m->promoted_version_id, promoted, NULL);
    if (m->promoted_version_id[0])
        fprintf(out, "%-14s%s (%s)\n", "promoted", promoted, m->promoted_version_id);
    fprintf(out, "%-14s%s\n", "created", m->created_at);
    fprintf(out, "%-14s%s\n", "evaluated", dash(m->evaluated_at));
}

static int print_show_text(struct ad_ctx *ctx, const struct ad_tool_mutation *m,
                           const struct ad_skill_version *parent, const char *semver)
{
    FILE *out = ctx->out;

    print_head(ctx, m, semver);
    print_signals(out, m->proxy_signals);
    if (!parent->code) {
        fputs("code (the parent version cannot be read):\n", out);
        print_block(out, "    ", str0(m->mutated_code));
        return 0;
    }
    fprintf(out, "diff (left: %s %s, right: the mutant; | changed, < only left, > only "
            "right):\n", str0(m->tool_name), semver);
    if (ad__diff_side_by_side(out, parent->code, str0(m->mutated_code), DIFF_WIDTH) < 0)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    return 0;
}

static int mutations_show(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_tool_mutation m;
    struct ad_skill_version parent = { 0 };
    char semver[AD_SEMVER_SIZE];
    json_t *j;
    int rc;

    ad_tool_mutation_init(&m);
    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev mutations show ID");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0)
        rc = lookup(ctx, argv[1], &m);
    if (rc != 0)
        goto out;
    semver_of(ctx, m.parent_skill_version_id, semver, &parent);
    if (!ctx->json) {
        rc = print_show_text(ctx, &m, &parent, semver);
        goto out;
    }
    j = mutation_json(&m, 1);
    if (j && (json_object_set_new(j, "parent_semver", parent.code ? json_string(semver)
                                                                  : json_null()) < 0 ||
              json_object_set_new(j, "parent_code", parent.code ? json_string(parent.code)
                                                                : json_null()) < 0)) {
        json_decref(j);
        j = NULL;
    }
    rc = ad__print_json(ctx, j);
out:
    ad_skill_version_release(&parent);
    ad_tool_mutation_release(&m);
    return rc;
}

/* ---- approve and reject --------------------------------------------------- */

struct review_args {
    const char *id, *reviewer, *reason;
};

static int parse_review(struct ad_ctx *ctx, int argc, char **argv, const char *usage,
                        struct review_args *a)
{
    static const struct option longopts[] = {
        { "reason", required_argument, NULL, 'R' },
        { "reviewer", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (ch) {
        case 'R': a->reason = optarg; break;
        case 'r': a->reviewer = optarg; break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return ad__usage_error(ctx, "usage: autodev %s", usage);
    a->id = argv[optind];
    if (a->reason && strlen(a->reason) > AD_REASON_MAX)
        return ad__usage_error(ctx, "--reason longer than %d bytes", AD_REASON_MAX);
    return 0;
}

static int mutations_approve(int argc, char **argv, struct ad_ctx *ctx)
{
    struct review_args a = { NULL, NULL, NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m;
    struct ad_skill_version v = { 0 };
    char reviewer[AD_NAME_MAX + 1];
    int rc = parse_review(ctx, argc, argv, "mutations approve ID [--reviewer NAME] "
                          "[--reason TEXT]", &a);

    ad_tool_mutation_init(&m);
    if (rc == 0)
        rc = reviewer_of(ctx, a.reviewer, reviewer);
    if (rc == 0)
        rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = lookup(ctx, a.id, &m);
    if (rc != 0)
        goto out;
    if (ad_mutation_approve(ctx->store, ctx->bus, ctx->tenant_id, a.id, reviewer, a.reason,
                            false, &v, &err) < 0)
        rc = die_review(ctx, a.id, &err);
    else if (ctx->json)
        rc = ad__print_json(ctx, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "mutation_id",
                                           a.id, "skill", str0(m.tool_name), "semver", v.semver,
                                           "version_id", v.id, "parent_version_id",
                                           v.parent_version_id, "reviewed_by", reviewer));
    else
        fprintf(ctx->out, "promoted %s %s (version %s, from mutation %s)\n", str0(m.tool_name),
                v.semver, v.id, a.id);
out:
    ad_skill_version_release(&v);
    ad_tool_mutation_release(&m);
    return rc;
}

static int mutations_reject(int argc, char **argv, struct ad_ctx *ctx)
{
    struct review_args a = { NULL, NULL, NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m;
    char reviewer[AD_NAME_MAX + 1];
    int rc = parse_review(ctx, argc, argv, "mutations reject ID --reason TEXT "
                          "[--reviewer NAME]", &a);

    ad_tool_mutation_init(&m);
    if (rc == 0 && (!a.reason || !*a.reason))
        rc = ad__usage_error(ctx, "mutations reject needs --reason TEXT");
    if (rc == 0)
        rc = reviewer_of(ctx, a.reviewer, reviewer);
    if (rc == 0)
        rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = lookup(ctx, a.id, &m);
    if (rc != 0)
        goto out;
    if (ad_mutation_reject(ctx->store, ctx->bus, ctx->tenant_id, a.id, reviewer, a.reason,
                           &err) < 0)
        rc = die_review(ctx, a.id, &err);
    else if (ctx->json)
        rc = ad__print_json(ctx, json_pack("{s:s, s:s, s:s, s:s}", "mutation_id", a.id, "skill",
                                           str0(m.tool_name), "reviewed_by", reviewer, "reason",
                                           a.reason));
    else
        fprintf(ctx->out, "rejected mutation %s of %s\n", a.id, str0(m.tool_name));
out:
    ad_tool_mutation_release(&m);
    return rc;
}

int cmd_mutations(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "list", mutations_list },
        { "show", mutations_show },
        { "approve", mutations_approve },
        { "reject", mutations_reject },
        { NULL, NULL },
    };

    return ad__run_sub("mutations", subs, argc, argv, ctx);
}
