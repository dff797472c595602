/* SPDX-License-Identifier: MIT */
/*
 * agent_client: requests to a guest agent over its unix socket, one at a
 * time (see agent_client.h). Reads are bounded: a reply line longer than
 * AGENT_CLIENT_LINE_MAX closes the connection.
 */
#include "agent_client.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define AGENT_CLIENT_LINE_MAX (64u << 20) /* a run's two 16 MiB outputs, escaped */

struct agent_client {
	int fd;
	uint64_t next_id;
	char *buf; /* bytes read, not yet a whole line */
	size_t len, cap;
};

int agent_client_errno(const char *name)
{
	for (int i = 1; name && i < 134; i++) {
		const char *n = strerrorname_np(i);

		if (n && strcmp(n, name) == 0)
			return -i;
	}
	return -EIO;
}

/* One connection attempt; -ENOENT or -ECONNREFUSED while QEMU is not listening yet. */
static int agent_client_try(const char *path, int *fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	close(*fd);
	*fd = -1;
	return -errno;
}

int agent_client_connect(const char *path, unsigned int timeout_ms, struct agent_client **out)
{
	uint64_t deadline = clock_mono_ms() + timeout_ms;
	struct timespec slice = {.tv_nsec = 20 * 1000000L};
	struct agent_client *c;
	int fd = -1, err;

	while ((err = agent_client_try(path, &fd)) == -ENOENT || err == -ECONNREFUSED) {
		if (clock_mono_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&slice, NULL);
	}
	if (err)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	*out = c;
	return 0;
}

void agent_client_close(struct agent_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

/* Write all of s. */
static int agent_client_write(struct agent_client *c, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ECONNRESET ? -EPIPE : -errno;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Take the first whole line out of the buffer (NUL-terminated, malloc'ed), or NULL. */
static char *agent_client_take(struct agent_client *c)
{
	char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL, *line;
	size_t n;

	if (!nl)
		return NULL;
	n = (size_t)(nl - c->buf);
	line = strndup(c->buf, n);
	if (!line)
		return NULL;
	c->len -= n + 1;
	memmove(c->buf, nl + 1, c->len);
	return line;
}

/* Read more into the buffer, waiting until deadline. */
static int agent_client_fill(struct agent_client *c, uint64_t deadline)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	uint64_t now = clock_mono_ms();
	ssize_t n;

	if (now >= deadline)
		return -ETIMEDOUT;
	if (poll(&p, 1, (int)(deadline - now)) < 0)
		return errno == EINTR ? 0 : -errno;
	if (!p.revents)
		return -ETIMEDOUT;
	if (c->cap - c->len < 65536) {
		size_t cap = c->cap ? 2 * c->cap : 131072;
		char *grown;

		if (cap > AGENT_CLIENT_LINE_MAX)
			return -E2BIG;
		grown = realloc(c->buf, cap);
		if (!grown)
			return -ENOMEM;
		c->buf = grown;
		c->cap = cap;
	}
	n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	c->len += (size_t)n;
	return 0;
}

/* The next line that parses as a JSON object, waiting until deadline. */
static int agent_client_next(struct agent_client *c, uint64_t deadline, json_t **obj)
{
	char *line;
	int err;

	for (;;) {
		line = agent_client_take(c);
		if (line) {
			*obj = json_loads(line, JSON_ALLOW_NUL, NULL);
			free(line);
			if (json_is_object(*obj))
				return 0;
			json_decref(*obj);
			continue;
		}
		err = agent_client_fill(c, deadline);
		if (err)
			return err;
	}
}

/* Unpack a reply into *result or an error. */
static int agent_client_reply(json_t *reply, json_t **result, char *msg, size_t msglen)
{
	json_t *error = json_object_get(reply, "error");

	if (json_is_true(json_object_get(reply, "ok"))) {
		if (result)
			*result = json_incref(json_object_get(reply, "result"));
		return 0;
	}
	snprintf(msg, msglen, "%s",
		 json_string_value(json_object_get(error, "message"))
			 ? json_string_value(json_object_get(error, "message"))
			 : "the agent failed without a message");
	return agent_client_errno(json_string_value(json_object_get(error, "code")));
}

/* Send the request line for id. */
static int agent_client_send(struct agent_client *c, uint64_t id, const char *cmd, json_t *args)
{
	json_t *req = json_pack("{s:I, s:s, s:o}", "id", (json_int_t)id, "cmd", cmd, "args",
				args ? args : json_object());
	char *line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	int err = line ? 0 : -ENOMEM;

	json_decref(req);
	if (!err)
		err = agent_client_write(c, line, strlen(line));
	if (!err)
		err = agent_client_write(c, "\n", 1);
	free(line);
	return err;
}

int agent_client_call(struct agent_client *c, const char *cmd, json_t *args,
		      unsigned int timeout_ms, json_t **result, char *msg, size_t msglen)
{
	uint64_t id = ++c->next_id, deadline = clock_mono_ms() + timeout_ms;
	json_t *reply;
	int err = agent_client_send(c, id, cmd, args);

	while (!err) {
		err = agent_client_next(c, deadline, &reply);
		if (err)
			break;
		if (json_integer_value(json_object_get(reply, "id")) == (json_int_t)id) {
			err = agent_client_reply(reply, result, msg, msglen);
			json_decref(reply);
			return err;
		}
		json_decref(reply); /* the ready event, or a reply given up on */
	}
	snprintf(msg, msglen, "%s: %s", cmd,
		 err == -ETIMEDOUT ? "the agent did not answer in time"
		 : err == -EPIPE   ? "the agent's connection closed"
				   : strerror(-err));
	return err;
}
