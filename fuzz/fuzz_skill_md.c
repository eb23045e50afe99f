/*
 * libFuzzer driver: SKILL.md (src/agent/skill_bundle.c).
 *
 * The input is a SKILL.md text. Invariants checked beyond "no crash, no
 * leak":
 *   - a refused text leaves the bundle empty;
 *   - an accepted one has a valid catalog name whose Agent Skills form is
 *     valid, a description of 1..1024 bytes, a body, no code, and a
 *     version, entry, script and input schema that are absent or valid;
 *   - rendering what was read succeeds, and reading that back gives the
 *     same fields (the body included): render and parse agree;
 *   - rendering it with a generated body also reads back.
 */
#include "compat.h"

#include "autodev/buf.h"
#include "autodev/skill.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void check_empty(const struct ad_skill_bundle *b)
{
    if (b->name || b->description || b->semver || b->entry || b->script || b->code ||
        b->input_schema || b->body)
        abort();
}

static void check_fields(const struct ad_skill_bundle *b)
{
    char as_name[80];
    size_t dlen;

    if (!b->name || !ad_skill_name_valid(b->name) || !b->description || !b->body || b->code)
        abort();
    if (ad_skill_name_to_agentskills(b->name, as_name, sizeof(as_name), NULL) != 0 ||
        !ad_agentskills_name_valid(as_name))
        abort();
    dlen = strlen(b->description);
    if (dlen == 0 || dlen > 1024)
        abort();
    if (b->semver && !ad_semver_valid(b->semver))
        abort();
    if (b->script && (strchr(b->script, '/') || strstr(b->script, "..")))
        abort();
    if (b->input_schema && ad_skill_schema_check(b->input_schema, NULL) != 0)
        abort();
}

static void check_same(const struct ad_skill_bundle *a, const struct ad_skill_bundle *b)
{
    if (!same_str(a->name, b->name) || !same_str(a->description, b->description) ||
        !same_str(a->semver, b->semver) || !same_str(a->entry, b->entry) ||
        !same_str(a->script, b->script) || !same_str(a->body, b->body))
        abort();
    if ((a->input_schema == NULL) != (b->input_schema == NULL))
        abort();
    if (a->input_schema && !json_equal(a->input_schema, b->input_schema))
        abort();
}

/* Render b (with its body, or a generated one) and read it back. */
static void round_trip(struct ad_skill_bundle *b, int generated)
{
    struct ad_skill_bundle back;
    struct ad_buf out = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    char *body = b->body;

    if (generated)
        b->body = NULL;
    if (ad_skill_md_render(b, &out, &err) != 0)
        abort();
    if (ad_skill_md_parse(out.ptr, out.len, &back, &err) != 0 || !back.body)
        abort();
    if (generated) {
        /* The generated body is ours to choose: compare everything else. */
        free(back.body);
        back.body = NULL;
    }
    check_same(b, &back);
    b->body = body;
    ad_skill_bundle_release(&back);
    ad_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    const char *text = data ? (const char *)data : "";

    if (ad_skill_md_parse(text, size, &b, &err) != 0) {
        if (err.code == 0 || err.msg[0] == '\0')
            abort();
        check_empty(&b);
        return 0;
    }
    check_fields(&b);
    round_trip(&b, 0);
    round_trip(&b, 1);
    ad_skill_bundle_release(&b);
    return 0;
}
