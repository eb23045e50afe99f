/*
 * autodev edit apply: apply the edits of a model's reply to a directory.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/edit.h"

#include "cli.h"

static json_t *report_json(const struct ad_edit_report *rep, int rc, int dry)
{
    json_t *blocks = json_array();
    size_t i;

    for (i = 0; i < rep->n; i++) {
        const struct ad_edit_outcome *o = &rep->v[i];

        json_array_append_new(blocks, json_pack("{s:s, s:b, s:s, s:i, s:i, s:s, s:s}", "path",
                                                o->path ? o->path : "", "applied", o->code == 0,
                                                "match", ad_edit_match_name(o->how),
                                                "lines_removed", o->lines_removed, "lines_added",
                                                o->lines_added, "error", o->message ? o->message : "",
                                                "feedback", o->feedback ? o->feedback : ""));
    }
    return json_pack("{s:b, s:b, s:I, s:o}", "ok", rc == 0, "dry_run", dry, "files_changed",
                     (json_int_t)rep->files_changed, "blocks", blocks);
}

static void report_text(struct ad_ctx *ctx, const struct ad_edit_report *rep, int rc, int dry)
{
    size_t i;

    for (i = 0; i < rep->n; i++) {
        const struct ad_edit_outcome *o = &rep->v[i];

        if (o->code == 0)
            fprintf(ctx->out, "%s: block %zu applied (%s match, -%d +%d lines)\n",
                    o->path ? o->path : "?", i + 1, ad_edit_match_name(o->how),
                    o->lines_removed, o->lines_added);
        else
            fprintf(ctx->out, "%s: block %zu failed: %s\n%s%s", o->path ? o->path : "?", i + 1,
                    o->message ? o->message : "", o->feedback ? o->feedback : "",
                    o->feedback && *o->feedback &&
                    o->feedback[strlen(o->feedback) - 1] != '\n' ? "\n" : "");
    }
    if (rc)
        fprintf(ctx->out, "nothing written: every block must apply\n");
    else if (dry)
        fprintf(ctx->out, "dry run: %zu block(s) would apply, nothing written\n", rep->n);
    else
        fprintf(ctx->out, "%zu file(s) changed\n", rep->files_changed);
}

static int edit_apply(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "file", required_argument, NULL, 'f' },
        { "reply", required_argument, NULL, 'R' },
        { "dry-run", no_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 },
    };
    const char *repo = NULL, *file = NULL, *reply = "-";
    struct ad_buf text = AD_BUF_INIT;
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_edit_report rep = { 0 };
    struct ad_err err = AD_ERR_INIT;
    int ch, rc, dry = 0;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (ch) {
        case 'r': repo = optarg; break;
        case 'f': file = optarg; break;
        case 'R': reply = optarg; break;
        case 'n': dry = 1; break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "edit apply reads the reply from standard input or --reply");
    if (!repo)
        return ad__usage_error(ctx, "edit apply needs --repo DIR");
    ad_buf_init(&text, (size_t)16 << 20);
    rc = ad__read_path(ctx, reply, &text);
    if (rc) {
        ad_buf_release(&text);
        return rc;
    }
    rc = ad_edit_parse(text.ptr, text.len, &set, &err);
    ad_buf_release(&text);
    if (rc)
        return ad__die_err(ctx, &err);
    rc = ad_edit_apply_dir(repo, &set, file, dry ? AD_EDIT_DRY_RUN : 0, &rep, &err);
    if (ctx->json)
        ad__print_json(ctx, report_json(&rep, rc, dry));
    else
        report_text(ctx, &rep, rc, dry);
    ad_edit_report_release(&rep);
    ad_edit_set_release(&set);
    if (rc)
        return ad__die_err(ctx, &err);
    return AD_EXIT_OK;
}

int cmd_edit(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "apply", edit_apply },
        { NULL, NULL },
    };

    return ad__run_sub("edit", subs, argc, argv, ctx);
}
