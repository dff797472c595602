/* SPDX-License-Identifier: MIT */
/*
 * agent_client: the host's end of the guest agent's line protocol
 * (control/agent/agent_proto.h): a connection to the unix socket QEMU's
 * virtio-serial chardev listens on, requests tagged with increasing ids, and
 * their replies. Threads may call at once (a long run does not hold up a
 * carrier query: the agent answers in any order, replies go to their callers
 * by id); lines that are no awaited reply (the agent's ready event, replies
 * to requests given up on) are dropped.
 */
#ifndef TAPYARD_AGENT_CLIENT_H
#define TAPYARD_AGENT_CLIENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

struct agent_client;

/*
 * agent_client_connect() - connect to the agent's socket at path, retrying
 * while it does not exist yet or refuses, for up to timeout_ms.
 * Return: 0 with *out set, or a negative errno (-ETIMEDOUT).
 */
int agent_client_connect(const char *path, unsigned int timeout_ms, struct agent_client **out);

/* Close the connection and free the client. NULL is a no-op. */
void agent_client_close(struct agent_client *c);

/*
 * agent_client_call() - send {"id", "cmd", "args"} and wait up to timeout_ms
 * for its reply.
 * @args: stolen; NULL for none
 * @result: the reply's result (the caller's reference), or NULL to drop it
 * @msg: the agent's error message, or what went wrong here, on failure
 * Return: 0, the agent's error as a negative errno (by its code's name),
 * -ETIMEDOUT, -EPIPE when the connection closed, or another negative errno.
 */
int agent_client_call(struct agent_client *c, const char *cmd, json_t *args,
		      unsigned int timeout_ms, json_t **result, char *msg, size_t msglen);

/*
 * agent_client_call_until() - agent_client_call() that also ends, with -EINTR,
 * soon after *stop is set (stop may be NULL) or Ctrl-C (interrupt_pending()).
 * The agent may still be running the request then; its late reply is dropped.
 */
int agent_client_call_until(struct agent_client *c, const char *cmd, json_t *args,
			    unsigned int timeout_ms, const atomic_bool *stop, json_t **result,
			    char *msg, size_t msglen);

/* The errno named name ("EINVAL"), as a negative number; -EIO for an unknown name. */
int agent_client_errno(const char *name);

#endif
