/*
 * Autoresearch's steps: setup, edit, run, decide, finalize, status,
 * resume, and the loop over them (report.c writes the report).
 *
 * The store is the truth: the worktree is only ever "the last kept commit
 * plus the pending iteration's edit". Each step writes its row before it
 * returns; a crash between a git command and the row that records it is
 * undone by resume, which resets the worktree to the session's
 * best_commit. A keep writes the iteration and the session's new best in
 * one transaction, after the commit exists.
 *
 * Sections: helpers (config, rows, JSON); measuring; setup; edit; run;
 * decide; resume, status and the loop.
 */
#include "compat.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autodev/buf.h"
#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/json.h"
#include "autodev/llm.h"
#include "autodev/propose.h"
#include "autodev/research.h"
#include "autodev/store.h"
#include "autodev/topics.h"

#include "research_int.h"

#define OUT_CAP (256u << 10)       /* command output kept per run: the last 256 KiB */
#define TAIL_KEEP 2000             /* of which the row keeps the last 2000 bytes */
#define FILE_MAX (16u << 20)

/* ---- the crash points (a test hook, see research_int.h) ------------------ */

static pthread_once_t crash_once = PTHREAD_ONCE_INIT;
static char crash_at[128];          /* "research.STEP.POINT", or "" */
static int crash_nth = 1;
static atomic_int crash_hits;

static void crash_init(void)
{
    const char *v = getenv("AUTODEV_CRASH_AT");
    char *colon;

    if (!v || strlen(v) >= sizeof(crash_at))
        return;
    memcpy(crash_at, v, strlen(v) + 1);
    colon = strchr(crash_at, ':');
    if (colon) {
        long n = strtol(colon + 1, NULL, 10);

        *colon = '\0';
        crash_nth = n > 0 && n < 1000000 ? (int)n : 1;
    }
}

void ad__research_crash_point(const char *point)
{
    pthread_once(&crash_once, crash_init);
    if (!crash_at[0] || strncmp(crash_at, "research.", 9) || strcmp(crash_at + 9, point))
        return;
    if (atomic_fetch_add(&crash_hits, 1) + 1 == crash_nth)
        raise(SIGKILL);
}

/* ---- helpers ------------------------------------------------------------ */

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

static const char *cfg_str(const struct ad_research_session *s, const char *key)
{
    return json_string_value(json_object_get(s->config, key));
}

static json_int_t cfg_int(const struct ad_research_session *s, const char *key)
{
    return json_integer_value(json_object_get(s->config, key));
}

static double cfg_num(const struct ad_research_session *s, const char *key)
{
    return json_number_value(json_object_get(s->config, key));
}

/* The command runs in the sandbox unless the config says "sandbox": false. */
static int use_sandbox(const struct ad_research_session *s)
{
    return !json_is_false(json_object_get(s->config, "sandbox"));
}

static int lower_is_better(const struct ad_research_session *s)
{
    return !strcmp(s->direction, "minimize");
}

static json_t *num_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Median of v (sorted in place); n > 0. */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median and median absolute deviation of the numbers of arr. */
static void median_mad(const json_t *arr, double *med, double *mad)
{
    size_t n = json_array_size(arr), i;
    double v[64], d[64];

    *med = *mad = NAN;
    if (n == 0 || n > 64)
        return;
    for (i = 0; i < n; i++)
        v[i] = json_number_value(json_array_get(arr, i));
    *med = median(v, n);
    for (i = 0; i < n; i++)
        d[i] = fabs(v[i] - *med);
    *mad = median(d, n);
}

static int session_load(const struct ad_research_env *env, const char *id,
                        struct ad_research_session *s, struct ad_err *err)
{
    if (!id)
        return ad_error(err, AD_EINVAL, "a research session id is required");
    return ad_store_research_session_get(env->st, env->tenant_id, id, s, err);
}

static int save_session(const struct ad_research_env *env, struct ad_research_session *s,
                        struct ad_err *err)
{
    return ad_store_research_session_update(env->st, s, err);
}

static int set_str(char **dst, const char *v, struct ad_err *err)
{
    char *c = v ? strdup(v) : NULL;

    if (v && !c)
        return oom(err);
    free(*dst);
    *dst = c;
    return 0;
}

static json_t *session_json(const struct ad_research_session *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s?, s:s?, s:O?, s:b,"
                     " s:s, s:s}",
                     "id", s->id, "name", s->name, "repo", s->repo_path, "metric",
                     s->metric_name, "direction", lower_is_better(s) ? "lower" : "higher",
                     "status", s->status, "baseline", num_or_null(s->baseline_metric),
                     "best", num_or_null(s->best_metric), "noise", num_or_null(s->noise),
                     "worktree", s->worktree, "best_commit", s->best_commit, "config",
                     s->config, "sandbox", use_sandbox(s), "created_at", s->created_at, "updated_at",
                     s->updated_at);
}

static json_t *iteration_json(const struct ad_research_iteration *it)
{
    return json_pack("{s:s, s:i, s:s?, s:o, s:s, s:s?, s:s?, s:O?, s:O?, s:s?}", "id", it->id,
                     "seq", it->seq, "hypothesis", it->hypothesis, "metric",
                     num_or_null(it->metric), "decision", it->decision, "phase", it->phase,
                     "commit", it->commit_sha, "gates", it->gate_results, "detail",
                     it->detail, "diff", it->diff);
}

static int emit(const struct ad_research_env *env, const char *topic, json_t *payload,
                struct ad_err *err)
{
    int rc;

    if (!payload)
        return oom(err);
    rc = env->bus ? ad_bus_emit(env->bus, env->tenant_id, topic, payload, NULL, err) : 0;
    json_decref(payload);
    return rc;
}

/* The last iteration of the session into *last (zeroed when none); *count how many. */
static int last_iteration(const struct ad_research_env *env, const char *session_id,
                          struct ad_research_iteration *last, size_t *count,
                          struct ad_err *err)
{
    struct ad_research_iteration *v = NULL;
    size_t n = 0;
    int rc = ad_store_research_iteration_list(env->st, env->tenant_id, session_id, &v, &n, err);

    memset(last, 0, sizeof(*last));
    *count = n;
    if (rc)
        return rc;
    if (n > 0) {
        *last = v[n - 1];
        memset(&v[n - 1], 0, sizeof(v[n - 1]));
    }
    ad_research_iteration_list_free(v, n);
    return 0;
}

/*
 * Text from a command or a file as a JSON string: bytes outside printable
 * ASCII (but newline and tab) become '?', so that any output is storable.
 */
json_t *ad__research_text(const char *p, size_t len)
{
    char *c = malloc(len + 1);
    json_t *j;

    if (!c)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];

        c[i] = (ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f)) ? (char)ch : '?';
    }
    c[len] = '\0';
    j = json_string(c);
    free(c);
    return j;
}

/* Puts the worktree back on the last kept commit, dropping every change. */
static int restore_worktree(const struct ad_research_session *s, struct ad_err *err)
{
    int rc = ad__git(s->worktree, NULL, err, "reset", "-q", "--hard", s->best_commit,
                     (const char *)NULL);

    if (!rc)
        rc = ad__git(s->worktree, NULL, err, "clean", "-q", "-f", "-d", (const char *)NULL);
    return rc;
}

/* ---- measuring ---------------------------------------------------------- */

/*
 * The environment of the user's command: a fixed short list, so no key or
 * token autodev was given reaches it.
 */
static void command_env(char **env, size_t max)
{
    static const char *const keep[] = { "PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER" };
    static char bufs[AD_ARRAY_SIZE(keep)][4096];
    size_t n = 0;

    for (size_t i = 0; i < AD_ARRAY_SIZE(keep) && n + 1 < max; i++) {
        const char *v = getenv(keep[i]);

        if (v && snprintf(bufs[i], sizeof(bufs[i]), "%s=%s", keep[i], v) < (int)sizeof(bufs[i]))
            env[n++] = bufs[i];
    }
    env[n] = NULL;
}

/* One shell command in the worktree; *ok 1 when it ran and exited 0. */
static int run_shell(const struct ad_research_session *s, const char *cmd, struct ad_buf *out,
                     struct ad__proc_result *res, struct ad_err *err)
{
    char *env[8];
    long long budget = cfg_int(s, "time_budget");

    command_env(env, AD_ARRAY_SIZE(env));
    ad_buf_reset(out);
    return ad__proc_run_cmd(cmd, s->worktree, json_object_get(s->config, "protect"),
                            use_sandbox(s), (int64_t)cfg_int(s, "memory_mib") << 20,
                            (int)cfg_int(s, "pids"), env, (budget > 0 ? budget : 60) * 1000,
                            OUT_CAP, out, res, err);
}

/*
 * Runs the command repeats times. 0 with *value the median when every run
 * exited 0 and printed the metric; 0 with *value NAN and detail["failure"]
 * when one did not (the first failure ends the measurement); an error only
 * when autodev itself failed. detail gets "values", "ms" and "output_tail".
 * point: the crash point reached when the first run has been read.
 */
static int measure(const struct ad_research_session *s, double *value, json_t *detail,
                   const char *point, struct ad_err *err)
{
    const json_t *specs = json_object_get(s->config, "secondary");
    json_t *sec = json_object(), *sec_err = json_object();
    json_t *values = sec && sec_err ? json_array() : NULL;
    struct ad__proc_result res = { 0 };
    struct ad_buf out;
    const char *failure = NULL;
    char why[300];
    long long ms = 0;
    int rc = values ? 0 : oom(err), repeats = (int)cfg_int(s, "repeats");

    *value = NAN;
    ad_buf_init(&out, OUT_CAP + 1);
    for (int r = 0; !rc && !failure && r < (repeats > 0 ? repeats : 1); r++) {
        struct ad_err merr = AD_ERR_INIT;
        double v;

        rc = run_shell(s, s->config ? cfg_str(s, "cmd") : NULL, &out, &res, err);
        if (rc)
            break;
        ms += res.ms;
        if (res.oom) {
            snprintf(why, sizeof(why), "out of memory: the memory limit (%lld MiB) killed it",
                     (long long)cfg_int(s, "memory_mib"));
            failure = why;
        } else if (res.cpu_limited) {
            snprintf(why, sizeof(why), "cpu limit: %lld s of CPU time (process tree killed)",
                     (long long)cfg_int(s, "time_budget"));
            failure = why;
        } else if (res.timed_out) {
            snprintf(why, sizeof(why), "timeout after %lld s (process tree killed)",
                     (long long)cfg_int(s, "time_budget"));
            failure = why;
        } else if (!res.exited) {
            snprintf(why, sizeof(why), "killed by signal %d", res.status);
            failure = why;
        } else if (res.status != 0) {
            snprintf(why, sizeof(why), "exit status %d", res.status);
            failure = why;
        } else if (ad_research_metric_extract(out.ptr, s->metric_name, cfg_str(s, "pattern"),
                                              &v, &merr) < 0) {
            snprintf(why, sizeof(why), "metric missing: %.250s", merr.msg);
            failure = why;
        } else if (json_array_append_new(values, json_real(v)) < 0) {
            rc = oom(err);
        } else {
            rc = ad__research_secondary_read(specs, out.ptr ? out.ptr : "", sec, sec_err, err);
            if (!rc && r == 0)
                ad__research_crash_point(point);
        }
    }
    if (!rc) {
        const char *tail = out.ptr ? out.ptr : "";
        size_t len = out.len;
        double mad;

        if (len > TAIL_KEEP)
            tail += len - TAIL_KEEP;
        if (json_object_set(detail, "values", values) < 0 ||
            json_object_set_new(detail, "ms", json_integer(ms)) < 0 ||
            json_object_set_new(detail, "sandbox", json_boolean(res.sandboxed)) < 0 ||
            json_object_set_new(detail, "sandbox_backend",
                                res.sandboxed ? json_string(res.backend) : json_null()) < 0 ||
            json_object_set_new(detail, "cgroup", json_boolean(res.cgroup)) < 0 ||
            json_object_set_new(detail, "output_tail", ad__research_text(tail, strlen(tail)))
                < 0 ||
            (failure && json_object_set_new(detail, "failure", json_string(failure)) < 0))
            rc = oom(err);
        if (!rc && !failure && json_array_size(specs))
            rc = ad__research_secondary_finish(sec, sec_err, detail, err);
        if (!failure)
            median_mad(values, value, &mad);
    }
    json_decref(sec);
    json_decref(sec_err);
    json_decref(values);
    ad_buf_release(&out);
    return rc;
}

/* ---- setup -------------------------------------------------------------- */

/* A path inside the repository: relative, no "..", no ".git". */
static int check_rel_path(const char *what, const char *p, struct ad_err *err)
{
    if (!*p || p[0] == '/' || strstr(p, "..") || !strncmp(p, ".git", 4) || strchr(p, '\n'))
        return ad_error(err, AD_EINVAL, "%s '%s' must be a path relative to the repository,"
                        " without '..' and outside .git", what, p);
    return 0;
}

static int is_target(const json_t *cfg, const char *path)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(cfg, "files"), i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), path))
            return 1;
    }
    return 0;
}

/*
 * The protected globs: tests and the evaluation harness by default (every
 * word of the command that names a file of the repository), the rules
 * file, .gitignore and the user's own.
 */
static int default_protect(json_t *cfg, const char *top, struct ad_err *err)
{
    static const char *const globs[] = { "tests/", "test/", "test_*", "*_test.*", "*.test.*",
                                         "conftest.py", ".gitignore", ".gitattributes",
                                         ".github/" };
    json_t *protect = json_array(), *user = json_object_get(cfg, "protect");
    char *cmd = strdup(json_string_value(json_object_get(cfg, "cmd")));
    const char *rules = json_string_value(json_object_get(cfg, "rules"));
    size_t i;
    json_t *v;
    int rc = 0;

    if (!protect || !cmd)
        rc = oom(err);
    for (i = 0; !rc && i < AD_ARRAY_SIZE(globs); i++)
        rc = json_array_append_new(protect, json_string(globs[i])) < 0 ? oom(err) : 0;
    for (char *save = NULL, *w = cmd ? strtok_r(cmd, " \t'\"", &save) : NULL; !rc && w;
         w = strtok_r(NULL, " \t'\"", &save)) {
        char path[4096];
        struct stat sb;

        if (w[0] == '/' || strstr(w, "..") || w[0] == '-')
            continue;
        if (!strncmp(w, "./", 2))
            w += 2;
        /* The program under study is what the command runs: a target is not the harness. */
        if (snprintf(path, sizeof(path), "%s/%s", top, w) < (int)sizeof(path) &&
            stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && !is_target(cfg, w))
            rc = json_array_append_new(protect, json_string(w)) < 0 ? oom(err) : 0;
    }
    if (!rc && rules)
        rc = json_array_append_new(protect, json_string(rules)) < 0 ? oom(err) : 0;
    json_array_foreach(user, i, v) {
        if (!rc && !json_is_string(v))
            rc = ad_error(err, AD_EINVAL, "protect: every glob must be a string");
        if (!rc)
            rc = json_array_append(protect, v) < 0 ? oom(err) : 0;
    }
    if (!rc)
        rc = json_object_set(cfg, "protect", protect) < 0 ? oom(err) : 0;
    json_decref(protect);
    free(cmd);
    return rc;
}

#define DEFAULT_RULES ".autodev/research-rules"

/*
 * The rules file: config "rules", else DEFAULT_RULES when the repository
 * has one. Read now, before a stash could take it away, into "rule_set"
 * (the session's rules from here on); a malformed file fails setup.
 */
static int load_rules(json_t *cfg, const char *top, struct ad_err *err)
{
    const char *rel = json_string_value(json_object_get(cfg, "rules"));
    json_t *set = NULL;
    char *path;
    struct stat sb;
    int rc;

    if (!rel) {
        path = ad_strdupf("%s/%s", top, DEFAULT_RULES);
        if (!path)
            return oom(err);
        if (lstat(path, &sb) != 0) {
            free(path);
            return 0;
        }
        free(path);
        rel = DEFAULT_RULES;
        if (json_object_set_new(cfg, "rules", json_string(rel)) < 0)
            return oom(err);
    }
    path = ad_strdupf("%s/%s", top, rel);
    if (!path)
        return oom(err);
    /* A link could name a file the protection does not cover. */
    if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        rc = ad_error(err, AD_EINVAL, "the rules file '%s' is not a regular file", rel);
    else
        rc = ad__research_rules_load(path, &set, err);
    free(path);
    if (!rc && json_object_set_new(cfg, "rule_set", set) < 0)
        rc = oom(err);
    return rc;
}

/* The globs of "protect" rules join the protected paths (read-only in the sandbox too). */
static int protect_rules(json_t *cfg, struct ad_err *err)
{
    json_t *protect = json_object_get(cfg, "protect"), *r;
    size_t i;

    json_array_foreach(json_object_get(cfg, "rule_set"), i, r) {
        if (!strcmp(json_string_value(json_object_get(r, "kind")), "protect") &&
            json_array_append(protect, json_object_get(r, "pattern")) < 0)
            return oom(err);
    }
    return 0;
}

static int get_int_opt(const json_t *c, json_t *cfg, const char *key, int64_t def, int64_t min,
                       int64_t max, struct ad_err *err)
{
    int64_t v = def;
    int rc = ad_json_get_int(c, key, 0, min, max, &v, err);

    if (rc == AD_ENOTFOUND) {
        v = def;
        rc = 0;
    }
    if (!rc && json_object_set_new(cfg, key, json_integer(v)) < 0)
        rc = oom(err);
    return rc;
}

static int get_num_opt(const json_t *c, json_t *cfg, const char *key, double def,
                       struct ad_err *err)
{
    const json_t *v = json_object_get(c, key);

    if (v && (!json_is_number(v) || json_number_value(v) < 0 ||
              !isfinite(json_number_value(v))))
        return ad_error(err, AD_EINVAL, "%s must be a number >= 0", key);
    if (json_object_set_new(cfg, key, json_real(v ? json_number_value(v) : def)) < 0)
        return oom(err);
    return 0;
}

/* Checks the caller's config and makes the session's, with every default written out. */
static int make_config(const json_t *c, json_t **out, struct ad_err *err)
{
    static const char *const keys[] = { "repo", "files", "cmd", "metric", "pattern",
                                        "direction", "iterations", "max_seconds",
                                        "time_budget", "repeats", "margin", "noise_k", "check",
                                        "protect", "rules", "allow_dirty", "workdir", "seed",
                                        "name", "token_budget", "usd_budget", "spark_budget",
                                        "spark_per_iteration", "sandbox", "memory_mib",
                                        "pids", "secondary", NULL };
    static const char *const required[] = { "repo", "cmd", "metric", "workdir" };
    json_t *cfg = json_deep_copy(c), *files = json_object_get(c, "files"), *v;
    const char *dir;
    size_t i;
    int rc;

    *out = NULL;
    if (!json_is_object(c))
        return ad_error(err, AD_EINVAL, "the research config must be a JSON object");
    if (!cfg)
        return oom(err);
    rc = ad_json_check_keys(c, keys, err);
    for (i = 0; !rc && i < AD_ARRAY_SIZE(required); i++) {
        v = json_object_get(c, required[i]);
        if (!json_is_string(v) || !json_string_length(v))
            rc = ad_error(err, AD_EINVAL, "%s is required (a non-empty string)", required[i]);
    }
    if (!rc && (!json_is_array(files) || json_array_size(files) == 0))
        rc = ad_error(err, AD_EINVAL, "files is required: the paths edits may touch");
    json_array_foreach(files, i, v) {
        if (!rc && !json_is_string(v))
            rc = ad_error(err, AD_EINVAL, "files: every path must be a string");
        if (!rc)
            rc = check_rel_path("file", json_string_value(v), err);
    }
    if (!rc && json_object_get(c, "rules"))
        rc = json_is_string(json_object_get(c, "rules"))
                 ? check_rel_path("rules file", json_string_value(json_object_get(c, "rules")),
                                  err)
                 : ad_error(err, AD_EINVAL, "rules must be a path");
    dir = json_string_value(json_object_get(c, "direction"));
    if (!rc && dir && strcmp(dir, "lower") && strcmp(dir, "higher"))
        rc = ad_error(err, AD_EINVAL, "direction must be lower or higher, not '%s'", dir);
    if (!rc && !dir)
        rc = json_object_set_new(cfg, "direction", json_string("lower")) < 0 ? oom(err) : 0;
    if (!rc && json_object_get(c, "sandbox") && !json_is_boolean(json_object_get(c, "sandbox")))
        rc = ad_error(err, AD_EINVAL, "sandbox must be true or false");
    if (!rc && !json_object_get(c, "sandbox"))
        rc = json_object_set_new(cfg, "sandbox", json_true()) < 0 ? oom(err) : 0;
    if (!rc)
        rc = get_int_opt(c, cfg, "iterations", 10, 0, 100000, err);
    if (!rc)
        rc = get_int_opt(c, cfg, "max_seconds", 0, 0, 30 * 86400, err);
    if (!rc)
        rc = get_int_opt(c, cfg, "time_budget", 60, 1, 86400, err);
    if (!rc)
        rc = get_int_opt(c, cfg, "repeats", 3, 1, 64, err);
    if (!rc)
        rc = get_int_opt(c, cfg, "memory_mib", 2048, 16, 1 << 20, err);
    if (!rc)
        rc = get_int_opt(c, cfg, "pids", 256, 8, 1 << 20, err);
    if (!rc)
        rc = get_int_opt(c, cfg, "seed", 1, 0, INT64_MAX, err);
    if (!rc)
        rc = get_int_opt(c, cfg, "token_budget", 0, 0, INT64_MAX, err);
    if (!rc)
        rc = get_num_opt(c, cfg, "usd_budget", 0, err);
    if (!rc)
        rc = get_int_opt(c, cfg, "spark_budget", 0, 0, INT64_MAX, err);
    if (!rc)
        rc = get_int_opt(c, cfg, "spark_per_iteration", 4, 1, 1000000, err);
    if (!rc)
        rc = get_num_opt(c, cfg, "margin", 0, err);
    if (!rc)
        rc = get_num_opt(c, cfg, "noise_k", 2, err);
    if (!rc) {
        json_t *sec = NULL;

        rc = ad__research_secondary_config(json_object_get(c, "secondary"),
                                           json_string_value(json_object_get(c, "metric")), &sec,
                                           err);
        if (!rc && json_object_set_new(cfg, "secondary", sec) < 0)
            rc = oom(err);
    }
    if (!rc && json_object_get(c, "pattern")) {
        double ignored;
        struct ad_err perr = AD_ERR_INIT;
        const char *pat = json_string_value(json_object_get(c, "pattern"));

        /* A pattern that does not compile is refused now, not at the first run. */
        if (!pat || ad_research_metric_extract("", NULL, pat, &ignored, &perr) == AD_EINVAL)
            rc = ad_error(err, AD_EINVAL, "%s", pat ? perr.msg : "pattern must be a string");
    }
    if (rc) {
        json_decref(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

/* Refuses a dirty tree, or stashes it with allow_dirty. */
static int clean_tree(const char *top, int allow_dirty, int *stashed, struct ad_err *err)
{
    struct ad_buf b;
    int rc;

    *stashed = 0;
    ad_buf_init(&b, 1u << 20);
    rc = ad__git(top, &b, err, "status", "--porcelain", (const char *)NULL);
    if (!rc && b.len > 0) {
        if (!allow_dirty)
            rc = ad_error(err, AD_ESTATE, "the tree of '%s' has uncommitted changes: commit or "
                          "stash them, or pass --allow-dirty (which stashes them)", top);
        else
            rc = ad__git(top, NULL, err, "stash", "push", "-u", "-q", "-m",
                         "autodev research: stashed by --allow-dirty", (const char *)NULL);
        *stashed = !rc && allow_dirty;
    }
    ad_buf_release(&b);
    return rc;
}

/* The worktree on branch autodev/research-<id> at the session's base commit. */
static int make_worktree(const struct ad_research_env *env, struct ad_research_session *s,
                         struct ad_err *err)
{
    const char *workdir = cfg_str(s, "workdir");
    const char *base = json_string_value(json_object_get(s->state, "base_commit"));
    char *path = ad_strdupf("%s/%s", workdir, s->id);
    char *branch = ad_strdupf("autodev/research-%s", s->id);
    struct stat sb;
    int rc = path && branch ? 0 : oom(err);

    if (!rc && mkdir(workdir, 0700) != 0 && errno != EEXIST)
        rc = ad_error(err, AD_EIO, "cannot make '%s': %s", workdir, strerror(errno));
    if (!rc && stat(path, &sb) == 0) {
        /* A setup that crashed after git made it: make it again from the branch. */
        ad__git(s->repo_path, NULL, err, "worktree", "remove", "--force", path,
                (const char *)NULL);
        ad__git(s->repo_path, NULL, err, "worktree", "prune", (const char *)NULL);
    }
    if (!rc && ad__git(s->repo_path, NULL, err, "rev-parse", "--verify", "-q", branch,
                       (const char *)NULL) == 0)
        rc = ad__git(s->repo_path, NULL, err, "worktree", "add", "-q", "-f", path, branch,
                     (const char *)NULL);
    else if (!rc)
        rc = ad__git(s->repo_path, NULL, err, "worktree", "add", "-q", "-b", branch, path, base,
                     (const char *)NULL);
    if (!rc)
        ad__research_crash_point("setup.worktree");
    if (!rc)
        rc = set_str(&s->worktree, path, err);
    if (!rc)
        rc = json_object_set_new(s->state, "branch", json_string(branch)) < 0 ? oom(err) : 0;
    if (!rc)
        rc = save_session(env, s, err);
    free(path);
    free(branch);
    return rc;
}

/* The baseline, repeats times: its median is the first best, its MAD the noise floor. */
static int baseline(const struct ad_research_env *env, struct ad_research_session *s,
                    struct ad_err *err)
{
    json_t *detail = json_object();
    double value = NAN, med, mad;
    int rc = detail ? 0 : oom(err);

    if (!rc)
        rc = measure(s, &value, detail, "setup.baseline", err);
    if (!rc)
        ad__research_crash_point("setup.measured");
    /* A secondary the baseline does not print could never pass its gate. */
    if (!rc && !isnan(value) && json_object_size(json_object_get(detail, "secondary_errors"))) {
        const char *name;
        json_t *msg;

        json_object_foreach(json_object_get(detail, "secondary_errors"), name, msg) {
            char why[400];

            snprintf(why, sizeof(why), "secondary metric '%s' missing: %.300s", name,
                     json_string_value(msg));
            json_object_set_new(detail, "failure", json_string(why));
            break;
        }
        value = NAN;
    }
    if (!rc && isnan(value)) {
        rc = ad_error(err, AD_EINVAL, "the baseline run failed: %s",
                      json_string_value(json_object_get(detail, "failure")));
        if (set_str(&s->status, "failed", err) == 0) {
            struct ad_err ignored = AD_ERR_INIT;

            json_object_set(s->state, "baseline", detail);
            save_session(env, s, &ignored);
        }
    } else if (!rc) {
        median_mad(json_object_get(detail, "values"), &med, &mad);
        s->baseline_metric = s->best_metric = med;
        s->noise = mad;
        rc = json_object_set(s->state, "baseline", detail) < 0 ? oom(err) : 0;
        if (!rc)
            rc = json_object_set_new(s->state, "started_ms", json_integer(ad_now_ms())) < 0
                     ? oom(err) : 0;
        if (!rc)
            rc = set_str(&s->status, "running", err);
        if (!rc)
            rc = save_session(env, s, err);
        if (!rc)
            rc = emit(env, AD_TOPIC_RESEARCH_STARTED,
                      json_pack("{s:s, s:s, s:s, s:f, s:f, s:b}", "session_id", s->id, "repo",
                                s->repo_path, "metric", s->metric_name, "baseline", med,
                                "noise", mad, "sandbox", use_sandbox(s)), err);
    }
    json_decref(detail);
    return rc;
}

int ad_research_setup(const struct ad_research_env *env, const json_t *config, json_t **out,
                      struct ad_err *err)
{
    struct ad_research_session s;
    char *top = NULL, *head = NULL, rnd[AD_ID_SIZE];
    json_t *cfg = NULL;
    int rc, stashed = 0, lock_fd = -1;

    memset(&s, 0, sizeof(s));
    s.baseline_metric = s.best_metric = s.noise = NAN;
    *out = NULL;
    rc = make_config(config, &cfg, err);
    if (!rc)
        rc = ad__git_line(json_string_value(json_object_get(cfg, "repo")), &top, err,
                          "rev-parse", "--show-toplevel", NULL);
    if (!rc)
        rc = load_rules(cfg, top, err);
    if (!rc)
        rc = default_protect(cfg, top, err);
    if (!rc)
        rc = protect_rules(cfg, err);
    if (!rc)
        rc = ad__git_line(top, &head, err, "rev-parse", "--verify", "HEAD");
    if (!rc)
        rc = clean_tree(top, json_is_true(json_object_get(cfg, "allow_dirty")), &stashed, err);
    if (!rc)
        rc = ad_id_new(rnd) < 0 ? ad_error(err, AD_EIO, "cannot make an id") : 0;
    if (!rc) {
        const char *name = json_string_value(json_object_get(cfg, "name"));

        memcpy(s.tenant_id, env->tenant_id, strnlen(env->tenant_id, AD_ID_SIZE - 1));
        s.name = name ? strdup(name) : ad_strdupf("research-%s", rnd + 24);
        s.repo_path = top;
        top = NULL;
        s.metric_name = strdup(json_string_value(json_object_get(cfg, "metric")));
        s.direction = strdup(strcmp(json_string_value(json_object_get(cfg, "direction")),
                                    "higher") ? "minimize" : "maximize");
        s.status = strdup("pending");
        s.config = cfg;
        cfg = NULL;
        s.best_commit = head;
        head = NULL;
        s.state = json_pack("{s:s, s:b, s:[], s:i, s:f}", "base_commit", s.best_commit,
                            "stashed", stashed, "dead_ends", "tokens", 0, "cost_usd", 0.0);
        s.budget = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "iterations",
                             json_object_get(s.config, "iterations"), "max_seconds",
                             json_object_get(s.config, "max_seconds"), "token_budget",
                             json_object_get(s.config, "token_budget"), "usd_budget",
                             json_object_get(s.config, "usd_budget"), "spark_budget",
                             json_object_get(s.config, "spark_budget"), "spark_per_iteration",
                             json_object_get(s.config, "spark_per_iteration"));
        if (!s.name || !s.metric_name || !s.direction || !s.status || !s.state || !s.budget)
            rc = oom(err);
    }
    /* The row first: whatever happens next, resume finds the session. */
    if (!rc)
        rc = ad_store_research_session_insert(env->st, &s, err);
    /* Held through the baseline: a resume from elsewhere must not race it. */
    if (!rc)
        rc = ad__research_lock(cfg_str(&s, "workdir"), s.id, &lock_fd, err);
    if (!rc)
        rc = make_worktree(env, &s, err);
    if (!rc)
        rc = baseline(env, &s, err);
    if (!rc)
        *out = session_json(&s);
    if (!rc && !*out)
        rc = oom(err);
    ad__research_unlock(lock_fd);
    ad_research_session_release(&s);
    json_decref(cfg);
    free(top);
    free(head);
    return rc;
}

/* ---- edit --------------------------------------------------------------- */

static int read_file(const char *path, struct ad_buf *b, struct ad_err *err)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t k;
    int rc = 0;

    if (!f)
        return ad_error(err, AD_EIO, "cannot read '%s': %s", path, strerror(errno));
    while (!rc && (k = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = ad_buf_add(b, chunk, k);
    if (!rc && ferror(f))
        rc = ad_error(err, AD_EIO, "cannot read '%s'", path);
    else if (rc)
        rc = ad_error(err, rc, "'%s' is too big", path);
    fclose(f);
    return rc;
}

/* Writes data to path through a temporary file and a rename. */
static int write_file(const char *path, const char *data, struct ad_err *err)
{
    char *tmp = ad_strdupf("%s.autodev-tmp", path);
    struct stat sb;
    FILE *f = tmp ? fopen(tmp, "wb") : NULL;
    int rc = 0;

    if (!tmp)
        return oom(err);
    if (!f) {
        free(tmp);
        return ad_error(err, AD_EIO, "cannot write '%s': %s", path, strerror(errno));
    }
    if (fputs(data, f) == EOF)
        rc = ad_error(err, AD_EIO, "cannot write '%s'", path);
    if (fclose(f) != 0 && !rc)
        rc = ad_error(err, AD_EIO, "cannot write '%s'", path);
    if (!rc && stat(path, &sb) == 0)
        chmod(tmp, sb.st_mode & 07777);
    if (!rc && rename(tmp, path) != 0)
        rc = ad_error(err, AD_EIO, "cannot replace '%s': %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

static int is_dead_end(const struct ad_research_session *s, const char *hypothesis)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(s->state, "dead_ends"), i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), hypothesis))
            return 1;
    }
    return 0;
}

/*
 * The first mutant of code, drawn with seed, that is not a dead end,
 * written to path: 0 with *hypothesis set, AD_ENOTFOUND when there is
 * none, or an error.
 */
static int try_mutants(const struct ad_research_session *s, const char *rel, const char *path,
                       const struct ad_buf *code, uint64_t seed, char **hypothesis,
                       struct ad_err *err)
{
    struct ad_propose_opts o = { seed, 64, 0, rel };
    struct ad_err merr = AD_ERR_INIT;
    struct ad_mutant *m = NULL;
    size_t n = 0;
    int rc = AD_ENOTFOUND;

    if (ad_propose_mutants(code->ptr, code->len, &o, &m, &n, &merr) < 0)
        return AD_ENOTFOUND;
    for (size_t i = 0; rc == AD_ENOTFOUND && i < n; i++) {
        char *h = ad_strdupf("%s: %s", rel, m[i].description);

        if (!h) {
            rc = oom(err);
        } else if (is_dead_end(s, h)) {
            free(h);
        } else {
            rc = write_file(path, m[i].code, err);
            if (!rc)
                *hypothesis = h;
            else
                free(h);
        }
    }
    ad_mutants_free(m, n);
    return rc;
}

/*
 * The offline mutator over the EVOLVE blocks of the target files: the
 * first mutant, in a seeded order, that is not a known dead end. The files
 * are tried in turn from one that depends on seq; a seed draws one set of
 * perturbations, so a few more seeds are tried before giving up.
 */
static int offline_edit(const struct ad_research_session *s, int seq, char **hypothesis,
                        struct ad_err *err)
{
    const json_t *files = json_object_get(s->config, "files");
    size_t nfiles = json_array_size(files);
    int rc = AD_ENOTFOUND;

    *hypothesis = NULL;
    for (size_t k = 0; k < nfiles && rc == AD_ENOTFOUND; k++) {
        const char *rel = json_string_value(json_array_get(files, (k + (size_t)seq) % nfiles));
        char *path = ad_strdupf("%s/%s", s->worktree, rel);
        struct ad_buf code;

        if (!path)
            return oom(err);
        ad_buf_init(&code, FILE_MAX);
        rc = read_file(path, &code, err);
        if (!rc)
            rc = AD_ENOTFOUND;
        for (uint64_t attempt = 0; rc == AD_ENOTFOUND && attempt < 8; attempt++)
            rc = try_mutants(s, rel, path, &code,
                             (uint64_t)cfg_int(s, "seed") * 1000003u + (uint64_t)seq +
                                 7919u * attempt, hypothesis, err);
        ad_buf_release(&code);
        free(path);
    }
    if (rc == AD_ENOTFOUND)
        return ad_error(err, AD_ENOTFOUND, "the offline mutator has nothing left to try in the "
                        "target files (every mutant is a dead end, or no EVOLVE block)");
    return rc;
}

/* The diff of everything in the worktree against HEAD, new files included. */
static int worktree_diff(const struct ad_research_session *s, struct ad_buf *diff,
                         struct ad_err *err)
{
    int rc = ad__git(s->worktree, NULL, err, "add", "-A", (const char *)NULL);

    if (!rc)
        rc = ad__git(s->worktree, diff, err, "diff", "--cached", "--binary", "--no-color",
                     "--no-ext-diff", "HEAD", (const char *)NULL);
    return rc;
}

static int need_running(const struct ad_research_session *s, struct ad_err *err)
{
    if (strcmp(s->status, "running"))
        return ad_error(err, AD_ESTATE, "research session '%s' is %s, not running", s->id,
                        s->status);
    return 0;
}

/* Adds the iteration's tokens and cost to the session's totals (state "tokens", "cost_usd"). */
static int add_spend(struct ad_research_session *s, const json_t *detail, struct ad_err *err)
{
    json_int_t t = json_integer_value(json_object_get(s->state, "tokens")) +
                   json_integer_value(json_object_get(detail, "tokens"));
    double usd = json_number_value(json_object_get(s->state, "cost_usd")) +
                 json_number_value(json_object_get(detail, "cost_usd"));

    if (!json_object_get(detail, "calls"))
        return 0;
    if (json_object_set_new(s->state, "tokens", json_integer(t)) < 0 ||
        json_object_set_new(s->state, "cost_usd", json_real(usd)) < 0)
        return oom(err);
    return 0;
}

/*
 * The edit of iteration seq: the model's when one is configured, else the
 * offline mutator's. A model's edit that did not apply even after its
 * retry is written as a crashed iteration (its tokens counted).
 */
struct journal_ctx {
    const struct ad_research_env *env;
    struct ad_research_session *s;
};

static int journal_save(void *arg, struct ad_err *err)
{
    struct journal_ctx *c = arg;

    return save_session(c->env, c->s, err);
}

/*
 * The model's replies of iteration seq stored so far (state "replies"):
 * the list kept when it is seq's (a crash came after a paid reply), else
 * a new empty one.
 */
static json_t *journal_list(struct ad_research_session *s, int seq)
{
    json_t *j = json_object_get(s->state, "replies");

    if (json_integer_value(json_object_get(j, "seq")) == seq &&
        json_is_array(json_object_get(j, "list")))
        return json_object_get(j, "list");
    j = json_pack("{s:i, s:[]}", "seq", seq, "list");
    if (!j || json_object_set_new(s->state, "replies", j) < 0)
        return NULL;
    return json_object_get(j, "list");
}

static int make_edit(const struct ad_research_env *env, struct ad_research_session *s,
                     int seq, char **hypothesis, json_t *detail, struct ad_err *err)
{
    struct ad_research_iteration *hist = NULL;
    struct journal_ctx jc = { env, s };
    struct ad__research_journal journal = { NULL, journal_save, &jc };
    size_t nhist = 0;
    int rc;

    if (!ad__research_llm_usable(env->llm)) {
        if (json_object_set_new(detail, "proposer", json_string("offline")) < 0)
            return oom(err);
        return offline_edit(s, seq, hypothesis, err);
    }
    journal.list = journal_list(s, seq);
    if (!journal.list)
        return oom(err);
    if (json_array_size(journal.list) &&
        json_object_set_new(detail, "replayed", json_integer((json_int_t)json_array_size(
                                                    journal.list))) < 0)
        return oom(err);
    rc = ad_store_research_iteration_list(env->st, env->tenant_id, s->id, &hist, &nhist, err);
    if (!rc)
        rc = ad__research_llm_edit(env->llm, s, hist, nhist, &journal, hypothesis, detail, err);
    ad_research_iteration_list_free(hist, nhist);
    return rc;
}

static int step_edit(const struct ad_research_env *env, const char *session_id, json_t **out,
                     struct ad_err *err)
{
    struct ad_research_session s;
    struct ad_research_iteration last, it;
    struct ad_buf diff;
    size_t count = 0;
    char *hypothesis = NULL;
    json_t *detail = json_object();
    int rc, failed = 0;

    *out = NULL;
    memset(&it, 0, sizeof(it));
    memset(&last, 0, sizeof(last));
    ad_buf_init(&diff, 1u << 20);
    rc = session_load(env, session_id, &s, err);
    if (!rc && !detail)
        rc = oom(err);
    if (!rc)
        rc = need_running(&s, err);
    if (!rc)
        rc = last_iteration(env, s.id, &last, &count, err);
    if (!rc && count > 0 && strcmp(last.phase, "decided"))
        rc = ad_error(err, AD_ESTATE, "iteration %d of '%s' is %s: run or decide it first",
                      last.seq, s.id, last.phase);
    if (!rc)
        rc = restore_worktree(&s, err);
    if (!rc)
        rc = make_edit(env, &s, (int)count + 1, &hypothesis, detail, err);
    failed = !rc && json_object_get(detail, "failure") != NULL;
    if (!rc && failed)
        rc = restore_worktree(&s, err);
    if (!rc)
        rc = worktree_diff(&s, &diff, err);
    if (!rc)
        ad__research_crash_point("edit.applied");
    if (!rc) {
        memcpy(it.tenant_id, s.tenant_id, sizeof(it.tenant_id));
        memcpy(it.session_id, s.id, sizeof(it.session_id));
        it.seq = (int)count + 1;
        it.hypothesis = hypothesis;
        hypothesis = NULL;
        it.diff = ad_buf_detach(&diff, NULL);
        it.metric = NAN;
        it.decision = strdup(failed ? "crashed" : "pending");
        it.phase = strdup(failed ? "decided" : "edited");
        it.detail = detail;
        detail = NULL;
        if (!it.diff || !it.decision || !it.phase)
            rc = oom(err);
    }
    if (!rc)
        rc = add_spend(&s, it.detail, err);
    /* The replies are the iteration's now: its row and their journal's end go together. */
    if (!rc)
        json_object_del(s.state, "replies");
    /* The iteration and the session's spend together. */
    if (!rc)
        rc = ad_store_begin(env->st, err);
    if (!rc) {
        rc = ad_store_research_iteration_insert(env->st, &it, err);
        if (!rc)
            rc = save_session(env, &s, err);
        if (!rc)
            rc = ad_store_commit(env->st, err);
        else
            ad_store_rollback(env->st);
    }
    if (!rc && !(*out = iteration_json(&it)))
        rc = oom(err);
    json_decref(detail);
    free(hypothesis);
    ad_buf_release(&diff);
    ad_research_iteration_release(&it);
    ad_research_iteration_release(&last);
    ad_research_session_release(&s);
    return rc;
}

/* ---- run ---------------------------------------------------------------- */

/* Loads the session (running) and its last iteration, which must be in phase. */
static int load_pending(const struct ad_research_env *env, const char *session_id,
                        const char *phase, struct ad_research_session *s,
                        struct ad_research_iteration *it, struct ad_err *err)
{
    size_t count = 0;
    int rc = session_load(env, session_id, s, err);

    memset(it, 0, sizeof(*it));
    if (!rc)
        rc = need_running(s, err);
    if (!rc)
        rc = last_iteration(env, s->id, it, &count, err);
    if (!rc && (count == 0 || strcmp(it->phase, phase)))
        rc = ad_error(err, AD_ESTATE, "research session '%s' has no iteration %s", s->id,
                      !strcmp(phase, "edited") ? "waiting for its run (edit first)"
                                               : "waiting for its decision (run first)");
    return rc;
}

static int step_run(const struct ad_research_env *env, const char *session_id, json_t **out,
                    struct ad_err *err)
{
    struct ad_research_session s;
    struct ad_research_iteration it;
    double value = NAN;
    int rc;

    *out = NULL;
    memset(&s, 0, sizeof(s));
    rc = load_pending(env, session_id, "edited", &s, &it, err);
    if (!rc && !it.detail && !(it.detail = json_object()))
        rc = oom(err);
    if (!rc)
        rc = measure(&s, &value, it.detail, "run.partial", err);
    if (!rc)
        ad__research_crash_point("run.measured");
    if (!rc) {
        it.metric = value;
        rc = set_str(&it.phase, "ran", err);
    }
    if (!rc)
        rc = ad_store_research_iteration_update(env->st, &it, err);
    if (!rc && !(*out = iteration_json(&it)))
        rc = oom(err);
    ad_research_iteration_release(&it);
    ad_research_session_release(&s);
    return rc;
}

/* ---- decide ------------------------------------------------------------- */

/* The check command must exit 0 within the time budget; anything else fails closed. */
static int gate_check_cmd(const struct ad_research_session *s, json_t *gates,
                          struct ad_err *err)
{
    const char *check = cfg_str(s, "check");
    struct ad__proc_result res;
    struct ad_err cerr = AD_ERR_INIT;
    struct ad_buf out;
    char detail[400];
    int ok = 0;

    if (!check)
        return 0;
    ad_buf_init(&out, OUT_CAP + 1);
    if (run_shell(s, check, &out, &res, &cerr) < 0)
        snprintf(detail, sizeof(detail), "cannot run: %.300s", cerr.msg);
    else if (res.timed_out)
        snprintf(detail, sizeof(detail), "timed out");
    else if (!res.exited)
        snprintf(detail, sizeof(detail), "killed by signal %d", res.status);
    else if (res.status == 126 || res.status == 127)
        snprintf(detail, sizeof(detail), "cannot run (exit status %d)", res.status);
    else if (res.status != 0)
        snprintf(detail, sizeof(detail), "exit status %d", res.status);
    else
        ok = 1, detail[0] = '\0';
    ad_buf_release(&out);
    if (json_object_set_new(gates, "check", json_pack("{s:b, s:s}", "ok", ok, "detail", detail))
        < 0)
        return oom(err);
    return 0;
}

/* Runs every gate over the worktree's diff; a gate that cannot run fails. */
static int run_gates(const struct ad_research_session *s, const json_t *detail,
                     struct ad_buf *diff, json_t **gates, int *passed, struct ad_err *err)
{
    json_t *rules = json_pack("{s:O, s:O, s:s, s:s?, s:O?}", "allowed",
                              json_object_get(s->config, "files"), "protect",
                              json_object_get(s->config, "protect"), "metric", s->metric_name,
                              "pattern", cfg_str(s, "pattern"), "rules",
                              json_object_get(s->config, "rule_set"));
    struct ad_err derr = AD_ERR_INIT;
    int rc;

    *gates = NULL;
    if (!rules)
        return oom(err);
    /* The diff itself is a gate's input: when git cannot give it, every gate fails. */
    if (worktree_diff(s, diff, &derr) < 0) {
        *passed = 0;
        *gates = json_pack("{s:{s:b, s:s}}", "diff", "ok", 0, "detail", derr.msg);
        rc = *gates ? 0 : oom(err);
    } else {
        rc = ad_research_gates_check(diff->ptr ? diff->ptr : "", rules, gates, passed, err);
    }
    if (!rc)
        rc = gate_check_cmd(s, *gates, err);
    if (!rc)
        rc = ad__research_secondary_gates(json_object_get(s->config, "secondary"),
                                          json_object_get(json_object_get(s->state, "baseline"),
                                                          "secondary"),
                                          detail, *gates, passed, err);
    if (!rc && !json_is_true(json_object_get(json_object_get(*gates, "check"), "ok")) &&
        json_object_get(*gates, "check"))
        *passed = 0;
    json_decref(rules);
    return rc;
}

static int commit_keep(const struct ad_research_session *s, const struct ad_research_iteration *it,
                       char **sha, struct ad_err *err)
{
    char *msg = ad_strdupf("research: %s %.6g -> %.6g (%+.6g)\n\n%s\n\nautodev research session %s,"
                           " iteration %d", s->metric_name, s->best_metric, it->metric,
                           it->metric - s->best_metric, it->hypothesis ? it->hypothesis : "",
                           s->id, it->seq);
    int rc = msg ? 0 : oom(err);

    if (!rc)
        rc = ad__git(s->worktree, NULL, err, "-c", "user.name=autodev research", "-c",
                     "user.email=research@autodev.invalid", "commit", "-q", "--no-verify",
                     "--allow-empty-message", "-m", msg, (const char *)NULL);
    if (!rc)
        rc = ad__git_line(s->worktree, sha, err, "rev-parse", "HEAD", NULL);
    free(msg);
    return rc;
}

static int add_dead_end(struct ad_research_session *s, const char *hypothesis,
                        struct ad_err *err)
{
    json_t *d = json_object_get(s->state, "dead_ends");

    if (!hypothesis || !json_is_array(d))
        return 0;
    return json_array_append_new(d, json_string(hypothesis)) < 0 ? oom(err) : 0;
}

/* The decision's rows: the iteration, and the session (new best or dead end) in one transaction. */
static int save_decision(const struct ad_research_env *env, struct ad_research_session *s,
                         struct ad_research_iteration *it, struct ad_err *err)
{
    int rc = ad_store_begin(env->st, err);

    if (rc)
        return rc;
    rc = ad_store_research_iteration_update(env->st, it, err);
    if (!rc)
        rc = save_session(env, s, err);
    if (!rc)
        rc = emit(env, AD_TOPIC_RESEARCH_ITERATION,
                  json_pack("{s:s, s:i, s:s, s:o, s:s?, s:s?}", "session_id", s->id, "seq",
                            it->seq, "decision", it->decision, "metric",
                            num_or_null(it->metric), "hypothesis", it->hypothesis, "commit",
                            it->commit_sha), err);
    if (!rc)
        return ad_store_commit(env->st, err);
    ad_store_rollback(env->st);
    return rc;
}

static int step_decide(const struct ad_research_env *env, const char *session_id, json_t **out,
                       struct ad_err *err)
{
    struct ad_research_session s;
    struct ad_research_iteration it;
    struct ad_buf diff;
    json_t *gates = NULL;
    const char *decision;
    double gain = NAN, need = 0;
    int rc, passed = 0, better = 0;
    char *sha = NULL;

    *out = NULL;
    memset(&s, 0, sizeof(s));
    ad_buf_init(&diff, 1u << 20);
    rc = load_pending(env, session_id, "ran", &s, &it, err);
    if (!rc && !isnan(it.metric)) {
        gain = lower_is_better(&s) ? s.best_metric - it.metric : it.metric - s.best_metric;
        need = fmax(cfg_num(&s, "margin"), cfg_num(&s, "noise_k") * (isnan(s.noise) ? 0 : s.noise));
        better = gain > need;
        /*
         * The gates block keeps: an edit that is not better is reverted
         * whatever they say, so they (and a --check that may be slow) run
         * only for one that would be kept.
         */
        if (better)
            rc = run_gates(&s, it.detail, &diff, &gates, &passed, err);
    }
    if (rc)
        goto out;
    if (isnan(it.metric))
        decision = "crashed";
    else if (better && passed)
        decision = "kept";
    else if (better)
        decision = "rejected_by_gate";
    else
        decision = "reverted";
    if (!strcmp(decision, "kept")) {
        rc = commit_keep(&s, &it, &sha, err);
        if (!rc)
            ad__research_crash_point("decide.committed");
        if (!rc) {
            s.best_metric = it.metric;
            rc = set_str(&s.best_commit, sha, err);
        }
        if (!rc)
            rc = set_str(&it.commit_sha, sha, err);
    } else {
        rc = restore_worktree(&s, err);
        if (!rc)
            ad__research_crash_point("decide.reset");
        if (!rc)
            rc = add_dead_end(&s, it.hypothesis, err);
    }
    if (!rc) {
        json_decref(it.gate_results);
        it.gate_results = gates;
        gates = NULL;
        rc = set_str(&it.decision, decision, err);
    }
    if (!rc && it.detail)
        rc = json_object_set_new(it.detail, "gain", num_or_null(gain)) < 0 ||
             json_object_set_new(it.detail, "needed", json_real(need)) < 0 ? oom(err) : 0;
    if (!rc)
        rc = set_str(&it.phase, "decided", err);
    if (!rc)
        rc = save_decision(env, &s, &it, err);
    if (!rc && !(*out = iteration_json(&it)))
        rc = oom(err);
out:
    free(sha);
    json_decref(gates);
    ad_buf_release(&diff);
    ad_research_iteration_release(&it);
    ad_research_session_release(&s);
    return rc;
}

/* ---- resume, status and the loop ---------------------------------------- */

/* An iteration interrupted this often is not tried again: it crashed. */
#define RESUME_MAX 2

/* Applies the pending iteration's stored diff to the worktree (on the kept commit). */
static int reapply_edit(const struct ad_research_session *s,
                        const struct ad_research_iteration *it, struct ad_err *err)
{
    char *path;
    int rc;

    if (!it->diff || !*it->diff)
        return 0;
    path = ad_strdupf("%s/%s.pending.diff", cfg_str(s, "workdir"), s->id);
    if (!path)
        return oom(err);
    rc = write_file(path, it->diff, err);
    if (!rc)
        rc = ad__git(s->worktree, NULL, err, "apply", "--index", "--whitespace=nowarn", path,
                     (const char *)NULL);
    unlink(path);
    free(path);
    return rc;
}

/*
 * The iteration a crash cut short (phase edited or ran), the worktree on
 * the kept commit: its edit is applied again from its row and it goes on
 * from its phase (the run again, or the decision on the stored
 * measurement), so no iteration is lost nor counted twice. One that was
 * interrupted RESUME_MAX times already, or whose diff no longer applies,
 * is decided as crashed ("interrupted").
 */
static int resume_pending(const struct ad_research_env *env, struct ad_research_session *s,
                          struct ad_research_iteration *it, struct ad_err *err)
{
    struct ad_err aerr = AD_ERR_INIT;
    json_int_t resumed;
    char why[400];
    int rc = 0;

    if (!it->detail && !(it->detail = json_object()))
        return oom(err);
    resumed = json_integer_value(json_object_get(it->detail, "resumed"));
    if (resumed < RESUME_MAX && reapply_edit(s, it, &aerr) == 0) {
        if (json_object_set_new(it->detail, "resumed", json_integer(resumed + 1)) < 0)
            return oom(err);
        return ad_store_research_iteration_update(env->st, it, err);
    }
    if (resumed >= RESUME_MAX)
        snprintf(why, sizeof(why), "interrupted: the session was resumed %d times during this "
                 "iteration", RESUME_MAX);
    else
        snprintf(why, sizeof(why), "interrupted: the session was resumed and the edit no "
                 "longer applies: %.300s", aerr.msg);
    rc = restore_worktree(s, err);
    if (!rc)
        rc = set_str(&it->decision, "crashed", err);
    if (!rc)
        rc = set_str(&it->phase, "decided", err);
    if (!rc)
        rc = json_object_set_new(it->detail, "failure", json_string(why)) < 0 ? oom(err) : 0;
    if (!rc)
        rc = add_dead_end(s, it->hypothesis, err);
    if (!rc)
        rc = save_decision(env, s, it, err);
    return rc;
}

static int step_resume(const struct ad_research_env *env, const char *session_id,
                       json_t **out, struct ad_err *err)
{
    struct ad_research_session s;
    struct ad_research_iteration last;
    struct stat sb;
    size_t count = 0;
    int rc;

    *out = NULL;
    memset(&last, 0, sizeof(last));
    rc = session_load(env, session_id, &s, err);
    if (!rc && (!strcmp(s.status, "completed") || !strcmp(s.status, "failed")))
        rc = ad_error(err, AD_ESTATE, "research session '%s' is %s: nothing to resume", s.id,
                      s.status);
    /* A setup cut short: the worktree, then the baseline. */
    if (!rc && (!s.worktree || stat(s.worktree, &sb) != 0))
        rc = make_worktree(env, &s, err);
    if (!rc && isnan(s.baseline_metric)) {
        rc = restore_worktree(&s, err);
        if (!rc)
            rc = baseline(env, &s, err);
    } else if (!rc) {
        rc = restore_worktree(&s, err);
        if (!rc)
            rc = last_iteration(env, s.id, &last, &count, err);
        if (!rc && count > 0 && strcmp(last.phase, "decided"))
            rc = resume_pending(env, &s, &last, err);
        if (!rc && strcmp(s.status, "running")) {
            rc = set_str(&s.status, "running", err);
            if (!rc)
                rc = save_session(env, &s, err);
        }
    }
    if (!rc && !(*out = session_json(&s)))
        rc = oom(err);
    ad_research_iteration_release(&last);
    ad_research_session_release(&s);
    return rc;
}

static int iterations_json(const struct ad_research_env *env, const char *id, json_t *obj,
                           struct ad_err *err)
{
    struct ad_research_iteration *v = NULL;
    json_t *arr = json_array();
    size_t n = 0;
    int rc = arr ? 0 : oom(err);

    if (!rc)
        rc = ad_store_research_iteration_list(env->st, env->tenant_id, id, &v, &n, err);
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *j = iteration_json(&v[i]);

        json_object_del(j, "diff");
        rc = j && json_array_append_new(arr, j) == 0 ? 0 : oom(err);
    }
    if (!rc)
        rc = json_object_set(obj, "iterations", arr) < 0 ? oom(err) : 0;
    json_decref(arr);
    ad_research_iteration_list_free(v, n);
    return rc;
}

int ad_research_status(const struct ad_research_env *env, const char *session_id, json_t **out,
                       struct ad_err *err)
{
    struct ad_research_session s, *v = NULL;
    json_t *j = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    if (!session_id) {
        rc = ad_store_research_session_list(env->st, env->tenant_id, 0, &v, &n, err);
        j = rc ? NULL : json_array();
        if (!rc && !j)
            rc = oom(err);
        for (size_t i = 0; !rc && i < n; i++)
            rc = json_array_append_new(j, session_json(&v[i])) < 0 ? oom(err) : 0;
        ad_research_session_list_free(v, n);
    } else {
        rc = session_load(env, session_id, &s, err);
        if (!rc && !(j = session_json(&s)))
            rc = oom(err);
        if (!rc)
            rc = iterations_json(env, s.id, j, err);
        if (!rc)
            ad_research_session_release(&s);
    }
    if (rc) {
        json_decref(j);
        return rc;
    }
    *out = j;
    return 0;
}

/*
 * Whether a budget is spent: iterations done, the session's wall time,
 * its tokens or dollars, or the spark (spark_per_iteration units per
 * iteration out of spark_budget, as the reference counts it: the next
 * iteration must fit).
 */
static int budget_spent(const struct ad_research_session *s, size_t done, const char **why)
{
    json_int_t max_s = cfg_int(s, "max_seconds");
    json_int_t started = json_integer_value(json_object_get(s->state, "started_ms"));
    json_int_t tokens = cfg_int(s, "token_budget"), spark = cfg_int(s, "spark_budget");
    json_int_t per = cfg_int(s, "spark_per_iteration");
    double usd = cfg_num(s, "usd_budget");

    if ((json_int_t)done >= cfg_int(s, "iterations")) {
        *why = "iterations";
        return 1;
    }
    if (max_s > 0 && started > 0 && ad_now_ms() - started >= max_s * 1000) {
        *why = "max_seconds";
        return 1;
    }
    if (tokens > 0 && json_integer_value(json_object_get(s->state, "tokens")) >= tokens) {
        *why = "token_budget";
        return 1;
    }
    if (usd > 0 && json_number_value(json_object_get(s->state, "cost_usd")) >= usd) {
        *why = "usd_budget";
        return 1;
    }
    if (spark > 0 && (json_int_t)done * per + per > spark) {
        *why = "spark_budget";
        return 1;
    }
    return 0;
}

/* One step of the loop: whatever the last iteration needs next, or a new edit. */
static int loop_step(const struct ad_research_env *env, const char *id,
                     const struct ad_research_iteration *last, size_t count, json_t **res,
                     struct ad_err *err)
{
    *res = NULL;
    if (count > 0 && !strcmp(last->phase, "edited"))
        return step_run(env, id, res, err);
    if (count > 0 && !strcmp(last->phase, "ran"))
        return step_decide(env, id, res, err);
    return step_edit(env, id, res, err);
}

static int step_loop(const struct ad_research_env *env, const char *session_id,
                     ad_research_progress_fn *progress, void *arg, json_t **out,
                     struct ad_err *err)
{
    const char *why = NULL;
    int rc = 0;

    *out = NULL;
    for (;;) {
        struct ad_research_session s;
        struct ad_research_iteration last;
        size_t count = 0;
        json_t *res = NULL;
        int was_decided;

        rc = session_load(env, session_id, &s, err);
        if (!rc)
            rc = need_running(&s, err);
        if (!rc)
            rc = last_iteration(env, s.id, &last, &count, err);
        if (rc) {
            ad_research_session_release(&s);
            break;
        }
        /* Budgets between iterations only: a started iteration is finished. */
        if ((count == 0 || !strcmp(last.phase, "decided")) && budget_spent(&s, count, &why)) {
            ad_research_iteration_release(&last);
            ad_research_session_release(&s);
            break;
        }
        was_decided = count == 0 || !strcmp(last.phase, "decided");
        rc = loop_step(env, s.id, &last, count, &res, err);
        if (!rc && progress && !strcmp(json_string_value(json_object_get(res, "phase")),
                                       "decided"))
            progress(arg, res);
        json_decref(res);
        ad_research_iteration_release(&last);
        ad_research_session_release(&s);
        /* The mutator has nothing left to try: the session is done. */
        if (rc == AD_ENOTFOUND && was_decided) {
            why = "exhausted";
            rc = 0;
            break;
        }
        if (rc)
            break;
    }
    if (rc)
        return rc;
    return ad__research_finalize(env, session_id, why, out, err);
}

/* Writes one file of the report into dir; *paths gets its path under name. */
static int write_report_file(const char *dir, const char *name, const char *text, json_t *paths,
                             struct ad_err *err)
{
    char *path = ad_strdupf("%s/%s", dir, name);
    int rc = path ? write_file(path, text, err) : oom(err);

    if (!rc && json_object_set_new(paths, name, json_string(path)) < 0)
        rc = oom(err);
    free(path);
    return rc;
}

int ad__research_finalize(const struct ad_research_env *env, const char *session_id,
                          const char *why, json_t **out, struct ad_err *err)
{
    struct ad_research_session s;
    struct ad_research_iteration *v = NULL;
    json_t *report = NULL, *paths = json_object();
    char *md = NULL, *tsv = NULL, *dir = NULL;
    size_t n = 0;
    int rc, was_completed = 0;

    *out = NULL;
    rc = paths ? session_load(env, session_id, &s, err) : oom(err);
    if (rc) {
        json_decref(paths);
        return rc;
    }
    if (isnan(s.baseline_metric))
        rc = ad_error(err, AD_ESTATE, "research session '%s' has no baseline: resume it first",
                      s.id);
    if (!rc)
        rc = ad_store_research_iteration_list(env->st, env->tenant_id, s.id, &v, &n, err);
    if (!rc && why)
        rc = json_object_set_new(s.state, "stopped_by", json_string(why)) < 0 ? oom(err) : 0;
    /* The report describes the session as its row will be once it is written. */
    was_completed = !rc && !strcmp(s.status, "completed");
    if (!rc && !was_completed)
        rc = set_str(&s.status, "completed", err);
    if (!rc)
        rc = ad__research_report(&s, v, n, &report, &md, &tsv, err);
    if (!rc && !(dir = ad_strdupf("%s/%s.report", cfg_str(&s, "workdir"), s.id)))
        rc = oom(err);
    if (!rc && mkdir(dir, 0700) != 0 && errno != EEXIST)
        rc = ad_error(err, AD_EIO, "cannot make '%s': %s", dir, strerror(errno));
    if (!rc) {
        char *text = ad_json_dumps_flags(report, JSON_INDENT(2) | JSON_SORT_KEYS);

        rc = text ? write_report_file(dir, "report.json", text, paths, err) : oom(err);
        free(text);
    }
    if (!rc)
        rc = write_report_file(dir, "report.md", md, paths, err);
    if (!rc)
        rc = write_report_file(dir, "results.tsv", tsv, paths, err);
    if (!rc)
        ad__research_crash_point("finalize.written");
    if (!rc && !was_completed) {
        rc = save_session(env, &s, err);
        if (!rc)
            rc = emit(env, AD_TOPIC_RESEARCH_FINISHED,
                      json_pack("{s:s, s:o, s:o, s:i, s:s?}", "session_id", s.id, "baseline",
                                num_or_null(s.baseline_metric), "best",
                                num_or_null(s.best_metric), "iterations", (int)n, "best_commit",
                                s.best_commit), err);
    }
    if (!rc && !(*out = json_pack("{s:O, s:O}", "files", paths, "report", report)))
        rc = oom(err);
    json_decref(paths);
    json_decref(report);
    free(md);
    free(tsv);
    free(dir);
    ad_research_iteration_list_free(v, n);
    ad_research_session_release(&s);
    return rc;
}

static int step_finalize(const struct ad_research_env *env, const char *session_id,
                         json_t **out, struct ad_err *err)
{
    return ad__research_finalize(env, session_id, NULL, out, err);
}

/* ---- one driver per session --------------------------------------------- */

/* Takes the session's lock (lock.c) into *fd; the session must exist. */
static int lock_session(const struct ad_research_env *env, const char *session_id, int *fd,
                        struct ad_err *err)
{
    struct ad_research_session s;
    int rc = session_load(env, session_id, &s, err);

    *fd = -1;
    if (rc)
        return rc;
    rc = ad__research_lock(cfg_str(&s, "workdir"), s.id, fd, err);
    ad_research_session_release(&s);
    return rc;
}

typedef int step_fn(const struct ad_research_env *env, const char *session_id, json_t **out,
                    struct ad_err *err);

static int locked_step(step_fn *fn, const struct ad_research_env *env, const char *session_id,
                       json_t **out, struct ad_err *err)
{
    int fd, rc;

    *out = NULL;
    rc = lock_session(env, session_id, &fd, err);
    if (!rc)
        rc = fn(env, session_id, out, err);
    ad__research_unlock(fd);
    return rc;
}

int ad_research_edit(const struct ad_research_env *env, const char *session_id, json_t **out,
                     struct ad_err *err)
{
    return locked_step(step_edit, env, session_id, out, err);
}

int ad_research_run(const struct ad_research_env *env, const char *session_id, json_t **out,
                    struct ad_err *err)
{
    return locked_step(step_run, env, session_id, out, err);
}

int ad_research_decide(const struct ad_research_env *env, const char *session_id, json_t **out,
                       struct ad_err *err)
{
    return locked_step(step_decide, env, session_id, out, err);
}

int ad_research_finalize(const struct ad_research_env *env, const char *session_id,
                         json_t **out, struct ad_err *err)
{
    return locked_step(step_finalize, env, session_id, out, err);
}

int ad_research_resume(const struct ad_research_env *env, const char *session_id,
                       json_t **out, struct ad_err *err)
{
    return locked_step(step_resume, env, session_id, out, err);
}

int ad_research_loop(const struct ad_research_env *env, const char *session_id,
                     ad_research_progress_fn *progress, void *arg, json_t **out,
                     struct ad_err *err)
{
    int fd, rc;

    *out = NULL;
    rc = lock_session(env, session_id, &fd, err);
    if (!rc)
        rc = step_loop(env, session_id, progress, arg, out, err);
    ad__research_unlock(fd);
    return rc;
}
