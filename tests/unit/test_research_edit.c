/*
 * Autoresearch's edit step with a model: which chains count as a model,
 * and the edit of an "exec:" model (a shell command that prints its reply)
 * on a real temporary git repository: a reply that applies changes the
 * target and records its hypothesis; one that never applies is a crashed
 * iteration after one retry, the worktree untouched. Then the spark
 * budget stops the loop between iterations and the report says so.
 */
#include "compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "autodev/buf.h"
#include "autodev/llm.h"
#include "autodev/research.h"
#include "autodev/store.h"

#include "research/research_int.h"

struct fx {
    char dir[64];
    char repo[128];
    char tenant[AD_ID_SIZE];
    struct ad_store *st;
    struct ad_research_env env;
};

static void sh(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd), fmt, a, b);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    struct ad_store_options so = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct fx *f = calloc(1, sizeof(*f));
    char db[128];

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test-research-edit-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
    sh("mkdir %s && cd %s && git init -q && printf '%%s\\n' '# EVOLVE-BLOCK-START' 'X = 10' "
       "'# EVOLVE-BLOCK-END' 'print(\"score: %%d\" %% abs(X - 4))' >obj.py && git add obj.py && "
       "git -c user.name=t -c user.email=t@t.invalid commit -qm init", f->repo, f->repo);
    snprintf(db, sizeof(db), "%s/autodev.db", f->dir);
    assert_int_equal(ad_store_open(db, &so, &f->st, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "t", f->tenant, &err), 0);
    f->env = (struct ad_research_env){ f->st, NULL, f->tenant, NULL };
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    ad_store_free(f->st);
    sh("rm -rf %s%s", f->dir, "");
    free(f);
    return 0;
}

/* A session on the fixture's repository; its id into id. */
static void session(struct fx *f, const char *extra, char id[64])
{
    struct ad_err err = AD_ERR_INIT;
    char text[1024];
    json_t *cfg, *s = NULL;

    snprintf(text, sizeof(text),
             "{\"repo\": \"%s\", \"files\": [\"obj.py\"], \"cmd\": \"/usr/bin/python3 obj.py\","
             " \"metric\": \"score\", \"repeats\": 1, \"workdir\": \"%s\"%s}", f->repo, f->dir,
             extra);
    cfg = json_loads(text, 0, NULL);
    assert_non_null(cfg);
    assert_int_equal(ad_research_setup(&f->env, cfg, &s, &err), 0);
    snprintf(id, 64, "%s", json_string_value(json_object_get(s, "id")));
    json_decref(cfg);
    json_decref(s);
}

static struct ad_llm *model(const char *spec)
{
    struct ad_llm_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm = NULL;

    o.max_retries = 0;
    assert_int_equal(ad_llm_new(spec, &o, &llm, &err), 0);
    return llm;
}

static void usable_models(void **state)
{
    struct ad_llm *off = model("offline"), *ex = model("exec:true");

    (void)state;
    assert_int_equal(ad__research_llm_usable(NULL), 0);
    assert_int_equal(ad__research_llm_usable(off), 0);
    assert_int_equal(ad__research_llm_usable(ex), 1);
    ad_llm_free(off);
    ad_llm_free(ex);
}

static void model_edit_applies(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    json_t *it = NULL;
    char id[64], path[256], reply[256];
    struct ad_buf code;
    FILE *fp;

    session(f, "", id);
    snprintf(reply, sizeof(reply), "%s/reply", f->dir);
    fp = fopen(reply, "w");
    assert_non_null(fp);
    fputs("HYPOTHESIS: X = 5 is nearer to 4\nobj.py\n<<<<<<< SEARCH\nX = 10\n=======\nX = 5\n"
          ">>>>>>> REPLACE\n", fp);
    fclose(fp);
    {
        char spec[300];

        snprintf(spec, sizeof(spec), "exec:cat %s", reply);
        f->env.llm = model(spec);
    }
    assert_int_equal(ad_research_edit(&f->env, id, &it, &err), 0);
    assert_string_equal(json_string_value(json_object_get(it, "phase")), "edited");
    assert_string_equal(json_string_value(json_object_get(it, "hypothesis")),
                        "X = 5 is nearer to 4");
    assert_string_equal(json_string_value(json_object_get(json_object_get(it, "detail"),
                                                          "proposer")), "model");
    assert_non_null(strstr(json_string_value(json_object_get(it, "diff")), "+X = 5"));
    json_decref(it);
    json_t *s = NULL;

    assert_int_equal(ad_research_status(&f->env, id, &s, &err), 0);
    snprintf(path, sizeof(path), "%s/obj.py", json_string_value(json_object_get(s, "worktree")));
    json_decref(s);
    ad_buf_init(&code, 1 << 16);
    fp = fopen(path, "r");
    assert_non_null(fp);
    {
        char line[128];

        while (fgets(line, sizeof(line), fp))
            ad_buf_adds(&code, line);
    }
    fclose(fp);
    assert_non_null(strstr(code.ptr, "\nX = 5\n"));
    ad_buf_release(&code);
    ad_llm_free(f->env.llm);
    f->env.llm = NULL;
}

static void model_edit_fails_twice(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    json_t *it = NULL, *detail;
    char id[64];

    session(f, "", id);
    /* Never the file's lines: both the reply and its retry fail. */
    f->env.llm = model("exec:printf 'obj.py\\n<<<<<<< SEARCH\\nX = 99\\n=======\\nX = 1\\n"
                       ">>>>>>> REPLACE\\n'");
    assert_int_equal(ad_research_edit(&f->env, id, &it, &err), 0);
    assert_string_equal(json_string_value(json_object_get(it, "phase")), "decided");
    assert_string_equal(json_string_value(json_object_get(it, "decision")), "crashed");
    detail = json_object_get(it, "detail");
    assert_true(json_is_true(json_object_get(detail, "retried")));
    assert_int_equal(json_integer_value(json_object_get(detail, "calls")), 2);
    assert_non_null(strstr(json_string_value(json_object_get(detail, "failure")),
                           "did not apply after a retry"));
    assert_string_equal(json_string_value(json_object_get(it, "diff")), "");
    json_decref(it);
    /* The next edit is allowed: the failed one is decided. */
    it = NULL;
    assert_int_equal(ad_research_edit(&f->env, id, &it, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(it, "seq")), 2);
    json_decref(it);
    ad_llm_free(f->env.llm);
    f->env.llm = NULL;
}

static void spark_budget_stops_the_loop(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    json_t *res = NULL, *r;
    char id[64];

    session(f, ", \"iterations\": 10, \"spark_budget\": 10, \"spark_per_iteration\": 4", id);
    assert_int_equal(ad_research_loop(&f->env, id, NULL, NULL, &res, &err), 0);
    r = json_object_get(res, "report");
    assert_string_equal(json_string_value(json_object_get(r, "stopped_by")), "spark_budget");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "cost"),
                                                        "spark_consumed")), 8);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "cost"), "tokens")),
                     0);
    json_decref(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usable_models),
        cmocka_unit_test_setup_teardown(model_edit_applies, setup, teardown),
        cmocka_unit_test_setup_teardown(model_edit_fails_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(spark_budget_stops_the_loop, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
