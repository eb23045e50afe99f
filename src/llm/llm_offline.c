/*
 * Provider "offline": no model, no network. It answers code-proposal
 * requests, those whose last user message carries a fenced code block,
 * with one mutant from the propose module, written as the SEARCH/REPLACE
 * edit a model would write. Anything else is refused with a clear error,
 * never answered with made-up text.
 *
 * The mutant is chosen by the request's seed when it has one, else by a
 * counter per chain entry mixed with the llm's seed, so repeated calls walk
 * through different mutants and a seeded run is reproducible.
 */
#include "compat.h"

#include <ctype.h>

#include "autodev/propose.h"

#include "llm_int.h"

/* The last user message: where a proposal request carries its code. */
static const char *last_user(const struct ad_llm_request *req)
{
    size_t i;

    for (i = req->nmessages; i > 0; i--) {
        if (req->messages[i - 1].role == AD_LLM_USER && req->messages[i - 1].content)
            return req->messages[i - 1].content;
    }
    return NULL;
}

struct fence {
    const char *code;     /* start of the content */
    size_t len;
    char path[256];       /* from the info string ("python skill.py"), else "" */
};

/* Reads the info string after ``` for a file name (a word with a '.' or '/'). */
static void info_path(const char *p, const char *eol, char *out, size_t outsz)
{
    const char *w, *end;

    out[0] = '\0';
    while (p < eol) {
        while (p < eol && isspace((unsigned char)*p))
            p++;
        w = p;
        while (p < eol && !isspace((unsigned char)*p))
            p++;
        end = p;
        if (end > w && (memchr(w, '.', (size_t)(end - w)) || memchr(w, '/', (size_t)(end - w))) &&
            (size_t)(end - w) < outsz) {
            memcpy(out, w, (size_t)(end - w));
            out[end - w] = '\0';
        }
    }
}

/*
 * The fenced blocks of text; the one holding EVOLVE-BLOCK markers wins,
 * else the largest. 0 when found.
 */
static int pick_fence(const char *text, struct fence *best)
{
    const char *p = text, *open, *eol, *close;
    int found = 0, best_evolve = 0;

    while ((open = strstr(p, "```")) != NULL) {
        eol = strchr(open, '\n');
        if (!eol)
            break;
        close = strstr(eol + 1, "\n```");
        if (!close)
            close = eol + 1 + strlen(eol + 1);
        else
            close++;
        {
            size_t len = (size_t)(close - (eol + 1));
            int evolve = memmem(eol + 1, len, "EVOLVE-BLOCK-START", 18) != NULL;

            if (len > 0 && (!found || evolve > best_evolve ||
                            (evolve == best_evolve && len > best->len))) {
                best->code = eol + 1;
                best->len = len;
                info_path(open + 3, eol, best->path, sizeof(best->path));
                best_evolve = evolve;
                found = 1;
            }
        }
        p = *close ? close + 3 : close;
    }
    return found ? 0 : -1;
}

static int offline_attempt(struct ad__llm_entry *e, const struct ad_llm_request *req,
                           struct ad_llm_response *resp, struct ad__llm_failure *f,
                           struct ad_err *err)
{
    const char *text = last_user(req);
    struct ad_propose_opts o;
    struct ad_mutant *m = NULL;
    struct fence fc;
    size_t n = 0;
    uint64_t k;
    int rc;

    if (!text || pick_fence(text, &fc))
        return ad_error(err, AD_ENOTSUP,
                        "the offline provider answers only code-proposal requests "
                        "(a fenced code block in the last user message)");
    pthread_mutex_lock(&e->llm->mu);
    k = e->counter++;
    pthread_mutex_unlock(&e->llm->mu);
    memset(&o, 0, sizeof(o));
    o.seed = req->seed >= 0 ? (uint64_t)req->seed : e->llm->o.seed + k * 0x9e3779b97f4a7c15ULL;
    o.count = 1;
    o.path = fc.path[0] ? fc.path : NULL;
    rc = ad_propose_mutants(fc.code, fc.len, &o, &m, &n, err);
    if (rc)
        return ad_error_prefix(err, "offline proposal");
    if (n == 0)
        return ad_error(err, AD_ENOTFOUND, "offline proposal: no mutant");
    if (asprintf(&resp->text, "%s\n\n%s", m[0].description, m[0].edit) < 0)
        resp->text = NULL;
    ad_mutants_free(m, n);
    resp->finish_reason = strdup("stop");
    if (!resp->text || !resp->finish_reason)
        return ad_error(err, AD_ENOMEM, "out of memory");
    if (req->on_delta && req->on_delta(req->delta_arg, "text", resp->text, strlen(resp->text)))
        return ad_error(err, AD_EINVAL, "aborted by the caller");
    return 0;
}

const struct ad__llm_ops ad__llm_offline_ops = {
    .name = "offline",
    .attempt = offline_attempt,
};
