/* SPDX-License-Identifier: MIT */
/* cli_client: blocking request/reply over the control socket, one JSON line each way. */
#include "cli_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_CLIENT_REPLY_MAX (64u << 20) /* longest reply line accepted */

struct cli_client {
	int fd;
	int timeout_ms;
	char *buf; /* bytes read past the last reply */
	size_t len, cap;
};

int cli_client_connect(const char *path, int timeout_ms, struct cli_client **out)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct cli_client *c;
	int err;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : -1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = -errno;
		cli_client_close(c);
		return err;
	}
	*out = c;
	return 0;
}

void cli_client_close(struct cli_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

static int cli_client_send(struct cli_client *c, const char *s, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(c->fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EPIPE ? -ECONNRESET : -errno;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read more bytes into the buffer, waiting at most the timeout. */
static int cli_client_fill(struct cli_client *c)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	size_t cap;
	ssize_t n;
	char *grown;
	int r;

	if (c->len == c->cap) {
		if (c->cap >= CTL_CLIENT_REPLY_MAX)
			return -EMSGSIZE;
		cap = c->cap ? c->cap * 2 : 8192;
		grown = realloc(c->buf, cap);
		if (!grown)
			return -ENOMEM;
		c->buf = grown;
		c->cap = cap;
	}
	do {
		r = poll(&pfd, 1, c->timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	c->len += (size_t)n;
	return 0;
}

/* Read one line and parse it as JSON. */
static int cli_client_read(struct cli_client *c, json_t **reply)
{
	char *nl = NULL;
	size_t len;
	int err;

	while (!(nl = c->len ? memchr(c->buf, '\n', c->len) : NULL)) {
		err = cli_client_fill(c);
		if (err)
			return err;
	}
	len = (size_t)(nl - c->buf);
	*reply = json_loadb(c->buf, len, 0, NULL);
	memmove(c->buf, nl + 1, c->len - len - 1);
	c->len -= len + 1;
	return *reply && json_is_object(*reply) ? 0 : -EPROTO;
}

int cli_client_call(struct cli_client *c, json_t *request, json_t **reply)
{
	char *text;
	int err;

	*reply = NULL;
	text = json_dumps(request, JSON_COMPACT);
	if (!text)
		return -EINVAL;
	err = cli_client_send(c, text, strlen(text));
	if (!err)
		err = cli_client_send(c, "\n", 1);
	free(text);
	/* A server that refused us (busy, not allowed) wrote why before closing. */
	if (!err || err == -ECONNRESET)
		err = cli_client_read(c, reply);
	if (err) {
		json_decref(*reply);
		*reply = NULL;
	}
	return err;
}
