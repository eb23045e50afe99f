/*
 * The review web UI's assets and routes, private to the server module.
 *
 * The assets (src/server/ui/) are compiled in by tools/embed.c at build
 * time: ad__ui_assets is generated (ui_assets.c in the build directory).
 * The UI's routes (routes_ui.c) are public, as its files hold no data:
 * every call the page makes to /v1 carries the reviewer's bearer token.
 * The read-only research routes (routes_research.c) serve its Research page.
 */
#ifndef AD_SERVER_ROUTES_UI_H
#define AD_SERVER_ROUTES_UI_H

#include <stddef.h>

struct ad__ui_asset {
    const char *name;                /* the file's base name: "app.js" */
    const unsigned char *data;       /* its bytes (static) */
    long len;
    const char *etag;                /* "\"<fnv-1a 64 hex>\"" of the bytes */
};

/* Every asset; ends with a row whose name is NULL. */
extern const struct ad__ui_asset ad__ui_assets[];

/* The asset of that name, or NULL. */
const struct ad__ui_asset *ad__ui_asset_find(const char *name);
/* Its Content-Type by its extension ("application/octet-stream" when unknown). */
const char *ad__ui_content_type(const char *name);

#ifdef AD_SERVER_INT_H
/* GET / (index.html) and GET /ui/{asset}: the page and its files. */
ad__route_fn ad__h_ui_index, ad__h_ui_asset;
/* GET /v1/research/sessions and /v1/research/sessions/{id} (the tenant's). */
ad__route_fn ad__h_research_list, ad__h_research_get, ad__h_evolve_list, ad__h_evolve_get;
#endif

#endif
