/* SPDX-License-Identifier: MIT */
/*
 * cli_client: a blocking client of the control socket (the CLI, and Lua
 * driving a running daemon). Sends one request line, reads one reply line.
 */
#ifndef TAPYARD_CLI_CLIENT_H
#define TAPYARD_CLI_CLIENT_H

#include <jansson.h>

struct cli_client;

/*
 * cli_client_connect() - connect to the daemon's socket at path.
 * @timeout_ms: how long a call may wait for its reply (0: forever)
 * Return: 0 with *out set, or a negative errno (-ENOENT: no socket,
 * -ECONNREFUSED: nobody listening, -EACCES, -ENAMETOOLONG).
 */
int cli_client_connect(const char *path, int timeout_ms, struct cli_client **out);

/*
 * cli_client_call() - send request (borrowed) and wait for its reply.
 * Return: 0 with *reply set (a new reference; it may carry an error), or a
 * negative errno: -ECONNRESET (the daemon closed the connection), -ETIMEDOUT,
 * -EPROTO (the reply was not JSON), -EMSGSIZE (the reply was too long).
 */
int cli_client_call(struct cli_client *c, json_t *request, json_t **reply);

/* Close the connection. NULL is a no-op. */
void cli_client_close(struct cli_client *c);

#endif
