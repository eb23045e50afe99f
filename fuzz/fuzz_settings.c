/*
 * libFuzzer driver: the auto_dev settings block (API body, stored JSON).
 * A refused document must leave the settings untouched; an accepted one
 * must validate and survive a round trip unchanged.
 */
#include "compat.h"

#include "autodev/json.h"
#include "autodev/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ad_settings s, before, again;
    struct ad_err err = AD_ERR_INIT;
    json_t *v = NULL, *back;

    if (ad_json_parse((const char *)data, size, 1 << 16, &v, &err))
        return 0;
    ad_settings_defaults(&s);
    before = s;
    if (ad_settings_from_json(&s, v, &err) != 0) {
        if (memcmp(&s, &before, sizeof(s)) != 0)
            abort();   /* a refused write changed something */
    } else {
        if (ad_settings_validate(&s, &err) != 0)
            abort();
        back = ad_settings_to_json(&s);
        ad_settings_defaults(&again);
        if (!back || ad_settings_from_json(&again, back, &err) != 0 ||
            memcmp(&s, &again, sizeof(s)) != 0)
            abort();
        json_decref(back);
    }
    json_decref(v);
    return 0;
}
