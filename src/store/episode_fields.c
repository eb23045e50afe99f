/*
 * The fields of an episode, in memory: init/release, validation against
 * store.h's caps, and the strict JSON form users send (POST /v1/episodes,
 * `autodev episode add`). The store calls are in episodes.c.
 *
 * Input is refused, never truncated or coerced: an unknown key, a wrong
 * type, an out-of-range number or a field over its cap is an error whose
 * message names the field, so a client can fix its request.
 */
#include "compat.h"

#include <math.h>

#include "autodev/json.h"
#include "autodev/store.h"

#include "store_backend.h"

void ad_episode_init(struct ad_episode *ep)
{
    memset(ep, 0, sizeof(*ep));
    ep->constitutional_score = NAN;
}

static void segment_release(struct ad_episode_segment *s)
{
    free(s->kind);
    free(s->content);
    json_decref(s->metadata);
    memset(s, 0, sizeof(*s));
}

void ad_episode_release(struct ad_episode *ep)
{
    size_t i;

    if (!ep)
        return;
    free(ep->task_description);
    free(ep->task_kind);
    json_decref(ep->input);
    json_decref(ep->expected);
    json_decref(ep->output);
    free(ep->error_trace);
    json_decref(ep->tools_attempted);
    json_decref(ep->context);
    free(ep->skill_version_id);
    free(ep->error_type);
    for (i = 0; i < ep->nsegments && ep->segments; i++)
        segment_release(&ep->segments[i]);
    free(ep->segments);
    ad_episode_init(ep);
}

void ad_episode_list_free(struct ad_episode *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_episode_release(&v[i]);
    free(v);
}

/* ---- validation --------------------------------------------------------- */

void ad__episode_json_release(struct ad__episode_json *j)
{
    size_t i;

    if (!j)
        return;
    free(j->input);
    free(j->expected);
    free(j->output);
    free(j->tools_attempted);
    free(j->context);
    j->input = j->expected = j->output = j->tools_attempted = j->context = NULL;
    /* Only the entries in use: the array is large and mostly untouched. */
    for (i = 0; i < j->nmetadata && i < AD_SEGMENTS_MAX; i++) {
        free(j->metadata[i]);
        j->metadata[i] = NULL;
    }
    j->nmetadata = 0;
}

/*
 * The text and JSON members of struct ad_episode, so validation and parsing
 * walk one table instead of repeating themselves per field. "required"
 * fields must be present and non-empty; optional ones, when present, must be
 * non-empty too (an empty task_kind means nothing) except error_trace.
 */
struct text_field {
    const char *name;
    size_t off;
    size_t max;
    int required;
    int allow_empty;
};

struct json_field {
    const char *name;
    size_t off;
    int types;      /* 0 for any JSON type */
};

#define EP_OFF(m) offsetof(struct ad_episode, m)
#define SEG_OFF(m) offsetof(struct ad_episode_segment, m)
#define MEMBER(base, T, off) ((T *)((char *)(base) + (off)))

static const struct text_field episode_text[] = {
    { "task_description", EP_OFF(task_description), AD_TASK_DESC_MAX, 1, 0 },
    { "task_kind", EP_OFF(task_kind), AD_TASK_KIND_MAX, 0, 0 },
    { "error_trace", EP_OFF(error_trace), AD_ERROR_TRACE_MAX, 0, 1 },
    { "skill_version_id", EP_OFF(skill_version_id), AD_ID_SIZE - 1, 0, 0 },
};

static const struct json_field episode_json[] = {
    { "input", EP_OFF(input), 0 },
    { "expected", EP_OFF(expected), 0 },
    { "output", EP_OFF(output), 0 },
    { "tools_attempted", EP_OFF(tools_attempted), 1 << JSON_ARRAY },
    { "context", EP_OFF(context), 1 << JSON_OBJECT },
};

static const struct text_field segment_text[] = {
    { "kind", SEG_OFF(kind), AD_TASK_KIND_MAX, 1, 0 },
    { "content", SEG_OFF(content), AD_SEGMENT_CONTENT_MAX, 1, 1 },
};

static const struct json_field segment_json[] = {
    { "metadata", SEG_OFF(metadata), 1 << JSON_OBJECT },
};

static int check_text_field(const struct text_field *f, const char *s, struct ad_err *err)
{
    if (s && !s[0] && !f->allow_empty)
        return ad_error(err, AD_EINVAL, "field '%s': must not be empty", f->name);
    if (s && !s[0])
        return 0;
    return ad__check_text(f->name, s, f->max, f->required, err);
}

/*
 * Checks the text and JSON members of base (an episode or a segment).
 * texts, when non-NULL, gives for each JSON field where its text goes.
 */
static int check_fields(const void *base, const struct text_field *tf, size_t ntf,
                        const struct json_field *jf, size_t njf, char **const *texts,
                        struct ad_err *err)
{
    size_t i;
    int rc;

    for (i = 0; i < ntf; i++) {
        rc = check_text_field(&tf[i], *MEMBER(base, char *const, tf[i].off), err);
        if (rc)
            return rc;
    }
    for (i = 0; i < njf; i++) {
        rc = ad__json_text(jf[i].name, *MEMBER(base, json_t *const, jf[i].off), jf[i].types,
                           texts ? texts[i] : NULL, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int validate_numbers(const struct ad_episode *ep, struct ad_err *err)
{
    if (!isnan(ep->constitutional_score) &&
        !(ep->constitutional_score >= 0.0 && ep->constitutional_score <= 1.0))
        return ad_error(err, AD_EINVAL, "field 'constitutional_score': must be between 0 and 1");
    if (!(ep->execution_seconds >= 0.0 && ep->execution_seconds <= AD_EPISODE_SECONDS_MAX))
        return ad_error(err, AD_EINVAL, "field 'execution_seconds': must be a number of "
                        "seconds from 0 to %.0f (a year)", AD_EPISODE_SECONDS_MAX);
    if (ep->token_usage < 0 || ep->token_usage > AD_EPISODE_TOKENS_MAX)
        return ad_error(err, AD_EINVAL, "field 'token_usage': must be from 0 to %" PRId64,
                        AD_EPISODE_TOKENS_MAX);
    if (ep->skill_version_id && !ad_id_valid(ep->skill_version_id))
        return ad_error(err, AD_EINVAL, "field 'skill_version_id': not a valid id");
    /* Not a field of the JSON form (the store derives it), so not in episode_text[]. */
    return ad__check_error_type("error_type", ep->error_type, err);
}

static int validate_segments(const struct ad_episode *ep, struct ad__episode_json *json,
                             struct ad_err *err)
{
    size_t i;
    int rc;

    if (ep->nsegments > AD_SEGMENTS_MAX)
        return ad_error(err, AD_ETOOBIG, "field 'segments': more than %d segments",
                        AD_SEGMENTS_MAX);
    if (ep->nsegments && !ep->segments)
        return ad_error(err, AD_EINVAL, "field 'segments': missing array");
    for (i = 0; i < ep->nsegments; i++) {
        char **const dst[] = { json ? &json->metadata[i] : NULL };

        if (json) {
            json->metadata[i] = NULL;
            json->nmetadata = i + 1;
        }
        rc = check_fields(&ep->segments[i], segment_text, AD_ARRAY_SIZE(segment_text),
                          segment_json, AD_ARRAY_SIZE(segment_json), json ? dst : NULL, err);
        if (rc) {
            ad_error_prefix(err, "segments[%zu]", i);   /* keeps rc; err may be NULL */
            return rc;
        }
    }
    return 0;
}

int ad__episode_validate(const struct ad_episode *ep, struct ad__episode_json *json,
                         struct ad_err *err)
{
    /* In the order of episode_json[]. */
    char **const dst[] = {
        json ? &json->input : NULL, json ? &json->expected : NULL,
        json ? &json->output : NULL, json ? &json->tools_attempted : NULL,
        json ? &json->context : NULL,
    };
    int rc;

    if (json) {
        memset(json, 0, offsetof(struct ad__episode_json, metadata));
        json->nmetadata = 0;
    }
    rc = check_fields(ep, episode_text, AD_ARRAY_SIZE(episode_text), episode_json,
                      AD_ARRAY_SIZE(episode_json), json ? dst : NULL, err);
    if (!rc)
        rc = validate_numbers(ep, err);
    if (!rc)
        rc = validate_segments(ep, json, err);
    if (rc)
        ad__episode_json_release(json);
    return rc;
}

/* ---- from JSON ---------------------------------------------------------- */

static const char *const episode_keys[] = {
    "agent", "agent_id", "task_description", "success", "task_kind", "input", "expected",
    "output", "error_trace", "tools_attempted", "context", "intervention",
    "constitutional_score", "execution_seconds", "token_usage", "skill_version_id",
    "segments", NULL,
};

static const char *const segment_keys[] = { "kind", "content", "metadata", NULL };

/* Copies one string field (null counts as absent) after checking type and cap. */
static int take_str(const json_t *obj, const struct text_field *f, void *base,
                    struct ad_err *err)
{
    const json_t *v = json_object_get(obj, f->name);
    char **out = MEMBER(base, char *, f->off);
    int rc;

    if (!v || json_is_null(v)) {
        if (f->required)
            return ad_error(err, AD_EINVAL, "missing field '%s'", f->name);
        return 0;
    }
    if (!json_is_string(v))
        return ad_error(err, AD_EINVAL, "field '%s': expected string", f->name);
    if (json_string_length(v) != strlen(json_string_value(v)))
        return ad_error(err, AD_EINVAL, "field '%s': contains a NUL character", f->name);
    rc = check_text_field(f, json_string_value(v), err);
    if (rc)
        return rc;
    *out = strdup(json_string_value(v));
    if (!*out)
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

/* One JSON value field (null counts as absent): a new reference. */
static int take_value(const json_t *obj, const struct json_field *f, void *base,
                      struct ad_err *err)
{
    json_t *v = json_object_get(obj, f->name);
    int rc;

    if (!v || json_is_null(v))
        return 0;
    rc = ad__check_json(f->name, v, f->types, err);
    if (rc)
        return rc;
    *MEMBER(base, json_t *, f->off) = json_incref(v);
    return 0;
}

/* Parses the text and JSON members of base from obj, refusing unknown keys. */
static int take_fields(const json_t *obj, const char *const *keys, void *base,
                       const struct text_field *tf, size_t ntf, const struct json_field *jf,
                       size_t njf, struct ad_err *err)
{
    size_t i;
    int rc;

    if (!json_is_object(obj))
        return ad_error(err, AD_EINVAL, "expected object");
    rc = ad_json_check_keys(obj, keys, err);
    for (i = 0; !rc && i < ntf; i++)
        rc = take_str(obj, &tf[i], base, err);
    for (i = 0; !rc && i < njf; i++)
        rc = take_value(obj, &jf[i], base, err);
    return rc;
}

static int take_segments(const json_t *obj, struct ad_episode *ep, struct ad_err *err)
{
    const json_t *arr = json_object_get(obj, "segments");
    size_t i, n;
    int rc;

    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return ad_error(err, AD_EINVAL, "field 'segments': expected array");
    n = json_array_size(arr);
    if (n > AD_SEGMENTS_MAX)
        return ad_error(err, AD_ETOOBIG, "field 'segments': more than %d segments",
                        AD_SEGMENTS_MAX);
    if (n == 0)
        return 0;
    ep->segments = calloc(n, sizeof(*ep->segments));
    if (!ep->segments)
        return ad_error(err, AD_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        ep->nsegments = i + 1;
        rc = take_fields(json_array_get(arr, i), segment_keys, &ep->segments[i], segment_text,
                         AD_ARRAY_SIZE(segment_text), segment_json,
                         AD_ARRAY_SIZE(segment_json), err);
        if (rc) {
            ad_error_prefix(err, "segments[%zu]", i);   /* keeps rc; err may be NULL */
            return rc;
        }
    }
    return 0;
}

static const json_t *non_null(const json_t *v)
{
    return v && !json_is_null(v) ? v : NULL;
}

static int take_agent(const json_t *obj, struct ad_episode *ep, const char **agent_name,
                      struct ad_err *err)
{
    const json_t *name = non_null(json_object_get(obj, "agent"));
    const json_t *id = non_null(json_object_get(obj, "agent_id"));

    if (!name && !id)
        return ad_error(err, AD_EINVAL, "missing field 'agent' (or 'agent_id')");
    if (name && id)
        return ad_error(err, AD_EINVAL, "give field 'agent' or 'agent_id', not both");
    if (name) {
        if (!json_is_string(name))
            return ad_error(err, AD_EINVAL, "field 'agent': expected string");
        if (json_string_length(name) > AD_NAME_MAX)
            return ad_error(err, AD_ETOOBIG, "field 'agent': longer than %d bytes",
                            AD_NAME_MAX);
        if (!ad_name_valid(json_string_value(name)))
            return ad_error(err, AD_EINVAL, "field 'agent': invalid name");
        if (agent_name)
            *agent_name = json_string_value(name);
        return 0;
    }
    if (!json_is_string(id))
        return ad_error(err, AD_EINVAL, "field 'agent_id': expected string");
    if (!ad_id_valid(json_string_value(id)))
        return ad_error(err, AD_EINVAL, "field 'agent_id': not a valid id");
    ad__copy_fixed(ep->agent_id, sizeof(ep->agent_id), json_string_value(id));
    return 0;
}

static int take_scalars(const json_t *obj, struct ad_episode *ep, struct ad_err *err)
{
    int success = 0, intervention = 0, rc;
    int64_t tokens = 0;
    double score = NAN, seconds = 0.0;

    rc = ad_json_get_bool(obj, "success", AD_JSON_REQUIRED, &success, err);
    if (!rc)
        rc = ad_json_get_bool(obj, "intervention", AD_JSON_NULLABLE, &intervention, err);
    if (!rc)
        rc = ad_json_get_num(obj, "constitutional_score", AD_JSON_NULLABLE, 0.0, 1.0, &score,
                             err);
    if (!rc)
        rc = ad_json_get_num(obj, "execution_seconds", AD_JSON_NULLABLE, 0.0,
                             AD_EPISODE_SECONDS_MAX, &seconds, err);
    if (!rc)
        rc = ad_json_get_int(obj, "token_usage", AD_JSON_NULLABLE, 0, AD_EPISODE_TOKENS_MAX,
                             &tokens, err);
    if (rc)
        return rc;
    ep->success = success != 0;
    ep->intervention = intervention != 0;
    ep->constitutional_score = score;
    ep->execution_seconds = seconds;
    ep->token_usage = tokens;
    return 0;
}

static int from_json(const json_t *obj, struct ad_episode *ep, const char **agent_name,
                     struct ad_err *err)
{
    int rc;

    if (!json_is_object(obj))
        return ad_error(err, AD_EINVAL, "episode: expected object");
    /* Unknown keys first: a typo'd field name is the likeliest mistake. */
    rc = ad_json_check_keys(obj, episode_keys, err);
    if (!rc)
        rc = take_agent(obj, ep, agent_name, err);
    if (!rc)
        rc = take_fields(obj, episode_keys, ep, episode_text, AD_ARRAY_SIZE(episode_text),
                         episode_json, AD_ARRAY_SIZE(episode_json), err);
    if (!rc)
        rc = take_scalars(obj, ep, err);
    if (!rc)
        rc = take_segments(obj, ep, err);
    if (!rc && ep->skill_version_id && !ad_id_valid(ep->skill_version_id))
        rc = ad_error(err, AD_EINVAL, "field 'skill_version_id': not a valid id");
    return rc;
}

int ad_episode_from_json(const json_t *obj, struct ad_episode *ep, const char **agent_name,
                         struct ad_err *err)
{
    int rc;

    ad_episode_init(ep);
    if (agent_name)
        *agent_name = NULL;
    rc = from_json(obj, ep, agent_name, err);
    if (rc) {
        ad_episode_release(ep);
        if (agent_name)
            *agent_name = NULL;
    }
    return rc;
}

/* ---- to JSON ------------------------------------------------------------ */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *value_or_null(json_t *v)
{
    return v ? json_incref(v) : json_null();
}

static json_t *segments_to_json(const struct ad_episode *ep)
{
    json_t *arr = json_array();
    size_t i;

    for (i = 0; arr && i < ep->nsegments; i++) {
        const struct ad_episode_segment *s = &ep->segments[i];
        json_t *o = json_object();
        int bad = !o;

        bad |= json_array_append_new(arr, o);
        if (!bad && s->id[0])
            bad |= json_object_set_new(o, "id", json_string(s->id));
        bad |= json_object_set_new(o, "kind", str_or_null(s->kind));
        bad |= json_object_set_new(o, "content", str_or_null(s->content));
        bad |= json_object_set_new(o, "metadata", value_or_null(s->metadata));
        if (s->created_at[0])
            bad |= json_object_set_new(o, "created_at", json_string(s->created_at));
        if (bad) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *ad_episode_to_json(const struct ad_episode *ep)
{
    json_t *o = json_object();
    double score = ep->constitutional_score;
    int bad = !o;

    if (bad)
        return NULL;
    if (ep->id[0])
        bad |= json_object_set_new(o, "id", json_string(ep->id));
    bad |= json_object_set_new(o, "agent_id", json_string(ep->agent_id));
    bad |= json_object_set_new(o, "task_description", str_or_null(ep->task_description));
    bad |= json_object_set_new(o, "task_kind", str_or_null(ep->task_kind));
    bad |= json_object_set_new(o, "input", value_or_null(ep->input));
    bad |= json_object_set_new(o, "expected", value_or_null(ep->expected));
    bad |= json_object_set_new(o, "output", value_or_null(ep->output));
    bad |= json_object_set_new(o, "success", json_boolean(ep->success));
    bad |= json_object_set_new(o, "error_trace", str_or_null(ep->error_trace));
    bad |= json_object_set_new(o, "tools_attempted", value_or_null(ep->tools_attempted));
    bad |= json_object_set_new(o, "context", value_or_null(ep->context));
    bad |= json_object_set_new(o, "intervention", json_boolean(ep->intervention));
    /* jansson refuses NaN; unknown scores are null on the wire. */
    bad |= json_object_set_new(o, "constitutional_score",
                               isnan(score) ? json_null() : json_real(score));
    bad |= json_object_set_new(o, "execution_seconds", json_real(ep->execution_seconds));
    bad |= json_object_set_new(o, "token_usage", json_integer(ep->token_usage));
    bad |= json_object_set_new(o, "skill_version_id", str_or_null(ep->skill_version_id));
    bad |= json_object_set_new(o, "error_type", str_or_null(ep->error_type));
    if (ep->created_at[0])
        bad |= json_object_set_new(o, "created_at", json_string(ep->created_at));
    if (ep->nsegments)
        bad |= json_object_set_new(o, "segments", segments_to_json(ep));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
