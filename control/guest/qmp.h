/* SPDX-License-Identifier: MIT */
/*
 * qmp: a small client of QEMU's machine protocol (QMP) over a unix socket.
 * It connects (with a caller's rights, through openas), reads the greeting,
 * negotiates capabilities and runs commands one at a time, waiting for the
 * reply whose id is the command's. Asynchronous events that arrive meanwhile
 * are never taken for replies: the last QMP_EVENTS_MAX of them are kept for
 * whoever wants them. Every wait has a deadline, every line a size limit, and
 * every error message names the socket (and QEMU's error class and text).
 */
#ifndef TAPYARD_QMP_H
#define TAPYARD_QMP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "openas.h"

struct qmp;

/* The longest line (one JSON message) read from QEMU, its newline included. */
#define QMP_LINE_MAX (256 * 1024)

/* How many asynchronous events are kept (the oldest is dropped first). */
#define QMP_EVENTS_MAX 64

/* The default wait for a greeting or a reply (milliseconds). */
#define QMP_TIMEOUT_MS 5000

/* Why a call failed, for a person: names the socket, and QEMU's error class and text. */
struct qmp_error {
	char msg[512];
};

/*
 * qmp_open() - connect to the QMP socket at path, read the greeting, run qmp_capabilities.
 * @cred: whose rights to connect with (openas_connect()); NULL: this process's own
 * @timeout_ms: the longest wait for each greeting or reply
 * Return: 0 with *out set, or a negative errno with e filled: -ELOOP (a
 * symbolic link), -EACCES, -ENOENT, -ECONNREFUSED, -ETIMEDOUT (no greeting),
 * -EPROTO (not QMP), -EMSGSIZE (a line longer than QMP_LINE_MAX).
 */
int qmp_open(const char *path, const struct openas_cred *cred, int timeout_ms, struct qmp **out,
	     struct qmp_error *e);

/*
 * qmp_open_fd() - qmp_open() over a connected stream socket.
 * @fd: taken over (closed by qmp_close(), or here on failure)
 * @name: what error messages call the peer (the socket's path)
 */
int qmp_open_fd(int fd, const char *name, int timeout_ms, struct qmp **out, struct qmp_error *e);

/*
 * qmp_execute() - run a QMP command and wait for its reply.
 * @args: the command's "arguments" (stolen; NULL: none)
 * @ret: receives a new reference to the "return" value (may be NULL: dropped)
 * Return: 0; -EREMOTEIO when QEMU answered with an error (e says its class and
 * text); -ETIMEDOUT, -EPROTO, -EMSGSIZE, -ECONNRESET (QEMU closed the socket),
 * or another negative errno.
 */
int qmp_execute(struct qmp *q, const char *cmd, json_t *args, json_t **ret, struct qmp_error *e);

/*
 * qmp_set_link() - set_link: the guest's NIC of netdev or device name sees its
 * link up or down. Return: as qmp_execute().
 */
int qmp_set_link(struct qmp *q, const char *name, bool up, struct qmp_error *e);

/*
 * qmp_getfd() - getfd: hand QEMU a copy of fd (SCM_RIGHTS with the command),
 * known to it as fdname (for netdev_add's "fd"). fd stays the caller's.
 * Return: as qmp_execute().
 */
int qmp_getfd(struct qmp *q, const char *fdname, int fd, struct qmp_error *e);

/*
 * qmp_take_events() - the events received so far (the last QMP_EVENTS_MAX),
 * oldest first; the client forgets them. Return: a new reference to an array.
 */
json_t *qmp_take_events(struct qmp *q);

/* Close the connection and free the client. NULL is a no-op. */
void qmp_close(struct qmp *q);

#endif
