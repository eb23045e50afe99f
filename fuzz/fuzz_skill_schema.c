/*
 * libFuzzer driver: input schemas and docstrings read from Python source
 * (src/agent/skill_schema.c).
 *
 * The input is Python code; a first line "@@NAME" picks the entry (else
 * "f"). Invariants checked beyond "no crash, no leak":
 *   - a derived schema passes ad_skill_schema_check, is an object schema
 *     with a boolean additionalProperties, and every required name is one
 *     of its properties;
 *   - a refusal is AD_EINVAL or AD_ENOTFOUND with a message and no schema;
 *   - the signature text is found exactly when the schema's function is,
 *     and starts with "def" or "async";
 *   - a docstring is one trimmed, non-empty line of valid UTF-8.
 */
#include "compat.h"

#include "autodev/text.h"
#include "agent/skill_py.h"
#include "autodev/buf.h"
#include "autodev/skill.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_schema(const json_t *s)
{
    const json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    const json_t *v;
    size_t i;

    if (ad_skill_schema_check(s, NULL) != 0 || !json_is_object(props) || !json_is_array(req) ||
        !json_is_boolean(json_object_get(s, "additionalProperties")))
        abort();
    json_array_foreach(req, i, v) {
        if (!json_object_get(props, json_string_value(v)))
            abort();
    }
}

static void check_doc(const char *doc)
{
    size_t n;

    if (!doc)
        return;
    n = strlen(doc);
    if (n == 0 || strchr(doc, '\n') || !ad_utf8_valid(doc, n))
        abort();
    if (strchr(" \t\r\f\v", doc[0]) || strchr(" \t\r\f\v", doc[n - 1]))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *code = data ? (const char *)data : "";
    char entry[64] = "f";
    struct ad_buf sig = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    json_t *schema = NULL;
    char *doc = NULL;
    int rc, src;

    if (size >= 3 && memcmp(code, "@@", 2) == 0) {
        const char *nl = memchr(code, '\n', size);
        size_t n = nl ? (size_t)(nl - code) - 2 : size - 2;

        if (n > 0 && n < sizeof(entry) && !memchr(code + 2, '\0', n)) {
            memcpy(entry, code + 2, n);
            entry[n] = '\0';
        }
    }
    rc = ad_skill_schema_derive(code, size, entry, &schema, &err);
    if (rc == 0)
        check_schema(schema);
    else if ((rc != AD_EINVAL && rc != AD_ENOTFOUND) || schema || err.msg[0] == '\0')
        abort();
    json_decref(schema);

    src = ad__skill_signature(code, size, entry, &sig, NULL);
    if ((src == AD_ENOTFOUND) != (rc == AD_ENOTFOUND))
        abort();
    if (src == 0 && strncmp(sig.ptr, "def", 3) != 0 && strncmp(sig.ptr, "async", 5) != 0)
        abort();
    if (src != 0 && sig.len != 0)
        abort();
    ad_buf_release(&sig);

    if (ad_skill_docstring(code, size, entry, &doc, &err) != 0)
        abort();
    check_doc(doc);
    free(doc);
    return 0;
}
