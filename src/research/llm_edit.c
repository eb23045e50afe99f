/*
 * The model's edit: one hypothesis and one focused change of the target
 * files, asked of the model in SEARCH/REPLACE and applied by the edit
 * module to the worktree (all or nothing, with its path rules).
 *
 * The prompt carries the goal (metric, direction, baseline with its
 * noise, the best so far), the target files (each capped), the protected
 * globs, the history of the last iterations with their outcomes, the dead
 * ends and the rules. It never carries the environment, the command's
 * output or a key. A reply that does not apply (no block, a SEARCH that
 * does not match, a path that is not a target) is fed back once with the
 * edit module's feedback; a second failure makes the iteration fail, its
 * tokens counted all the same.
 */
#include "compat.h"

#include <ctype.h>
#include <math.h>

#include "autodev/buf.h"
#include "autodev/edit.h"
#include "autodev/llm.h"
#include "autodev/store.h"

#include "research_int.h"

#define FILE_CAP (24u << 10)     /* of each target file, in the prompt */
#define HISTORY_MAX 8            /* iterations in the prompt */
#define DEAD_ENDS_MAX 20
#define HYPOTHESIS_MAX 300
#define REPLY_TOKENS 2048

static const char system_prompt[] =
    "You improve a program one experiment at a time so that a measured metric gets better.\n"
    "Rules:\n"
    "- Make exactly ONE focused change: one hypothesis, the smallest edit that tests it.\n"
    "- Edit only the target files named in the message. Never touch the protected paths "
    "(tests, the evaluation harness, the rules file): such an edit is rejected.\n"
    "- Do not add sleeps, network or subprocess calls, do not delete assertions or tests, "
    "and never print or hard-code the metric.\n"
    "- Do not repeat a dead end.\n"
    "Answer with one line 'HYPOTHESIS: <what you change and why it should help>', then the "
    "edit as SEARCH/REPLACE blocks: the file's path on its own line, then\n"
    "<<<<<<< SEARCH\n<lines copied exactly from the file>\n=======\n<the new lines>\n"
    ">>>>>>> REPLACE\n";

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

int ad__research_llm_usable(struct ad_llm *llm)
{
    const char *e;

    if (!llm || ad_llm_chain_len(llm) == 0)
        return 0;
    /* The offline provider writes no code: the offline mutator does better. */
    e = ad_llm_chain_entry(llm, 0);
    return !(ad_llm_chain_len(llm) == 1 && e && !strncmp(e, "offline", 7));
}

/* Appends text with bytes outside printable ASCII (but newline, tab) as '?'. */
static int add_clean(struct ad_buf *b, const char *p, size_t len)
{
    int rc = 0;

    for (size_t i = 0; !rc && i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        char c = (ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f)) ? (char)ch : '?';

        rc = ad_buf_add(b, &c, 1);
    }
    return rc;
}

static int add_file(struct ad_buf *b, const char *worktree, const char *rel)
{
    char *path = ad_strdupf("%s/%s", worktree, rel);
    FILE *f = path ? fopen(path, "rb") : NULL;
    char *data = malloc(FILE_CAP + 1);
    size_t n = 0;
    int rc;

    if (f && data)
        n = fread(data, 1, FILE_CAP + 1, f);
    rc = ad_buf_addf(b, "\n--- %s ---\n", rel);
    if (!rc && !f)
        rc = ad_buf_adds(b, "(the file does not exist yet)\n");
    else if (!rc) {
        rc = add_clean(b, data, n > FILE_CAP ? FILE_CAP : n);
        if (!rc && n > FILE_CAP)
            rc = ad_buf_addf(b, "\n[... cut at %u bytes ...]", FILE_CAP);
        if (!rc)
            rc = ad_buf_adds(b, "\n--- end of file ---\n");
    }
    if (f)
        fclose(f);
    free(data);
    free(path);
    return rc;
}

static int add_list(struct ad_buf *b, const json_t *arr, size_t from)
{
    size_t i;
    json_t *v;
    int rc = 0;

    json_array_foreach(arr, i, v) {
        if (!rc && i >= from && json_is_string(v)) {
            rc = ad_buf_adds(b, "- ");
            if (!rc)
                rc = add_clean(b, json_string_value(v), json_string_length(v));
            if (!rc)
                rc = ad_buf_adds(b, "\n");
        }
    }
    return rc;
}

/* The user message of the first call. */
static int build_prompt(const struct ad_research_session *s,
                        const struct ad_research_iteration *hist, size_t nhist,
                        struct ad_buf *b)
{
    const json_t *files = json_object_get(s->config, "files");
    const json_t *dead = json_object_get(s->state, "dead_ends");
    size_t i, ndead = json_array_size(dead);
    json_t *v;
    int rc = ad_buf_addf(b, "Goal: make the metric '%s' %s.\nBaseline: %.6g (noise, the MAD of "
                         "the baseline runs: %.3g). Best so far: %.6g.\nA change is kept only "
                         "when it beats the best beyond the noise.\n",
                         s->metric_name, strcmp(s->direction, "minimize") ? "higher" : "lower",
                         s->baseline_metric, isnan(s->noise) ? 0 : s->noise, s->best_metric);

    if (!rc)
        rc = ad_buf_adds(b, "\nTarget files (the only ones you may edit):\n");
    json_array_foreach(files, i, v) {
        if (!rc)
            rc = add_file(b, s->worktree, json_string_value(v));
    }
    if (!rc)
        rc = ad_buf_adds(b, "\nProtected paths (never edit them):\n");
    if (!rc)
        rc = add_list(b, json_object_get(s->config, "protect"), 0);
    if (!rc)
        rc = ad_buf_addf(b, "\nHistory (the last %d iterations):\n", HISTORY_MAX);
    if (!rc && nhist == 0)
        rc = ad_buf_adds(b, "(none yet)\n");
    for (i = nhist > HISTORY_MAX ? nhist - HISTORY_MAX : 0; !rc && i < nhist; i++) {
        const char *why = json_string_value(json_object_get(hist[i].detail, "failure"));

        rc = ad_buf_addf(b, "#%d %s", hist[i].seq, hist[i].decision ? hist[i].decision : "?");
        if (!rc && !isnan(hist[i].metric))
            rc = ad_buf_addf(b, " %s=%.6g", s->metric_name, hist[i].metric);
        if (!rc && hist[i].hypothesis) {
            rc = ad_buf_adds(b, ": ");
            if (!rc)
                rc = add_clean(b, hist[i].hypothesis, strnlen(hist[i].hypothesis, 400));
        }
        if (!rc && why) {
            rc = ad_buf_adds(b, " (failed: ");
            if (!rc)
                rc = add_clean(b, why, strnlen(why, 200));
            if (!rc)
                rc = ad_buf_adds(b, ")");
        }
        if (!rc)
            rc = ad_buf_adds(b, "\n");
    }
    if (!rc)
        rc = ad_buf_adds(b, "\nDead ends (tried, no gain: do not try them again):\n");
    if (!rc && ndead == 0)
        rc = ad_buf_adds(b, "(none yet)\n");
    if (!rc)
        rc = add_list(b, dead, ndead > DEAD_ENDS_MAX ? ndead - DEAD_ENDS_MAX : 0);
    if (!rc)
        rc = ad_buf_adds(b, "\nPropose one hypothesis and its one edit.\n");
    return rc;
}

/* The HYPOTHESIS line of the reply, cleaned and capped; a default naming the files else. */
static char *hypothesis_of(const char *reply, const struct ad_edit_set *set)
{
    const char *p = reply;

    while (p && *p) {
        const char *eol = strchr(p, '\n'), *q = p;

        while (*q == ' ' || *q == '*' || *q == '#')
            q++;
        if (!strncasecmp(q, "hypothesis:", 11)) {
            size_t len;
            char *h;

            q += 11;
            while (*q == ' ' || *q == '\t')
                q++;
            len = eol ? (size_t)(eol - q) : strlen(q);
            while (len > 0 && (q[len - 1] == ' ' || q[len - 1] == '\r' || q[len - 1] == '*'))
                len--;
            if (len > HYPOTHESIS_MAX)
                len = HYPOTHESIS_MAX;
            if (len > 0 && (h = malloc(len + 1))) {
                for (size_t i = 0; i < len; i++)
                    h[i] = isprint((unsigned char)q[i]) ? q[i] : '?';
                h[len] = '\0';
                return h;
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    return ad_strdupf("model edit of %s",
                      set->n > 0 && set->v[0].path ? set->v[0].path : "the target file");
}

static int is_target(const json_t *files, const char *path)
{
    size_t i;
    json_t *v;

    json_array_foreach(files, i, v) {
        if (json_is_string(v) && path && !strcmp(json_string_value(v), path))
            return 1;
    }
    return 0;
}

/*
 * Parses and applies a reply. 0 when it applied; AD_EINVAL etc. when it
 * did not, with the feedback for the retry in fb (an error of autodev
 * itself, AD_ENOMEM, is returned with fb empty and nothing else).
 */
static int apply_reply(const struct ad_research_session *s, const char *reply,
                       struct ad_buf *fb, char **hypothesis, struct ad_err *err)
{
    const json_t *files = json_object_get(s->config, "files");
    const char *def = json_array_size(files) == 1 ? json_string_value(json_array_get(files, 0))
                                                  : NULL;
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err perr = AD_ERR_INIT;
    int rc = ad_edit_parse(reply, strlen(reply), &set, &perr);

    ad_buf_reset(fb);
    if (rc) {
        ad_buf_addf(fb, "The reply holds no edit that can be read: %s\n", perr.msg);
        return ad_error(err, rc, "the model's reply holds no edit: %s", perr.msg);
    }
    for (size_t i = 0; i < set.n; i++) {
        const char *p = set.v[i].path ? set.v[i].path : def;

        if (!is_target(files, p)) {
            ad_buf_addf(fb, "Block %zu edits '%s', which is not a target file; the targets are "
                        "the files shown under 'Target files'.\n", i + 1, p ? p : "(no path)");
            rc = AD_EPERM;
        }
    }
    if (rc) {
        ad_edit_set_release(&set);
        return ad_error(err, rc, "the model's edit names a file that is not a target");
    }
    rc = ad_edit_apply_dir(s->worktree, &set, def, 0, &rep, &perr);
    if (rc) {
        for (size_t i = 0; i < rep.n; i++) {
            if (rep.v[i].code == 0)
                continue;
            ad_buf_addf(fb, "Block %zu (%s): %s\n", i + 1, rep.v[i].path ? rep.v[i].path : "?",
                        rep.v[i].message ? rep.v[i].message : "");
            if (rep.v[i].feedback && *rep.v[i].feedback)
                ad_buf_addf(fb, "%s\n", rep.v[i].feedback);
        }
        if (fb->len == 0)
            ad_buf_addf(fb, "%s\n", perr.msg);
        rc = ad_error(err, rc, "the model's edit did not apply: %s", perr.msg);
    } else if (!(*hypothesis = hypothesis_of(reply, &set))) {
        rc = oom(err);
    }
    ad_edit_report_release(&rep);
    ad_edit_set_release(&set);
    return rc;
}

static int add_usage(json_t *detail, const struct ad_llm_response *r)
{
    json_t *t = json_object_get(detail, "tokens");
    json_int_t tokens = json_integer_value(t) + r->usage.prompt_tokens + r->usage.completion_tokens;
    double usd = json_number_value(json_object_get(detail, "cost_usd")) + r->cost_usd;

    if (json_object_set_new(detail, "tokens", json_integer(tokens)) < 0 ||
        json_object_set_new(detail, "cost_usd", json_real(usd)) < 0 ||
        json_object_set_new(detail, "calls",
                            json_integer(json_integer_value(json_object_get(detail, "calls")) + 1))
            < 0 ||
        (r->model && json_object_set_new(detail, "model", json_string(r->model)) < 0))
        return AD_ENOMEM;
    return 0;
}

/*
 * Reply number idx of the edit: the journal's when it holds one (a crash
 * came after the model was paid), else the model's, journaled at once
 * (before it is applied). Errors as ad_llm_complete's.
 */
static int complete_journaled(struct ad_llm *llm, const struct ad_llm_request *req,
                              struct ad__research_journal *j, size_t idx,
                              struct ad_llm_response *r, struct ad_err *err)
{
    json_t *e = j ? json_array_get(j->list, idx) : NULL;
    int rc;

    memset(r, 0, sizeof(*r));
    if (e) {
        const char *model = json_string_value(json_object_get(e, "model"));

        r->text = strdup(json_string_value(json_object_get(e, "text")) ?
                         json_string_value(json_object_get(e, "text")) : "");
        r->model = model ? strdup(model) : NULL;
        r->usage.prompt_tokens = json_integer_value(json_object_get(e, "prompt_tokens"));
        r->usage.completion_tokens = json_integer_value(json_object_get(e, "completion_tokens"));
        r->cost_usd = json_number_value(json_object_get(e, "cost_usd"));
        if (!r->text || (model && !r->model)) {
            ad_llm_response_release(r);
            return oom(err);
        }
        return 0;
    }
    rc = ad_llm_complete(llm, req, r, err);
    if (rc || !j)
        return rc;
    e = json_pack("{s:s, s:I, s:I, s:f, s:s?}", "text", r->text ? r->text : "",
                  "prompt_tokens", (json_int_t)r->usage.prompt_tokens, "completion_tokens",
                  (json_int_t)r->usage.completion_tokens, "cost_usd", r->cost_usd, "model",
                  r->model);
    rc = e && json_array_append_new(j->list, e) == 0 ? 0 : oom(err);
    if (!rc)
        rc = j->save(j->arg, err);
    if (rc)
        ad_llm_response_release(r);
    else
        ad__research_crash_point("edit.replied");
    return rc;
}

int ad__research_llm_edit(struct ad_llm *llm, const struct ad_research_session *s,
                          const struct ad_research_iteration *hist, size_t nhist,
                          struct ad__research_journal *journal, char **hypothesis,
                          json_t *detail, struct ad_err *err)
{
    struct ad_buf user, fb;
    struct ad_llm_response r1, r2;
    struct ad_llm_message msgs[4];
    struct ad_llm_request req;
    struct ad_err aerr = AD_ERR_INIT;
    int rc, applied;

    *hypothesis = NULL;
    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    memset(&req, 0, sizeof(req));
    ad_buf_init(&user, 1u << 20);
    ad_buf_init(&fb, 64u << 10);
    rc = build_prompt(s, hist, nhist, &user) ? oom(err) : 0;
    if (!rc && json_object_set_new(detail, "proposer", json_string("model")) < 0)
        rc = oom(err);
    msgs[0] = (struct ad_llm_message){ .role = AD_LLM_SYSTEM, .content = system_prompt };
    msgs[1] = (struct ad_llm_message){ .role = AD_LLM_USER, .content = user.ptr };
    req.messages = msgs;
    req.nmessages = 2;
    req.max_tokens = REPLY_TOKENS;
    req.temperature = -1;
    req.seed = -1;
    req.purpose = "research";
    /* A failed first call cost nothing that the session could keep: it is the step's error. */
    if (!rc)
        rc = complete_journaled(llm, &req, journal, 0, &r1, err);
    if (!rc)
        rc = add_usage(detail, &r1) ? oom(err) : 0;
    if (rc)
        goto out;
    applied = apply_reply(s, r1.text ? r1.text : "", &fb, hypothesis, &aerr) == 0;
    if (!applied && aerr.code == AD_ENOMEM) {
        rc = oom(err);
        goto out;
    }
    if (!applied) {
        /* Once more, with what went wrong. */
        ad_buf_reset(&user);
        rc = ad_buf_adds(&user, "Your edit did not apply:\n") || ad_buf_add(&user, fb.ptr, fb.len) ||
                     ad_buf_adds(&user, "Answer again: one HYPOTHESIS line and SEARCH/REPLACE "
                                 "blocks whose SEARCH lines are copied exactly from the target "
                                 "file.\n")
                 ? oom(err) : 0;
        /* The second prompt repeats the first: user.ptr moved, so rebuild the first. */
        if (!rc) {
            struct ad_buf first;

            ad_buf_init(&first, 1u << 20);
            rc = build_prompt(s, hist, nhist, &first) ? oom(err) : 0;
            msgs[1].content = first.ptr;
            msgs[2] = (struct ad_llm_message){ .role = AD_LLM_ASSISTANT, .content = r1.text };
            msgs[3] = (struct ad_llm_message){ .role = AD_LLM_USER, .content = user.ptr };
            req.nmessages = 4;
            if (!rc && complete_journaled(llm, &req, journal, 1, &r2, &aerr) < 0) {
                /* The first call is paid: the iteration fails, the session goes on. */
                rc = json_object_set_new(detail, "failure",
                                         json_sprintf("the model's retry failed: %.300s",
                                                      aerr.msg)) < 0 ? oom(err) : 0;
                ad_buf_release(&first);
                goto out;
            }
            ad_buf_release(&first);
        }
        if (!rc)
            rc = add_usage(detail, &r2) ? oom(err) : 0;
        if (!rc && json_object_set_new(detail, "retried", json_true()) < 0)
            rc = oom(err);
        if (rc)
            goto out;
        aerr = (struct ad_err)AD_ERR_INIT;
        applied = apply_reply(s, r2.text ? r2.text : "", &fb, hypothesis, &aerr) == 0;
        if (!applied && aerr.code == AD_ENOMEM)
            rc = oom(err);
        else if (!applied)
            rc = json_object_set_new(detail, "failure",
                                     json_sprintf("the edit did not apply after a retry: %.300s",
                                                  aerr.msg)) < 0 ? oom(err) : 0;
    }
out:
    ad_llm_response_release(&r1);
    ad_llm_response_release(&r2);
    ad_buf_release(&user);
    ad_buf_release(&fb);
    if (rc) {
        free(*hypothesis);
        *hypothesis = NULL;
    }
    return rc;
}
