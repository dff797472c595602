/* SPDX-License-Identifier: MIT */
/*
 * record: what a running daemon owns outside its own process, kept in a
 * JSON file next to its control socket (/run/tapyard/NAME.sock ->
 * /run/tapyard/NAME.state), rewritten atomically (write, then rename) on
 * every change:
 *
 *   {"pid": 1234, "starttime": 5678, "socket": "...", "pidfile": "..." | null,
 *    "objects": [{"kind": "tap", "name": "vm-a1", "extra": {...}}, ...]}
 *
 * Modules register what they create (ctl->record, see ctl_impl.h) before it
 * can outlive the daemon, and unregister it once they deleted it. After a
 * daemon died without cleaning up (kill -9), `tapyard cleanup` reads the
 * record and removes every object that still exists, through one handler per
 * kind:
 *
 *   kind "tap"    name: interface name; extra {"netns": NAME?} (absent: the
 *                 host namespace). Deleted only if it still is a TAP.
 *   kind "netns"  name: a named network namespace (/run/netns/NAME).
 *   kind "tc"     name: any label; extra {"ifname": IF, "netns": NAME?,
 *                 "parent": "ingress"|"egress", "pref": N?, "handle": N?}:
 *                 `tc filter del dev IF PARENT [pref N [handle H bpf]]`.
 *
 * A module with another kind of object adds a row to record_kinds[] in
 * record.c. Every function may be called from any thread.
 */
#ifndef TAPYARD_RECORD_H
#define TAPYARD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "ctl.h"

struct record;

/*
 * record_path() - the record file of a control socket: the socket path
 * with ".sock" replaced by ".state" (or ".state" appended).
 * Return: 0, or -ENAMETOOLONG when it does not fit in len bytes.
 */
int record_path(const char *socket, char *buf, size_t len);

/* record_lock_path() - the lock file of a control socket: its path with ".lock" added. */
void record_lock_path(const char *socket, char *buf, size_t len);

/*
 * record_dir_check() - is the directory of socket fit for a root daemon's
 * socket, lock, record and pidfile? It must be a directory (not a link),
 * owned by root or this user and writable by nobody else, and so must its
 * ancestors (but a sticky one such as /tmp), as sshd's StrictModes wants.
 * @create: make it (mode 0755, one level) when it is missing
 * @why: receives what is wrong
 * Return: 0, -EPERM, -ENOTDIR or another negative errno.
 */
int record_dir_check(const char *socket, bool create, char *why, size_t len);

/*
 * record_create() - start the record of this process and write it.
 * @socket: the daemon's control socket (names the record file)
 * @pidfile: the daemon's pidfile, or NULL
 * Return: 0 with *out set, or a negative errno (the file cannot be written).
 */
int record_create(const char *socket, const char *pidfile, struct record **out);

/*
 * record_add() - record an object, replacing one of the same kind and name.
 * @rec: NULL (no daemon, nothing is recorded) makes this a no-op returning 0
 * @extra: stolen; NULL means {}
 * Return: 0, or a negative errno when the file could not be rewritten (the
 * object stays recorded in memory and is written with the next change).
 */
int record_add(struct record *rec, const char *kind, const char *name, json_t *extra);

/*
 * record_remove() - forget an object (it was deleted by its owner).
 * @rec: NULL makes this a no-op returning 0
 * Return: 0, -ENOENT (not recorded), or a negative errno from rewriting the file.
 */
int record_remove(struct record *rec, const char *kind, const char *name);

/*
 * record_destroy() - the daemon stops cleanly: remove objects still
 * recorded (their owners should have removed them; each one found is
 * reported on the log), delete the record file and free. NULL is a no-op.
 */
void record_destroy(struct record *rec);

/*
 * record_owner() - the pid of socket's record's daemon when it still runs.
 * @owner: receives that pid, else 0
 * @report: receives why a record is not trusted (may be NULL)
 * Return: 0, -ENOENT (no record), -EBADMSG (not a record), -EPERM (not
 * trusted) or a negative errno.
 */
int record_owner(const char *socket, pid_t *owner, FILE *report);

/*
 * record_take_over() - remove the leftovers of a dead daemon on socket, as its
 * record lists them, then its socket, pidfile and record. The caller has
 * checked that no server answers on the socket (cleanup_socket() does).
 * @report: receives one line per thing removed ("removed tap vm-a1")
 * @owner: receives the pid of the record's daemon when it still runs, else 0
 * Return: 0 (done, or nothing recorded), -EBUSY (the record's daemon still
 * runs), -EBADMSG (not a record), or the first negative errno of an object
 * that could not be removed (the others are still tried; the record is kept
 * so that a later run can retry). -EBUSY and -EBADMSG leave everything as it was.
 */
int record_take_over(const char *socket, FILE *report, pid_t *owner);

/*
 * record_write_file() - write text to path atomically: a temporary file in
 * the same directory, then rename over path.
 * Return: 0 or a negative errno.
 */
int record_write_file(const char *path, const char *text, mode_t mode);

/* record_ops: record_add() and record_remove() for ctl_set_record(), with the record as ctx. */
extern const struct ctl_record_ops record_ops;

#endif
