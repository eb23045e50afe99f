/*
 * The demo's autoresearch loop, with no model: a small bundled repository
 * (a Python script whose loss depends on two constants in an EVOLVE block)
 * is written into the demo home and git-initialised; the offline mutator
 * improves the loss over a few iterations; the demo prints each kept
 * commit and the loss before and after.
 *
 * Nothing is canned: the numbers are what the runs printed.
 */
#include "compat.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/buf.h"
#include "autodev/json.h"
#include "autodev/research.h"

#include "cli.h"

#define RESEARCH_ITERATIONS 10

/* The loss of a line fitted to four points; the EVOLVE block holds the line. */
static const char objective_py[] =
    "POINTS = [(0, 1.0), (1, 3.0), (2, 5.0), (3, 7.0)]\n"
    "# EVOLVE-BLOCK-START\n"
    "SLOPE, OFFSET = 8, 4\n"
    "# EVOLVE-BLOCK-END\n"
    "print(\"loss: %g\" % sum((SLOPE * x + OFFSET - y) ** 2 for x, y in POINTS))\n";

/* git ARGS... in dir, quietly, as the demo's author; 0 when it exits 0. */
static int git(const char *dir, struct ad_err *err, const char *const *args)
{
    const char *argv[16] = { "git", "-C", dir, "-c", "user.name=autodev demo", "-c",
                             "user.email=demo@autodev.invalid" };
    size_t n = 7;
    int status = 0;
    pid_t pid;

    for (; *args && n + 1 < AD_ARRAY_SIZE(argv); args++)
        argv[n++] = *args;
    argv[n] = NULL;
    pid = fork();
    if (pid < 0)
        return ad_error(err, AD_EIO, "cannot run git: %s", strerror(errno));
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);

        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp("git", (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return ad_error(err, AD_EIO, "the demo's 'git %s' failed", args[-1]);
    return 0;
}

/* The bundled repository in a new folder of the home: objective.py, committed. */
static int make_repo(struct ad_ctx *ctx, char **dir, struct ad_err *err)
{
    static const char *const init[] = { "init", "-q", NULL };
    static const char *const add[] = { "add", "objective.py", NULL };
    static const char *const commit[] = { "commit", "-q", "-m", "the objective", NULL };
    char *path = NULL, *d = ad_strdupf("%s/research-demo-XXXXXX", ctx->home);
    FILE *f;
    int rc = 0;

    *dir = NULL;
    if (!d)
        return ad_error(err, AD_ENOMEM, "out of memory");
    if (!mkdtemp(d))
        rc = ad_error(err, AD_EIO, "cannot make '%s': %s", d, strerror(errno));
    if (!rc && !(path = ad_strdupf("%s/objective.py", d)))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (!rc) {
        f = fopen(path, "w");
        if (!f || fputs(objective_py, f) == EOF || fclose(f) != 0)
            rc = ad_error(err, AD_EIO, "cannot write '%s'", path);
    }
    if (!rc)
        rc = git(d, err, init);
    if (!rc)
        rc = git(d, err, add);
    if (!rc)
        rc = git(d, err, commit);
    free(path);
    if (rc)
        free(d);
    else
        *dir = d;
    return rc;
}

/* The kept iterations, as the progress of the loop gives them. */
static void collect(void *arg, const json_t *it)
{
    json_t *kept = arg;

    if (!strcmp(json_string_value(json_object_get(it, "decision")), "kept"))
        json_array_append_new(kept, json_pack("{s:O, s:O, s:O, s:O}", "seq",
                                              json_object_get(it, "seq"), "commit",
                                              json_object_get(it, "commit"), "metric",
                                              json_object_get(it, "metric"), "hypothesis",
                                              json_object_get(it, "hypothesis")));
}

int ad__demo_research(struct ad_ctx *ctx, json_t *sum, struct ad_err *err)
{
    struct ad_research_env env = { ctx->store, ctx->bus, ctx->tenant_id, NULL };
    json_t *cfg = NULL, *s = NULL, *res = NULL, *kept = json_array();
    const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    char *repo = NULL, *cmd = NULL, *workdir = NULL, id[64];
    const json_t *r;
    int rc = kept ? 0 : ad_error(err, AD_ENOMEM, "out of memory");

    if (!rc)
        rc = make_repo(ctx, &repo, err);
    if (!rc && (!(cmd = ad_strdupf("%s objective.py", py)) ||
                !(workdir = ad_strdupf("%s/research", ctx->home))))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (!rc && !(cfg = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:s}",
                                 "repo", repo, "files", "objective.py", "cmd", cmd, "metric",
                                 "loss", "direction", "lower", "iterations",
                                 RESEARCH_ITERATIONS, "repeats", 1, "seed", 1, "workdir",
                                 workdir, "name", "demo-research")))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    /* A demo run again in the same --home: a new name for the new session. */
    if (!rc && ctx->home_given)
        json_object_del(cfg, "name");
    if (!rc)
        rc = ad_research_setup(&env, cfg, &s, err);
    if (!rc) {
        snprintf(id, sizeof(id), "%s", ad_json_str(s, "id"));
        rc = ad_research_loop(&env, id, collect, kept, &res, err);
    }
    r = json_object_get(res, "report");
    if (!rc && json_object_set_new(sum, "research",
                                   json_pack("{s:s, s:O, s:O, s:O, s:O, s:O, s:s}", "session_id",
                                             id, "baseline",
                                             json_object_get(json_object_get(r, "baseline"),
                                                             "median"),
                                             "best",
                                             json_object_get(json_object_get(r, "best"),
                                                             "metric"),
                                             "kept", kept, "decisions",
                                             json_object_get(r, "decisions"), "stopped_by",
                                             json_object_get(r, "stopped_by"), "report",
                                             ad_json_str(json_object_get(res, "files"),
                                                         "report.md"))) < 0)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    json_decref(cfg);
    json_decref(s);
    json_decref(res);
    json_decref(kept);
    free(repo);
    free(cmd);
    free(workdir);
    return rc;
}

void ad__demo_research_print(FILE *out, const json_t *sum)
{
    const json_t *a = json_object_get(sum, "research");
    const json_t *k;
    double before;
    size_t i;

    if (!a)
        return;
    before = json_number_value(json_object_get(a, "baseline"));
    fprintf(out, "\nautoresearch loop (no model; the offline mutator over the EVOLVE block of "
                 "a bundled objective.py, %d iterations):\n", RESEARCH_ITERATIONS);
    json_array_foreach(json_object_get(a, "kept"), i, k) {
        double m = json_number_value(json_object_get(k, "metric"));

        fprintf(out, "  kept #%" JSON_INTEGER_FORMAT " %.12s: loss %g -> %g  ",
                json_integer_value(json_object_get(k, "seq")), ad_json_str(k, "commit"), before,
                m);
        ad__print_clipped(out, ad_json_str(k, "hypothesis"), 80);
        fputc('\n', out);
        before = m;
    }
    fprintf(out, "  loss before %g, after %g: %zu kept of %d iterations\n",
            json_number_value(json_object_get(a, "baseline")),
            json_number_value(json_object_get(a, "best")),
            json_array_size(json_object_get(a, "kept")), RESEARCH_ITERATIONS);
}
