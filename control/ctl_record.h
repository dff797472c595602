/* SPDX-License-Identifier: MIT */
/*
 * ctl_record: what a running daemon owns outside its own process, kept in a
 * JSON file next to its control socket (/run/tapyard/NAME.sock ->
 * /run/tapyard/NAME.state), rewritten atomically (write, then rename) on
 * every change:
 *
 *   {"pid": 1234, "starttime": 5678, "socket": "...", "pidfile": "..." | null,
 *    "objects": [{"kind": "tap", "name": "vm-a1", "extra": {...}}, ...]}
 *
 * Modules register what they create (ctl->record, see ctl_impl.h) and
 * unregister it when they delete it. After a daemon died without cleaning up
 * (kill -9), `tapyard cleanup` reads the record and removes every object that
 * still exists, through one handler per kind:
 *
 *   kind "tap"    name: interface name; extra {"netns": NAME?} (absent: the
 *                 host namespace). Deleted only if it still is a TAP.
 *   kind "netns"  name: a named network namespace (/run/netns/NAME).
 *   kind "tc"     name: any label; extra {"ifname": IF, "netns": NAME?,
 *                 "parent": "ingress"|"egress", "pref": N?, "handle": N?}:
 *                 `tc filter del dev IF PARENT [pref N [handle H bpf]]`.
 *
 * A module with another kind of object adds a row to ctl_record_kinds[] in
 * ctl_record.c. Every function may be called from any thread.
 */
#ifndef TAPYARD_CTL_RECORD_H
#define TAPYARD_CTL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

struct ctl_record;

/*
 * ctl_record_path() - the record file of a control socket: the socket path
 * with ".sock" replaced by ".state" (or ".state" appended).
 * Return: 0, or -ENAMETOOLONG when it does not fit in len bytes.
 */
int ctl_record_path(const char *socket, char *buf, size_t len);

/*
 * ctl_record_create() - start the record of this process and write it.
 * @socket: the daemon's control socket (names the record file)
 * @pidfile: the daemon's pidfile, or NULL
 * Return: 0 with *out set, or a negative errno (the file cannot be written).
 */
int ctl_record_create(const char *socket, const char *pidfile, struct ctl_record **out);

/*
 * ctl_record_add() - record an object, replacing one of the same kind and name.
 * @rec: NULL (no daemon, nothing is recorded) makes this a no-op returning 0
 * @extra: stolen; NULL means {}
 * Return: 0, or a negative errno when the file could not be rewritten (the
 * object stays recorded in memory and is written with the next change).
 */
int ctl_record_add(struct ctl_record *rec, const char *kind, const char *name, json_t *extra);

/*
 * ctl_record_remove() - forget an object (it was deleted by its owner).
 * @rec: NULL makes this a no-op returning 0
 * Return: 0, -ENOENT (not recorded), or a negative errno from rewriting the file.
 */
int ctl_record_remove(struct ctl_record *rec, const char *kind, const char *name);

/*
 * ctl_record_names() - the names recorded under kind.
 * Return: a new JSON array of strings (empty for a NULL rec).
 */
json_t *ctl_record_names(struct ctl_record *rec, const char *kind);

/*
 * ctl_record_destroy() - the daemon stops cleanly: remove objects still
 * recorded (their owners should have removed them; each one found is
 * reported on the log), delete the record file and free. NULL is a no-op.
 */
void ctl_record_destroy(struct ctl_record *rec);

/*
 * ctl_record_cleanup() - remove the leftovers of a daemon that died.
 * @socket: the dead daemon's control socket
 * @report: receives one line per object removed ("removed tap vm-a1"), or NULL
 * Return: 0 (done, or nothing recorded), -EBUSY (the recorded daemon is still
 * running, or a server answers on the socket), or the first negative errno of
 * an object that could not be removed (the others are still tried; the record
 * is kept so that a later run can retry).
 */
int ctl_record_cleanup(const char *socket, FILE *report);

/*
 * ctl_record_owner() - the pid of the live daemon a record names.
 * Return: the pid, 0 when there is no record or its daemon is dead, or a
 * negative errno (-EBADMSG: not a record).
 */
int ctl_record_owner(const char *socket);

/*
 * ctl_record_write_file() - write text to path atomically: a temporary file in
 * the same directory, then rename over path.
 * Return: 0 or a negative errno.
 */
int ctl_record_write_file(const char *path, const char *text, mode_t mode);

#endif
