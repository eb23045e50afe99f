/*
 * libFuzzer driver: one episode as a user sends it (CLI stdin, HTTP body).
 * Parses the bytes as JSON, turns an object into an episode, and the
 * episode back into JSON; every path must end in a clean error or a
 * round trip, never a crash, leak or sanitizer report.
 */
#include "compat.h"

#include "autodev/json.h"
#include "autodev/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ad_episode ep;
    struct ad_err err = AD_ERR_INIT;
    const char *agent_name = NULL;
    json_t *v = NULL, *back;

    if (ad_json_parse((const char *)data, size, 1 << 20, &v, &err))
        return 0;
    ad_episode_init(&ep);
    if (ad_episode_from_json(v, &ep, &agent_name, &err) == 0) {
        back = ad_episode_to_json(&ep);
        if (!back)
            abort();
        json_decref(back);
    } else if (err.msg[0] == '\0') {
        abort();   /* every refusal must say why */
    }
    ad_episode_release(&ep);
    json_decref(v);
    return 0;
}
