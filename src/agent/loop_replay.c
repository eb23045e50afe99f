/*
 * Replay (agent.h, ad_agent_replay): a session's tool calls run again
 * against the catalog's current skill versions, in the sandbox, and each
 * new result compared with the one the transcript holds, as the model read
 * it ({"ok", "output" | "error"}). The regression check before a promoted
 * version meets real traffic: nothing is recorded (no execution rows, no
 * events), and the session is left as it was.
 *
 * A call is "same", "changed", or "skipped" with a note: record_outcome and
 * the tools of modules above (their effects are not a function of their
 * arguments), a call that never got a result, a skill no longer active, or
 * arguments that are no JSON object or no longer fit the skill's schema.
 */
#include "compat.h"

#include "autodev/agent.h"
#include "autodev/json.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "agent_int.h"

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The tool message answering call id after position from, or NULL. */
static const json_t *result_of(const json_t *tr, size_t from, const char *id)
{
    for (size_t j = from; j < json_array_size(tr); j++) {
        const json_t *m = json_array_get(tr, j);
        const char *tid = sget(m, "tool_call_id");

        if (tid && !strcmp(tid, id))
            return m;
    }
    return NULL;
}

static int replay_one(struct ad_store *st, struct ad_sandbox *sb, const char *tenant_id,
                      const char *name, const char *args, const char *before,
                      const struct ad_sandbox_limits *lim, json_t *row, struct ad_err *err)
{
    struct ad_skill s;
    struct ad_skill_version v;
    struct ad_sandbox_result r;
    struct ad_err e = AD_ERR_INIT;
    json_t *in = json_loads(args && *args ? args : "{}", JSON_DECODE_ANY, NULL);
    const char *status = "skipped", *note = NULL;
    char *after = NULL, *msg = NULL;
    int rc = 0;

    memset(&s, 0, sizeof(s));
    memset(&v, 0, sizeof(v));
    memset(&r, 0, sizeof(r));
    if (!json_is_object(in)) {
        note = "the arguments are not a JSON object";
    } else if ((rc = ad_catalog_get(st, tenant_id, name, NULL, &s, &v, &e)) == AD_ENOTFOUND) {
        rc = 0;
        note = "no such skill in the catalog now";
    } else if (rc < 0) {
        *err = e;
    } else if (strcmp(s.status, "active") != 0) {
        note = "the skill is not active";
    } else if (ad_skill_input_check(s.input_schema, in, &e) == AD_EINVAL) {
        msg = strdup(e.msg);
        note = msg ? msg : "the arguments no longer fit the skill's schema";
    } else if ((rc = ad_skill_execute(sb, &s, &v, in, lim, &r, err)) == 0) {
        char *er = ad_skill_result_error(&r);

        after = ad__agent_result_text(r.status == AD_SB_OK, r.output, er);
        free(er);
        if (!after)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
        else
            status = before && !strcmp(before, after) ? "same" : "changed";
    }
    if (rc == 0 && (json_object_set_new(row, "status", json_string(status)) ||
                    (v.semver[0] && json_object_set_new(row, "version", json_string(v.semver))) ||
                    (note && json_object_set_new(row, "note", json_string(note))) ||
                    (after && json_object_set_new(row, "after", json_string(after)))))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    ad_sandbox_result_clear(&r);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    json_decref(in);
    free(after);
    free(msg);
    return rc;
}

int ad_agent_replay(struct ad_store *st, struct ad_sandbox *sb, const char *tenant_id,
                    const char *session_id, const struct ad_sandbox_limits *limits,
                    json_t **out, struct ad_err *err)
{
    struct ad_agent_session sess;
    struct ad_sandbox_limits lim;
    json_t *calls = NULL, *res = NULL, *m;
    int counts[3] = { 0, 0, 0 };    /* same, changed, skipped */
    size_t i;
    int rc;

    *out = NULL;
    memset(&sess, 0, sizeof(sess));
    memset(&lim, 0, sizeof(lim));
    if (limits)
        lim = *limits;
    rc = ad_store_agent_session_get(st, tenant_id, session_id, &sess, err);
    if (rc == AD_ENOTFOUND)
        return ad_error(err, AD_ENOTFOUND, "no agent session '%s'", session_id);
    if (rc < 0)
        return rc;
    calls = json_array();
    if (!calls)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    json_array_foreach(sess.transcript, i, m) {
        json_t *cs = json_object_get(m, "tool_calls"), *c;
        size_t k;

        if (rc < 0)
            break;
        json_array_foreach(cs, k, c) {
            const char *id = sget(c, "id"), *name = sget(c, "name");
            const json_t *r = id ? result_of(sess.transcript, i + 1, id) : NULL;
            json_t *row = json_pack("{s:s, s:s, s:s?, s:s?}", "call_id", id ? id : "", "tool",
                                    name ? name : "", "arguments", sget(c, "arguments"),
                                    "before", r ? sget(r, "content") : NULL);
            const char *st_;

            if (!row || json_array_append_new(calls, row) != 0) {
                rc = ad_error(err, AD_ENOMEM, "out of memory");
                break;
            }
            if (!name || !strcmp(name, "record_outcome") || !r) {
                rc = json_object_set_new(row, "status", json_string("skipped")) ||
                     json_object_set_new(row, "note", json_string(
                         !r ? "the call has no result in the transcript"
                            : "record_outcome is not a skill"))
                         ? ad_error(err, AD_ENOMEM, "out of memory") : 0;
            } else {
                rc = replay_one(st, sb, tenant_id, name, sget(c, "arguments"),
                                sget(r, "content"), &lim, row, err);
            }
            if (rc < 0)
                break;
            st_ = sget(row, "status");
            counts[!strcmp(st_, "same") ? 0 : !strcmp(st_, "changed") ? 1 : 2]++;
        }
    }
    if (rc == 0) {
        res = json_pack("{s:s, s:s, s:O, s:i, s:i, s:i}", "session_id", sess.id, "agent_id",
                        sess.agent_id, "calls", calls, "same", counts[0], "changed",
                        counts[1], "skipped", counts[2]);
        if (!res)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    json_decref(calls);
    ad_agent_session_release(&sess);
    *out = res;
    return rc;
}
