/* SPDX-License-Identifier: MIT */
/*
 * agent_client: requests to a guest agent over its unix socket (see
 * agent_client.h). Any number of threads may call at once: each request
 * line goes out whole (wlock); then the callers take turns reading: one
 * caller at a time holds the reader's role, reads what came and hands each
 * reply to the caller waiting for its id, then gives the role up, so no
 * thread of its own is needed. Reads are bounded: a reply line longer than
 * AGENT_CLIENT_LINE_MAX breaks the connection.
 */
#include "agent_client.h"
#include "clock.h"
#include "interrupt.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define AGENT_CLIENT_LINE_MAX (64u << 20) /* a run's two 16 MiB outputs, escaped */
#define AGENT_CLIENT_SLICE_MS 100u /* how soon a wait sees stop or Ctrl-C */

/* A caller waiting for its reply. */
struct agent_client_wait {
	uint64_t id;
	json_t *reply; /* set by whoever reads it */
	struct agent_client_wait *next;
};

struct agent_client {
	int fd;
	pthread_mutex_t wlock; /* one request line at a time */
	pthread_mutex_t lock; /* what follows */
	pthread_cond_t cond; /* a reply came, or the reader's role is free */
	uint64_t next_id;
	bool reading; /* a caller holds the reader's role */
	int broken; /* the connection's error, once it broke */
	struct agent_client_wait *waits;
	char *buf; /* bytes read, not yet a whole line (the reader's) */
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

/* A condition variable timed on CLOCK_MONOTONIC, as deadlines are. */
static void agent_client_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
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
	pthread_mutex_init(&c->wlock, NULL);
	pthread_mutex_init(&c->lock, NULL);
	agent_client_cond_init(&c->cond);
	*out = c;
	return 0;
}

void agent_client_close(struct agent_client *c)
{
	if (!c)
		return;
	close(c->fd);
	pthread_mutex_destroy(&c->wlock);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
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
	/* a slice at most: the reader's turn ends now and then, whatever its deadline */
	if (poll(&p, 1, deadline - now < 1000 ? (int)(deadline - now) : 1000) < 0)
		return errno == EINTR ? 0 : -errno;
	if (!p.revents)
		return clock_mono_ms() >= deadline ? -ETIMEDOUT : 0;
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

/* Hand each whole line read to the caller waiting for its id (others are dropped). */
static void agent_client_dispatch(struct agent_client *c)
{
	char *line;

	while ((line = agent_client_take(c))) {
		json_t *obj = json_loads(line, JSON_ALLOW_NUL, NULL);
		json_int_t id = json_integer_value(json_object_get(obj, "id"));
		struct agent_client_wait *w = c->waits;

		free(line);
		while (w && (json_int_t)w->id != id)
			w = w->next;
		if (w && json_is_object(obj) && !w->reply)
			w->reply = obj;
		else
			json_decref(obj); /* the ready event, or a reply given up on */
	}
}

/* With the lock held: read once for everyone (the lock dropped meanwhile), then dispatch. */
static void agent_client_read_turn(struct agent_client *c, uint64_t deadline)
{
	int err;

	c->reading = true;
	pthread_mutex_unlock(&c->lock);
	err = agent_client_fill(c, deadline);
	pthread_mutex_lock(&c->lock);
	c->reading = false;
	if (err && err != -ETIMEDOUT)
		c->broken = err;
	agent_client_dispatch(c);
	pthread_cond_broadcast(&c->cond);
}

/* Should a wait end early: *stop set, or Ctrl-C (interrupt_pending())? */
static bool agent_client_stopped(const atomic_bool *stop)
{
	return (stop && atomic_load(stop)) || interrupt_pending();
}

/*
 * Wait for w's reply: read in turn, or sleep while another caller reads, in
 * slices of AGENT_CLIENT_SLICE_MS so that stop and Ctrl-C end it soon.
 */
static int agent_client_wait(struct agent_client *c, struct agent_client_wait *w, uint64_t deadline,
			     const atomic_bool *stop)
{
	struct timespec until;
	uint64_t now, slice;
	int err = 0;

	pthread_mutex_lock(&c->lock);
	while (!w->reply && !err) {
		now = clock_mono_ms();
		slice = now + AGENT_CLIENT_SLICE_MS < deadline ? now + AGENT_CLIENT_SLICE_MS
							       : deadline;
		until = (struct timespec){.tv_sec = (time_t)(slice / 1000),
					  .tv_nsec = (long)(slice % 1000) * 1000000L};
		if (c->broken)
			err = c->broken;
		else if (now >= deadline)
			err = -ETIMEDOUT;
		else if (agent_client_stopped(stop))
			err = -EINTR;
		else if (!c->reading)
			agent_client_read_turn(c, slice);
		else
			pthread_cond_timedwait(&c->cond, &c->lock, &until);
	}
	if (w->reply)
		err = 0;
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* Add or remove a waiter. */
static void agent_client_enlist(struct agent_client *c, struct agent_client_wait *w, bool add)
{
	struct agent_client_wait **p = &c->waits;

	pthread_mutex_lock(&c->lock);
	if (add) {
		w->id = ++c->next_id;
		w->next = c->waits;
		c->waits = w;
	} else {
		while (*p && *p != w)
			p = &(*p)->next;
		if (*p)
			*p = w->next;
	}
	pthread_mutex_unlock(&c->lock);
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

/* Send the request line for id, whole. */
static int agent_client_send(struct agent_client *c, uint64_t id, const char *cmd, json_t *args)
{
	json_t *req = json_pack("{s:I, s:s, s:o}", "id", (json_int_t)id, "cmd", cmd, "args",
				args ? args : json_object());
	char *line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	int err = line ? 0 : -ENOMEM;

	json_decref(req);
	pthread_mutex_lock(&c->wlock);
	if (!err)
		err = agent_client_write(c, line, strlen(line));
	if (!err)
		err = agent_client_write(c, "\n", 1);
	pthread_mutex_unlock(&c->wlock);
	free(line);
	return err;
}

int agent_client_call(struct agent_client *c, const char *cmd, json_t *args,
		      unsigned int timeout_ms, json_t **result, char *msg, size_t msglen)
{
	return agent_client_call_until(c, cmd, args, timeout_ms, NULL, result, msg, msglen);
}

int agent_client_call_until(struct agent_client *c, const char *cmd, json_t *args,
			    unsigned int timeout_ms, const atomic_bool *stop, json_t **result,
			    char *msg, size_t msglen)
{
	uint64_t deadline = clock_mono_ms() + timeout_ms;
	struct agent_client_wait w = {0};
	int err;

	agent_client_enlist(c, &w, true);
	err = agent_client_send(c, w.id, cmd, args);
	if (!err)
		err = agent_client_wait(c, &w, deadline, stop);
	agent_client_enlist(c, &w, false);
	/* no reader touches w now: a reply that came after all is still the answer */
	if (w.reply) {
		err = agent_client_reply(w.reply, result, msg, msglen);
		json_decref(w.reply);
		return err;
	}
	snprintf(msg, msglen, "%s: %s", cmd,
		 err == -ETIMEDOUT ? "the agent did not answer in time"
		 : err == -EPIPE   ? "the agent's connection closed"
		 : err == -EINTR   ? "interrupted (the command may still run in the guest)"
				   : strerror(-err));
	return err;
}
