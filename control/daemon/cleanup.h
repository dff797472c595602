/* SPDX-License-Identifier: MIT */
/*
 * cleanup: `tapyard cleanup`, for after a daemon was killed: remove what it
 * left behind, as its record lists it (see record.h).
 */
#ifndef TAPYARD_CLEANUP_H
#define TAPYARD_CLEANUP_H

#include <stdio.h>
#include <sys/types.h>

/* A function that clears socket's leftovers, reporting each removal (record_take_over, cleanup_socket). */
typedef int (*cleanup_fn)(const char *socket, FILE *report, pid_t *owner);

/*
 * cleanup_socket() - remove the leftovers of a daemon that died, after checking
 * once that no server answers on its socket.
 * @socket: the dead daemon's control socket
 * @report: receives one line per thing removed ("removed tap vm-a1")
 * @owner: receives the pid of the record's daemon when it still runs, else 0
 * Return: as record_take_over(), or -EADDRINUSE (a server answers on the
 * socket; nothing was touched).
 */
int cleanup_socket(const char *socket, FILE *report, pid_t *owner);

/*
 * cleanup_report() - run fn on socket with its report into *text (to free).
 * Return: what fn returned, or a negative errno when no report can be kept.
 */
int cleanup_report(cleanup_fn fn, const char *socket, pid_t *owner, char **text);

/*
 * cleanup_main() - run `tapyard cleanup`.
 * @argv: argv[0] is "cleanup", the rest as typed
 * Return: 0 cleaned up (or nothing to do), 1 the daemon still runs or something
 * could not be removed, 2 on usage errors.
 */
int cleanup_main(int argc, char **argv);

#endif
