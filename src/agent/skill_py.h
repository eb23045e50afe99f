/*
 * What skill_bundle.c borrows from skill_schema.c (internal to src/agent).
 */
#ifndef AD_AGENT_SKILL_PY_H
#define AD_AGENT_SKILL_PY_H

#include <stddef.h>

#include "autodev/buf.h"
#include "autodev/error.h"

/*
 * Appends the source text of the top-level "def entry(...):" in code, from
 * "def" (or "async") to its colon, to out. AD_ENOTFOUND when code has no
 * such function, AD_EINVAL when its signature cannot be read.
 */
int ad__skill_signature(const char *code, size_t len, const char *entry, struct ad_buf *out,
                        struct ad_err *err);

#endif
