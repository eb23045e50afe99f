/*
 * Agent Skills folders written elsewhere (skill_bundle.c): kept whole,
 * every byte back on export, and refused only for what the spec refuses.
 */
#include "compat.h"
#include <setjmp.h>
#include <cmocka.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include "autodev/buf.h"
#include "autodev/skill.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void write_bytes(const char *dir, const char *name, const char *data, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static size_t read_bytes(const char *path, char *buf, size_t max)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, max, f);
    fclose(f);
    return n;
}

/* Every byte value, at lengths that end on each base64 padding. */
static void folder_bytes_round_trip(void **state)
{
    char top[64], dir[128], out[128], path[256], data[259], back[300];
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    static const char md[] = "---\nname: bytes-kit\ndescription: Binary assets.\n---\nUse them.\n";

    (void)state;
    snprintf(top, sizeof(top), "/tmp/ad-test-import-XXXXXX");
    assert_non_null(mkdtemp(top));
    snprintf(dir, sizeof(dir), "%s/bytes-kit", top);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/assets", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_bytes(dir, "SKILL.md", md, strlen(md));
    for (int i = 0; i < 259; i++)
        data[i] = (char)(i & 0xff);
    write_bytes(dir, "assets/a.bin", data, 259);
    write_bytes(dir, "assets/b.bin", data, 257);
    write_bytes(dir, "assets/c.bin", data, 258);
    write_bytes(dir, "assets/empty", "", 0);

    assert_int_equal(ad_skill_bundle_read(dir, &b, &err), 0);
    assert_string_equal(b.entry, "bytes_kit");
    assert_null(b.script);
    assert_true(ad_skill_code_is_folder(b.code));

    snprintf(out, sizeof(out), "%s/out", top);
    assert_int_equal(ad_skill_folder_write(b.code, "bytes-kit", out, false, &err), 0);
    snprintf(path, sizeof(path), "%s/bytes-kit/assets/a.bin", out);
    assert_int_equal(read_bytes(path, back, sizeof(back)), 259);
    assert_memory_equal(back, data, 259);
    snprintf(path, sizeof(path), "%s/bytes-kit/assets/b.bin", out);
    assert_int_equal(read_bytes(path, back, sizeof(back)), 257);
    assert_memory_equal(back, data, 257);
    snprintf(path, sizeof(path), "%s/bytes-kit/assets/c.bin", out);
    assert_int_equal(read_bytes(path, back, sizeof(back)), 258);
    assert_memory_equal(back, data, 258);
    snprintf(path, sizeof(path), "%s/bytes-kit/assets/empty", out);
    assert_int_equal(read_bytes(path, back, sizeof(back)), 0);
    snprintf(path, sizeof(path), "%s/bytes-kit/SKILL.md", out);
    assert_int_equal(read_bytes(path, back, sizeof(back)), strlen(md));
    assert_memory_equal(back, md, strlen(md));
    /* Again into the same place: refused unless overwrite. */
    assert_int_equal(ad_skill_folder_write(b.code, "bytes-kit", out, false, &err), AD_EEXIST);
    assert_int_equal(ad_skill_folder_write(b.code, "bytes-kit", out, true, &err), 0);
    ad_skill_bundle_release(&b);
    nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void folder_file_and_scripts(void **state)
{
    char top[64], dir[128], path[256];
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    json_t *scripts = NULL;
    char *text = NULL;
    size_t len = 0;
    static const char md[] = "---\nname: two-tools\ndescription: d\n---\nBody here.\n";

    (void)state;
    snprintf(top, sizeof(top), "/tmp/ad-test-import-XXXXXX");
    assert_non_null(mkdtemp(top));
    snprintf(dir, sizeof(dir), "%s/two-tools", top);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/scripts", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_bytes(dir, "SKILL.md", md, strlen(md));
    write_bytes(dir, "scripts/b.sh", "echo b\n", 7);
    write_bytes(dir, "scripts/a.py", "print(1)\n", 9);
    assert_int_equal(ad_skill_bundle_read(dir, &b, &err), 0);
    assert_string_equal(b.body, "Body here.\n");

    assert_int_equal(ad_skill_folder_scripts(b.code, &scripts, &err), 0);
    assert_int_equal(json_array_size(scripts), 2);
    assert_string_equal(json_string_value(json_array_get(scripts, 0)), "a.py");
    assert_string_equal(json_string_value(json_array_get(scripts, 1)), "b.sh");
    json_decref(scripts);
    assert_int_equal(ad_skill_folder_file(b.code, "scripts/b.sh", &text, &len, &err), 0);
    assert_int_equal(len, 7);
    assert_string_equal(text, "echo b\n");
    free(text);
    assert_int_equal(ad_skill_folder_file(b.code, "scripts/c.sh", &text, &len, &err),
                     AD_ENOTFOUND);

    /* Code that is not a kept folder is said so, not written. */
    assert_false(ad_skill_code_is_folder("def f():\n    return 1\n"));
    assert_int_equal(ad_skill_folder_write("def f(): pass\n", "x", top, false, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_skill_folder_scripts("x = 1\n", &scripts, &err), AD_ENOTFOUND);
    ad_skill_bundle_release(&b);
    nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A kept folder whose paths were edited to leave it is refused, not written. */
static void folder_hostile_paths(void **state)
{
    char top[64];
    struct ad_err err = AD_ERR_INIT;
    static const char *const bad[] = {
        "# autodev: an Agent Skills folder kept verbatim\n"
        "_FOLDER = _json.loads(r\"\"\" {\"../escape\": \"eA==\"} \"\"\")\n",
        "# autodev: an Agent Skills folder kept verbatim\n"
        "_FOLDER = _json.loads(r\"\"\" {\"/etc/x\": \"eA==\"} \"\"\")\n",
        "# autodev: an Agent Skills folder kept verbatim\n"
        "_FOLDER = _json.loads(r\"\"\" {\"a//b\": \"eA==\"} \"\"\")\n",
        "# autodev: an Agent Skills folder kept verbatim\n"
        "_FOLDER = _json.loads(r\"\"\" {\"ok\": \"e!==\"} \"\"\")\n",
    };

    (void)state;
    snprintf(top, sizeof(top), "/tmp/ad-test-import-XXXXXX");
    assert_non_null(mkdtemp(top));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_true(ad_skill_code_is_folder(bad[i]));
        assert_int_equal(ad_skill_folder_write(bad[i], "k", top, true, &err), AD_EINVAL);
    }
    nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The spec's limits: description 1..1024 characters (not bytes). */
static void description_limits(void **state)
{
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf md = AD_BUF_INIT;

    (void)state;
    assert_int_equal(ad_buf_adds(&md, "---\nname: d\ndescription: \""), 0);
    for (int i = 0; i < 1024; i++)
        assert_int_equal(ad_buf_adds(&md, "\xc3\xa9"), 0);
    assert_int_equal(ad_buf_adds(&md, "\"\n---\n"), 0);
    assert_int_equal(ad_skill_md_parse(md.ptr, md.len, &b, &err), 0);
    ad_skill_bundle_release(&b);
    ad_buf_reset(&md);
    assert_int_equal(ad_buf_adds(&md, "---\nname: d\ndescription: \""), 0);
    for (int i = 0; i < 1025; i++)
        assert_int_equal(ad_buf_adds(&md, "x"), 0);
    assert_int_equal(ad_buf_adds(&md, "\"\n---\n"), 0);
    assert_int_equal(ad_skill_md_parse(md.ptr, md.len, &b, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "1 to 1024 characters"));
    ad_buf_release(&md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(folder_bytes_round_trip),
        cmocka_unit_test(folder_file_and_scripts),
        cmocka_unit_test(folder_hostile_paths),
        cmocka_unit_test(description_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
