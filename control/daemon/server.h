/* SPDX-License-Identifier: MIT */
/*
 * server: the control socket. A SOCK_STREAM Unix socket speaking
 * newline-delimited JSON: one request per line in, one reply per line out,
 * each request handed to ctl_dispatch().
 *
 * One thread runs server_run(), a poll() loop over non-blocking sockets
 * with a buffer per client, so a client that sends nothing, sends too much or
 * disconnects mid-reply never blocks the server. A request for a command that
 * may take long (one that replies later: capture/read, guest/run) runs on a
 * worker thread of its own, at most SERVER_MAX_BLOCKING at once, so other
 * clients are answered meanwhile; each client's replies still come in the
 * order of its requests.
 * The dataplane runs on its own thread and is never blocked by the server.
 */
#ifndef TAPYARD_SERVER_H
#define TAPYARD_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include "ctl.h"

#define SERVER_LINE_MAX 65536 /* longest request line, newline excluded */
#define SERVER_DEFAULT_CLIENTS 128 /* clients connected at once */
#define SERVER_OWNER_RESERVE 8 /* more for root and the daemon's user, beyond that */
#define SERVER_OUT_BUDGET (64u << 20) /* unread replies of all clients together, at most */
#define SERVER_TRIM_OVER \
	(1u << 20) /* closing a client whose output grew past this trims the heap */
#define SERVER_LINE_MS 10000 /* a client that starts a line must finish it this soon */
#define SERVER_PER_UID_SHARE 4 /* another user may hold 1/4 of the clients at most */
#define SERVER_MAX_BLOCKING 16 /* blocking requests running at once; beyond: EBUSY */

struct server;

/* Server options; zero fields take the defaults. */
struct server_opts {
	unsigned int max_clients; /* SERVER_DEFAULT_CLIENTS (others; root has a reserve beyond) */
	bool group_set; /* socket mode 0660 and group gid, whose members may connect */
	gid_t group;
	unsigned int line_ms; /* a request line must be finished this soon (SERVER_LINE_MS) */
	size_t out_budget; /* replies queued, unread, for all clients (SERVER_OUT_BUDGET) */
};

/*
 * server_probe() - is a server already listening on path?
 * Return: 0 when path is free or a stale socket, -EADDRINUSE when a server
 * answers, -ENOTSOCK when path exists and is not a socket, -ENAMETOOLONG.
 */
int server_probe(const char *path);

/*
 * server_create() - listen on path (mode 0600), replacing a stale socket.
 * Only root and the server's own uid may talk to it (SO_PEERCRED); with
 * opts->group_set, the socket is mode 0660 owned by that group, and members
 * of the group (primary or supplementary) may talk to it too.
 * @opts: may be NULL
 * Return: 0 with *out set, or a negative errno (-EADDRINUSE: a live server).
 */
int server_create(struct ctl *ctl, const char *path, const struct server_opts *opts,
		  struct server **out);

/*
 * server_run() - serve clients until stop_fd becomes readable (it is not read).
 * @stop_fd: a signalfd or eventfd, or -1 to serve forever
 * Return: 0 when stopped, or a negative errno from poll().
 */
int server_run(struct server *srv, int stop_fd);

/*
 * server_destroy() - close every client and the socket and remove the
 * socket file; blocking requests still running are told to stop and their
 * workers joined (a capture/read wait ends within milliseconds). NULL is a no-op.
 */
void server_destroy(struct server *srv);

#endif
