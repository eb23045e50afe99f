/*
 * Progressive disclosure of Agent Skills in the agent loop: load_skill
 * (a skill's instructions and the list of its scripts) and
 * run_skill_script (one of its scripts in the sandbox's command mode,
 * argv and stdin, its files confined to a scratch directory). Registered
 * through the tool registry (tools.c) by the composition root; the
 * skills' names and descriptions are the loop's tools already.
 */
#include "compat.h"

#include <ftw.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"

#define SCRIPT_WALL_MS 30000
#define SCRIPT_OUTPUT_CAP (64 * 1024)
#define SCRIPT_ARGS_MAX 32
#define SCRIPT_STDIN_MAX (256 * 1024)

/* The skill's current version; code borrowed from *v. */
static int current(const struct ad_agent_tool_env *env, const json_t *args,
                   struct ad_skill *s, struct ad_skill_version *v, struct ad_err *err)
{
    const char *name = json_string_value(json_object_get(args, "skill"));

    if (!name || !ad_skill_name_valid(name))
        return ad_error(err, AD_EINVAL, "'skill' must be a catalog skill's name");
    return ad_catalog_get(env->st, env->tenant_id, name, NULL, s, v, err);
}

static int load_skill(void *arg, const struct ad_agent_tool_env *env, const json_t *args,
                      json_t **result, struct ad_err *err)
{
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_skill_bundle b = { 0 };
    json_t *scripts = NULL;
    char *md = NULL;
    size_t mdlen = 0;
    int rc;

    (void)arg;
    rc = current(env, args, &s, &v, err);
    if (rc == 0 && ad_skill_code_is_folder(v.code)) {
        rc = ad_skill_folder_file(v.code, "SKILL.md", &md, &mdlen, err);
        rc = rc ? rc : ad_skill_md_parse(md, mdlen, &b, err);
        rc = rc ? rc : ad_skill_folder_scripts(v.code, &scripts, err);
        if (rc == 0)
            *result = json_pack("{s:s, s:s, s:s?, s:o}", "skill", s.name, "description",
                                s.description, "instructions", b.body, "scripts", scripts);
    } else if (rc == 0) {
        /* A skill of code: its own tool; the instructions say how to call it. */
        *result = json_pack("{s:s, s:s, s:s, s:[], s:O?}", "skill", s.name, "description",
                            s.description, "instructions", "Call the tool of this name with "
                            "the arguments its input schema gives.", "scripts", "input_schema",
                            s.input_schema);
    }
    if (rc == 0 && !*result)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    free(md);
    ad_skill_bundle_release(&b);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int write_stdin(const char *dir, const char *text, struct ad_err *err)
{
    char path[4096];
    FILE *f;
    int ok;

    if ((size_t)snprintf(path, sizeof(path), "%.4080s/.stdin", dir) >= sizeof(path))
        return ad_error(err, AD_ETOOBIG, "the scratch directory's path is too long");
    f = fopen(path, "wbx");
    if (!f)
        return ad_error(err, AD_EIO, "cannot write the script's stdin: %s", strerror(errno));
    ok = fwrite(text, 1, strlen(text), f) == strlen(text);
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : ad_error(err, AD_EIO, "cannot write the script's stdin");
}

/* The interpreter of a script by its suffix; NULL when autodev runs none for it. */
static const char *interpreter(const char *script)
{
    size_t n = strlen(script);

    if (n > 3 && !strcmp(script + n - 3, ".py"))
        return "python3";
    if (n > 3 && !strcmp(script + n - 3, ".sh"))
        return "sh";
    return NULL;
}

static int run_script(const char *code, const char *as_name, const char *script,
                      const json_t *argv_j, const char *in, json_t **result, struct ad_err *err)
{
    char scratch[4096], dir[4200], rel[4200];
    const char *tmp = getenv("TMPDIR"), *interp = interpreter(script);
    char *argv[SCRIPT_ARGS_MAX + 8];
    char e_path[] = "PATH=/usr/local/bin:/usr/bin:/bin", e_lang[] = "LANG=C.UTF-8";
    char e_home[] = "HOME=/tmp", sh[] = "/bin/sh", dash_c[] = "-c";
    char line[] = "exec \"$0\" \"$@\" <.stdin";
    char *envp[] = { e_path, e_lang, e_home, NULL };
    struct ad_sandbox_cmd cmd = { 0 };
    struct ad_sandbox_cmd_result res = { 0 };
    struct ad_buf out = AD_BUF_INIT;
    size_t argc = 0, i;
    const json_t *a;
    int rc;

    if (!interp)
        return ad_error(err, AD_ENOTSUP, "no interpreter for '%s' (scripts ending .py or .sh "
                        "run)", script);
    snprintf(scratch, sizeof(scratch), "%s/autodev-skill-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch))
        return ad_error(err, AD_EIO, "cannot make a scratch directory: %s", strerror(errno));
    rc = ad_skill_folder_write(code, as_name, scratch, false, err);
    snprintf(dir, sizeof(dir), "%s/%s", scratch, as_name);
    snprintf(rel, sizeof(rel), "scripts/%s", script);
    rc = rc ? rc : write_stdin(dir, in ? in : "", err);
    /* stdin is /dev/null in command mode: the shell feeds the script the file. */
    argv[argc++] = sh;
    argv[argc++] = dash_c;
    argv[argc++] = line;
    argv[argc++] = (char *)interp;
    argv[argc++] = rel;
    json_array_foreach(argv_j, i, a)
        argv[argc++] = (char *)json_string_value(a);
    argv[argc] = NULL;
    cmd.argv = argv;
    cmd.env = envp;
    cmd.dir = dir;
    cmd.backend = AD_SB_AUTO;
    cmd.wall_ms = SCRIPT_WALL_MS;
    cmd.output_cap = SCRIPT_OUTPUT_CAP;
    if (rc == 0)
        rc = ad_sandbox_run_command(&cmd, &out, &res, err);
    if (rc == 0) {
        *result = json_pack("{s:s, s:b, s:i, s:b, s:b, s:s#, s:s, s:I}", "script", script,
                            "exited", res.exited, "status", res.status, "timed_out",
                            res.timed_out, "truncated", res.truncated, "output",
                            out.ptr ? out.ptr : "", out.ptr ? out.len : 0, "isolation",
                            res.degraded ? "degraded" : "full", "wall_ms",
                            (json_int_t)res.wall_ms);
        if (!*result)
            rc = ad_error(err, AD_EINVAL, "the script's output is not UTF-8 text");
    }
    ad_buf_release(&out);
    nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

static int run_skill_script(void *arg, const struct ad_agent_tool_env *env, const json_t *args,
                            json_t **result, struct ad_err *err)
{
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    const char *script = json_string_value(json_object_get(args, "script"));
    const json_t *argv_j = json_object_get(args, "args"), *a;
    const json_t *in = json_object_get(args, "stdin");
    char as_name[72];
    json_t *scripts = NULL;
    size_t i;
    int rc, found = 0;

    (void)arg;
    if (argv_j && (!json_is_array(argv_j) || json_array_size(argv_j) > SCRIPT_ARGS_MAX))
        return ad_error(err, AD_EINVAL, "'args' must be an array of at most %d strings",
                        SCRIPT_ARGS_MAX);
    json_array_foreach(argv_j, i, a) {
        if (!json_is_string(a) || strlen(json_string_value(a)) != json_string_length(a))
            return ad_error(err, AD_EINVAL, "'args' must be an array of strings");
    }
    if (in && (!json_is_string(in) || json_string_length(in) > SCRIPT_STDIN_MAX ||
               strlen(json_string_value(in)) != json_string_length(in)))
        return ad_error(err, AD_EINVAL, "'stdin' must be a string of at most %d bytes",
                        SCRIPT_STDIN_MAX);
    if (!script)
        return ad_error(err, AD_EINVAL, "'script' must name one of the skill's scripts");
    rc = current(env, args, &s, &v, err);
    if (rc == 0 && !ad_skill_code_is_folder(v.code))
        rc = ad_error(err, AD_ENOTFOUND, "skill '%s' has no scripts; call its tool instead",
                      s.name);
    rc = rc ? rc : ad_skill_folder_scripts(v.code, &scripts, err);
    json_array_foreach(scripts, i, a)
        found |= rc == 0 && !strcmp(json_string_value(a), script);
    if (rc == 0 && !found)
        rc = ad_error(err, AD_ENOTFOUND, "skill '%s' has no script '%.80s'", s.name, script);
    rc = rc ? rc : ad_skill_name_to_agentskills(s.name, as_name, sizeof(as_name), err);
    rc = rc ? rc : run_script(v.code, as_name, script, argv_j, json_string_value(in), result,
                              err);
    json_decref(scripts);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}

/* Offered only where a skill is a kept folder: other catalogs see no new tools. */
static bool any_folder(struct ad_store *st, const char *tenant_id)
{
    struct ad_skill *list = NULL;
    size_t n = 0;
    bool any = false;

    if (ad_catalog_list(st, tenant_id, NULL, 256, &list, &n, NULL) < 0)
        return false;
    for (size_t i = 0; i < n && !any; i++) {
        struct ad_skill s = { 0 };
        struct ad_skill_version v = { 0 };

        if (ad_catalog_get(st, tenant_id, list[i].name, NULL, &s, &v, NULL) == 0)
            any = ad_skill_code_is_folder(v.code);
        ad_skill_release(&s);
        ad_skill_version_release(&v);
    }
    ad_skill_list_free(list, n);
    return any;
}

static const struct ad_agent_tool skill_tools[] = {
    { "load_skill",
      "Loads a skill's full instructions (its SKILL.md body) and the list of its scripts. "
      "Call it before using a skill whose description fits the task.",
      "{\"type\": \"object\", \"properties\": {\"skill\": {\"type\": \"string\", "
      "\"description\": \"the skill's name\"}}, \"required\": [\"skill\"], "
      "\"additionalProperties\": false}",
      load_skill, any_folder },
    { "run_skill_script",
      "Runs one of a skill's scripts in the sandbox, in a scratch copy of the skill's folder: "
      "args are its argv, stdin its standard input. Returns its status and output.",
      "{\"type\": \"object\", \"properties\": {\"skill\": {\"type\": \"string\"}, "
      "\"script\": {\"type\": \"string\", \"description\": \"a name load_skill listed\"}, "
      "\"args\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}, "
      "\"stdin\": {\"type\": \"string\"}}, \"required\": [\"skill\", \"script\"], "
      "\"additionalProperties\": false}",
      run_skill_script, any_folder },
};

int ad_agent_skill_tools_register(struct ad_err *err)
{
    return ad_agent_tools_register(skill_tools, AD_ARRAY_SIZE(skill_tools), NULL, err);
}
