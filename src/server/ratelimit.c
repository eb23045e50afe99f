/*
 * The per-token rate limit: a token bucket for each token id, holding up to
 * burst requests and refilled at rate a second. One lock over a small hash
 * table: a take is a few arithmetic operations under it, far below the
 * cost of the request it guards. Buckets are never dropped; a process sees
 * as many as there are tokens, which are few.
 */
#include "compat.h"

#include <pthread.h>

#include "autodev/clock.h"

#include "server_int.h"

#define NBUCKETS 256

struct bucket {
    struct bucket *next;
    double tokens;
    int64_t last_ns;
    char key[AD_ID_SIZE];
};

struct ad__limiter {
    double rate;                 /* per second; < 0: no limit */
    double burst;
    pthread_mutex_t lock;
    struct bucket *slots[NBUCKETS];
};

int ad__limiter_new(int rate, int burst, struct ad__limiter **out)
{
    struct ad__limiter *l = calloc(1, sizeof(*l));

    *out = NULL;
    if (!l)
        return AD_ENOMEM;
    l->rate = rate;
    l->burst = burst > 0 ? burst : 2.0 * (rate > 0 ? rate : 1);
    pthread_mutex_init(&l->lock, NULL);
    *out = l;
    return 0;
}

void ad__limiter_free(struct ad__limiter *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < NBUCKETS; i++) {
        struct bucket *b = l->slots[i], *next;

        for (; b; b = next) {
            next = b->next;
            free(b);
        }
    }
    pthread_mutex_destroy(&l->lock);
    free(l);
}

static size_t slot_of(const char *key)
{
    uint32_t h = 2166136261u;   /* FNV-1a */

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h % NBUCKETS;
}

static struct bucket *find(struct ad__limiter *l, const char *key, int64_t now_ns)
{
    size_t i = slot_of(key);
    struct bucket *b;

    for (b = l->slots[i]; b; b = b->next) {
        if (!strcmp(b->key, key))
            return b;
    }
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    snprintf(b->key, sizeof(b->key), "%s", key);
    b->tokens = l->burst;
    b->last_ns = now_ns;
    b->next = l->slots[i];
    l->slots[i] = b;
    return b;
}

int ad__limiter_take(struct ad__limiter *l, const char *key, int64_t now_ns)
{
    struct bucket *b;
    int wait = 0;

    if (!l || l->rate < 0)
        return 0;
    pthread_mutex_lock(&l->lock);
    b = find(l, key, now_ns);
    if (b) {
        if (now_ns > b->last_ns)
            b->tokens += (double)(now_ns - b->last_ns) / 1e9 * l->rate;
        if (b->tokens > l->burst)
            b->tokens = l->burst;
        b->last_ns = now_ns;
        if (b->tokens >= 1.0) {
            b->tokens -= 1.0;
        } else {
            double secs = l->rate > 0 ? (1.0 - b->tokens) / l->rate : 1.0;

            wait = (int)secs + ((double)(int)secs < secs ? 1 : 0);
            if (wait < 1)
                wait = 1;
        }
    }
    /* Out of memory for a bucket: the caller is let through, not refused. */
    pthread_mutex_unlock(&l->lock);
    return wait;
}
