/* SPDX-License-Identifier: MIT */
/* cmdq: commands the command side posts for the loop thread to run (see struct dp_cmd). */
#ifndef TAPYARD_CMDQ_H
#define TAPYARD_CMDQ_H

#include "dp_internal.h"

/*
 * cmdq_call() - run cmd on the loop thread (or inline when the loop is not
 * running) and wait for it.
 * Return: what cmd->fn returned.
 */
int cmdq_call(struct dp *dp, struct dp_cmd *cmd);

/* cmdq_drain() - run every queued command (loop thread, after a batch that saw the wake-up). */
void cmdq_drain(struct dp *dp);

/* cmdq_loop_started() - the loop thread set up (err 0) or failed: wake dp_start(). */
void cmdq_loop_started(struct dp *dp, int err);

/* cmdq_loop_stopped() - the loop thread is done: run what is queued inline, and all from now on. */
void cmdq_loop_stopped(struct dp *dp);

#endif
