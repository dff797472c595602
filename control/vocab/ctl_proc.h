/* SPDX-License-Identifier: MIT */
/*
 * ctl_proc: background processes in guests (what vm:run_async starts).
 *
 *   proc/start       {guest, cmd | argv, env?, cwd?, max_output?} -> {id, guest, pid}
 *   proc/wait        {id, timeout_ms?} -> {exit_code, status, signal, timed_out, stdout,
 *                    stderr, ...} as guest/run; at timeout_ms the process group is killed
 *                    and the reply says timed_out (Provium's proc:wait(t))
 *   proc/info        {id, output?} -> {id, guest, pid, running, stdout, stderr, and once it
 *                    ended: exit_code, status, signal}; output=false leaves stdout/stderr out
 *   proc/signal      {id, signal}  to the process's group
 *   proc/write       {id, data} -> {written}   to its stdin
 *   proc/close_stdin {id}
 *   proc/release     {id}          kill it if it runs, and forget it
 *   proc/list        {} -> [{id, guest, pid, running}]
 *
 * A process's stdout and stderr go to memory files (not pipes), so nothing
 * has to drain them while nobody asks; replies carry at most max_output
 * bytes (default 1 MiB) of each, from the start. A process lives until
 * proc/release or the dispatcher's end (deleting its guest kills it but
 * keeps its entry, so that its output stays readable).
 */
#ifndef TAPYARD_CTL_PROC_H
#define TAPYARD_CTL_PROC_H

#include "ctl_impl.h"

#define CTL_PROC_NCMDS 8

/* The command table (listed in ctl_tables[] in ctl.c). */
extern const struct ctl_cmd ctl_proc_cmds[CTL_PROC_NCMDS];

/* Kill and forget every process of ctl (ctl_destroy() calls it). */
void ctl_proc_release(struct ctl *ctl);

#endif
