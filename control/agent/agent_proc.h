/* SPDX-License-Identifier: MIT */
/*
 * agent_proc: the guest agent's background processes (vm:run_async in QEMU
 * guests), through the same guest_proc_*() the host's namespace guests use.
 * A table of processes by id, shared by the agent's reader and its waiting
 * threads (one lock; a proc_wait holds a reference without it).
 *
 *   proc_start       {cmd | argv, env?, cwd?, max_output?} -> {id, pid}
 *   proc_wait        {id, timeout_ms}   -> {exited}  (at most 60 s: the host waits longer
 *                                                    in slices, so no thread outlives it)
 *   proc_info        {id, output?, timed_out?} -> {running, status, stdout, stderr, and
 *                                                  once it ended: exit_code, signal, ...}
 *   proc_signal      {id, signal}       to its process group
 *   proc_write       {id, data} -> {written}
 *   proc_close_stdin {id}
 *   proc_release     {id}               kill it if it runs, and forget it
 */
#ifndef TAPYARD_AGENT_PROC_H
#define TAPYARD_AGENT_PROC_H

#include "agent_proto.h"

#define AGENT_PROC_MAX 256 /* processes at once */
#define AGENT_PROC_WAIT_MAX_MS 60000 /* longest proc_wait */

struct agent_procs;

/* A new, empty table; NULL when out of memory. */
struct agent_procs *agent_procs_new(void);

/* Kill every process and free the table (no proc_wait may be running). NULL is a no-op. */
void agent_procs_destroy(struct agent_procs *t);

/*
 * agent_proc_exec() - carry out a proc_* request (proc_wait blocks: call it
 * in a thread of its own).
 * Return: 0 with *result set (may stay NULL for {}), or a negative errno with e filled.
 */
int agent_proc_exec(struct agent_procs *t, const struct agent_req *req, json_t **result,
		    struct agent_err *e);

#endif
