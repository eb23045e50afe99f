/*
 * The Agent Skills folder: NAME/SKILL.md and NAME/scripts/<file>.py.
 *
 * What the specification (agentskills.io/specification, and its skills-ref
 * validator) asks of SKILL.md: YAML front matter between "---" lines, then
 * Markdown. Keys: name (required; 1..64 of a-z, 0-9 and '-', no leading,
 * trailing or double '-', equal to the folder's name), description
 * (required, 1..1024 characters), license, compatibility (at most 500
 * characters), metadata (a map of string to string) and allowed-tools (a
 * space-separated string, experimental); skills-ref refuses any other key.
 * Our own fields live under metadata: version, entry, script, and
 * input-schema as JSON text, so the file stays valid for other readers.
 * The description's 1024 are characters, as the specification counts.
 *
 * Both directions go through libyaml, never through string pasting: the
 * emitter quotes whatever a description holds, and the parser is read
 * event by event so that each key is checked where it stands (duplicates,
 * types, line numbers) and an alias, the root of "billion laughs", is
 * refused before anything expands.
 *
 * Sections: YAML scalars; rendering SKILL.md; parsing SKILL.md; the folder.
 */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "skill_py.h"
#include "autodev/json.h"
#include "autodev/skill.h"
#include "autodev/text.h"

#define SKILL_MD_MAX (1024 * 1024)
#define DESC_MAX 1024
#define COMPAT_MAX 500          /* characters, as the specification counts */
#define META_KEYS_MAX 256       /* keeps the duplicate check cheap on hostile input */
#define SKILL_NAME_SIZE 65      /* 64 and the NUL */

/* ---- YAML scalars ------------------------------------------------------------ */

static size_t span(const char *s, size_t n, size_t i, const char *set)
{
    while (i < n && s[i] && strchr(set, s[i]))
        i++;
    return i;
}

static int one_of(const char *s, size_t n, const char *const *words, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (strlen(words[k]) == n && memcmp(s, words[k], n) == 0)
            return 1;
    return 0;
}

/* Sexagesimal "1:30:00", a YAML 1.1 integer that PyYAML still reads. */
static int sexagesimal(const char *s, size_t n, size_t j)
{
    while (j < n && s[j] == ':') {
        size_t k = span(s, n, j + 1, "0123456789");

        if (k == j + 1)
            return 0;
        j = k;
    }
    return j == n;
}

/* Ints and floats of YAML 1.2's core schema, and 1.1's '_' separators and bases. */
static int yaml_number(const char *s, size_t n)
{
    size_t i = n > 0 && (s[0] == '+' || s[0] == '-'), j, k;
    static const char *const special[] = { ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN" };
    int whole, frac = 0;

    if (one_of(s + i, n - i, special, AD_ARRAY_SIZE(special)))
        return 1;
    if (n - i > 2 && s[i] == '0' && strchr("xob", s[i + 1])) {
        const char *set = s[i + 1] == 'x' ? "0123456789abcdefABCDEF_"
                        : s[i + 1] == 'o' ? "01234567_" : "01_";

        return span(s, n, i + 2, set) == n;
    }
    j = span(s, n, i, "0123456789_");
    whole = j > i;
    if (whole && j < n && s[j] == ':')
        return sexagesimal(s, n, j);
    if (j < n && s[j] == '.') {
        k = span(s, n, j + 1, "0123456789_");
        frac = k > j + 1;
        j = k;
    }
    if (!whole && !frac)
        return 0;
    if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        k = j + 1 + (j + 1 < n && (s[j + 1] == '+' || s[j + 1] == '-'));
        j = span(s, n, k, "0123456789");
        if (j == k)
            return 0;
    }
    return j == n;
}

/* "2024-01-31", alone or starting a timestamp: PyYAML reads a date. */
static int yaml_date(const char *s, size_t n)
{
    size_t a = span(s, n, 0, "0123456789"), b, c;

    if (a != 4 || a >= n || s[a] != '-')
        return 0;
    b = span(s, n, a + 1, "0123456789");
    if (b - a - 1 < 1 || b - a - 1 > 2 || b >= n || s[b] != '-')
        return 0;
    c = span(s, n, b + 1, "0123456789");
    if (c - b - 1 < 1 || c - b - 1 > 2)
        return 0;
    return c == n || strchr("Tt \t", s[c]);
}

/*
 * What a plain (unquoted, untagged) scalar reads as under YAML 1.2's core
 * schema plus the YAML 1.1 booleans and dates that PyYAML still reads;
 * NULL when it is a string. The parser refuses such a scalar where a
 * string belongs and the emitter quotes such a string, so both agree with
 * the readers people use.
 */
static const char *plain_type(const char *s, size_t n)
{
    static const char *const nulls[] = { "~", "null", "Null", "NULL" };
    static const char *const bools[] = {
        "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES",
        "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
    };

    if (n == 0 || one_of(s, n, nulls, AD_ARRAY_SIZE(nulls)))
        return "null";
    if (one_of(s, n, bools, AD_ARRAY_SIZE(bools)))
        return "boolean";
    if (yaml_number(s, n))
        return "number";
    if (yaml_date(s, n))
        return "date";
    return NULL;
}

/* ---- checks shared by render, parse and the folder ------------------------- */

/* A plain file name [A-Za-z0-9_.-]+ ending in ".py": no folders, no "..". */
static int script_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n <= 3 || n > NAME_MAX || strcmp(s + n - 3, ".py") != 0 || strstr(s, ".."))
        return 0;
    return span(s, n, 0, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/*
 * Characters as the reference validator (skills-ref, JavaScript) counts
 * them: UTF-16 code units, so a character beyond the Basic Multilingual
 * Plane (an emoji) counts 2. Valid UTF-8 in.
 */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;

    for (size_t i = 0; i < n; i++)
        c += (((unsigned char)s[i] & 0xc0) != 0x80) + ((unsigned char)s[i] >= 0xf0);
    return c;
}

/* Whether s holds nothing but ASCII white space (what a validator's trim() drops). */
static int blank(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
        s++;
    return *s == '\0';
}

static int check_description(const char *d, struct ad_err *err)
{
    size_t n = d ? strlen(d) : 0;

    if (n > 0 && !ad_utf8_valid(d, n))
        return ad_error(err, AD_EINVAL, "the skill's description is not valid UTF-8");
    /* "Max 1024 characters. Non-empty.", counted as the reference validator counts. */
    if (n == 0 || utf8_chars(d, n) > DESC_MAX)
        return ad_error(err, AD_EINVAL,
                        "a skill's description must be 1 to %d characters for Agent Skills "
                        "(the specification's limit), not %zu", DESC_MAX, utf8_chars(d, n));
    if (blank(d))
        return ad_error(err, AD_EINVAL, "a skill's description must not be blank for Agent "
                                        "Skills (the specification wants a non-empty one)");
    return 0;
}

void ad_skill_bundle_release(struct ad_skill_bundle *b)
{
    if (!b)
        return;
    free(b->name);
    free(b->description);
    free(b->semver);
    free(b->entry);
    free(b->script);
    free(b->code);
    json_decref(b->input_schema);
    free(b->body);
    free(b->skill_md);
    memset(b, 0, sizeof(*b));
}

/* ---- rendering SKILL.md ---------------------------------------------------- */

static int emit_to_buf(void *data, unsigned char *bytes, size_t size)
{
    return ad_buf_add(data, bytes, size) == 0;
}

/* Plain when every reader takes it as the same string, double-quoted otherwise. */
static yaml_scalar_style_t value_style(const char *v)
{
    size_t n = strlen(v);
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789 _.,;/()+-";

    if (plain_type(v, n) || span(v, n, 0, safe) != n || v[0] == ' ' || v[0] == '-' ||
        v[n - 1] == ' ')
        return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    return YAML_PLAIN_SCALAR_STYLE;
}

static int emit_scalar(yaml_emitter_t *em, const char *v, yaml_scalar_style_t style)
{
    yaml_event_t ev;

    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)v, (int)strlen(v), 1, 1,
                                      style))
        return 0;
    return yaml_emitter_emit(em, &ev);
}

/*
 * The reference validator finds the front matter by splitting SKILL.md on
 * every "---", so none may stand inside it: a value holding one is written
 * double-quoted, and each '-' of a run of three or more becomes the escape
 * \x2D there (unescape_dashes, after the emitter), which every YAML reader
 * reads back as '-'.
 */
static int emit_pair(yaml_emitter_t *em, const char *k, const char *v)
{
    return emit_scalar(em, k, YAML_PLAIN_SCALAR_STYLE) &&
           emit_scalar(em, v, strstr(v, "---") ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                               : value_style(v));
}

/* Length of the run of '-' at s. */
static size_t dash_run(const char *s, size_t n)
{
    size_t k = 0;

    while (k < n && s[k] == '-')
        k++;
    return k;
}

/*
 * The emitted YAML text from start on, with every run of 3+ '-' inside a
 * double-quoted scalar written as \x2D escapes. Outside double quotes no
 * such run is emitted (names, versions and the schema never hold one).
 */
static int unescape_dashes(struct ad_buf *out, size_t start)
{
    struct ad_buf t = AD_BUF_INIT;
    const char *s = out->ptr + start;
    size_t n = out->len - start, i = 0;
    int quoted = 0, single = 0, rc = 0;

    if (!memmem(s, n, "---", 3))
        return 0;
    while (rc == 0 && i < n) {
        size_t k = s[i] == '-' ? dash_run(s + i, n - i) : 0;

        if (quoted && k >= 3) {
            for (size_t j = 0; rc == 0 && j < k; j++)
                rc = ad_buf_adds(&t, "\\x2D");
            i += k;
            continue;
        }
        if (quoted && s[i] == '\\' && i + 1 < n) {
            rc = ad_buf_add(&t, s + i, 2);
            i += 2;
            continue;
        }
        /* Plain scalars hold no quote (value_style); '' in a single-quoted one toggles twice. */
        if (s[i] == '"' && !single)
            quoted = !quoted;
        else if (s[i] == '\'' && !quoted)
            single = !single;
        rc = ad_buf_add(&t, s + i, 1);
        i++;
    }
    if (rc == 0) {
        out->len = start;
        rc = ad_buf_add(out, t.ptr, t.len);
    }
    ad_buf_release(&t);
    return rc;
}

/* JSON text with each '-' of a run of 3+ (only in its strings) as the escape \u002d. */
static char *json_no_dash_runs(char *j)
{
    struct ad_buf t = AD_BUF_INIT;
    size_t n = strlen(j), i = 0;

    if (!strstr(j, "---"))
        return j;
    while (i < n) {
        size_t k = j[i] == '-' ? dash_run(j + i, n - i) : 0;

        if (k >= 3) {
            for (size_t m = 0; m < k; m++)
                if (ad_buf_adds(&t, "\\u002d") < 0)
                    goto oom;
            i += k;
        } else if (ad_buf_add(&t, j + i++, 1) < 0)
            goto oom;
    }
    free(j);
    return t.ptr;
oom:
    ad_buf_release(&t);
    free(j);
    return NULL;
}

static int emit_mapping(yaml_emitter_t *em, int start)
{
    yaml_event_t ev;
    int ok = start ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                         YAML_BLOCK_MAPPING_STYLE)
                   : yaml_mapping_end_event_initialize(&ev);

    return ok && yaml_emitter_emit(em, &ev);
}

/*
 * The input schema as one line of ASCII JSON: single quotes then need no
 * escapes but doubled "'", and the emitter never folds it (unbounded width).
 */
static int emit_metadata(yaml_emitter_t *em, const struct ad_skill_bundle *b, const char *schema)
{
    int ok = emit_scalar(em, "metadata", YAML_PLAIN_SCALAR_STYLE) && emit_mapping(em, 1);

    if (ok && b->semver)
        ok = emit_pair(em, "version", b->semver);
    if (ok && b->entry)
        ok = emit_pair(em, "entry", b->entry);
    if (ok && b->script)
        ok = emit_pair(em, "script", b->script);
    if (ok && schema)
        ok = emit_scalar(em, "input-schema", YAML_PLAIN_SCALAR_STYLE) &&
             emit_scalar(em, schema, YAML_SINGLE_QUOTED_SCALAR_STYLE);
    return ok && emit_mapping(em, 0);
}

static int emit_front(yaml_emitter_t *em, const struct ad_skill_bundle *b, const char *as_name,
                      const char *schema)
{
    yaml_event_t ev;
    int ok;

    ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
         yaml_emitter_emit(em, &ev);
    ok = ok && yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
         yaml_emitter_emit(em, &ev);
    ok = ok && emit_mapping(em, 1) && emit_pair(em, "name", as_name) &&
         emit_pair(em, "description", b->description);
    if (ok && (b->semver || b->entry || b->script || schema))
        ok = emit_metadata(em, b, schema);
    ok = ok && emit_mapping(em, 0);
    ok = ok && yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(em, &ev);
    ok = ok && yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
    return ok && yaml_emitter_flush(em);
}

/* The front matter's YAML text into out. */
static int render_front(const struct ad_skill_bundle *b, const char *as_name, struct ad_buf *out,
                        struct ad_err *err)
{
    yaml_emitter_t em;
    char *schema = NULL;
    size_t start;
    int rc = 0;

    if (b->input_schema) {
        schema = ad_json_dumps_flags(b->input_schema, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (schema)
            schema = json_no_dash_runs(schema);
        if (!schema)
            return ad_error(err, AD_ENOMEM, "out of memory");
    }
    if (!yaml_emitter_initialize(&em)) {
        free(schema);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    yaml_emitter_set_output(&em, emit_to_buf, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    yaml_emitter_set_break(&em, YAML_LN_BREAK);
    start = out->len;
    if (!emit_front(&em, b, as_name, schema))
        rc = em.error == YAML_MEMORY_ERROR || em.error == YAML_WRITER_ERROR
                 ? ad_error(err, AD_ENOMEM, "out of memory writing SKILL.md")
                 : ad_error(err, AD_EINVAL, "cannot write SKILL.md: %s",
                            em.problem ? em.problem : "yaml emitter error");
    else if (unescape_dashes(out, start) < 0)
        rc = ad_error(err, AD_ENOMEM, "out of memory writing SKILL.md");
    yaml_emitter_delete(&em);
    free(schema);
    return rc;
}

/* A placeholder value for a property in the usage example. */
static json_t *example_value(const json_t *prop)
{
    const json_t *type = json_object_get(prop, "type");
    const json_t *en = json_object_get(prop, "enum");
    const char *t;

    if (json_array_size(en) > 0)
        return json_deep_copy(json_array_get(en, 0));
    if (json_is_array(type))
        type = json_array_get(type, 0);
    t = json_string_value(type);
    if (!t || strcmp(t, "string") == 0)
        return json_string("...");
    if (strcmp(t, "integer") == 0)
        return json_integer(1);
    if (strcmp(t, "number") == 0)
        return json_real(1.5);
    if (strcmp(t, "boolean") == 0)
        return json_true();
    if (strcmp(t, "array") == 0)
        return json_array();
    if (strcmp(t, "object") == 0)
        return json_object();
    return json_null();
}

/* '{"text":"..."}' for the shell: the required inputs, quoted for sh. */
static int usage_example(const json_t *schema, struct ad_buf *out)
{
    const json_t *props = json_object_get(schema, "properties"), *req, *name;
    json_t *ex = json_object();
    char *text = NULL;
    size_t i;
    int rc = ex ? 0 : AD_ENOMEM;

    req = json_object_get(schema, "required");
    json_array_foreach(req, i, name) {
        const char *k = json_string_value(name);

        if (rc == 0 && k && json_object_set_new(ex, k, example_value(json_object_get(props, k))))
            rc = AD_ENOMEM;
    }
    if (rc == 0 && !(text = ad_json_dumps_flags(ex, JSON_COMPACT)))
        rc = AD_ENOMEM;
    rc = rc ? rc : ad_buf_addch(out, '\'');
    for (const char *p = text; rc == 0 && *p; p++)
        rc = *p == '\'' ? ad_buf_adds(out, "'\\''") : ad_buf_addch(out, *p);
    rc = rc ? rc : ad_buf_addch(out, '\'');
    free(text);
    json_decref(ex);
    return rc;
}

/* "string", "string or null", "one of "a", "b"", "any value": what a property takes. */
static int type_text(const json_t *prop, struct ad_buf *out)
{
    const json_t *type = json_object_get(prop, "type"), *en = json_object_get(prop, "enum"), *t;
    size_t i;
    int rc = 0;

    if (!type && json_array_size(en) > 0) {
        rc = ad_buf_adds(out, "one of ");
        json_array_foreach(en, i, t) {
            char *v = ad_json_dumps(t);

            rc = rc ? rc : !v ? AD_ENOMEM : ad_buf_addf(out, "%s%s", i ? ", " : "", v);
            free(v);
        }
        return rc;
    }
    if (json_is_string(type))
        return ad_buf_adds(out, json_string_value(type));
    if (!json_is_array(type) || json_array_size(type) == 0)
        return ad_buf_adds(out, "any value");
    json_array_foreach(type, i, t)
        if (rc == 0 && json_is_string(t))
            rc = ad_buf_addf(out, "%s%s", i ? " or " : "", json_string_value(t));
    return rc;
}

/* "- `text` (string, required): what it is" per property. */
static int usage_params(const json_t *schema, struct ad_buf *out)
{
    const json_t *props = json_object_get(schema, "properties"), *req, *p, *r;
    const char *k;
    int rc = 0;

    if (json_object_size(props) == 0)
        return ad_buf_adds(out, "It takes no input.\n");
    req = json_object_get(schema, "required");
    json_object_foreach((json_t *)props, k, p) {
        const json_t *def = json_object_get(p, "default");
        char *ds = def ? ad_json_dumps(def) : NULL;
        int required = 0;
        size_t i;

        if (def && !ds)
            rc = AD_ENOMEM;   /* not a property without its default */
        json_array_foreach(req, i, r)
            required |= json_is_string(r) && strcmp(json_string_value(r), k) == 0;
        rc = rc ? rc : ad_buf_addf(out, "- `%s` (", k);
        rc = rc ? rc : type_text(p, out);
        if (rc == 0 && required)
            rc = ad_buf_adds(out, ", required");
        if (rc == 0 && ds)
            rc = ad_buf_addf(out, ", default %s", ds);
        if (rc == 0 && json_is_string(json_object_get(p, "description")))
            rc = ad_buf_addf(out, "): %s\n",
                             json_string_value(json_object_get(p, "description")));
        else if (rc == 0)
            rc = ad_buf_adds(out, ")\n");
        free(ds);
    }
    return rc;
}

/*
 * The usage a SKILL.md body gives when the bundle has none: what the skill
 * does, how to run it, the entry's signature and its inputs. The schema is
 * the bundle's, else derived from the code; a signature that cannot be
 * read just leaves its part out.
 */
static int usage_body(const struct ad_skill_bundle *b, const char *as_name, struct ad_buf *out)
{
    struct ad_buf sig = AD_BUF_INIT;
    json_t *schema = json_incref(b->input_schema);
    size_t clen = b->code ? strlen(b->code) : 0;
    int rc;

    if (b->code && b->entry) {
        rc = schema ? 0 : ad_skill_schema_derive(b->code, clen, b->entry, &schema, NULL);
        if (rc != AD_ENOMEM)
            rc = ad__skill_signature(b->code, clen, b->entry, &sig, NULL);
        if (rc == AD_ENOMEM) {
            json_decref(schema);
            ad_buf_release(&sig);
            return rc;
        }
    }
    rc = ad_buf_addf(out, "\n# %s\n\n%s\n\n## Usage\n\n```sh\nautodev skill run %s --input ",
                     as_name, b->description, b->name);
    rc = rc ? rc : usage_example(schema, out);
    rc = rc ? rc : ad_buf_adds(out, "\n```\n");
    if (rc == 0 && b->entry)
        rc = ad_buf_addf(out, "\nThe entry point is `%s`%s%s%s.\n", b->entry,
                         b->script ? " in `scripts/" : "", b->script ? b->script : "",
                         b->script ? "`" : "");
    if (rc == 0 && sig.len)
        rc = ad_buf_addf(out, "\n```python\n%s\n```\n", sig.ptr);
    if (rc == 0 && schema) {
        rc = ad_buf_adds(out, "\n## Input\n\n");
        rc = rc ? rc : usage_params(schema, out);
    }
    ad_buf_release(&sig);
    json_decref(schema);
    return rc;
}

/* What render needs of a bundle, checked before anything is written. */
static int check_bundle(const struct ad_skill_bundle *b, char as_name[SKILL_NAME_SIZE],
                        struct ad_err *err)
{
    int rc;

    if (!b)
        return ad_error(err, AD_EINVAL, "no skill bundle");
    rc = ad_skill_name_to_agentskills(b->name, as_name, SKILL_NAME_SIZE, err);
    if (rc < 0)
        return rc;
    rc = check_description(b->description, err);
    if (rc < 0)
        return rc;
    if (b->semver && !ad_semver_valid(b->semver))
        return ad_error(err, AD_EINVAL, "invalid version '%.40s' (want MAJOR.MINOR.PATCH)",
                        b->semver);
    if (b->entry && !ad_text_identifier(b->entry, AD_ENTRY_MAX))
        return ad_error(err, AD_EINVAL, "invalid entry function '%.140s'", b->entry);
    if (b->script && !script_name_ok(b->script))
        return ad_error(err, AD_EPERM,
                        "script '%.140s' is not a plain file name ending in .py", b->script);
    if (b->input_schema && (rc = ad_skill_schema_check(b->input_schema, err)) < 0)
        return rc;
    return 0;
}

int ad_skill_md_render(const struct ad_skill_bundle *b, struct ad_buf *out, struct ad_err *err)
{
    char as_name[SKILL_NAME_SIZE];
    size_t start = out->len;
    int rc = check_bundle(b, as_name, err);

    if (rc < 0)
        return rc;
    rc = ad_buf_adds(out, "---\n");
    if (rc == 0)
        rc = render_front(b, as_name, out, err);
    else
        ad_error(err, rc, "no room for SKILL.md");
    if (rc == 0) {
        rc = ad_buf_adds(out, "---\n");
        if (rc == 0)
            rc = b->body ? ad_buf_adds(out, b->body) : usage_body(b, as_name, out);
        if (rc < 0)
            ad_error(err, rc, "no room for SKILL.md");
    }
    if (rc < 0) {
        /* All or nothing: what the caller had stays, nothing half-written. */
        out->len = start;
        if (out->alloc)
            out->ptr[start] = '\0';
    }
    return rc;
}

/* ---- parsing SKILL.md -------------------------------------------------------- */

struct fm {
    yaml_parser_t p;
    yaml_event_t ev;
    int have;                   /* ev holds an event to delete */
    struct ad_err *err;
};

/* SKILL.md's line of a mark in the front matter, which starts on line 2. */
static int fm_line(const yaml_mark_t *m)
{
    return m->line > (size_t)INT_MAX - 2 ? INT_MAX : (int)m->line + 2;
}

static int fm_next(struct fm *f)
{
    const yaml_char_t *anchor = NULL;

    if (f->have)
        yaml_event_delete(&f->ev);
    f->have = 0;
    if (!yaml_parser_parse(&f->p, &f->ev)) {
        if (f->p.error == YAML_MEMORY_ERROR)
            return ad_error(f->err, AD_ENOMEM, "out of memory reading SKILL.md");
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: invalid yaml: %s%s%s",
                        fm_line(&f->p.problem_mark), f->p.problem ? f->p.problem : "error",
                        f->p.context ? " " : "", f->p.context ? f->p.context : "");
    }
    f->have = 1;
    if (f->ev.type == YAML_ALIAS_EVENT)
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: yaml aliases are not allowed",
                        fm_line(&f->ev.start_mark));
    if (f->ev.type == YAML_SCALAR_EVENT)
        anchor = f->ev.data.scalar.anchor;
    else if (f->ev.type == YAML_SEQUENCE_START_EVENT)
        anchor = f->ev.data.sequence_start.anchor;
    else if (f->ev.type == YAML_MAPPING_START_EVENT)
        anchor = f->ev.data.mapping_start.anchor;
    if (anchor)
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: yaml anchors are not allowed",
                        fm_line(&f->ev.start_mark));
    return 0;
}

static int fm_expect(struct fm *f, yaml_event_type_t type, const char *what)
{
    int rc = fm_next(f);

    if (rc == 0 && f->ev.type != type)
        rc = ad_error(f->err, AD_EINVAL, "SKILL.md line %d: %s", fm_line(&f->ev.start_mark),
                      what);
    return rc;
}

/* A collection's tag, when it has one, must be the standard one. */
static int fm_tag_ok(const yaml_char_t *tag, const char *std)
{
    return !tag || strcmp((const char *)tag, std) == 0;
}

/*
 * The current event as a string: a scalar that is quoted, tagged !!str (or
 * "!"), or plain and not read as a null, boolean, number or date.
 */
static int fm_string(struct fm *f, const char *what, const char **s, size_t *n)
{
    const yaml_event_t *e = &f->ev;
    const char *tag, *type;
    int line = fm_line(&e->start_mark);

    if (e->type != YAML_SCALAR_EVENT)
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: %s must be a string", line, what);
    *s = (const char *)e->data.scalar.value;
    *n = e->data.scalar.length;
    tag = (const char *)e->data.scalar.tag;
    if (tag && strcmp(tag, "!") != 0 && strcmp(tag, YAML_STR_TAG) != 0)
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: %s has tag '%.60s'; it must be a "
                        "string", line, what, tag);
    type = !tag && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_type(*s, *n) : NULL;
    if (type)
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: %s is a %s, not a string "
                        "(quote it)", line, what, type);
    if (memchr(*s, '\0', *n))
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: %s contains a NUL byte", line,
                        what);
    return 0;
}

static int fm_dup(struct fm *f, char **dst, const char *s, size_t n)
{
    free(*dst);
    *dst = strndup(s, n);
    return *dst ? 0 : ad_error(f->err, AD_ENOMEM, "out of memory");
}

/* metadata.input-schema: JSON text of an object that can describe parameters. */
static int meta_schema(struct fm *f, const char *s, size_t n, int line,
                       struct ad_skill_bundle *out)
{
    json_error_t jerr;
    json_t *v = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
    int rc;

    if (!v && ad_json_load_code(&jerr) == AD_ENOMEM)
        return ad_error(f->err, AD_ENOMEM, "out of memory reading SKILL.md");
    if (!v)
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: metadata.input-schema is not "
                        "JSON: %s", line, jerr.text);
    rc = ad_skill_schema_check(v, f->err);
    if (rc < 0) {
        json_decref(v);
        return ad_error_prefix(f->err, "SKILL.md line %d: metadata.input-schema", line);
    }
    json_decref(out->input_schema);
    out->input_schema = v;
    return 0;
}

/* One of our metadata keys; others are someone else's and stay unread. */
static int meta_value(struct fm *f, const char *key, const char *s, size_t n, int line,
                      struct ad_skill_bundle *out)
{
    char **dst = NULL;
    int rc;

    if (strcmp(key, "input-schema") == 0)
        return meta_schema(f, s, n, line, out);
    if (strcmp(key, "version") == 0)
        dst = &out->semver;
    else if (strcmp(key, "entry") == 0)
        dst = &out->entry;
    else if (strcmp(key, "script") == 0)
        dst = &out->script;
    if (!dst)
        return 0;
    rc = fm_dup(f, dst, s, n);
    if (rc < 0)
        return rc;
    if (dst == &out->semver && !ad_semver_valid(*dst))
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: metadata.version '%.40s' is not "
                        "MAJOR.MINOR.PATCH", line, *dst);
    if (dst == &out->entry && !ad_text_identifier(*dst, AD_ENTRY_MAX))
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: metadata.entry '%.140s' is not "
                        "a python function name", line, *dst);
    if (dst == &out->script && !script_name_ok(*dst))
        return ad_error(f->err, AD_EPERM, "SKILL.md line %d: metadata.script '%.140s' is not "
                        "a plain file name ending in .py", line, *dst);
    return 0;
}

static int meta_key_seen(char **keys, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], k) == 0)
            return 1;
    return 0;
}

/* metadata: a mapping of string to string, keys unique. */
static int read_metadata(struct fm *f, struct ad_skill_bundle *out)
{
    char *keys[META_KEYS_MAX];
    size_t nkeys = 0;
    int rc = 0;

    if (f->ev.type != YAML_MAPPING_START_EVENT ||
        !fm_tag_ok(f->ev.data.mapping_start.tag, YAML_MAP_TAG))
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: metadata must be a mapping of "
                        "strings", fm_line(&f->ev.start_mark));
    while (rc == 0 && (rc = fm_next(f)) == 0 && f->ev.type != YAML_MAPPING_END_EVENT) {
        const char *s;
        size_t n;
        int line = fm_line(&f->ev.start_mark);

        rc = fm_string(f, "a metadata key", &s, &n);
        if (rc == 0 && nkeys == META_KEYS_MAX)
            rc = ad_error(f->err, AD_EINVAL, "SKILL.md line %d: metadata has more than %d keys",
                          line, META_KEYS_MAX);
        if (rc == 0 && !(keys[nkeys] = strndup(s, n)))
            rc = ad_error(f->err, AD_ENOMEM, "out of memory");
        if (rc < 0)
            break;
        if (meta_key_seen(keys, nkeys, keys[nkeys])) {
            rc = ad_error(f->err, AD_EINVAL, "SKILL.md line %d: duplicate key 'metadata.%.60s'",
                          line, keys[nkeys]);
            free(keys[nkeys]);
            break;
        }
        nkeys++;
        rc = fm_next(f);
        if (rc == 0) {
            char what[96];

            snprintf(what, sizeof(what), "metadata.%.60s", keys[nkeys - 1]);
            line = fm_line(&f->ev.start_mark);
            rc = fm_string(f, what, &s, &n);
        }
        if (rc == 0)
            rc = meta_value(f, keys[nkeys - 1], s, n, line, out);
    }
    while (nkeys > 0)
        free(keys[--nkeys]);
    return rc;
}

/* allowed-tools: the specification's space-separated string; some tools write a list. */
static int read_allowed_tools(struct fm *f)
{
    const char *s;
    size_t n;
    int rc = 0;

    if (f->ev.type != YAML_SEQUENCE_START_EVENT)
        return fm_string(f, "allowed-tools", &s, &n);
    if (!fm_tag_ok(f->ev.data.sequence_start.tag, YAML_SEQ_TAG))
        return fm_string(f, "allowed-tools", &s, &n);
    while (rc == 0 && (rc = fm_next(f)) == 0 && f->ev.type != YAML_SEQUENCE_END_EVENT)
        rc = fm_string(f, "an entry of allowed-tools", &s, &n);
    return rc;
}

enum fm_key { FK_NAME, FK_DESCRIPTION, FK_LICENSE, FK_COMPATIBILITY, FK_ALLOWED_TOOLS,
              FK_METADATA, FK_COUNT };

static const char *const fm_keys[FK_COUNT] = {
    "name", "description", "license", "compatibility", "allowed-tools", "metadata",
};

/* The value of top-level key k, the parser on its first event. */
static int read_value(struct fm *f, enum fm_key k, struct ad_skill_bundle *out)
{
    char as_name[SKILL_NAME_SIZE];
    int line = fm_line(&f->ev.start_mark), rc;
    const char *s;
    size_t n;

    if (k == FK_METADATA)
        return read_metadata(f, out);
    if (k == FK_ALLOWED_TOOLS)
        return read_allowed_tools(f);
    rc = fm_string(f, fm_keys[k], &s, &n);
    if (rc < 0)
        return rc;
    if (k == FK_COMPATIBILITY && utf8_chars(s, n) > COMPAT_MAX)
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: compatibility is over %d "
                        "characters", line, COMPAT_MAX);
    if (k == FK_DESCRIPTION) {
        rc = fm_dup(f, &out->description, s, n);
        if (rc == 0 && (rc = check_description(out->description, f->err)) < 0)
            ad_error_prefix(f->err, "SKILL.md line %d", line);
        return rc;
    }
    if (k != FK_NAME)
        return 0;
    if (n >= SKILL_NAME_SIZE)
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: name is longer than 64 "
                        "characters", line);
    memcpy(as_name, s, n);
    as_name[n] = '\0';
    rc = fm_dup(f, &out->name, s, n);
    if (rc == 0 && (rc = ad_skill_name_from_agentskills(as_name, out->name, n + 1, f->err)) < 0)
        ad_error_prefix(f->err, "SKILL.md line %d", line);
    return rc;
}

static int read_key(struct fm *f, unsigned *seen, struct ad_skill_bundle *out)
{
    int line = fm_line(&f->ev.start_mark), rc;
    const char *s;
    size_t n;
    int k;

    rc = fm_string(f, "a key", &s, &n);
    if (rc < 0)
        return rc;
    for (k = 0; k < FK_COUNT; k++)
        if (strlen(fm_keys[k]) == n && memcmp(fm_keys[k], s, n) == 0)
            break;
    if (k == FK_COUNT)
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: unknown key '%.*s' in the front "
                        "matter", line, (int)(n > 60 ? 60 : n), s);
    if (*seen & (1u << k))
        return ad_error(f->err, AD_EINVAL, "SKILL.md line %d: duplicate key '%s'", line,
                        fm_keys[k]);
    *seen |= 1u << k;
    rc = fm_next(f);
    return rc ? rc : read_value(f, (enum fm_key)k, out);
}

static int read_front(struct fm *f, struct ad_skill_bundle *out)
{
    unsigned seen = 0;
    int rc = fm_expect(f, YAML_STREAM_START_EVENT, "yaml stream expected");

    if (rc == 0 && (rc = fm_next(f)) == 0 && f->ev.type == YAML_STREAM_END_EVENT)
        return ad_error(f->err, AD_EINVAL, "SKILL.md: the front matter is empty; it needs "
                        "name and description");
    rc = rc ? rc : fm_expect(f, YAML_MAPPING_START_EVENT, "the front matter must be a "
                             "mapping of keys");
    if (rc == 0 && !fm_tag_ok(f->ev.data.mapping_start.tag, YAML_MAP_TAG))
        rc = ad_error(f->err, AD_EINVAL, "SKILL.md line %d: the front matter must be a "
                      "mapping of keys", fm_line(&f->ev.start_mark));
    while (rc == 0 && (rc = fm_next(f)) == 0 && f->ev.type != YAML_MAPPING_END_EVENT)
        rc = read_key(f, &seen, out);
    rc = rc ? rc : fm_expect(f, YAML_DOCUMENT_END_EVENT, "the front matter holds one mapping");
    rc = rc ? rc : fm_expect(f, YAML_STREAM_END_EVENT, "the front matter holds more than one "
                             "yaml document");
    if (rc == 0 && !(seen & (1u << FK_NAME)))
        rc = ad_error(f->err, AD_EINVAL, "SKILL.md: the front matter has no 'name'");
    if (rc == 0 && !(seen & (1u << FK_DESCRIPTION)))
        rc = ad_error(f->err, AD_EINVAL, "SKILL.md: the front matter has no 'description'");
    return rc;
}

/* Length of the line at p when it is a "---" fence, newline included; 0 when not. */
static size_t fence_len(const char *p, size_t n)
{
    size_t i = 3;

    if (n < 3 || memcmp(p, "---", 3) != 0)
        return 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i == n)
        return i;
    if (p[i] == '\n')
        return i + 1;
    if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
        return i + 2;
    return 0;
}

/* The front matter [*fm, *fm + *fmlen) and where the body starts. */
static int split_md(const char *text, size_t len, size_t *fm, size_t *fmlen, size_t *body,
                    struct ad_err *err)
{
    size_t i = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0, f;

    f = fence_len(text + i, len - i);
    if (f == 0 || text[i + f - 1] != '\n')
        return ad_error(err, AD_EINVAL, "SKILL.md must start with a '---' line opening its "
                        "front matter");
    *fm = i + f;
    for (i = *fm; i < len;) {
        const char *nl;

        f = fence_len(text + i, len - i);
        if (f) {
            *fmlen = i - *fm;
            *body = i + f;
            return 0;
        }
        nl = memchr(text + i, '\n', len - i);
        if (!nl)
            break;
        i = (size_t)(nl - text) + 1;
    }
    return ad_error(err, AD_EINVAL, "SKILL.md: the front matter has no closing '---' line");
}

int ad_skill_md_parse(const char *text, size_t len, struct ad_skill_bundle *out,
                      struct ad_err *err)
{
    struct fm f = { .have = 0, .err = err };
    size_t fm = 0, fmlen = 0, body = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!text)
        return ad_error(err, AD_EINVAL, "no SKILL.md text");
    if (len > SKILL_MD_MAX)
        return ad_error(err, AD_ETOOBIG, "SKILL.md is %zu bytes, over the %d-byte cap", len,
                        SKILL_MD_MAX);
    if (memchr(text, '\0', len))
        return ad_error(err, AD_EINVAL, "SKILL.md contains a NUL byte");
    rc = split_md(text, len, &fm, &fmlen, &body, err);
    if (rc < 0)
        return rc;
    if (!yaml_parser_initialize(&f.p))
        return ad_error(err, AD_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&f.p, (const unsigned char *)text + fm, fmlen);
    yaml_parser_set_encoding(&f.p, YAML_UTF8_ENCODING);
    rc = read_front(&f, out);
    if (f.have)
        yaml_event_delete(&f.ev);
    yaml_parser_delete(&f.p);
    if (rc == 0 && !(out->body = strndup(text + body, len - body)))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (rc < 0)
        ad_skill_bundle_release(out);
    return rc;
}

/* ---- the folder -------------------------------------------------------------- */

static int sys_error(struct ad_err *err, const char *what, const char *path)
{
    int e = errno;

    return ad_error(err, e == ENOMEM ? AD_ENOMEM : AD_EIO, "cannot %s '%s': %s", what, path,
                    strerror(e));
}

/* Creates path and its missing parents (0755); an existing folder is fine. */
static int make_dirs(char *path, struct ad_err *err)
{
    struct stat st;
    size_t n = strlen(path);

    for (size_t i = 1; i <= n; i++) {
        if (i < n && path[i] != '/')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && (errno != EEXIST || stat(path, &st) != 0 ||
                                       !S_ISDIR(st.st_mode))) {
            int rc = errno == EEXIST ? ad_error(err, AD_EEXIST, "'%s' is not a folder", path)
                                     : sys_error(err, "create folder", path);

            path[i] = i < n ? '/' : '\0';
            return rc;
        }
        path[i] = i < n ? '/' : '\0';
    }
    return 0;
}

/*
 * A folder we write into: created (0755, whatever the umask) when missing,
 * refused when it is a link, so a write never lands outside it.
 */
static int own_dir(const char *path, bool may_exist, struct ad_err *err)
{
    struct stat st;

    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode))
            return ad_error(err, AD_EPERM, "'%s' is a symbolic link", path);
        if (!S_ISDIR(st.st_mode))
            return ad_error(err, AD_EEXIST, "'%s' exists and is not a folder", path);
        if (!may_exist)
            return ad_error(err, AD_EEXIST, "'%s' already exists", path);
        return 0;
    }
    if (errno != ENOENT)
        return sys_error(err, "inspect", path);
    if (mkdir(path, 0755) != 0 || chmod(path, 0755) != 0)
        return sys_error(err, "create folder", path);
    return 0;
}

static int write_all(int fd, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* dir/name holds data after this, or what it held before: a temp file renamed over it. */
static int write_file(const char *dir, const char *name, const char *data, size_t n,
                      struct ad_err *err)
{
    struct ad_buf tmp = AD_BUF_INIT, path = AD_BUF_INIT;
    int fd = -1, rc;

    rc = ad_buf_addf(&tmp, "%s/.%s.XXXXXX", dir, name);
    rc = rc ? rc : ad_buf_addf(&path, "%s/%s", dir, name);
    if (rc < 0) {
        rc = ad_error(err, rc, "no room for a path under '%s'", dir);
        goto out;
    }
    fd = mkostemp(tmp.ptr, O_CLOEXEC);
    if (fd < 0) {
        rc = sys_error(err, "create a file in", dir);
        goto out;
    }
    if (fchmod(fd, 0644) != 0 || write_all(fd, data, n) != 0 || fsync(fd) != 0) {
        rc = sys_error(err, "write", tmp.ptr);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = sys_error(err, "write", tmp.ptr);
        goto out;
    }
    fd = -1;
    if (rename(tmp.ptr, path.ptr) != 0)
        rc = sys_error(err, "rename a file to", path.ptr);
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0 && tmp.len)
        unlink(tmp.ptr);
    ad_buf_release(&tmp);
    ad_buf_release(&path);
    return rc;
}

/* The script's name: the bundle's, else the catalog name with ".py". */
static int script_for(const struct ad_skill_bundle *b, struct ad_buf *out, struct ad_err *err)
{
    int rc = b->script ? ad_buf_adds(out, b->script) : ad_buf_addf(out, "%s.py", b->name);

    return rc < 0 ? ad_error(err, rc, "out of memory") : 0;
}

/* The kept line (below: byte for byte). */
#define KEEP_MARK "\n# autodev: SKILL.md kept verbatim "

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

struct kept {
    size_t script_len;            /* the script is code[0, script_len) */
    char file[NAME_MAX + 1];      /* its file name under scripts/ */
    const char *b64;              /* SKILL.md, base64, up to b64_len */
    size_t b64_len;
    bool intact;                  /* the hash matches the script */
};

/* The kept line at the end of code; 0 when there is none. */
static int kept_line(const char *code, struct kept *k)
{
    const char *m = NULL, *p = code, *f, *h, *e;
    size_t n;
    char hex[17];

    memset(k, 0, sizeof(*k));
    while ((p = strstr(p, KEEP_MARK)) != NULL)
        m = p++;
    if (!m)
        return 0;
    f = m + strlen(KEEP_MARK);
    h = strchr(f, ' ');
    if (!h || (size_t)(h - f) > NAME_MAX)
        return 0;
    e = strchr(h + 1, ' ');
    if (!e || e - (h + 1) != 16)
        return 0;
    /* The base64, then the line's end and nothing but white space (an editor's newline). */
    n = strcspn(e + 1, "\n");
    if (n < 1 || e[n + 1] != '\n' || e[n + 2 + strspn(e + n + 2, " \t\r\n")] != '\0')
        return 0;
    n++;
    memcpy(k->file, f, (size_t)(h - f));
    k->file[h - f] = '\0';
    if (!script_name_ok(k->file))
        return 0;
    k->script_len = (size_t)(m - code);
    k->b64 = e + 1;
    k->b64_len = n - 1;
    snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)fnv1a(code, k->script_len));
    k->intact = memcmp(hex, h + 1, 16) == 0;
    return 1;
}

static int write_files(json_t *files, const char *as_name, const char *dir, bool overwrite,
                       struct ad_err *err);

int ad_skill_bundle_write(const struct ad_skill_bundle *b, const char *dir, bool overwrite,
                          struct ad_err *err)
{
    struct ad_buf md = AD_BUF_INIT, root = AD_BUF_INIT, scripts = AD_BUF_INIT;
    struct ad_buf script = AD_BUF_INIT;
    struct ad_skill_bundle copy;
    char as_name[SKILL_NAME_SIZE];
    struct kept k;
    int rc;

    if (!b || !dir || !dir[0] || !b->code)
        return ad_error(err, AD_EINVAL, "writing a skill folder needs a bundle with code and "
                        "a folder");
    if (strlen(b->code) > AD_SKILL_CODE_MAX)
        return ad_error(err, AD_ETOOBIG, "skill code is over the %d-byte cap",
                        AD_SKILL_CODE_MAX);
    copy = *b;
    rc = check_bundle(b, as_name, err);
    /* A kept folder, or a SKILL.md kept with the script: the files export gives. */
    if (rc == 0 && (ad_skill_code_is_folder(b->code) || kept_line(b->code, &k))) {
        json_t *files = NULL;

        rc = ad_skill_export_files(b, &files, err);
        rc = rc ? rc : write_files(files, as_name, dir, overwrite, err);
        json_decref(files);
        return rc;
    }
    rc = rc ? rc : script_for(b, &script, err);
    copy.script = script.ptr;
    /* Render first: a bundle SKILL.md cannot hold writes nothing. */
    rc = rc ? rc : ad_skill_md_render(&copy, &md, err);
    if (rc == 0 && (ad_buf_adds(&root, dir) || ad_buf_addf(&root, "/%s", as_name) ||
                    ad_buf_addf(&scripts, "%s/scripts", root.ptr)))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (rc == 0) {
        root.ptr[strlen(dir)] = '\0';
        rc = make_dirs(root.ptr, err);
        root.ptr[strlen(dir)] = '/';
    }
    rc = rc ? rc : own_dir(root.ptr, overwrite, err);
    rc = rc ? rc : own_dir(scripts.ptr, true, err);
    /* The script first: a SKILL.md in place means its script is too. */
    rc = rc ? rc : write_file(scripts.ptr, script.ptr, b->code, strlen(b->code), err);
    rc = rc ? rc : write_file(root.ptr, "SKILL.md", md.ptr, md.len, err);
    ad_buf_release(&md);
    ad_buf_release(&root);
    ad_buf_release(&scripts);
    ad_buf_release(&script);
    return rc;
}

/*
 * Reads file name under the folder dfd (shown as shown/name), at most max
 * bytes. A link is refused, not followed: it could point anywhere.
 */
static int read_at(int dfd, const char *name, size_t max, const char *shown, char **out,
                   size_t *len, struct ad_err *err)
{
    struct ad_buf b = AD_BUF_INIT;
    struct stat st;
    char chunk[8192];
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), rc = 0;
    ssize_t r;

    if (fd < 0 && errno == ELOOP)
        return ad_error(err, AD_EPERM, "'%s/%s' is a symbolic link", shown, name);
    if (fd < 0 && errno == ENOENT)
        return ad_error(err, AD_ENOTFOUND, "'%s/%s' does not exist", shown, name);
    if (fd < 0)
        return sys_error(err, "open a file in", shown);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = ad_error(err, AD_EPERM, "'%s/%s' is not a regular file", shown, name);
    else if ((uintmax_t)st.st_size > max)
        rc = ad_error(err, AD_ETOOBIG, "'%s/%s' is over the %zu-byte cap", shown, name, max);
    b.max = max;
    while (rc == 0 && (r = read(fd, chunk, sizeof(chunk))) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = sys_error(err, "read", shown);
        else if ((rc = ad_buf_add(&b, chunk, (size_t)r)) == AD_ETOOBIG)
            rc = ad_error(err, rc, "'%s/%s' is over the %zu-byte cap", shown, name, max);
        else if (rc < 0)
            ad_error(err, rc, "out of memory");
    }
    close(fd);
    if (rc == 0 && !(*out = ad_buf_detach(&b, len)))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    ad_buf_release(&b);
    return rc;
}

/* The last part of dir, which must be the skill's Agent Skills name. */
static int folder_base(const char *dir, struct ad_buf *out, struct ad_err *err)
{
    size_t n = strlen(dir), a;
    char *real = NULL;
    int rc;

    while (n > 1 && dir[n - 1] == '/')
        n--;
    for (a = n; a > 0 && dir[a - 1] != '/'; a--)
        ;
    if ((n - a == 1 && dir[a] == '.') || (n - a == 2 && dir[a] == '.' && dir[a + 1] == '.')) {
        real = realpath(dir, NULL);
        if (!real)
            return sys_error(err, "resolve", dir);
        dir = real;
        n = strlen(dir);
        for (a = n; a > 0 && dir[a - 1] != '/'; a--)
            ;
    }
    rc = ad_buf_add(out, dir + a, n - a);
    free(real);
    return rc < 0 ? ad_error(err, rc, "out of memory") : 0;
}

static int read_folder(int dfd, const char *dir, struct ad_skill_bundle *out,
                       struct ad_err *err);

int ad_skill_bundle_read(const char *dir, struct ad_skill_bundle *out, struct ad_err *err)
{
    struct ad_buf base = AD_BUF_INIT;
    char as_name[SKILL_NAME_SIZE];
    char *text = NULL;
    size_t len = 0;
    int dfd, rc;

    memset(out, 0, sizeof(*out));
    if (!dir || !dir[0])
        return ad_error(err, AD_EINVAL, "no skill folder given");
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return errno == ENOENT ? ad_error(err, AD_ENOTFOUND, "no skill folder '%s'", dir)
                               : sys_error(err, "open", dir);
    rc = read_at(dfd, "SKILL.md", SKILL_MD_MAX, dir, &text, &len, err);
    if (rc == 0 && (rc = ad_skill_md_parse(text, len, out, err)) < 0)
        ad_error_prefix(err, "%s", dir);
    rc = rc ? rc : folder_base(dir, &base, err);
    rc = rc ? rc : ad_skill_name_to_agentskills(out->name, as_name, sizeof(as_name), err);
    if (rc == 0 && strcmp(as_name, base.ptr) != 0)
        rc = ad_error(err, AD_EINVAL, "SKILL.md names the skill '%s' but its folder is '%.80s'",
                      as_name, base.ptr);
    rc = rc ? rc : read_folder(dfd, dir, out, err);
    close(dfd);
    free(text);
    ad_buf_release(&base);
    if (rc < 0)
        ad_skill_bundle_release(out);
    return rc;
}

/* ---- a folder kept verbatim -------------------------------------------------- */

/*
 * A spec-valid folder that is not one script with its entry function (an
 * instruction-only skill, several scripts, references, assets, a script
 * with no function named after the skill) is kept whole: the catalog's
 * code is a small Python module holding every file of the folder (base64
 * in a JSON object on one line) and an entry function named after the
 * skill that returns the instructions (SKILL.md's body) and the list of
 * scripts, or with script="x.py" that script's text. Export writes the
 * files back byte for byte.
 */

#define FOLDER_MARK "# autodev: an Agent Skills folder kept verbatim\n"
#define FOLDER_LINE "_FOLDER = _json.loads(r\"\"\" "
#define FOLDER_END " \"\"\")\n"
#define FOLDER_FILES_MAX 512
#define FOLDER_DEPTH_MAX 8

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_encode(const unsigned char *p, size_t n, struct ad_buf *out)
{
    char q[4];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);

        q[0] = b64chars[v >> 18 & 63];
        q[1] = b64chars[v >> 12 & 63];
        q[2] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? b64chars[v & 63] : '=';
        rc = ad_buf_add(out, q, 4);
    }
    return rc;
}

static int b64_decode(const char *s, struct ad_buf *out)
{
    size_t n = strlen(s);
    int rc = 0;

    if (n % 4)
        return AD_EINVAL;
    for (size_t i = 0; rc == 0 && i < n; i += 4) {
        unsigned v = 0;
        int pad = 0;

        for (int k = 0; k < 4; k++) {
            const char *c = s[i + k] == '=' ? NULL : strchr(b64chars, s[i + k]);

            if (s[i + k] == '=' && i + 4 == n && k >= 2)
                pad++;
            else if (!c || !s[i + k] || pad)
                return AD_EINVAL;
            v = v << 6 | (c ? (unsigned)(c - b64chars) : 0);
        }
        unsigned char b[3] = { (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                               (unsigned char)v };
        rc = ad_buf_add(out, (const char *)b, (size_t)(3 - pad));
    }
    return rc;
}

/* A relative path of plain parts: no "", ".", ".." or leading '/'. */
static int rel_path_ok(const char *p)
{
    const char *s = p;

    if (!*p || *p == '/' || strlen(p) > PATH_MAX / 2)
        return 0;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);

        if (n == 0 || n > NAME_MAX || (n == 1 && s[0] == '.') ||
            (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        s += n + (e != NULL);
        if (e && !*s)
            return 0;
    }
    return 1;
}

/* Every regular file under dfd (shown as shown), into files as path -> base64. */
static int walk(int dfd, const char *prefix, const char *shown, int depth, json_t *files,
                size_t *total, struct ad_err *err)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    int rc = 0;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return sys_error(err, "list", shown);
    }
    if (depth > FOLDER_DEPTH_MAX) {
        closedir(d);
        return ad_error(err, AD_ETOOBIG, "'%s' is nested over %d folders deep", shown,
                        FOLDER_DEPTH_MAX);
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        struct ad_buf rel = AD_BUF_INIT, b64 = AD_BUF_INIT, where = AD_BUF_INIT;
        struct stat st;
        char *data = NULL;
        size_t len = 0;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (ad_buf_addf(&rel, "%s%s", prefix, e->d_name) < 0 ||
            ad_buf_addf(&where, "%s/%s", shown, e->d_name) < 0) {
            rc = ad_error(err, AD_ENOMEM, "out of memory");
        } else if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = sys_error(err, "inspect", where.ptr);
        } else if (S_ISLNK(st.st_mode)) {
            rc = ad_error(err, AD_EPERM, "'%s' is a symbolic link", where.ptr);
        } else if (S_ISDIR(st.st_mode)) {
            int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

            if (sub < 0 || ad_buf_adds(&rel, "/") < 0)
                rc = sub < 0 ? sys_error(err, "open", where.ptr)
                             : ad_error(err, AD_ENOMEM, "out of memory");
            else
                rc = walk(sub, rel.ptr, where.ptr, depth + 1, files, total, err);
            if (sub >= 0)
                close(sub);
        } else if (!S_ISREG(st.st_mode)) {
            rc = ad_error(err, AD_EPERM, "'%s' is not a regular file", where.ptr);
        } else if (json_object_size(files) >= FOLDER_FILES_MAX) {
            rc = ad_error(err, AD_ETOOBIG, "'%s' holds over %d files", shown, FOLDER_FILES_MAX);
        } else if (!rel_path_ok(rel.ptr) || !ad_utf8_valid(rel.ptr, rel.len)) {
            rc = ad_error(err, AD_EPERM, "'%s' is not a plain file name", where.ptr);
        } else if ((rc = read_at(dfd, e->d_name, AD_SKILL_CODE_MAX, shown, &data, &len,
                                 err)) == 0) {
            *total += len;
            if (*total > AD_SKILL_CODE_MAX / 4 * 3 - 16384)
                rc = ad_error(err, AD_ETOOBIG, "the skill folder's files are over the %d-byte "
                              "cap of a kept folder", AD_SKILL_CODE_MAX / 4 * 3 - 16384);
            else if (b64_encode((const unsigned char *)data, len, &b64) < 0 ||
                     json_object_set_new(files, rel.ptr, json_string(b64.ptr ? b64.ptr : ""))
                         != 0)
                rc = ad_error(err, AD_ENOMEM, "out of memory");
        }
        free(data);
        ad_buf_release(&rel);
        ad_buf_release(&b64);
        ad_buf_release(&where);
    }
    closedir(d);
    return rc;
}

/* The entry module of a kept folder; files is path -> base64, body the instructions. */
static int folder_module(const char *name, const char *body, json_t *files, char **code,
                         struct ad_err *err)
{
    struct ad_buf m = AD_BUF_INIT;
    json_t *instr = json_string(body);
    char *fj = json_dumps(files, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    char *ij = instr ? json_dumps(instr, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    int rc = fj && ij ? 0 : AD_ENOMEM;

    rc = rc ? rc : ad_buf_addf(&m, FOLDER_MARK "\"\"\"The skill %s: its instructions and "
                               "scripts.\"\"\"\nimport base64 as _b64\nimport json as _json\n\n"
                               FOLDER_LINE "%s" FOLDER_END, name, fj);
    rc = rc ? rc : ad_buf_addf(&m, "_INSTRUCTIONS = _json.loads(r\"\"\" %s \"\"\")\n", ij);
    rc = rc ? rc : ad_buf_addf(&m,
        "\n\ndef %s(script: str = \"\"):\n"
        "    \"\"\"The instructions and the scripts; with script, that script's text.\"\"\"\n"
        "    scripts = sorted(p[len(\"scripts/\"):] for p in _FOLDER if p.startswith(\"scripts/\"))\n"
        "    if script:\n"
        "        if script not in scripts:\n"
        "            raise ValueError(\"no script %%r (scripts: %%s)\" %% (script, \", \".join(scripts)))\n"
        "        return _b64.b64decode(_FOLDER[\"scripts/\" + script]).decode(\"utf-8\", \"replace\")\n"
        "    return {\"instructions\": _INSTRUCTIONS, \"scripts\": scripts}\n", name);
    free(fj);
    free(ij);
    json_decref(instr);
    if (rc == 0 && m.len > AD_SKILL_CODE_MAX)
        rc = AD_ETOOBIG;
    if (rc == 0 && !(*code = ad_buf_detach(&m, NULL)))
        rc = AD_ENOMEM;
    ad_buf_release(&m);
    if (rc == AD_ETOOBIG)
        return ad_error(err, rc, "the kept skill folder is over the %d-byte cap",
                        AD_SKILL_CODE_MAX);
    return rc < 0 ? ad_error(err, rc, "out of memory") : 0;
}

/* The folder's files as path -> base64 JSON, or NULL when code is not a kept folder. */
static json_t *folder_files(const char *code)
{
    const char *a, *e;

    if (!code || strncmp(code, FOLDER_MARK, strlen(FOLDER_MARK)) != 0)
        return NULL;
    a = strstr(code, "\n" FOLDER_LINE);
    if (!a)
        return NULL;
    a += 1 + strlen(FOLDER_LINE);
    e = strstr(a, FOLDER_END);
    return e ? json_loadb(a, (size_t)(e - a), JSON_REJECT_DUPLICATES, NULL) : NULL;
}

bool ad_skill_code_is_folder(const char *code)
{
    json_t *f = folder_files(code);
    bool is = json_is_object(f);

    json_decref(f);
    return is;
}

static int write_files(json_t *files, const char *as_name, const char *dir, bool overwrite,
                       struct ad_err *err);

int ad_skill_folder_write(const char *code, const char *as_name, const char *dir,
                          bool overwrite, struct ad_err *err)
{
    json_t *files = folder_files(code);
    int rc;

    if (!json_is_object(files)) {
        json_decref(files);
        return ad_error(err, AD_ENOTFOUND, "the skill's code is not a kept folder");
    }
    rc = write_files(files, as_name, dir, overwrite, err);
    json_decref(files);
    return rc;
}

/* A folder's files (path -> base64) under dir/as_name, SKILL.md last. */
static int write_files(json_t *files, const char *as_name, const char *dir, bool overwrite,
                       struct ad_err *err)
{
    struct ad_buf root = AD_BUF_INIT;
    const char *path;
    json_t *v;
    int rc = 0;

    if (!ad_agentskills_name_valid(as_name))
        rc = ad_error(err, AD_EINVAL, "invalid Agent Skills name '%.80s'", as_name);
    if (rc == 0 && (ad_buf_adds(&root, dir) < 0 || ad_buf_addf(&root, "/%s", as_name) < 0))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (rc == 0) {
        root.ptr[strlen(dir)] = '\0';
        rc = make_dirs(root.ptr, err);
        root.ptr[strlen(dir)] = '/';
    }
    rc = rc ? rc : own_dir(root.ptr, overwrite, err);
    /* SKILL.md last: a SKILL.md in place means the rest is too. */
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        json_object_foreach(files, path, v) {
            struct ad_buf data = AD_BUF_INIT, sub = AD_BUF_INIT;
            const char *slash = strrchr(path, '/');

            if ((strcmp(path, "SKILL.md") == 0) != (pass == 1))
                continue;
            if (!rel_path_ok(path) || !json_is_string(v))
                rc = ad_error(err, AD_EINVAL, "the kept folder has a bad path '%.80s'", path);
            else if (b64_decode(json_string_value(v), &data) < 0)
                rc = ad_error(err, AD_EINVAL, "the kept folder's '%.80s' is not base64", path);
            else if (ad_buf_addf(&sub, "%s/%.*s", root.ptr, slash ? (int)(slash - path) : 0,
                                 path) < 0)
                rc = ad_error(err, AD_ENOMEM, "out of memory");
            if (rc == 0 && slash)
                rc = make_dirs(sub.ptr, err);
            if (rc == 0)
                rc = write_file(slash ? sub.ptr : root.ptr, slash ? slash + 1 : path,
                                data.ptr ? data.ptr : "", data.len, err);
            ad_buf_release(&data);
            ad_buf_release(&sub);
            if (rc < 0)
                break;
        }
    }
    ad_buf_release(&root);
    return rc;
}

/* Of a folder's files, the one script when they are SKILL.md and scripts/X.py alone. */
static const char *one_script(json_t *files, const char *named)
{
    const char *path, *script = NULL;
    json_t *v;

    if (json_object_size(files) != 2 || !json_object_get(files, "SKILL.md"))
        return NULL;
    json_object_foreach(files, path, v) {
        if (strncmp(path, "scripts/", 8) == 0 && !strchr(path + 8, '/') &&
            script_name_ok(path + 8))
            script = path + 8;
    }
    if (script && named && strcmp(script, named) != 0)
        return NULL;
    return script;
}

/*
 * One script whose entry function is there: the classic bundle, its
 * script the code. Anything else the specification allows: the folder kept.
 */
static int bundle_of_files(json_t *files, const char *dir, struct ad_skill_bundle *out,
                           struct ad_err *err);

static int read_folder(int dfd, const char *dir, struct ad_skill_bundle *out,
                       struct ad_err *err)
{
    json_t *files = json_object();
    size_t total = 0;
    int rc;

    if (!files)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = walk(dfd, "", dir, 0, files, &total, err);
    if (rc == 0 && out->script) {
        char named[NAME_MAX + 16];

        snprintf(named, sizeof(named), "scripts/%s", out->script);
        if (!json_object_get(files, named))
            rc = ad_error(err, AD_ENOTFOUND, "'%s/scripts/%s' does not exist (SKILL.md names "
                          "it in metadata.script)", dir, out->script);
    }
    (void)dfd;
    rc = rc ? rc : bundle_of_files(files, dir, out, err);
    json_decref(files);
    return rc;
}

/*
 * A folder's files (path -> base64) as a bundle, out's SKILL.md fields
 * already parsed: one script whose entry function is there is the classic
 * bundle (its script the code, SKILL.md kept as read); anything else the
 * specification allows is the folder kept.
 */
static int bundle_of_files(json_t *files, const char *dir, struct ad_skill_bundle *out,
                           struct ad_err *err)
{
    json_t *schema = NULL;
    const char *script;
    int rc = 0;

    script = one_script(files, out->script);
    if (script) {
        const char *entry = out->entry ? out->entry : out->name;
        char path[NAME_MAX + 16];
        struct ad_buf code = AD_BUF_INIT, md = AD_BUF_INIT;
        int d = 0;

        snprintf(path, sizeof(path), "scripts/%s", script);
        if (!out->script && !(out->script = strdup(script)))
            rc = ad_error(err, AD_ENOMEM, "out of memory");
        if (rc == 0 && (b64_decode(json_string_value(json_object_get(files, path)), &code) < 0 ||
                        b64_decode(json_string_value(json_object_get(files, "SKILL.md")),
                                   &md) < 0 || ad_buf_add(&code, "", 0) < 0 ||
                        ad_buf_add(&md, "", 0) < 0))
            rc = ad_error(err, AD_ENOMEM, "out of memory");
        if (rc == 0 && memchr(code.ptr, '\0', code.len))
            rc = ad_error(err, AD_EINVAL, "'%s/scripts/%s' contains a NUL byte", dir,
                          out->script);
        if (rc == 0) {
            out->code = ad_buf_detach(&code, NULL);
            out->skill_md = ad_buf_detach(&md, &out->skill_md_len);
            if (!out->code || !out->skill_md)
                rc = ad_error(err, AD_ENOMEM, "out of memory");
        }
        ad_buf_release(&code);
        ad_buf_release(&md);
        d = rc == 0 ? ad_skill_schema_derive(out->code, strlen(out->code), entry, &schema,
                                             NULL) : 0;
        json_decref(schema);
        if (rc < 0 || d != AD_ENOTFOUND)
            return rc;
        free(out->code);
        out->code = NULL;
        free(out->skill_md);
        out->skill_md = NULL;
        out->skill_md_len = 0;
    }
    if (rc == 0) {
        /* The module's own function is the entry; metadata.entry/script do not apply. */
        free(out->entry);
        free(out->script);
        out->script = NULL;
        out->entry = strdup(out->name);
        rc = out->entry ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
    }
    rc = rc ? rc : folder_module(out->name, out->body ? out->body : "", files, &out->code,
                                 err);
    return rc;
}

int ad_skill_folder_file(const char *code, const char *path, char **out, size_t *len,
                         struct ad_err *err)
{
    json_t *files = folder_files(code);
    const char *b = json_string_value(json_object_get(files, path));
    struct ad_buf data = AD_BUF_INIT;
    int rc = 0;

    if (!json_is_object(files))
        rc = ad_error(err, AD_ENOTFOUND, "the skill's code is not a kept folder");
    else if (!b)
        rc = ad_error(err, AD_ENOTFOUND, "the skill's folder has no '%.80s'", path);
    else if (b64_decode(b, &data) < 0 || ad_buf_add(&data, "", 0) < 0)
        rc = ad_error(err, AD_EINVAL, "the kept folder's '%.80s' is not base64", path);
    else if (!(*out = ad_buf_detach(&data, len)))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    ad_buf_release(&data);
    json_decref(files);
    return rc;
}

int ad_skill_folder_scripts(const char *code, json_t **out, struct ad_err *err)
{
    json_t *files = folder_files(code), *v, *list = json_array();
    const char *path;
    int rc = 0;

    if (!json_is_object(files))
        rc = ad_error(err, AD_ENOTFOUND, "the skill's code is not a kept folder");
    else if (!list)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    json_object_foreach(files, path, v) {
        if (rc == 0 && !strncmp(path, "scripts/", 8) && !strchr(path + 8, '/') &&
            json_array_append_new(list, json_string(path + 8)) != 0)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    json_decref(files);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* ---- byte for byte: a one-script folder's SKILL.md kept ------------------------ */

/*
 * A folder of one script with its entry function becomes that script's
 * code; so that export can give the folder back byte for byte where autodev
 * changed nothing, the catalog's code also carries the SKILL.md as read and
 * the script's file name, in one comment line after the script:
 *
 *     <script>\n# autodev: SKILL.md kept verbatim <file> <fnv1a-64 of script> <base64>\n
 *
 * Export writes that SKILL.md and the script as they came while the hash
 * still matches the script, and the kept SKILL.md still names the version
 * and description exported; otherwise it renders SKILL.md afresh (and the
 * script without the line).
 */
/*
 * Whether export would write b's SKILL.md and script name as they are: the
 * folder is one autodev wrote, and nothing needs keeping. Export renders
 * the catalog's version (1.0.0 when SKILL.md names none), entry, derived
 * or given schema, the usage body and scripts/<name>.py.
 */
static bool renders_same(const struct ad_skill_bundle *b)
{
    struct ad_skill_bundle copy = *b;
    struct ad_buf md = AD_BUF_INIT, script = AD_BUF_INIT;
    struct ad_err ignored = AD_ERR_INIT;
    json_t *schema = NULL;
    bool same = false;

    copy.semver = b->semver ? b->semver : (char *)"1.0.0";
    copy.entry = b->entry ? b->entry : b->name;
    copy.body = NULL;
    copy.skill_md = NULL;
    if (!b->input_schema &&
        ad_skill_schema_derive(b->code, strlen(b->code), copy.entry, &schema, NULL) == 0)
        copy.input_schema = schema;
    if (ad_buf_addf(&script, "%s.py", b->name) == 0 && !strcmp(script.ptr, b->script) &&
        ad_skill_md_render(&copy, &md, &ignored) == 0)
        same = md.len == b->skill_md_len && !memcmp(md.ptr, b->skill_md, md.len);
    json_decref(schema);
    ad_buf_release(&md);
    ad_buf_release(&script);
    return same;
}

static int put_file(json_t *files, const char *path, const char *data, size_t n);

int ad_skill_bundle_catalog_code(const struct ad_skill_bundle *b, char **out,
                                 struct ad_err *err)
{
    struct ad_buf c = AD_BUF_INIT;
    int rc;

    *out = NULL;
    if (!b || !b->code)
        return ad_error(err, AD_EINVAL, "no skill code");
    rc = ad_buf_adds(&c, b->code);
    if (rc == 0 && b->skill_md && b->script && script_name_ok(b->script) &&
        !ad_skill_code_is_folder(b->code) && !renders_same(b)) {
        size_t at = c.len;

        rc = ad_buf_addf(&c, KEEP_MARK "%s %016llx ", b->script,
                         (unsigned long long)fnv1a(b->code, strlen(b->code)));
        rc = rc ? rc : b64_encode((const unsigned char *)b->skill_md, b->skill_md_len, &c);
        rc = rc ? rc : ad_buf_adds(&c, "\n");
        /* Past the cap the folder is not kept: export renders it. */
        if (rc == 0 && c.len > AD_SKILL_CODE_MAX) {
            c.len = at;
            c.ptr[at] = '\0';
        }
    }
    if (rc == 0 && !(*out = ad_buf_detach(&c, NULL)))
        rc = AD_ENOMEM;
    ad_buf_release(&c);
    return rc < 0 ? ad_error(err, rc, "out of memory") : 0;
}

int ad_skill_files_put(json_t *files, const char *path, const void *data, size_t n)
{
    return put_file(files, path, data, n);
}

/* path -> base64 of data, into files. */
static int put_file(json_t *files, const char *path, const char *data, size_t n)
{
    struct ad_buf b = AD_BUF_INIT;
    int rc = b64_encode((const unsigned char *)data, n, &b);

    if (rc == 0 && json_object_set_new(files, path, json_string(b.ptr ? b.ptr : "")) != 0)
        rc = AD_ENOMEM;
    ad_buf_release(&b);
    return rc;
}

int ad_skill_export_files(const struct ad_skill_bundle *b, json_t **out, struct ad_err *err)
{
    struct ad_skill_bundle copy, kmd = { 0 };
    struct ad_buf md = AD_BUF_INIT, script = AD_BUF_INIT, path = AD_BUF_INIT, km = AD_BUF_INIT;
    struct ad_err ignored = AD_ERR_INIT;
    char as_name[SKILL_NAME_SIZE];
    json_t *files;
    struct kept k;
    int rc;

    *out = NULL;
    if (!b || !b->code)
        return ad_error(err, AD_EINVAL, "exporting a skill folder needs a bundle with code");
    files = folder_files(b->code);
    if (json_is_object(files)) {
        *out = files;
        return 0;
    }
    json_decref(files);
    rc = check_bundle(b, as_name, err);
    if (rc < 0)
        return rc;
    if (!(files = json_object()))
        return ad_error(err, AD_ENOMEM, "out of memory");
    copy = *b;
    copy.skill_md = NULL;
    if (kept_line(b->code, &k)) {
        char *c = strndup(b->code, k.script_len);

        copy.code = c;
        if (!c) {
            json_decref(files);
            return ad_error(err, AD_ENOMEM, "out of memory");
        }
        /* Where autodev changed nothing: the folder as it came. */
        if (k.intact) {
            char *b64 = strndup(k.b64, k.b64_len);

            if (b64 && b64_decode(b64, &km) == 0 && ad_buf_add(&km, "", 0) == 0 &&
                ad_skill_md_parse(km.ptr, km.len, &kmd, &ignored) == 0 &&
                !strcmp(kmd.name, b->name) && kmd.description && b->description &&
                !strcmp(kmd.description, b->description) &&
                !strcmp(kmd.semver ? kmd.semver : "1.0.0", b->semver ? b->semver : "1.0.0"))
                rc = 1;
            free(b64);
            ad_skill_bundle_release(&kmd);
        }
    }
    if (rc == 1) {
        rc = ad_buf_addf(&path, "scripts/%s", k.file);
        rc = rc ? rc : put_file(files, "SKILL.md", km.ptr, km.len);
        rc = rc ? rc : put_file(files, path.ptr, copy.code, strlen(copy.code));
        if (rc < 0)
            ad_error(err, rc, "out of memory");
    } else {
        rc = script_for(&copy, &script, err);
        copy.script = script.ptr;
        rc = rc ? rc : ad_skill_md_render(&copy, &md, err);
        if (rc == 0 && (ad_buf_addf(&path, "scripts/%s", script.ptr) < 0 ||
                        put_file(files, "SKILL.md", md.ptr, md.len) < 0 ||
                        put_file(files, path.ptr, copy.code, strlen(copy.code)) < 0))
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    if (copy.code != b->code)
        free(copy.code);
    ad_buf_release(&md);
    ad_buf_release(&script);
    ad_buf_release(&path);
    ad_buf_release(&km);
    if (rc < 0) {
        json_decref(files);
        return rc;
    }
    *out = files;
    return 0;
}

int ad_skill_export_file(const json_t *files, const char *path, char **data, size_t *len,
                         struct ad_err *err)
{
    const char *b = json_string_value(json_object_get(files, path));
    struct ad_buf d = AD_BUF_INIT;
    int rc = 0;

    *data = NULL;
    if (!b)
        rc = ad_error(err, AD_ENOTFOUND, "the skill's folder has no '%.80s'", path);
    else if (b64_decode(b, &d) < 0 || ad_buf_add(&d, "", 0) < 0)
        rc = ad_error(err, AD_EINVAL, "the skill folder's '%.80s' is not base64", path);
    else if (!(*data = ad_buf_detach(&d, len)))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    ad_buf_release(&d);
    return rc;
}

int ad_skill_bundle_from_files(const char *folder, const json_t *in, struct ad_skill_bundle *out,
                               struct ad_err *err)
{
    json_t *files = json_object(), *v;
    struct ad_buf md = AD_BUF_INIT;
    char as_name[SKILL_NAME_SIZE];
    const char *path;
    size_t total = 0;
    int rc = files ? 0 : ad_error(err, AD_ENOMEM, "out of memory");

    memset(out, 0, sizeof(*out));
    if (rc == 0 && (!folder || !*folder || !json_is_object(in)))
        rc = ad_error(err, AD_EINVAL, "no skill folder given");
    /* The caps and names a folder on disk is held to (walk). */
    json_object_foreach((json_t *)in, path, v) {
        struct ad_buf d = AD_BUF_INIT;
        int depth = 0;

        if (rc < 0)
            break;
        for (const char *q = path; *q; q++)
            depth += *q == '/';
        if (!rel_path_ok(path) || !ad_utf8_valid(path, strlen(path)) || !json_is_string(v))
            rc = ad_error(err, AD_EPERM, "'%s/%.200s' is not a plain file name", folder, path);
        else if (depth > FOLDER_DEPTH_MAX)
            rc = ad_error(err, AD_ETOOBIG, "'%s' is nested over %d folders deep", folder,
                          FOLDER_DEPTH_MAX);
        else if (json_object_size(files) >= FOLDER_FILES_MAX)
            rc = ad_error(err, AD_ETOOBIG, "'%s' holds over %d files", folder, FOLDER_FILES_MAX);
        else if (b64_decode(json_string_value(v), &d) < 0)
            rc = ad_error(err, AD_EINVAL, "'%s/%.200s' is not base64", folder, path);
        else if (d.len > AD_SKILL_CODE_MAX)
            rc = ad_error(err, AD_ETOOBIG, "'%s/%.200s' is over the %d-byte cap", folder, path,
                          AD_SKILL_CODE_MAX);
        else if ((total += d.len) > AD_SKILL_CODE_MAX / 4 * 3 - 16384)
            rc = ad_error(err, AD_ETOOBIG, "the skill folder's files are over the %d-byte "
                          "cap of a kept folder", AD_SKILL_CODE_MAX / 4 * 3 - 16384);
        else if (json_object_set(files, path, v) != 0)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
        ad_buf_release(&d);
    }
    if (rc == 0 && !json_object_get(files, "SKILL.md"))
        rc = ad_error(err, AD_ENOTFOUND, "'%s/SKILL.md' does not exist", folder);
    if (rc == 0 && b64_decode(json_string_value(json_object_get(files, "SKILL.md")), &md) < 0)
        rc = ad_error(err, AD_EINVAL, "'%s/SKILL.md' is not base64", folder);
    if (rc == 0 && md.len > SKILL_MD_MAX)
        rc = ad_error(err, AD_ETOOBIG, "'%s/SKILL.md' is over the %d-byte cap", folder,
                      SKILL_MD_MAX);
    if (rc == 0 && (rc = ad_skill_md_parse(md.ptr ? md.ptr : "", md.len, out, err)) < 0)
        ad_error_prefix(err, "%s", folder);
    rc = rc ? rc : ad_skill_name_to_agentskills(out->name, as_name, sizeof(as_name), err);
    if (rc == 0 && strcmp(as_name, folder) != 0)
        rc = ad_error(err, AD_EINVAL, "SKILL.md names the skill '%s' but its folder is '%.80s'",
                      as_name, folder);
    if (rc == 0 && out->script) {
        char named[NAME_MAX + 16];

        snprintf(named, sizeof(named), "scripts/%s", out->script);
        if (!json_object_get(files, named))
            rc = ad_error(err, AD_ENOTFOUND, "'%s/scripts/%s' does not exist (SKILL.md names "
                          "it in metadata.script)", folder, out->script);
    }
    rc = rc ? rc : bundle_of_files(files, folder, out, err);
    ad_buf_release(&md);
    json_decref(files);
    if (rc < 0)
        ad_skill_bundle_release(out);
    return rc;
}

char *ad_skill_md_description(const char *desc, const char *name, const char *entry)
{
    size_t n, units = 0, i;

    if (!desc || blank(desc))
        return ad_strdupf("The %s skill: calls %s.", name, entry);
    n = strlen(desc);
    if (!ad_utf8_valid(desc, n) || utf8_chars(desc, n) <= DESC_MAX)
        return strdup(desc);
    /* Cut to 1021 characters as the validator counts them, and say so. */
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)desc[i];

        if ((c & 0xc0) != 0x80) {
            size_t w = 1 + (c >= 0xf0);

            if (units + w > DESC_MAX - 3)
                break;
            units += w;
        }
    }
    return ad_strdupf("%.*s...", (int)i, desc);
}
