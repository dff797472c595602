/* SPDX-License-Identifier: MIT */
/*
 * openas: open a file, or connect to a unix socket, with another user's
 * rights. The daemon runs as root but must never open a file (or connect to
 * a socket, which is opening it too) on a client's behalf with more rights
 * than the client has: a short-lived child process takes the client's uid,
 * gid and groups, opens or connects (never through a symbolic link at the
 * last component) and hands the fd back over a socketpair (SCM_RIGHTS).
 */
#ifndef TAPYARD_OPENAS_H
#define TAPYARD_OPENAS_H

#include <stddef.h>
#include <sys/types.h>

#define OPENAS_GROUPS 64

/* Whose rights to open with. */
struct openas_cred {
	uid_t uid;
	gid_t gid;
	size_t ngroups; /* supplementary groups, at most OPENAS_GROUPS */
	gid_t groups[OPENAS_GROUPS];
};

/*
 * openas_open() - open(2) path as cred would, with O_NOFOLLOW and O_CLOEXEC added.
 * @cred: NULL opens with this process's own rights
 * Return: the fd, or a negative errno (-ELOOP for a symbolic link, -EACCES
 * where cred may not write).
 */
int openas_open(const struct openas_cred *cred, const char *path, int flags, mode_t mode);

/*
 * openas_connect() - connect a stream socket to the unix socket at path as
 * cred would. The path is opened with O_PATH|O_NOFOLLOW and the socket
 * reached through /proc/self/fd, so a symbolic link in its last component
 * is refused and nothing can swap the inode between check and connect.
 * @cred: NULL connects with this process's own rights
 * Return: the connected socket (non-blocking, close-on-exec), or a negative
 * errno: -ELOOP (a symbolic link), -ENOTSOCK, -EACCES, -ENOENT,
 * -ECONNREFUSED, -EAGAIN (the listener's backlog is full).
 */
int openas_connect(const struct openas_cred *cred, const char *path);

#endif
