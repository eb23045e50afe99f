/*
 * Agent sessions: the agent loop's transcripts, one row per run, rewritten
 * after every turn so that a stopped or crashed run can resume. Status
 * names, releasing what the store filled in, checks and the public calls.
 */
#include "compat.h"

#include "autodev/json.h"
#include "autodev/store.h"

#include "store_backend.h"

static const char *const session_status_names[] = {
    [AD_SESSION_RUNNING] = "running",
    [AD_SESSION_DONE] = "done",
    [AD_SESSION_FAILED] = "failed",
    [AD_SESSION_STOPPED] = "stopped",
};

const struct ad__enum ad__session_status_enum = {
    session_status_names, AD_ARRAY_SIZE(session_status_names), "status",
};

const char *ad_session_status_name(enum ad_session_status s)
{
    return ad__enum_name(&ad__session_status_enum, (int)s);
}

int ad_session_status_parse(const char *s, enum ad_session_status *out)
{
    int i = ad__enum_parse(&ad__session_status_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_session_status)i;
    return 0;
}

void ad_agent_session_release(struct ad_agent_session *s)
{
    if (!s)
        return;
    free(s->task);
    json_decref(s->transcript);
    json_decref(s->state);
    memset(s, 0, sizeof(*s));
}

void ad_agent_session_list_free(struct ad_agent_session *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_agent_session_release(&v[i]);
    free(v);
}

/* The transcript's compact text; its cap is AD_TRANSCRIPT_MAX, not the JSON field cap. */
static int transcript_text(const json_t *t, char **text, struct ad_err *err)
{
    size_t size;
    int rc;

    *text = NULL;
    if (!t)
        return ad_error(err, AD_EINVAL, "missing field 'transcript'");
    if (!json_is_array(t))
        return ad_error(err, AD_EINVAL, "field 'transcript': expected array");
    rc = ad__json_text_size("transcript", t, &size, err);
    if (rc)
        return rc;
    if (size > AD_TRANSCRIPT_MAX)
        return ad_error(err, AD_ETOOBIG, "field 'transcript': larger than %d bytes",
                        AD_TRANSCRIPT_MAX);
    *text = ad_json_dumps(t);
    return *text ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
}

/* What an insert and an update write; on failure both texts are NULL. */
static int check_session(const struct ad_agent_session *s, char **transcript, char **state,
                         struct ad_err *err)
{
    int rc = ad__check_id("tenant id", s->tenant_id, err);

    *transcript = *state = NULL;
    if (!rc)
        rc = ad__check_opt_id("episode id", s->episode_id, err);
    if (!rc && !ad_session_status_name(s->status))
        rc = ad_error(err, AD_EINVAL, "field 'status': invalid value %d", (int)s->status);
    if (!rc && !s->state)
        rc = ad_error(err, AD_EINVAL, "missing field 'state'");
    if (!rc)
        rc = ad__json_text("state", s->state, 1 << JSON_OBJECT, state, err);
    if (!rc)
        rc = transcript_text(s->transcript, transcript, err);
    if (rc) {
        free(*state);
        *state = NULL;
    }
    return rc;
}

int ad_store_agent_session_insert(struct ad_store *st, struct ad_agent_session *s,
                                  struct ad_err *err)
{
    char *transcript = NULL, *state = NULL;
    int rc, own;

    rc = check_session(s, &transcript, &state, err);
    if (!rc)
        rc = ad__check_id("agent id", s->agent_id, err);
    if (!rc)
        rc = ad__check_text("task", s->task, AD_TASK_DESC_MAX, 1, err);
    if (!rc)
        rc = ad__new_id(s->id, err);
    if (!rc) {
        ad_time_now(s->created_at);
        memcpy(s->updated_at, s->created_at, AD_TIME_SIZE);
        rc = ad__write_begin(st, &own, err);
    }
    if (!rc)
        rc = ad__write_end(st, own,
                           st->ops->sessions->insert(st, s, transcript, state, err), err);
    if (rc)
        s->id[0] = s->created_at[0] = s->updated_at[0] = '\0';
    free(transcript);
    free(state);
    return rc;
}

int ad_store_agent_session_update(struct ad_store *st, struct ad_agent_session *s,
                                  struct ad_err *err)
{
    char *transcript = NULL, *state = NULL, now[AD_TIME_SIZE], saved[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("session id", s->id, err);
    if (!rc)
        rc = check_session(s, &transcript, &state, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (!rc) {
        memcpy(saved, s->updated_at, AD_TIME_SIZE);
        memcpy(s->updated_at, ad_time_now(now), AD_TIME_SIZE);
        rc = ad__write_end(st, own,
                           st->ops->sessions->update(st, s, transcript, state, err), err);
        if (rc)
            memcpy(s->updated_at, saved, AD_TIME_SIZE);
    }
    free(transcript);
    free(state);
    return rc;
}

int ad_store_agent_session_get(struct ad_store *st, const char *tenant_id, const char *id,
                               struct ad_agent_session *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = ad__check_id("session id", id, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->sessions->get(st, tenant_id, id, out, err);
}

int ad_store_agent_session_list(struct ad_store *st, const char *tenant_id,
                                const char *agent_id, int limit, struct ad_agent_session **out,
                                size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && agent_id)
        rc = ad__check_id("agent id", agent_id, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->sessions->list(st, tenant_id, agent_id, limit, out, n, err);
}
