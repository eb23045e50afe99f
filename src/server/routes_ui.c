/*
 * The review web UI: GET / answers index.html and GET /ui/{asset} the
 * page's CSS and JavaScript, all compiled into the binary (tools/embed.c).
 * They are public (no token): they hold no data. What makes them safe to
 * serve is in the headers: a Content-Security-Policy that allows scripts,
 * styles and connections to this origin only, no inline script or style
 * and no framing; nosniff, so a file is only ever what its type says; an
 * ETag per asset, answered 304 when the browser has it already, and
 * "no-cache" so a new binary's assets are fetched at once.
 */
#include "compat.h"

#include "mhd_api.h"
#include "server_int.h"
#include "routes_ui.h"

/* 'self' only; no inline script or style (the page has none), no framing. */
#define UI_CSP                                                                                 \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "               \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const struct ad__ui_asset *ad__ui_asset_find(const char *name)
{
    for (const struct ad__ui_asset *a = ad__ui_assets; a->name; a++) {
        if (!strcmp(a->name, name))
            return a;
    }
    return NULL;
}

const char *ad__ui_content_type(const char *name)
{
    static const struct { const char *ext, *type; } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".svg", "image/svg+xml" },
    };
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < AD_ARRAY_SIZE(types); i++) {
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    }
    return "application/octet-stream";
}

/* Queues the asset (or 304 when If-None-Match holds its tag) with the UI's headers. */
static int send_asset(struct ad__req *r, struct ad__res *res, const struct ad__ui_asset *a)
{
    const char *inm = ad__header(r, "If-None-Match");
    int status = inm && strstr(inm, a->etag) ? 304 : 200;
    struct MHD_Response *resp;

    /* The bytes are static: libmicrohttpd sends them without a copy. */
    resp = MHD_create_response_from_buffer(status == 304 ? 0 : (size_t)a->len,
                                           (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return ad__res_fail(res, 500, "out of memory");
    MHD_add_response_header(resp, "Content-Type", ad__ui_content_type(a->name));
    MHD_add_response_header(resp, "ETag", a->etag);
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "Content-Security-Policy", UI_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (MHD_queue_response(r->conn, (unsigned)status, resp) != MHD_YES) {
        MHD_destroy_response(resp);
        return ad__res_fail(res, 500, "the answer could not be queued");
    }
    MHD_destroy_response(resp);
    res->queued = 1;
    r->answered = 1;
    r->status = status;
    return 0;
}

int ad__h_ui_index(struct ad__req *r, struct ad__res *res)
{
    const struct ad__ui_asset *a = ad__ui_asset_find("index.html");

    if (!a)
        return ad__res_fail(res, 404, "this build has no web UI");
    return send_asset(r, res, a);
}

int ad__h_ui_asset(struct ad__req *r, struct ad__res *res)
{
    const struct ad__ui_asset *a = ad__ui_asset_find(r->param[0]);

    if (!a)
        return ad__res_fail(res, 404, "no UI asset '%s'", r->param[0]);
    return send_asset(r, res, a);
}
