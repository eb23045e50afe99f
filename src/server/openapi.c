/*
 * The OpenAPI 3.1 document, generated from the route table: one operation
 * per row, with its path and query parameters, who may call it (security
 * and x-roles), its body's media type and the errors it can answer. A
 * route therefore cannot be served undocumented, nor documented unserved
 * (tests/server/ checks the document against the running server).
 */
#include "compat.h"

#include <strings.h>

#include "autodev/server.h"
#include "autodev/store.h"

#include "server_int.h"

/* The error answers, each a reusable response of the document. */
static const struct {
    const char *code;
    const char *help;
} errors[] = {
    { "400", "Malformed request: bad JSON, a bad query parameter." },
    { "401", "No bearer token, or a malformed, unknown or revoked one." },
    { "403", "The token's role may not call this route." },
    { "404", "No such resource in the token's tenant." },
    { "405", "The path exists, the method does not." },
    { "409", "The resource's state forbids it, or the name is taken." },
    { "413", "The request body is over the server's limit." },
    { "415", "The body's Content-Type is not the one the route reads." },
    { "422", "Well-formed JSON that does not hold what the route needs." },
    { "429", "Over the token's rate limit (or a daily limit); see Retry-After." },
    { "500", "A failure of the server." },
    { "503", "The store is busy or the server is stopping; see Retry-After." },
};

static json_t *components(void)
{
    json_t *resp = json_object(), *c;

    for (size_t i = 0; resp && i < AD_ARRAY_SIZE(errors); i++) {
        json_t *r = json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", errors[i].help,
                              "content", "application/json", "schema", "$ref",
                              "#/components/schemas/Error");

        if (!r || json_object_set_new(resp, errors[i].code, r) < 0)
            resp = (json_decref(resp), NULL);
    }
    if (!resp)
        return NULL;
    c = json_pack("{s:{s:{s:s, s:s, s:s}}, s:{s:{s:s, s:[s], s:{s:{s:s, s:[s, s],"
                  " s:{s:{s:s}, s:{s:s}}}}}}, s:o}",
                  "securitySchemes", "bearer", "type", "http", "scheme", "bearer",
                  "description", "An API token (autodev token create); its tenant is the "
                                 "caller's.",
                  "schemas", "Error", "type", "object", "required", "error", "properties",
                  "error", "type", "object", "required", "code", "message", "properties",
                  "code", "type", "string", "message", "type", "string",
                  "responses", resp);
    return c;
}

static int add_param(json_t *params, const char *name, const char *in, const char *type,
                     int required, const char *help)
{
    json_t *p = json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in", in,
                          "required", required, "schema", "type", type);

    if (p && help && json_object_set_new(p, "description", json_string(help)) < 0)
        p = (json_decref(p), NULL);
    return p ? json_array_append_new(params, p) : -1;
}

/* The path's {x} and the row's query parameters. */
static json_t *parameters(const struct ad__route *r)
{
    json_t *params = json_array();
    char name[64], q[256];

    for (const char *p = strchr(r->path, '{'); params && p; p = strchr(p + 1, '{')) {
        size_t len = strcspn(p + 1, "}");

        snprintf(name, sizeof(name), "%.*s", (int)len, p + 1);
        if (add_param(params, name, "path", "string", 1, NULL) < 0)
            params = (json_decref(params), NULL);
    }
    if (params && r->flags & AD__STREAM &&
        add_param(params, "Last-Event-ID", "header", "string", 0,
                  "Resume after this event (the id of the last one received).") < 0)
        params = (json_decref(params), NULL);
    snprintf(q, sizeof(q), "%s", r->query ? r->query : "");
    for (char *save = NULL, *w = strtok_r(q, " ", &save); params && w;
         w = strtok_r(NULL, " ", &save)) {
        const struct ad__query_param *qp = ad__query_param_find(w);

        if (!qp || add_param(params, qp->name, "query", qp->type, !strcmp(w, "q"), qp->help) < 0)
            params = (json_decref(params), NULL);
    }
    return params;
}

static const char *success_type(const struct ad__route *r)
{
    if (r->flags & AD__STREAM)
        return "text/event-stream";
    /* The web UI's page and files (routes_ui.c) are text of their own types. */
    if (!strcmp(r->path, "/"))
        return "text/html";
    if (!strncmp(r->path, "/ui/", 4))
        return "text/javascript";
    if (r->flags & AD__TEXT)
        return "text/plain";
    if (r->flags & AD__BINARY)
        return "application/zip";
    return "application/json";
}

static json_t *responses(const struct ad__route *r)
{
    char code[8], ref[64];
    json_t *res;
    int body = (r->flags & AD__BODY_ANY) != 0;

    snprintf(code, sizeof(code), "%d", r->ok);
    res = json_pack("{s:{s:s, s:{s:{s:{}}}}}", code, "description", r->summary, "content",
                    success_type(r), "schema");
    /* An archive comes as a zip or, asked with format=tar, a tar. */
    if (res && (r->flags & AD__BINARY) &&
        json_object_set_new(json_object_get(json_object_get(res, code), "content"),
                            "application/x-tar", json_pack("{s:{}}", "schema")) < 0)
        res = (json_decref(res), NULL);
    for (size_t i = 0; res && i < AD_ARRAY_SIZE(errors); i++) {
        const char *c = errors[i].code;
        int applies = !strcmp(c, "500") || !strcmp(c, "503") ||
                      (r->roles && (!strcmp(c, "401") || !strcmp(c, "403") ||
                                    !strcmp(c, "429"))) ||
                      (body && (!strcmp(c, "413") || !strcmp(c, "415") || !strcmp(c, "422") ||
                                !strcmp(c, "409"))) ||
                      ((body || r->query) && !strcmp(c, "400")) ||
                      ((strchr(r->path, '{') || body || r->query) && !strcmp(c, "404"));

        snprintf(ref, sizeof(ref), "#/components/responses/%s", c);
        if (applies && json_object_set_new(res, c, json_pack("{s:s}", "$ref", ref)) < 0)
            res = (json_decref(res), NULL);
    }
    return res;
}

static json_t *roles_of(unsigned roles)
{
    json_t *a = json_array();

    for (int i = 0; a && i <= AD_ROLE_VIEWER; i++) {
        if ((roles & AD__R(i)) &&
            json_array_append_new(a, json_string(ad_token_role_name((enum ad_token_role)i))) < 0)
            a = (json_decref(a), NULL);
    }
    return a;
}

static json_t *operation(const struct ad__route *r)
{
    json_t *op = json_pack("{s:s, s:s, s:o, s:o, s:o}", "operationId", r->op_id,
                           "summary", r->summary, "parameters", parameters(r),
                           "responses", responses(r), "x-roles", roles_of(r->roles));

    if (op && json_object_set_new(op, "security", r->roles ? json_pack("[{s:[]}]", "bearer")
                                                           : json_array()) < 0)
        op = (json_decref(op), NULL);
    if (op && (r->flags & (AD__BODY_JSON | AD__BODY_JSONL))) {
        const char *type = r->flags & AD__BODY_JSON ? "application/json" : "application/x-ndjson";
        json_t *body = json_pack("{s:b, s:{s:{s:{s:s}}}}", "required",
                                 r->ok == 201 || (r->flags & AD__BODY_JSONL),
                                 "content", type, "schema", "type",
                                 r->flags & AD__BODY_JSON ? "object" : "string");

        if (!body || json_object_set_new(op, "requestBody", body) < 0)
            op = (json_decref(op), NULL);
    }
    if (op && (r->flags & AD__BODY_BUNDLE)) {
        json_t *body = json_pack("{s:b, s:{s:{s:{s:s}}, s:{s:{s:s}}, s:{s:{s:s}}}}",
                                 "required", 1, "content",
                                 "application/zip", "schema", "type", "string",
                                 "application/x-tar", "schema", "type", "string",
                                 "application/octet-stream", "schema", "type", "string");

        if (!body || json_object_set_new(op, "requestBody", body) < 0)
            op = (json_decref(op), NULL);
    }
    return op;
}

json_t *ad_server_openapi(void)
{
    json_t *paths = json_object(), *doc;

    for (const struct ad__route *r = ad__routes(); paths && r->method; r++) {
        json_t *item = json_object_get(paths, r->path);
        char method[16];
        size_t i;

        if (!item) {
            item = json_object();
            if (!item || json_object_set_new(paths, r->path, item) < 0) {
                json_decref(paths);
                return NULL;
            }
        }
        for (i = 0; r->method[i] && i < sizeof(method) - 1; i++)
            method[i] = (char)(r->method[i] | 0x20);
        method[i] = '\0';
        if (json_object_set_new(item, method, operation(r)) < 0)
            paths = (json_decref(paths), NULL);
    }
    if (!paths)
        return NULL;
    doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:o}", "openapi", "3.1.0", "info",
                    "title", "autodev", "version", "1",
                    "description", "autodev over HTTP: agents record episodes and run skills "
                    "and tasks; reviewers decide on what the learning loops propose. Every "
                    "route but health and this document needs a bearer token, whose tenant is "
                    "the caller's. Errors are {\"error\": {\"code\", \"message\"}}. Lists page "
                    "with limit and cursor (the next_cursor of the page before).",
                    "paths", paths, "components", components());
    return doc;
}
