/*
 * The page cache of read-mostly routes (the skill catalog), one per HTTP
 * thread so no lock is taken.
 *
 * A page is kept with the store's change stamp read before its handler
 * ran (ad_store_changes: commits of other handles, and of this thread's
 * own). A request finds it again only when the stamp is still the same:
 * nothing was committed to the database since, by anyone, so the page is
 * what the handler would answer now. Any commit at all (an episode
 * recorded by another thread included) makes every page stale, which is
 * coarse but never wrong; a catalog read many times between writes is the
 * case it is for. Pages are keyed by tenant, route and query, so one
 * tenant's page never answers another.
 */
#include "compat.h"

#include <pthread.h>

#include "autodev/store.h"

#include "server_int.h"

#define PAGES 32
#define PAGE_MAX (256u << 10)

struct page {
    char *key;                 /* owned */
    char *body;                /* owned */
    size_t len;
    int64_t others, own;
    uint64_t used;             /* for the least recently used one to go first */
};

struct cache {
    struct page p[PAGES];
    uint64_t clock;
};

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int key_ok;

static void cache_free(void *arg)
{
    struct cache *c = arg;

    for (int i = 0; c && i < PAGES; i++) {
        free(c->p[i].key);
        free(c->p[i].body);
    }
    free(c);
}

static void key_make(void)
{
    key_ok = pthread_key_create(&key, cache_free) == 0;
}

static struct cache *thread_cache(void)
{
    struct cache *c;

    pthread_once(&once, key_make);
    if (!key_ok)
        return NULL;
    c = pthread_getspecific(key);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (c && pthread_setspecific(key, c) != 0) {
            free(c);
            c = NULL;
        }
    }
    return c;
}

int ad__cache_key(struct ad__req *r, struct ad_buf *out)
{
    char q[256];

    ad_buf_addf(out, "%s %s %s?", r->tok.tenant_id, r->method, r->url);
    snprintf(q, sizeof(q), "%s", r->route->query ? r->route->query : "");
    for (char *save = NULL, *w = strtok_r(q, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        const char *v = ad__query(r, w);

        if (v)
            ad_buf_addf(out, "%s=%s&", w, v);
    }
    return out->len < out->max ? 0 : AD_ETOOBIG;
}

int ad__cache_get(const char *k, int64_t others, int64_t own, char **body, size_t *len)
{
    struct cache *c = thread_cache();

    for (int i = 0; c && i < PAGES; i++) {
        struct page *p = &c->p[i];

        if (!p->key || strcmp(p->key, k) != 0)
            continue;
        if (p->others != others || p->own != own)
            return AD_ENOTFOUND;
        *body = malloc(p->len + 1);
        if (!*body)
            return AD_ENOMEM;
        memcpy(*body, p->body, p->len + 1);
        *len = p->len;
        p->used = ++c->clock;
        return 0;
    }
    return AD_ENOTFOUND;
}

void ad__cache_put(const char *k, int64_t others, int64_t own, const char *body, size_t len)
{
    struct cache *c = thread_cache();
    struct page *slot = NULL;
    char *kc, *bc;

    if (!c || len > PAGE_MAX)
        return;
    for (int i = 0; i < PAGES && !slot; i++) {
        if (c->p[i].key && !strcmp(c->p[i].key, k))
            slot = &c->p[i];
    }
    for (int i = 0; i < PAGES && !slot; i++) {
        if (!c->p[i].key)
            slot = &c->p[i];
    }
    if (!slot) {
        slot = &c->p[0];
        for (int i = 1; i < PAGES; i++) {
            if (c->p[i].used < slot->used)
                slot = &c->p[i];
        }
    }
    kc = strdup(k);
    bc = malloc(len + 1);
    if (!kc || !bc) {
        free(kc);
        free(bc);
        return;
    }
    memcpy(bc, body, len + 1);
    free(slot->key);
    free(slot->body);
    slot->key = kc;
    slot->body = bc;
    slot->len = len;
    slot->others = others;
    slot->own = own;
    slot->used = ++c->clock;
}
