/*
 * autodev synth: a Python function from input/output examples, with no
 * model and no store.
 *
 * The examples are JSON Lines, one {"input": ..., "output": ...} a line.
 * Every error in them names the line, so a long file is fixed in one look.
 * The module goes to standard output alone, so "autodev synth ... > f.py"
 * writes a file that runs; what happened goes to standard error.
 *
 * Nothing here opens the store: synthesis needs no home and no database.
 * Before the module is printed, ad_synth() runs it with the real Python on
 * every example (--python, default AD_SYNTH_PYTHON; --no-check skips it):
 * a program whose Python disagrees with the C evaluation that chose it is
 * dropped and the next one tried, so what is printed reproduces the
 * examples it was made from.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/clock.h"
#include "autodev/json.h"
#include "autodev/synth.h"

#include "cli.h"

/* The examples file is read whole, but never more than this. */
#define SYNTH_FILE_MAX ((size_t)16 << 20)

/* The file's name in messages: standard input has none of its own. */
static const char *file_label(const char *path)
{
    return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

/*
 * Reads path ("-": standard input) into b, capped at SYNTH_FILE_MAX.
 * A file that cannot be read (missing, a directory, too big) is bad input
 * to this command, so every failure here but memory exits 2. Returns an exit code.
 */
static int read_examples_file(struct ad_ctx *ctx, const char *path, struct ad_buf *b)
{
    struct ad_err err = AD_ERR_INIT;
    FILE *f;
    int rc = ad__open_input(ctx, path, &f);

    if (rc != 0)
        return rc;
    ad_buf_init(b, SYNTH_FILE_MAX);
    rc = ad__read_all(f, b, &err);
    if (f != stdin)
        fclose(f);
    if (rc == AD_ENOMEM)
        return ad__die_code(ctx, rc, "out of memory");
    if (rc == AD_ETOOBIG)
        return ad__die_code(ctx, rc, "%s: larger than %zu MiB, the most an examples file may be",
                            file_label(path), SYNTH_FILE_MAX >> 20);
    if (rc < 0)
        return ad__usage_error(ctx, "%s: %s", file_label(path), err.msg);
    return 0;
}

/* Spaces, tabs and a CR of a CRLF end only; a NUL byte is content, and an error. */
static int is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    }
    return 1;
}

/* Checks one parsed line: an object with exactly "input" and "output". */
static int check_example(struct ad_ctx *ctx, const char *label, int lineno, const json_t *v)
{
    static const char *const keys[] = { "input", "output", NULL };
    struct ad_err err = AD_ERR_INIT;

    if (!json_is_object(v))
        return ad__usage_error(ctx, "%s:%d: expected an object {\"input\": ..., \"output\": ...}",
                               label, lineno);
    for (size_t i = 0; keys[i]; i++) {
        if (!json_object_get(v, keys[i]))
            return ad__usage_error(ctx, "%s:%d: missing field '%s'", label, lineno, keys[i]);
    }
    /* A stray key is most often a typo of one of the two: refuse it, never ignore it. */
    if (ad_json_check_keys(v, keys, &err) < 0)
        return ad__usage_error(ctx, "%s:%d: %s (an example has only \"input\" and \"output\")",
                               label, lineno, err.msg);
    return 0;
}

/*
 * Parses the n bytes of line lineno and appends the example to arr.
 * Returns an exit code, having printed the error.
 */
static int add_example(struct ad_ctx *ctx, const char *label, int lineno, const char *p,
                       size_t n, json_t *arr)
{
    json_error_t jerr;
    json_t *v;
    int rc;

    /* As ad_json_parse() does, but its "line 1, column C" would mislead here. */
    v = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v)
        return ad__usage_error(ctx, "%s:%d: not JSON: %s", label, lineno, jerr.text);
    rc = check_example(ctx, label, lineno, v);
    if (rc) {
        json_decref(v);
        return rc;
    }
    if (json_array_size(arr) == AD_SYNTH_MAX_EXAMPLES) {
        json_decref(v);
        return ad__die_code(ctx, AD_ETOOBIG, "%s:%d: more than %d examples", label, lineno,
                            AD_SYNTH_MAX_EXAMPLES);
    }
    if (json_array_append_new(arr, v) < 0)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    return 0;
}

/*
 * The examples of path as a JSON array in *out (new reference). Blank lines
 * are skipped but counted, so line numbers match an editor's.
 * Returns an exit code, having printed the error.
 */
static int read_examples(struct ad_ctx *ctx, const char *path, json_t **out)
{
    const char *label = file_label(path);
    struct ad_buf b = AD_BUF_INIT;
    json_t *arr = NULL;
    int lineno = 0;
    int rc;

    *out = NULL;
    rc = read_examples_file(ctx, path, &b);
    if (rc)
        goto out;
    arr = json_array();
    if (!arr) {
        rc = ad__die_code(ctx, AD_ENOMEM, "out of memory");
        goto out;
    }
    for (const char *p = b.ptr, *end = b.ptr + b.len; p < end && !rc; ) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

        lineno++;
        if (!is_blank(p, n))
            rc = add_example(ctx, label, lineno, p, n, arr);
        p += n + (nl ? 1 : 0);
    }
    if (!rc && json_array_size(arr) == 0)
        rc = ad__usage_error(ctx, "%s: no examples (want one {\"input\": ..., \"output\": ...} "
                             "a line)", label);
    if (!rc) {
        *out = arr;
        arr = NULL;
    }
out:
    json_decref(arr);
    ad_buf_release(&b);
    return rc;
}

/*
 * The probes file: one input a line, as JSON (blank lines skipped). *out is
 * the array (new reference). Returns an exit code, having printed the error.
 */
static int read_probes(struct ad_ctx *ctx, const char *path, json_t **out)
{
    const char *label = file_label(path);
    struct ad_buf b = AD_BUF_INIT;
    json_t *arr = json_array();
    int lineno = 0, rc;

    *out = NULL;
    if (!arr)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    rc = read_examples_file(ctx, path, &b);
    for (const char *p = b.ptr, *end = b.ptr + b.len; !rc && p < end; ) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_error_t jerr;
        json_t *v;

        lineno++;
        if (!is_blank(p, n)) {
            v = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
            if (!v)
                rc = ad__usage_error(ctx, "%s:%d: not JSON: %s (a probe is one input a line)",
                                     label, lineno, jerr.text);
            else if (json_array_append_new(arr, v) < 0)
                rc = ad__die_code(ctx, AD_ENOMEM, "out of memory");
        }
        p += n + (nl ? 1 : 0);
    }
    ad_buf_release(&b);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/* Says, in two lines, that other programs fit as well and where they part. */
static void note_ambiguity(struct ad_ctx *ctx, const json_t *a)
{
    const json_t *alts = json_object_get(a, "alternatives");
    char *in = ad_json_dumps(json_object_get(a, "input"));
    char *mine = ad_json_dumps(json_object_get(a, "answer"));
    char *theirs = ad_json_dumps(json_array_get(json_object_get(a, "answers"), 0));

    ad__note(ctx, "ambiguous: %zu other program%s fit%s the examples as well, e.g. %s",
             json_array_size(alts), json_array_size(alts) == 1 ? "" : "s",
             json_array_size(alts) == 1 ? "s" : "",
             json_string_value(json_array_get(alts, 0)));
    ad__note(ctx, "  on input %.200s it answers %.200s where %s answers %.200s; add an example "
             "for an input like it", in ? in : "?", theirs ? theirs : "?",
             json_string_value(json_object_get(a, "program")), mine ? mine : "?");
    free(in);
    free(mine);
    free(theirs);
}

static int print_found(struct ad_ctx *ctx, const struct ad_synth_result *res, double ms,
                       int quiet)
{
    size_t len = strlen(res->code);

    if (ctx->json)
        return ad__print_json(
            ctx, json_pack("{s:b, s:s, s:s, s:s, s:i, s:I, s:I, s:i, s:f, s:O?}", "found", 1,
                           "entry", res->entry, "code", res->code, "summary", res->summary,
                           "examples", res->examples, "considered",
                           (json_int_t)res->considered, "scanned", (json_int_t)res->scanned,
                           "checks", res->checks, "ms", ms, "ambiguity", res->ambiguity));
    /* The module alone on stdout, ending in a newline like any source file. */
    fputs(res->code, ctx->out);
    if (len == 0 || res->code[len - 1] != '\n')
        fputc('\n', ctx->out);
    if (!quiet) {
        ad__note(ctx, "synthesized %s from %d example%s in %.1f ms: %s", res->entry,
                 res->examples, res->examples == 1 ? "" : "s", ms, res->summary);
    }
    if (res->ambiguity)
        note_ambiguity(ctx, res->ambiguity);
    return AD_EXIT_OK;
}

/*
 * No program fits, or none within the budget: not a usage error (the
 * examples are well-formed), so exit 1.
 */
static int print_not_found(struct ad_ctx *ctx, int code, const struct ad_synth_result *res,
                           const struct ad_err *err, double ms)
{
    const char *why = res->why && res->why[0] ? res->why
                      : err->msg[0]           ? err->msg
                                              : "no program of the language fits the examples";

    if (ctx->json) {
        int rc = ad__print_json(
            ctx, json_pack("{s:b, s:s, s:b, s:i, s:I, s:I, s:i, s:f, s:O?}", "found", 0, "why",
                           why, "budget_reached", code == AD_ELIMIT, "examples", res->examples,
                           "considered", (json_int_t)res->considered, "scanned",
                           (json_int_t)res->scanned, "checks", res->checks, "ms", ms,
                           "ambiguity", res->ambiguity));

        return rc ? rc : AD_EXIT_RUNTIME;
    }
    /* ad__die_code() would exit 2 for AD_ENOTFOUND; the examples are fine, the language
     * is too small for them: 1, as the command's help says. */
    if (code == AD_ELIMIT)
        (void)ad__die_code(ctx, code, "%s", why);   /* "budget reached: ..." */
    else
        (void)ad__die_code(ctx, code, "no program fits: %s", why);
    return AD_EXIT_RUNTIME;
}

int cmd_synth(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "examples", required_argument, NULL, 'e' },
        { "name", required_argument, NULL, 'n' },
        { "description", required_argument, NULL, 'd' },
        { "quiet", no_argument, NULL, 'q' },
        { "python", required_argument, NULL, 'p' },
        { "no-check", no_argument, NULL, 'N' },
        { "probes", required_argument, NULL, 'P' },
        { "refuse-ties", no_argument, NULL, 'T' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_synth_opts o = { 0 };
    struct ad_synth_result res = { 0 };
    struct ad_err err = AD_ERR_INIT;
    const char *path = NULL, *python = AD_SYNTH_PYTHON, *probes_path = NULL;
    json_t *examples = NULL, *probes = NULL;
    int64_t t0;
    double ms;
    int ch, quiet = 0, check = 1, rc;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (ch) {
        case 'e':
            path = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 'd':
            o.description = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'p':
            python = optarg;
            break;
        case 'N':
            check = 0;
            break;
        case 'P':
            probes_path = optarg;
            break;
        case 'T':
            o.refuse_ties = true;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind != argc)
        return ad__usage_error(ctx, "synth takes no arguments, got '%s'", argv[optind]);
    if (!path)
        return ad__usage_error(ctx, "synth needs --examples FILE (JSON lines, '-' for "
                               "standard input)");
    if (check && !python[strspn(python, " \t")])
        return ad__usage_error(ctx, "--python needs a command (--no-check skips the check)");
    if (probes_path && !strcmp(probes_path, "-") && !strcmp(path, "-"))
        return ad__usage_error(ctx, "--examples and --probes cannot both read standard input");
    rc = read_examples(ctx, path, &examples);
    if (rc)
        return rc;
    if (probes_path && (rc = read_probes(ctx, probes_path, &probes)) != 0) {
        json_decref(examples);
        return rc;
    }
    o.probes = probes;
    /* The printed module is run by the real Python on every example before it is printed. */
    o.python = check ? python : NULL;
    t0 = ad_mono_ns();
    rc = ad_synth(examples, &o, &res, &err);
    ms = (double)(ad_mono_ns() - t0) / 1e6;
    json_decref(examples);
    if (rc == 0)
        rc = print_found(ctx, &res, ms, quiet);
    else if (rc == AD_ENOTFOUND || rc == AD_ELIMIT)
        rc = print_not_found(ctx, rc, &res, &err, ms);
    else if (err.code)
        rc = ad__die_err(ctx, &err);
    else
        rc = ad__die_code(ctx, rc, "%s", ad_strerror(rc));
    ad_synth_result_release(&res);
    json_decref(probes);
    return rc;
}
