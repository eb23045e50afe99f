/*
 * The demo's catalog and tasks: three bundled skills, then tasks run in
 * the sandbox by the demo agent. Some find their skill by description and
 * succeed; some have no skill in the catalog and fail, which is what the
 * learning loops later feed on.
 */
#include "compat.h"

#include <stdio.h>

#include "autodev/agent.h"
#include "autodev/json.h"
#include "autodev/runtime.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"

#include "cli.h"

struct demo_skill {
    const char *name;
    const char *entry;
    const char *code;
};

static const struct demo_skill demo_skills[] = {
    { "word_count", "word_count",
      "def word_count(text: str) -> int:\n"
      "    \"\"\"Count the words in a text.\"\"\"\n"
      "    return len(text.split())\n" },
    { "slugify", "slugify",
      "import re\n"
      "\n"
      "\n"
      "def slugify(title: str) -> str:\n"
      "    \"\"\"Make a URL slug of a title: lower case, words joined by hyphens.\"\"\"\n"
      "    words = re.findall(r\"[a-z0-9]+\", title.lower())\n"
      "    return \"-\".join(words)\n" },
    { "order_total", "order_total",
      "def order_total(lines: list) -> float:\n"
      "    \"\"\"Total the line items of an order: the sum of qty times price.\"\"\"\n"
      "    return round(sum(l[\"qty\"] * l[\"price\"] for l in lines), 2)\n" },
};

struct demo_run {
    const char *desc;
    const char *input;      /* JSON */
    const char *expected;   /* JSON */
};

static const struct demo_run demo_runs[] = {
    { "Count the words in the release notes",
      "{\"text\": \"autodev watches agents and learns new skills\"}", "7" },
    { "Make a URL slug of the blog post title",
      "{\"title\": \"Agents that Improve Themselves!\"}", "\"agents-that-improve-themselves\"" },
    { "Total the line items of the ACME order",
      "{\"lines\": [{\"qty\": 2, \"price\": 9.5}, {\"qty\": 1, \"price\": 20}]}", "39.0" },
    { "Extract the invoice id from this e-mail",
      "{\"text\": \"Hello, please find invoice INV-2024-0042 attached.\"}",
      "\"INV-2024-0042\"" },
    { "Extract the invoice id from this e-mail",
      "{\"text\": \"Reminder: INV-2024-0077 is due on Friday.\"}", "\"INV-2024-0077\"" },
    { "Convert the price from USD to EUR", "{\"amount\": 100, \"from\": \"USD\"}", "92.0" },
};

static int demo_catalog(struct ad_ctx *ctx, struct ad_err *err)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(demo_skills); i++) {
        struct ad_skill_add a = { 0 };
        struct ad_skill s = { 0 };
        struct ad_skill_version v = { 0 };
        int rc;

        /* A demo run again in the same --home keeps the skills it has. */
        if (ad_catalog_get(ctx->store, ctx->tenant_id, demo_skills[i].name, NULL, &s, &v,
                           err) == 0) {
            ad_skill_release(&s);
            ad_skill_version_release(&v);
            continue;
        }
        a.tenant_id = ctx->tenant_id;
        a.name = demo_skills[i].name;
        a.entry = demo_skills[i].entry;
        a.code = demo_skills[i].code;
        a.origin = AD_ORIGIN_MANUAL;
        rc = ad_catalog_add(ctx->store, &a, NULL, NULL, err);
        if (rc < 0)
            return rc;
    }
    ad_err_clear(err);
    return 0;
}

static json_t *run_json(const struct demo_run *r, const struct ad_task_outcome *o)
{
    const char *trace = o->episode.error_trace;
    struct ad_str line = ad_str_last_line(trace);
    return json_pack("{s:s, s:s?, s:b, s:O?, s:o}", "task", r->desc, "skill",
                     o->skill_name[0] ? o->skill_name : NULL, "success", o->episode.success,
                     "output", o->episode.output, "error",
                     trace ? json_stringn(line.ptr, line.len) : json_null());
}

int ad__demo_tasks(struct ad_ctx *ctx, const char *agent_id, json_t *sum, struct ad_err *err)
{
    struct ad_sandbox *sb = NULL;
    json_t *runs = json_array();
    int rc;

    if (!runs || json_object_set_new(sum, "tasks", runs) != 0)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad_runtime_sandbox(ctx->rt, &sb, err);
    if (rc < 0)
        return rc;
    rc = demo_catalog(ctx, err);
    for (size_t i = 0; rc == 0 && i < AD_ARRAY_SIZE(demo_runs); i++) {
        const struct demo_run *r = &demo_runs[i];
        struct ad_task_outcome o;
        struct ad_task t = { 0 };
        json_t *in = json_loads(r->input, 0, NULL);
        json_t *want = json_loads(r->expected, JSON_DECODE_ANY, NULL);

        memset(&o, 0, sizeof(o));
        t.tenant_id = ctx->tenant_id;
        t.agent_id = agent_id;
        t.description = r->desc;
        t.task_kind = "demo.task";
        t.input = in;
        t.expected = want;
        rc = in && want ? ad_task_run(ctx->store, ctx->bus, sb, &t, &o, err)
                        : ad_error(err, AD_ENOMEM, "out of memory");
        if (rc == 0)
            json_array_append_new(runs, run_json(r, &o));
        ad_task_outcome_release(&o);
        json_decref(in);
        json_decref(want);
    }
    return rc;
}

void ad__demo_tasks_print(FILE *out, const json_t *sum)
{
    const json_t *runs = json_object_get(sum, "tasks"), *v;
    size_t i;

    fputs("\ntasks run in the sandbox:\n", out);
    json_array_foreach(runs, i, v) {
        const char *skill = json_string_value(json_object_get(v, "skill"));
        const char *error = json_string_value(json_object_get(v, "error"));
        char *o = ad_json_dumps(json_object_get(v, "output"));

        fprintf(out, "  %-4s %-40s %-12s %s\n",
                json_is_true(json_object_get(v, "success")) ? "ok" : "FAIL",
                json_string_value(json_object_get(v, "task")), skill ? skill : "(no skill)",
                error ? error : (o ? o : ""));
        free(o);
    }
}
