/* SPDX-License-Identifier: MIT */
/*
 * ctl: the one command vocabulary over the dataplane.
 *
 * Every operation is a named command with a JSON request and a JSON reply:
 *   request  {"cmd": "port/add", "args": {...}, "id": any (optional, echoed)}
 *   reply    {"ok": true, "result": ...}
 *            {"ok": false, "error": {"code": "ENOENT", "message": "..."}}
 * The socket server, the CLI (through the server) and the Lua bindings all
 * call ctl_dispatch(); no operation has a second implementation. Objects are
 * named by name (bridge name, port name = interface name) and mapped to
 * dataplane ids here.
 *
 * Threads: ctl_dispatch() may be called from any thread except the dp loop's;
 * calls are serialised by a mutex, so multi-step commands (isolate, cut of a
 * set of ports) apply as a whole with respect to other commands.
 */
#ifndef TAPYARD_CTL_H
#define TAPYARD_CTL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dp.h"
#include "dp_impair.h"
#include "openas.h"

struct ctl;

/* The longest bridge name, its NUL included. */
#define CTL_BRIDGE_NAME_MAX DP_BRIDGE_NAME_MAX

/* The longest timer spin impair/timer takes (microseconds). */
#define CTL_IMPAIR_SPIN_MAX_US DP_IMPAIR_SPIN_MAX_US

/* The default control socket of the daemon (and of `tapyard ctl`). */
#define CTL_DEFAULT_SOCKET "/run/tapyard/tapyard.sock"

/* Exit codes of every `tapyard` subcommand. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_ERROR = 1, /* the command was refused or failed */
	CTL_EXIT_USAGE = 2, /* bad words or options */
	CTL_EXIT_UNREACHABLE = 3, /* cannot reach the daemon */
};

/*
 * Who may do what: each command is of one class. Root and the daemon's own
 * user may run every command; a member of the daemon's --group may read
 * state and change the lab, never run anything as the daemon (guest/run, a
 * command inside a guest, runs as root) or change the daemon itself
 * (log/set). Files a command writes (capture/start and capture/save paths)
 * are opened with the caller's own rights.
 */
enum ctl_perm {
	CTL_PERM_LAB = 0, /* change the lab: bridges, ports, links, partitions, impairments */
	CTL_PERM_READ, /* read state only */
	CTL_PERM_ADMIN, /* run code or change the daemon, as the daemon's user */
};

/* Who sent a request: the socket server's client (SO_PEERCRED, SO_PEERGROUPS). */
struct ctl_caller {
	bool member; /* admitted as a --group member only (neither root nor the daemon's user) */
	struct openas_cred cred;
};

/*
 * What commands create outside the process (TAPs, tc filters) is told to a
 * record, so that it can be removed after a crash: the daemon's record
 * (daemon/record.h). Both functions return 0 or a negative errno.
 */
struct ctl_record_ops {
	/* Record an object, replacing one of the same kind and name; extra is stolen. */
	int (*add)(void *ctx, const char *kind, const char *name, json_t *extra);
	/* Forget an object its owner deleted. */
	int (*remove)(void *ctx, const char *kind, const char *name);
};

/*
 * ctl_create() - a command dispatcher over dp.
 * @dp: the switch; the caller keeps ownership and must outlive the ctl
 * Return: 0 with *out set, or -ENOMEM.
 */
int ctl_create(struct dp *dp, struct ctl **out);

/* Free the dispatcher (the switch is left alone). NULL is a no-op. */
void ctl_destroy(struct ctl *ctl);

/*
 * ctl_dispatch() - run one request.
 * @request: borrowed; any JSON value (a non-object gets an error reply)
 * Return: a new reference to the reply object, never NULL (out of memory aborts).
 */
json_t *ctl_dispatch(struct ctl *ctl, json_t *request);

/*
 * ctl_dispatch_text() - run one request given as JSON text.
 * @text, @len: the request, without its newline; malformed JSON gets an error reply
 * Return: the reply as compact JSON text (no newline) the caller frees with free().
 */
char *ctl_dispatch_text(struct ctl *ctl, const char *text, size_t len);

/*
 * ctl_call() - run command cmd with args (stolen; NULL means {}).
 * Return: a new reference to the reply, as ctl_dispatch().
 */
json_t *ctl_call(struct ctl *ctl, const char *cmd, json_t *args);

/*
 * ctl_error_reply() - build an error reply.
 * @err: a negative errno; its name ("ENOENT") becomes error.code
 * @fmt: the message, naming the bad field or unknown object
 * Return: a new reference.
 */
json_t *ctl_error_reply(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * ctl_reply_error() - the error of a reply.
 * @code, @message: receive borrowed strings (either may be NULL)
 * Return: 0 when the reply says ok, -EINVAL when it carries an error,
 * -EPROTO when it is not a well-formed reply.
 */
int ctl_reply_error(json_t *reply, const char **code, const char **message);

/*
 * ctl_attach_port() - attach an already opened port (a pair port in tests, or
 * a port Lua built) to a bridge by name; not reachable from the wire.
 * @port: owned by the switch from now on; destroyed on failure
 * @id: receives the port id (may be NULL)
 * Return: 0, -ENOENT (no such bridge), -EEXIST (a port of that name), -ENOSPC.
 */
int ctl_attach_port(struct ctl *ctl, const char *bridge, struct port *port, uint32_t *id);

/*
 * ctl_set_record() - tell ops about every object a command creates or deletes
 * outside the process from now on (the daemon does, before serving).
 * @ops, @ctx: borrowed for the dispatcher's life; NULL ops: record nothing
 */
void ctl_set_record(struct ctl *ctl, const struct ctl_record_ops *ops, void *ctx);

/* The switch this dispatcher drives. */
struct dp *ctl_dp(struct ctl *ctl);

/* The name of a negative errno, "ENOENT" for -ENOENT ("EIO" when unknown). */
const char *ctl_errno_name(int err);

/*
 * ctl_text_may_block() - may request text take long: does it name a command
 * that replies later (guest/run, capture/read), which may wait or build a
 * large reply? For the socket server, which runs those on worker threads.
 * @text, @len: a request line as for ctl_dispatch_text(); malformed: false
 */
bool ctl_text_may_block(const char *text, size_t len);

/*
 * ctl_dispatch_text_as() - ctl_dispatch_text() for a caller, whose command, if
 * it replies later, ends its wait early (with what it has) once *stop is set;
 * the socket server calls it.
 * @caller: who sent it; NULL: this process itself (every class of command)
 * @stop: borrowed for the call; NULL: nobody stops it
 * Return: the reply text, as ctl_dispatch_text(); a command the caller may
 * not run gets an EPERM reply naming it.
 */
char *ctl_dispatch_text_as(struct ctl *ctl, const char *text, size_t len,
			   const struct ctl_caller *caller, const atomic_bool *stop);

#endif
