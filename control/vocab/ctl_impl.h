/* SPDX-License-Identifier: MIT */
/*
 * ctl_impl: what the dispatcher's command modules share (internal to
 * control/vocab/). A module (ctl_core.c, ctl_impair.c, ctl_capture.c,
 * ctl_guest.c) defines a table of struct ctl_cmd and is listed in
 * ctl_tables[] in ctl.c; its handlers use the lookups below (ctl_impl.c).
 */
#ifndef TAPYARD_CTL_IMPL_H
#define TAPYARD_CTL_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_args.h"
#include "dp_impair.h"
#include "impair.h"

struct capset;
struct ctl_guests;
struct ctl_links;
struct ctl_procs;

/* Scratch space of the commands of one dispatcher (they run one at a time, under its lock). */
struct ctl_scratch {
	struct dp_path paths[2 * DP_MAX_PORTS * DP_MAX_PORTS]; /* partition cut/heal */
	struct dp_path cut[DP_MAX_PORTS * DP_MAX_PORTS]; /* partition list */
	struct dp_impair_entry impairs[DP_IMPAIR_MAX]; /* impair/list */
	struct impair_step steps[DP_IMPAIR_MAX_STEPS]; /* impair/schedule */
};

/*
 * One dispatcher: everything its commands keep lives here, never in the
 * process. The lock is recursive because a command may run others through
 * ctl_call() (guest/attach runs port/add); no handler ever releases it.
 */
struct ctl {
	struct dp *dp;
	pthread_mutex_t lock; /* one command at a time */
	unsigned int depth; /* ctl_dispatch() calls holding the lock (under it) */
	uint64_t start_ns;
	/* The daemon's record (ctl_set_record()); NULL ops outside a daemon. */
	const struct ctl_record_ops *record_ops;
	void *record_ctx;
	struct capset *capset; /* the captures (ctl_capture.c), made by the first one */
	struct ctl_guests *guests; /* the guests (ctl_guest.c), made by the first one */
	struct ctl_links *links; /* the ports' QMP sockets (ctl_link.c), made by the first one */
	struct ctl_procs *procs; /* background processes (ctl_proc.c), made by the first one */
	unsigned int port_seq; /* names of guest NICs made without a name */
	const struct ctl_caller *caller; /* who sent the request running now; NULL: this process */
	struct ctl_scratch *scratch;
};

/* A command handler: checks args, acts, sets *result (NULL means {}). Returns 0 or -errno. */
typedef int (*ctl_cmd_fn)(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e);

/*
 * A command that must wait (for frames, for a process) replies later, as Open
 * vSwitch's unixctl commands do: its start function runs under the lock like
 * any handler, checks args, starts what it waits for and fills a struct
 * ctl_later. The dispatcher then calls wait() without the lock (so other
 * commands run meanwhile) and finish() under the lock again, which builds the
 * reply. A nested call (ctl_call() from a handler) cannot drop a lock its
 * caller holds, so there wait() runs with the lock held.
 */
struct ctl_later {
	/* Wait; end early once *stop is set (stop may be NULL). Returns 0 or -errno.
	 * NULL: nothing to wait for, finish at once holding the lock. */
	int (*wait)(struct ctl_later *l, const atomic_bool *stop);
	/* Build the reply after wait (err is what it returned); frees what start made. */
	int (*finish)(struct ctl *ctl, struct ctl_later *l, int err, json_t **result,
		      struct ctl_err *e);
	void *state; /* start's, for wait and finish */
};

/* A command that replies later: as ctl_cmd_fn, but it fills *later instead of *result. */
typedef int (*ctl_start_fn)(struct ctl *ctl, json_t *args, struct ctl_later *later,
			    struct ctl_err *e);

/*
 * A command of the vocabulary: fn, or start for one that replies later. A
 * command that may wait long takes its limit as argument CTL_WAIT_ARG
 * (milliseconds, listed in args) or is guest/run; the socket server runs
 * such requests on worker threads (ctl_text_may_block()), so that it keeps
 * answering other clients meanwhile.
 */
struct ctl_cmd {
	const char *name;
	ctl_cmd_fn fn;
	const char *const *args; /* accepted argument names, NULL-terminated */
	ctl_start_fn start; /* instead of fn: replies later */
	enum ctl_perm perm; /* who may run it (ctl.h) */
};

/*
 * Table rows: a command that changes the lab (CTL_CMD), reads state only
 * (CTL_READ), runs as the daemon (CTL_ADMIN), or replies later (CTL_LATER,
 * of class p).
 */
/* clang-format off */
#define CTL_CMD(n, f, a) {.name = (n), .fn = (f), .args = (a), .perm = CTL_PERM_LAB}
#define CTL_READ(n, f, a) {.name = (n), .fn = (f), .args = (a), .perm = CTL_PERM_READ}
#define CTL_ADMIN(n, f, a) {.name = (n), .fn = (f), .args = (a), .perm = CTL_PERM_ADMIN}
#define CTL_LATER(n, s, a, p) {.name = (n), .args = (a), .start = (s), .perm = (p)}
/* clang-format on */

#define CTL_WAIT_ARG "wait_ms"

struct ctl_cmd_table {
	const struct ctl_cmd *cmds;
	size_t n;
};

#define CTL_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CTL_NO_ARGS ((const char *const[]){NULL})
#define CTL_TABLE(t)                          \
	{                                     \
		t, sizeof(t) / sizeof((t)[0]) \
	}

/* jansson returns NULL only when out of memory: abort with a message. Returns v. */
json_t *ctl_must(json_t *v);

/* Is a record kept (ctl_set_record())? */
bool ctl_recording(const struct ctl *ctl);

/* Tell the record about an object created (extra stolen) or deleted; no-ops without one. */
void ctl_record_add(struct ctl *ctl, const char *kind, const char *name, json_t *extra);
void ctl_record_remove(struct ctl *ctl, const char *kind, const char *name);

/*
 * ctl_open_file() - open path for writing (created, truncated) with the rights
 * of the request's caller: a --group member's file is opened by a child
 * process that has the member's uid and groups (openas.h), never through a
 * symbolic link.
 * @what: how the error begins ("cannot write"); the path and the reason follow
 * Return: the fd, or a negative errno with e naming path.
 */
int ctl_open_file(struct ctl *ctl, const char *path, const char *what, struct ctl_err *e);

/* Describe a dp error that has no more specific message ("what: strerror"). Returns err. */
int ctl_dp_fail(struct ctl_err *e, int err, const char *what);

/* Look up a bridge or port by name; -ENOENT names it ("bridge \"x\" not found"). */
int ctl_find_bridge(struct ctl *ctl, const char *name, uint32_t *id, struct ctl_err *e);
int ctl_find_port(struct ctl *ctl, const char *name, uint32_t *id, struct ctl_err *e);

/* The bridge named by the optional argument "bridge"; *id is DP_ALL when absent. */
int ctl_find_bridge_opt(struct ctl *ctl, json_t *args, uint32_t *id, struct ctl_err *e);

/* dp_port_info() with an error message. */
int ctl_port_info(struct ctl *ctl, uint32_t id, struct dp_port_info *pi, struct ctl_err *e);

#endif
