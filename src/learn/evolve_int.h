/*
 * What AlphaEvolver and the evolution research mode share inside module
 * learn: applying a model's reply to a skill's code.
 */
#ifndef AUTODEV_LEARN_EVOLVE_INT_H
#define AUTODEV_LEARN_EVOLVE_INT_H

#include <stdbool.h>

#include "autodev/buf.h"
#include "autodev/error.h"

/*
 * Applies a reply to code: its SEARCH/REPLACE (or diff, or whole-file)
 * blocks, which must name skill.py or no file; or, with no block in it,
 * the whole entry function it holds. *out is a new buffer on success.
 */
int ad__alpha_apply_reply(const char *code, const char *entry, const char *reply,
                          struct ad_buf *out, struct ad_err *err);

struct ad_store;
struct ad_tool_mutation;

/*
 * AlphaEvolver's rule for skipping the human: an AUTONOMOUS agent, the
 * workspace's background_evolution on, the patch risk below HIGH. *yes
 * false (and 0) when any is missing.
 */
int ad__alpha_may_auto_promote(struct ad_store *st, const char *tenant_id, const char *agent_id,
                               bool background_evolution, const struct ad_tool_mutation *m,
                               bool *yes, struct ad_err *err);

#endif
