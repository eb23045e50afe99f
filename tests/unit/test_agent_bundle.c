/*
 * Byte for byte (skill_bundle.c): the catalog code of a one-script folder
 * keeps its SKILL.md only when autodev would write another one, export
 * gives it back only while nothing changed, the server's in-memory folder
 * is read like one on disk, and the description export writes.
 */
#include "compat.h"
#include <setjmp.h>
#include <cmocka.h>
#include "autodev/buf.h"
#include "autodev/error.h"
#include "autodev/skill.h"

static const char SCRIPT[] = "def slugify(text: str) -> str:\n"
                             "    return \"-\".join(text.lower().split())\n";
static const char OWN_MD[] = "---\r\nname: slugify\r\ndescription: Make a slug.\r\n"
                             "license: MIT\r\n---\r\n\r\nIts own body.\r\n";

/* A bundle as ad_skill_bundle_read leaves a one-script folder's. */
static void one_script(struct ad_skill_bundle *b, const char *md, const char *file)
{
    struct ad_err err = AD_ERR_INIT;

    memset(b, 0, sizeof(*b));
    assert_int_equal(ad_skill_md_parse(md, strlen(md), b, &err), 0);
    b->code = strdup(SCRIPT);
    free(b->script);
    b->script = strdup(file);
    b->skill_md = strdup(md);
    b->skill_md_len = strlen(md);
}

/* The export of code as the CLI makes it: the version, description and schema of the catalog. */
static json_t *export_of(const char *code, const char *semver, const char *desc)
{
    struct ad_skill_bundle e = { 0 };
    struct ad_err err = AD_ERR_INIT;
    json_t *files = NULL, *schema = NULL;

    e.name = (char *)"slugify";
    e.description = (char *)desc;
    e.semver = (char *)semver;
    e.entry = (char *)"slugify";
    e.script = (char *)"slugify.py";
    e.code = (char *)code;
    assert_int_equal(ad_skill_schema_derive(code, strlen(code), "slugify", &schema, &err), 0);
    e.input_schema = schema;
    assert_int_equal(ad_skill_export_files(&e, &files, &err), 0);
    json_decref(schema);
    return files;
}

static char *file_of(const json_t *files, const char *path)
{
    struct ad_err err = AD_ERR_INIT;
    char *data = NULL;
    size_t len = 0;

    assert_int_equal(ad_skill_export_file(files, path, &data, &len, &err), 0);
    assert_int_equal(strlen(data), len);
    return data;
}

static void kept_skill_md_comes_back(void **state)
{
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    char *code = NULL, *md, *py;
    json_t *files;

    (void)state;
    one_script(&b, OWN_MD, "main.py");
    assert_int_equal(ad_skill_bundle_catalog_code(&b, &code, &err), 0);
    assert_int_equal(strncmp(code, SCRIPT, strlen(SCRIPT)), 0);
    assert_non_null(strstr(code, "\n# autodev: SKILL.md kept verbatim main.py "));

    /* Nothing changed: the folder as it came. */
    files = export_of(code, "1.0.0", "Make a slug.");
    assert_int_equal(json_object_size(files), 2);
    md = file_of(files, "SKILL.md");
    py = file_of(files, "scripts/main.py");
    assert_string_equal(md, OWN_MD);
    assert_string_equal(py, SCRIPT);
    free(md);
    free(py);
    json_decref(files);

    /* Another version or description: rendered afresh, the line left out. */
    files = export_of(code, "1.1.0", "Make a slug.");
    md = file_of(files, "SKILL.md");
    py = file_of(files, "scripts/slugify.py");
    assert_non_null(strstr(md, "version: 1.1.0"));
    assert_string_equal(py, SCRIPT);
    free(md);
    free(py);
    json_decref(files);
    files = export_of(code, "1.0.0", "Make a URL slug.");
    md = file_of(files, "SKILL.md");
    assert_non_null(strstr(md, "description: Make a URL slug."));
    free(md);
    json_decref(files);

    /* A script changed under the line (a mutation keeps it): its hash no longer matches. */
    {
        struct ad_buf changed = AD_BUF_INIT;

        assert_int_equal(ad_buf_addf(&changed, "# changed\n%s", code), 0);
        files = export_of(changed.ptr, "1.0.0", "Make a slug.");
        md = file_of(files, "SKILL.md");
        py = file_of(files, "scripts/slugify.py");
        assert_string_not_equal(md, OWN_MD);
        assert_null(strstr(py, "kept verbatim"));
        assert_non_null(strstr(py, "# changed\n"));
        free(md);
        free(py);
        json_decref(files);
        ad_buf_release(&changed);
    }
    free(code);
    ad_skill_bundle_release(&b);
}

static void nothing_kept_when_autodev_wrote_it(void **state)
{
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    char *code = NULL, *md;
    json_t *files;

    (void)state;
    /* The SKILL.md autodev itself exports for this script. */
    files = export_of(SCRIPT, "1.0.0", "Make a slug.");
    md = file_of(files, "SKILL.md");
    json_decref(files);
    one_script(&b, md, "slugify.py");
    assert_int_equal(ad_skill_bundle_catalog_code(&b, &code, &err), 0);
    assert_string_equal(code, SCRIPT);
    free(code);
    free(md);
    ad_skill_bundle_release(&b);
}

static json_t *files_with(const char *md)
{
    json_t *f = json_object();

    assert_int_equal(ad_skill_files_put(f, "SKILL.md", md, strlen(md)), 0);
    return f;
}

static void in_memory_folder_read_as_on_disk(void **state)
{
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    const char *md = "---\nname: guide\ndescription: A guide.\n---\n\nRead me.\n";
    json_t *f = files_with(md);

    (void)state;
    /* Instructions only: a kept folder, its body the instructions. */
    assert_int_equal(ad_skill_bundle_from_files("guide", f, &b, &err), 0);
    assert_true(ad_skill_code_is_folder(b.code));
    assert_string_equal(b.entry, "guide");
    ad_skill_bundle_release(&b);
    /* The folder must be named like the skill. */
    assert_int_equal(ad_skill_bundle_from_files("other", f, &b, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "folder is 'other'"));
    /* A path leaving the folder, and no SKILL.md. */
    assert_int_equal(ad_skill_files_put(f, "../x.py", "x", 1), 0);
    assert_int_equal(ad_skill_bundle_from_files("guide", f, &b, &err), AD_EPERM);
    assert_non_null(strstr(err.msg, "not a plain file name"));
    json_decref(f);
    f = json_object();
    assert_int_equal(ad_skill_files_put(f, "scripts/x.py", "x = 1\n", 6), 0);
    assert_int_equal(ad_skill_bundle_from_files("guide", f, &b, &err), AD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "'guide/SKILL.md' does not exist"));
    json_decref(f);
}

static void export_description(void **state)
{
    struct ad_buf emoji = AD_BUF_INIT, ascii = AD_BUF_INIT;
    char *d;
    size_t units = 0;

    (void)state;
    d = ad_skill_md_description("  \t", "slugify", "slugify");
    assert_string_equal(d, "The slugify skill: calls slugify.");
    free(d);
    for (int i = 0; i < 1024; i++)
        assert_int_equal(ad_buf_adds(&ascii, "a"), 0);
    d = ad_skill_md_description(ascii.ptr, "x", "x");
    assert_string_equal(d, ascii.ptr);
    free(d);
    /* 600 emoji are 1200 characters as skills-ref counts them: cut, and said so. */
    for (int i = 0; i < 600; i++)
        assert_int_equal(ad_buf_adds(&emoji, "\xF0\x9F\x98\x80"), 0);
    d = ad_skill_md_description(emoji.ptr, "x", "x");
    for (const unsigned char *p = (const unsigned char *)d; *p; p++)
        units += ((*p & 0xc0) != 0x80) + (*p >= 0xf0);
    assert_true(units <= 1024);
    assert_int_equal(units, 1020 + 3);
    assert_string_equal(d + strlen(d) - 3, "...");
    free(d);
    ad_buf_release(&emoji);
    ad_buf_release(&ascii);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kept_skill_md_comes_back),
        cmocka_unit_test(nothing_kept_when_autodev_wrote_it),
        cmocka_unit_test(in_memory_folder_read_as_on_disk),
        cmocka_unit_test(export_description),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
