/* SPDX-License-Identifier: MIT */
/*
 * ctl_impl: what the dispatcher's command modules share (internal to
 * control/). A module (ctl.c for the core commands; later impairments,
 * captures, guests) defines a table of struct ctl_cmd and lists it in
 * ctl_tables[] in ctl.c; its handlers use the lookups below. The socket
 * server (daemon/server.c) uses the entry points for blocking commands at the end.
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


struct ctl {
	struct dp *dp;
	pthread_mutex_t lock; /* one command at a time */
	uint64_t start_ns;
	/* The daemon's record (ctl_set_record()); NULL ops outside a daemon. */
	const struct ctl_record_ops *record_ops;
	void *record_ctx;
};

/* A command handler: checks args, acts, sets *result (NULL means {}). Returns 0 or -errno. */
typedef int (*ctl_cmd_fn)(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e);

/*
 * A command that may wait long takes its limit as argument CTL_WAIT_ARG
 * (milliseconds, listed in args) or is guest/run (which waits for a process),
 * releases ctl->lock while it waits and ends the wait early once
 * ctl_stop_flag() is set. The socket server runs such requests on worker
 * threads (ctl_text_may_block()), so that it keeps answering other clients
 * meanwhile.
 */
struct ctl_cmd {
	const char *name;
	ctl_cmd_fn fn;
	const char *const *args; /* accepted argument names, NULL-terminated */
};

#define CTL_WAIT_ARG "wait_ms"

struct ctl_cmd_table {
	const struct ctl_cmd *cmds;
	size_t n;
};

#define CTL_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CTL_NO_ARGS ((const char *const[]){NULL})
#define CTL_TABLE(t) {t, sizeof(t) / sizeof((t)[0])}

/* jansson returns NULL only when out of memory: abort with a message. Returns v. */
json_t *ctl_must(json_t *v);

/* Is a record kept (ctl_set_record())? */
bool ctl_recording(const struct ctl *ctl);

/* Tell the record about an object created (extra stolen) or deleted; no-ops without one. */
void ctl_record_add(struct ctl *ctl, const char *kind, const char *name, json_t *extra);
void ctl_record_remove(struct ctl *ctl, const char *kind, const char *name);

/* Describe a dp error that has no more specific message ("what: strerror"). Returns err. */
int ctl_dp_fail(struct ctl_err *e, int err, const char *what);

/* Look up a bridge or port by name; -ENOENT names it ("bridge \"x\" not found"). */
int ctl_find_bridge(struct ctl *ctl, const char *name, uint32_t *id, struct ctl_err *e);
int ctl_find_port(struct ctl *ctl, const char *name, uint32_t *id, struct ctl_err *e);

/* The bridge named by the optional argument "bridge"; *id is DP_ALL when absent. */
int ctl_find_bridge_opt(struct ctl *ctl, json_t *args, uint32_t *id, struct ctl_err *e);

/* dp_port_info() with an error message. */
int ctl_port_info(struct ctl *ctl, uint32_t id, struct dp_port_info *pi, struct ctl_err *e);

/*
 * ctl_stop_flag() - the stop flag of the request this thread is running, as
 * given to ctl_dispatch_text_stop(): a blocking command ends its wait early
 * once it is set. Return: the flag, or NULL (nobody will stop the request).
 */
const atomic_bool *ctl_stop_flag(void);

/*
 * ctl_text_may_block() - may request text wait long: does it name guest/run,
 * or a command that takes CTL_WAIT_ARG with a non-zero integer there? For
 * the socket server, which runs those on worker threads.
 * @text, @len: a request line as for ctl_dispatch_text(); malformed: false
 */
bool ctl_text_may_block(const char *text, size_t len);

/*
 * ctl_dispatch_text_stop() - ctl_dispatch_text() that a blocking command ends
 * early (with what it has) once *stop is set; the socket server's workers
 * call it.
 * @stop: borrowed for the call; NULL: as ctl_dispatch_text()
 * Return: the reply text, as ctl_dispatch_text().
 */
char *ctl_dispatch_text_stop(struct ctl *ctl, const char *text, size_t len,
			     const atomic_bool *stop);

#endif
