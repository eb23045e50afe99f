/*
 * Agents' work as it enters autodev: recording episodes.
 *
 * ad_episode_record() is flow 1 of DESIGN.md: store the episode and emit
 * task.fail or task.success on the bus, in one transaction, so a crash
 * leaves either both or neither.
 */
#ifndef AUTODEV_AGENT_H
#define AUTODEV_AGENT_H

#include "autodev/error.h"
#include "autodev/store.h"

struct ad_bus;

/*
 * Inserts ep (tenant_id and agent_id set by the caller) and emits the
 * outcome event with payload {"episode_id", "agent_id", "task_kind",
 * "task_description", "success", "error_type"}. error_type is the exception
 * name on the last non-empty line of error_trace ("KeyError: 'x'" gives
 * "KeyError"; a Python traceback ends with that line), or null.
 */
int ad_episode_record(struct ad_store *st, struct ad_bus *bus, struct ad_episode *ep,
                      struct ad_err *err);

#endif
