/*
 * libFuzzer driver: ISO-8601 timestamps (run_after, stored rows). Any text
 * the parser accepts must format back to a string that parses to the same
 * instant.
 */
#include "compat.h"

#include "autodev/clock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[64], iso[AD_TIME_SIZE];
    int64_t ms, again;

    if (size >= sizeof(text))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (ad_time_parse(text, &ms) != 0)
        return 0;
    ad_time_iso(ms, iso);
    if (ad_time_parse(iso, &again) != 0 || again != ms)
        abort();
    return 0;
}
