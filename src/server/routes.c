/*
 * The route table: every route of the API is one row (method, path, the
 * roles allowed, flags, handler, OpenAPI operation id and summary, query
 * parameters, success status). The dispatcher, the role check, the
 * metrics' labels and the OpenAPI document (openapi.c) all read it, so a
 * route cannot exist undocumented; a route of AlphaEvolver (mutations,
 * variants, fitness signals) is one more row here and its handler.
 *
 * Roles (the tenant is always the token's):
 *
 *   reads (GET) of episodes, agents, skills, candidates, mutations,
 *   variants, notifications, settings, jobs, events   admin, reviewer, agent
 *   record episodes, run skills and tasks          admin, agent
 *   review (candidates, mutations), graduate, roll back a skill,
 *   mark notifications read                        admin, reviewer
 *   settings, tokens, add an agent, metrics        admin
 *   health, the OpenAPI document                   anyone, no token
 *
 * The catalog's GET routes are flagged AD__CACHE: their pages are kept per
 * HTTP thread and answered again while nothing was committed (cache.c).
 *
 * Sections: the table; matching; query parameters (pages: paging.c).
 */
#include "compat.h"

#include "autodev/clock.h"
#include "autodev/store.h"

#include "server_int.h"
#include "routes_ui.h"

/* ---- the table --------------------------------------------------------------------- */

#define PAGE "limit cursor"

static const struct ad__route routes[] = {
    { "GET", "/v1/health", 0, 0, ad__h_health, "health",
      "Liveness and the store's schema version", NULL, 200 },
    { "GET", "/v1/openapi.json", 0, 0, ad__h_openapi, "openapi",
      "This OpenAPI 3.1 document, generated from the route table", NULL, 200 },
    { "GET", "/v1/me", AD__ANY, 0, ad__h_me, "whoAmI",
      "The caller's token: its name, role and tenant (the web UI offers what the role may do)",
      NULL, 200 },
    { "GET", "/metrics", AD__ADMIN, AD__TEXT, ad__h_metrics, "metrics",
      "Prometheus metrics: requests, latencies, jobs, sandbox runs, model tokens and cost",
      NULL, 200 },

    { "POST", "/v1/episodes", AD__WORK, AD__BODY_JSON, ad__h_episode_add, "recordEpisode",
      "Record one episode (an agent's task and its outcome)", NULL, 201 },
    { "POST", "/v1/episodes/batch", AD__WORK, AD__BODY_JSONL, ad__h_episode_batch,
      "recordEpisodes",
      "Record episodes from JSON lines, all or none: every bad line is reported", NULL, 200 },
    { "GET", "/v1/episodes", AD__ANY, 0, ad__h_episode_list, "listEpisodes",
      "List episodes, newest first", PAGE " agent success kind", 200 },
    { "GET", "/v1/episodes/{id}", AD__ANY, 0, ad__h_episode_get, "getEpisode",
      "One episode with its segments", NULL, 200 },

    { "GET", "/v1/agents", AD__ANY, 0, ad__h_agent_list, "listAgents",
      "List agents by name", PAGE, 200 },
    { "POST", "/v1/agents", AD__ADMIN, AD__BODY_JSON, ad__h_agent_add, "addAgent",
      "Add an agent (name, maturity)", NULL, 201 },
    { "GET", "/v1/agents/{agent}", AD__ANY, 0, ad__h_agent_get, "getAgent",
      "One agent (by name or id) with its counters", NULL, 200 },
    { "GET", "/v1/agents/{agent}/readiness", AD__ANY, 0, ad__h_agent_readiness,
      "agentReadiness", "The agent's readiness for the next maturity level", NULL, 200 },
    { "POST", "/v1/agents/{agent}/graduate", AD__REVIEW, AD__BODY_JSON, ad__h_agent_graduate,
      "graduateAgent", "Promote the agent one maturity level when it is ready", NULL, 200 },

    { "GET", "/v1/skills", AD__ANY, AD__CACHE, ad__h_skill_list, "listSkills",
      "List catalog skills by name", PAGE, 200 },
    { "GET", "/v1/skills/search", AD__ANY, AD__CACHE, ad__h_skill_search, "searchSkills",
      "Full-text search over active skills, best first", "q limit", 200 },
    { "GET", "/v1/skills/{skill}", AD__ANY, AD__CACHE, ad__h_skill_get, "getSkill",
      "One skill (by name or id) with its current version's code", "version", 200 },
    { "GET", "/v1/skills/{skill}/versions", AD__ANY, AD__CACHE, ad__h_skill_versions, "skillVersions",
      "Every version of a skill, oldest first", NULL, 200 },
    { "POST", "/v1/skills/{skill}/run", AD__WORK, AD__BODY_JSON, ad__h_skill_run, "runSkill",
      "Run a skill in the sandbox (as an agent's task with \"agent\")", NULL, 200 },
    { "GET", "/v1/skills/{skill}/export", AD__ANY, AD__BINARY, ad__h_skill_export,
      "exportSkill", "The skill as an Agent Skills bundle (zip, or tar with format=tar)",
      "format version", 200 },
    { "POST", "/v1/skills/import", AD__ADMIN, AD__BODY_BUNDLE, ad__h_skill_import,
      "importSkill", "Add a skill from an Agent Skills bundle (a zip or tar archive)", NULL,
      201 },
    { "POST", "/v1/skills/{skill}/rollback", AD__REVIEW, AD__BODY_JSON, ad__h_skill_rollback,
      "rollbackSkill", "Make an earlier version of a skill current again", NULL, 200 },

    { "POST", "/v1/tasks/run", AD__WORK, AD__BODY_JSON, ad__h_task_run, "runTask",
      "Run an agent's task with a catalog skill and record the episode", NULL, 200 },

    { "GET", "/v1/candidates", AD__ANY, 0, ad__h_cand_list, "listCandidates",
      "List skill candidates, newest first", PAGE " status agent", 200 },
    { "GET", "/v1/candidates/{id}", AD__ANY, 0, ad__h_cand_get, "getCandidate",
      "One candidate with its code, failure pattern and validation", NULL, 200 },
    { "POST", "/v1/candidates/{id}/test", AD__REVIEW, AD__BODY_JSON, ad__h_cand_test,
      "testCandidate", "Run a candidate on an input in the sandbox (nothing is recorded)",
      NULL, 200 },
    { "POST", "/v1/candidates/{id}/approve", AD__REVIEW, AD__BODY_JSON, ad__h_cand_approve,
      "approveCandidate", "Approve a validated candidate: it joins the catalog", NULL, 200 },
    { "POST", "/v1/candidates/{id}/reject", AD__REVIEW, AD__BODY_JSON, ad__h_cand_reject,
      "rejectCandidate", "Reject a candidate, with a reason", NULL, 200 },
    { "POST", "/v1/candidates/{id}/regenerate", AD__REVIEW, AD__BODY_JSON,
      ad__h_cand_regenerate, "regenerateCandidate",
      "Queue a new generation for a failed or rejected candidate's pattern", NULL, 202 },

    { "GET", "/v1/mutations", AD__ANY, 0, ad__h_mut_list, "listMutations",
      "List AlphaEvolver's mutations, newest first", PAGE " status review decision skill agent",
      200 },
    { "GET", "/v1/mutations/{id}", AD__ANY, 0, ad__h_mut_get, "getMutation",
      "One mutation: code, test set, signals, risk, decision, parent code and variants", NULL,
      200 },
    { "GET", "/v1/mutations/{id}/lineage", AD__ANY, 0, ad__h_mut_lineage, "mutationLineage",
      "The mutation and its ancestors, itself first", NULL, 200 },
    { "POST", "/v1/mutations/{id}/test", AD__REVIEW, AD__BODY_JSON, ad__h_mut_test,
      "testMutation",
      "Replay parent and mutant on the stored test set in the sandbox (nothing is recorded)",
      NULL, 200 },
    { "POST", "/v1/mutations/{id}/approve", AD__REVIEW, AD__BODY_JSON, ad__h_mut_approve,
      "approveMutation", "Approve a mutation that won: the skill's next minor version", NULL,
      200 },
    { "POST", "/v1/mutations/{id}/reject", AD__REVIEW, AD__BODY_JSON, ad__h_mut_reject,
      "rejectMutation", "Reject a mutation waiting for review, with a reason", NULL, 200 },
    { "POST", "/v1/mutations/{id}/regenerate", AD__REVIEW, AD__BODY_JSON, ad__h_mut_regenerate,
      "regenerateMutation", "Queue a new alpha.mutate job for the version it was made from",
      NULL, 202 },

    { "GET", "/v1/variants", AD__ANY, 0, ad__h_var_list, "listVariants",
      "List workflow variants, newest first", PAGE " agent mutation", 200 },
    { "GET", "/v1/variants/top", AD__ANY, 0, ad__h_var_top, "topVariants",
      "The best scored variants, best first", "agent limit", 200 },
    { "GET", "/v1/variants/{id}", AD__ANY, 0, ad__h_var_get, "getVariant",
      "One workflow variant with its fitness signals", NULL, 200 },

    { "GET", "/v1/settings", AD__ANY, 0, ad__h_settings_get, "getSettings",
      "The workspace settings (the auto_dev block)", NULL, 200 },
    { "PUT", "/v1/settings", AD__ADMIN, AD__BODY_JSON, ad__h_settings_put, "putSettings",
      "Replace the workspace settings (keys not given take their defaults)", NULL, 200 },
    { "PATCH", "/v1/settings", AD__ADMIN, AD__BODY_JSON, ad__h_settings_patch,
      "patchSettings", "Change the settings given, keep the others", NULL, 200 },

    { "GET", "/v1/notifications", AD__ANY, 0, ad__h_notif_list, "listNotifications",
      "List notifications, newest first", PAGE " unread type", 200 },
    { "POST", "/v1/notifications/read", AD__REVIEW, AD__BODY_JSON, ad__h_notif_read_all,
      "markAllNotificationsRead", "Mark every unread notification read", NULL, 200 },
    { "POST", "/v1/notifications/{id}/read", AD__REVIEW, AD__BODY_JSON, ad__h_notif_read,
      "markNotificationRead", "Mark one notification read", NULL, 200 },

    { "GET", "/v1/jobs", AD__ANY, 0, ad__h_job_list, "listJobs",
      "List background jobs, newest first", PAGE " status kind", 200 },
    { "GET", "/v1/jobs/{id}", AD__ANY, 0, ad__h_job_get, "getJob", "One background job", NULL,
      200 },

    { "GET", "/v1/events", AD__ANY, AD__STREAM, ad__h_events, "streamEvents",
      "Server-Sent Events from the outbox, resumable with Last-Event-ID", "topic since", 200 },

    { "GET", "/v1/tokens", AD__ADMIN, 0, ad__h_token_list, "listTokens",
      "List the tenant's API tokens (never the tokens themselves)", "revoked", 200 },
    { "POST", "/v1/tokens", AD__ADMIN, AD__BODY_JSON, ad__h_token_create, "createToken",
      "Make an API token of a role; the answer holds it, once", NULL, 201 },
    { "DELETE", "/v1/tokens/{token}", AD__ADMIN, 0, ad__h_token_revoke, "revokeToken",
      "Revoke a token (by id or name)", NULL, 200 },

    /* hooks (routes_hooks.c): webhooks, their deliveries, signed fitness signals */
    { "GET", "/v1/webhooks", AD__ADMIN, 0, ad__h_webhook_list, "listWebhooks",
      "List the tenant's webhooks (never their secrets)", NULL, 200 },
    { "POST", "/v1/webhooks", AD__ADMIN, AD__BODY_JSON, ad__h_webhook_add, "addWebhook",
      "Add a webhook (url, topics, description); the answer holds its signing secret", NULL,
      201 },
    { "DELETE", "/v1/webhooks/{id}", AD__ADMIN, 0, ad__h_webhook_remove, "removeWebhook",
      "Remove a webhook; its pending deliveries fail unsent", NULL, 200 },
    { "GET", "/v1/webhooks/deliveries", AD__ADMIN, 0, ad__h_delivery_list, "listDeliveries",
      "Webhook deliveries, newest first", "status webhook", 200 },
    { "POST", "/v1/webhooks/deliveries/{id}/replay", AD__ADMIN, AD__BODY_JSON,
      ad__h_delivery_replay, "replayDelivery",
      "Queue a failed or dead delivery again from its first attempt", NULL, 202 },
    { "POST", "/v1/fitness/{variant_id}/signals", 0, AD__BODY_JSON, ad__h_signals,
      "postFitnessSignals",
      "Delayed fitness signals, signed with the tenant's signal secret (X-Autodev-Tenant, "
      "X-Autodev-Timestamp, X-Autodev-Signature); no bearer token", NULL, 200 },
    /* custom fitness terms (routes_terms.c) */
    { "GET", "/v1/fitness/terms", AD__REVIEW, 0, ad__h_term_list, "listFitnessTerms",
      "The workspace's custom fitness terms, by name, with their code", NULL, 200 },
    { "POST", "/v1/fitness/terms", AD__ADMIN, AD__BODY_JSON, ad__h_term_add, "addFitnessTerm",
      "Register a fitness term (name, code defining term(signals), weight); checked in the "
      "sandbox, nothing stored on error", NULL, 201 },
    { "DELETE", "/v1/fitness/terms/{name}", AD__ADMIN, 0, ad__h_term_remove,
      "removeFitnessTerm", "Remove a fitness term", NULL, 200 },
    { "GET", "/v1/advice", AD__ANY, 0, ad__h_advice, "getAdvice",
      "The advisor's facts: failure rates, acceptance, plateaus, cost, limits, gates, "
      "graduation, each with its numbers and a command", "agent", 200 },

    /* the review web UI (routes_ui.c: its files, public) and its research pages
     * (routes_research.c: read only) */
    { "GET", "/", 0, AD__TEXT, ad__h_ui_index, "webUi",
      "The review web UI (index.html; its API calls carry the reviewer's token)", NULL, 200 },
    { "GET", "/ui/{asset}", 0, AD__TEXT, ad__h_ui_asset, "webUiAsset",
      "A file of the review web UI (CSS, JavaScript), compiled into the binary", NULL, 200 },
    { "GET", "/v1/research/sessions", AD__ANY, 0, ad__h_research_list, "listResearchSessions",
      "The tenant's autoresearch sessions, newest first", NULL, 200 },
    { "GET", "/v1/research/sessions/{id}", AD__ANY, 0, ad__h_research_get, "getResearchSession",
      "One autoresearch session with its iterations (metric, decision, gates, cost)", NULL,
      200 },
    { "GET", "/v1/evolve/runs", AD__ANY, 0, ad__h_evolve_list, "listEvolveRuns",
      "The tenant's evolution research runs, newest first (state, generation, evaluations, "
      "cost)", NULL, 200 },
    { "GET", "/v1/evolve/runs/{id}", AD__ANY, 0, ad__h_evolve_get, "getEvolveRun",
      "One evolution research run with its best program (code, fitness, signals)", NULL, 200 },
    { NULL, NULL, 0, 0, NULL, NULL, NULL, NULL, 0 },
};

const struct ad__route *ad__routes(void)
{
    return routes;
}

size_t ad__routes_count(void)
{
    return AD_ARRAY_SIZE(routes) - 1;
}

/* ---- matching -------------------------------------------------------------------- */

/*
 * Whether pattern matches the path's segments; params get the {x} ones.
 * A literal segment outranks a parameter: ad__route_match tries the rows
 * in order and prefers, among matches, the one with fewer parameters
 * (/v1/skills/search before /v1/skills/{skill}).
 */
static int match_one(const char *pattern, char *const *seg, size_t nseg,
                     const char *param[AD__ROUTE_PARAMS_MAX], int *nparams)
{
    const char *p = pattern + 1;
    size_t i = 0;

    *nparams = 0;
    for (int k = 0; k < AD__ROUTE_PARAMS_MAX; k++)
        param[k] = NULL;
    /* "/" is one empty segment: only the pattern "/" (the web UI) matches it. */
    if (nseg == 1 && !seg[0][0])
        return !*p;
    while (*p && i < nseg) {
        size_t len = strcspn(p, "/");

        if (p[0] == '{') {
            if (*nparams >= AD__ROUTE_PARAMS_MAX || !seg[i][0])
                return 0;
            param[(*nparams)++] = seg[i];
        } else if (strlen(seg[i]) != len || strncmp(seg[i], p, len) != 0) {
            return 0;
        }
        i++;
        p += len;
        if (*p == '/')
            p++;
    }
    return !*p && i == nseg;
}

#define SEG_MAX 8

int ad__route_match(const char *method, char *path, const struct ad__route **route,
                    const char *param[AD__ROUTE_PARAMS_MAX])
{
    char *seg[SEG_MAX];
    const char *got[AD__ROUTE_PARAMS_MAX];
    size_t nseg = 0;
    int n, best = -1, path_seen = 0;

    *route = NULL;
    if (path[0] != '/')
        return AD_ENOTFOUND;
    /* Split in place; a trailing slash is no extra segment. */
    for (char *p = path + 1; *p || nseg == 0;) {
        if (nseg == SEG_MAX)
            return AD_ENOTFOUND;
        seg[nseg++] = p;
        p = strchr(p, '/');
        if (!p)
            break;
        *p++ = '\0';
        if (!*p)
            break;
    }
    for (const struct ad__route *r = routes; r->method; r++) {
        if (!match_one(r->path, seg, nseg, got, &n))
            continue;
        path_seen = 1;
        if (strcmp(r->method, method) != 0 || (best >= 0 && n >= best))
            continue;
        best = n;
        *route = r;
        memcpy(param, got, sizeof(got));
    }
    if (*route)
        return 0;
    return path_seen ? AD_ESTATE : AD_ENOTFOUND;
}

/* ---- query parameters ------------------------------------------------------- */

static const struct ad__query_param query_params[] = {
    { "limit", "integer", "Items on the page, 1..1000 (default 50)." },
    { "cursor", "string", "Continue after this key: the next_cursor of the page before." },
    { "agent", "string", "Only those of this agent (name or id)." },
    { "success", "boolean", "true: succeeded only; false: failed only." },
    { "kind", "string", "Only this kind." },
    { "q", "string", "The text to search for." },
    { "version", "string", "A semver of the skill (default: the current version)." },
    { "status", "string", "Only those in this status." },
    { "unread", "boolean", "true: unread only." },
    { "type", "string", "Only notifications of this type." },
    { "topic", "string", "Only events of these topics (comma-separated)." },
    { "since", "integer",
      "Start after this event sequence number (as Last-Event-ID; default: now)." },
    { "revoked", "boolean", "true: list revoked tokens too." },
    { "webhook", "string", "Only the deliveries of this webhook (its id)." },
    { "review", "string", "Only those whose review is this (pending, approved, rejected, "
                          "auto_approved)." },
    { "decision", "string", "Only mutations that won or lost their evaluation." },
    { "skill", "string", "Only those of this catalog skill (by name)." },
    { "mutation", "string", "Only the variants of this mutation (id)." },
    { "format", "string", "The archive: zip (default) or tar." },
    { NULL, NULL, NULL },
};

const struct ad__query_param *ad__query_param_find(const char *name)
{
    for (const struct ad__query_param *q = query_params; q->name; q++) {
        if (!strcmp(q->name, name))
            return q;
    }
    return NULL;
}
