/* SPDX-License-Identifier: MIT */
/*
 * qmp: the QMP client. One connection, one command at a time: a message is a
 * line of JSON; a reply carries the id of its command; an event carries
 * "event" and is kept aside. The read buffer is one line long (QMP_LINE_MAX).
 */
#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"

struct qmp {
	int fd;
	char *name; /* the socket's path, for messages */
	int timeout_ms;
	int broken; /* a negative errno once the stream can no longer be trusted */
	uint64_t next_id;
	int pass_fd; /* sent with the next command's first byte (qmp_getfd()); -1: none */
	json_t *events; /* the last QMP_EVENTS_MAX events, oldest first */
	size_t len; /* bytes in buf */
	char buf[QMP_LINE_MAX];
};

/* Fill e with "QMP socket NAME: ..." and return err. */
static int qmp_fail(struct qmp_error *e, int err, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int qmp_fail(struct qmp_error *e, int err, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(e->msg, sizeof(e->msg), "QMP socket %s: ", name);
	if (n < 0 || (size_t)n >= sizeof(e->msg))
		return err;
	va_start(ap, fmt);
	vsnprintf(e->msg + n, sizeof(e->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

/* Milliseconds left until deadline (ns), 0 once it passed. */
static int qmp_left_ms(uint64_t deadline)
{
	uint64_t now = clock_mono_ns();

	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

/* Wait for events on q's socket until deadline: 0, or -ETIMEDOUT. */
static int qmp_poll(struct qmp *q, short events, uint64_t deadline)
{
	struct pollfd p = {.fd = q->fd, .events = events};
	int n, ms;

	do {
		ms = qmp_left_ms(deadline);
		if (!ms)
			return -ETIMEDOUT;
		n = poll(&p, 1, ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/* send(), or sendmsg() with q->pass_fd as SCM_RIGHTS (then forgotten). */
static ssize_t qmp_send_some(struct qmp *q, const char *text, size_t len)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl = {0};
	struct iovec iov = {.iov_base = (void *)text, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (q->pass_fd < 0)
		return send(q->fd, text, len, MSG_NOSIGNAL);
	m.msg_control = ctl.buf;
	m.msg_controllen = sizeof(ctl.buf);
	ctl.h.cmsg_level = SOL_SOCKET;
	ctl.h.cmsg_type = SCM_RIGHTS;
	ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&ctl.h), &q->pass_fd, sizeof(int));
	n = sendmsg(q->fd, &m, MSG_NOSIGNAL);
	if (n > 0)
		q->pass_fd = -1;
	return n;
}

/* Write all of text (len bytes) before deadline. */
static int qmp_write(struct qmp *q, const char *text, size_t len, uint64_t deadline)
{
	ssize_t n;
	int err;

	while (len) {
		n = qmp_send_some(q, text, len);
		if (n < 0 && errno == EAGAIN)
			err = qmp_poll(q, POLLOUT, deadline);
		else if (n < 0 && errno != EINTR)
			err = -errno;
		else
			err = 0;
		if (err)
			return err;
		if (n > 0) {
			text += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

/* Read more bytes into buf, waiting until deadline. 0, -ETIMEDOUT, -ECONNRESET (closed). */
static int qmp_fill(struct qmp *q, uint64_t deadline)
{
	ssize_t n;
	int err;

	for (;;) {
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n > 0) {
			q->len += (size_t)n;
			return 0;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		err = qmp_poll(q, POLLIN, deadline);
		if (err)
			return err;
	}
}

/* Is text (len bytes) only white space (a blank line)? */
static bool qmp_blank(const char *text, size_t len)
{
	while (len && (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')) {
		text++;
		len--;
	}
	return !len;
}

/* The next line's length, its newline included, read until deadline. */
static int qmp_line(struct qmp *q, uint64_t deadline, size_t *n, struct qmp_error *e)
{
	char *nl;
	int err;

	while (!(nl = memchr(q->buf, '\n', q->len))) {
		if (q->len == sizeof(q->buf))
			return qmp_fail(e, -EMSGSIZE, q->name, "a message longer than %d bytes",
					QMP_LINE_MAX);
		err = qmp_fill(q, deadline);
		if (err == -ETIMEDOUT)
			return qmp_fail(e, err, q->name, "no answer within %d ms", q->timeout_ms);
		if (err)
			return qmp_fail(e, err, q->name, "%s",
					err == -ECONNRESET ? "QEMU closed the connection"
							   : strerror(-err));
	}
	*n = (size_t)(nl - q->buf) + 1;
	return 0;
}

/* The next non-blank line as parsed JSON: *msg is a new reference to an object. */
static int qmp_next(struct qmp *q, uint64_t deadline, json_t **msg, struct qmp_error *e)
{
	json_error_t jerr;
	bool blank;
	size_t n = 0;
	int err;

	do {
		err = qmp_line(q, deadline, &n, e);
		if (err)
			return err;
		blank = qmp_blank(q->buf, n);
		if (!blank)
			*msg = json_loadb(q->buf, n, 0, &jerr);
		q->len -= n;
		memmove(q->buf, q->buf + n, q->len);
	} while (blank);
	if (!*msg)
		return qmp_fail(e, -EPROTO, q->name, "not JSON (%s)", jerr.text);
	if (json_is_object(*msg))
		return 0;
	json_decref(*msg);
	return qmp_fail(e, -EPROTO, q->name, "a message that is not a JSON object");
}

/* Keep an event, dropping the oldest beyond QMP_EVENTS_MAX. Takes msg. */
static void qmp_keep_event(struct qmp *q, json_t *msg)
{
	if (json_array_size(q->events) >= QMP_EVENTS_MAX)
		json_array_remove(q->events, 0);
	json_array_append_new(q->events, msg);
}

/* Is msg the reply to command id (a reply without an id is taken as ours)? */
static bool qmp_is_reply(json_t *msg, uint64_t id)
{
	json_t *mid = json_object_get(msg, "id");

	if (!json_object_get(msg, "return") && !json_object_get(msg, "error"))
		return false;
	return !mid || (json_is_integer(mid) && (uint64_t)json_integer_value(mid) == id);
}

/* An error reply's class and text in e; returns -EREMOTEIO. */
static int qmp_remote_error(struct qmp *q, const char *cmd, json_t *error, struct qmp_error *e)
{
	const char *cls = json_string_value(json_object_get(error, "class"));
	const char *desc = json_string_value(json_object_get(error, "desc"));

	return qmp_fail(e, -EREMOTEIO, q->name, "%s failed: %s: %s", cmd, cls ? cls : "error",
			desc ? desc : "(no description)");
}

/* Read until the reply to command id: keep events, skip replies to earlier commands. */
static int qmp_wait_reply(struct qmp *q, const char *cmd, uint64_t id, uint64_t deadline,
			  json_t **ret, struct qmp_error *e)
{
	json_t *msg = NULL, *error;
	int err;

	for (;;) {
		err = qmp_next(q, deadline, &msg, e);
		if (err)
			return err;
		if (json_object_get(msg, "event") && !json_object_get(msg, "return")) {
			qmp_keep_event(q, msg);
			continue;
		}
		if (qmp_is_reply(msg, id))
			break;
		if (!json_object_get(msg, "id")) {
			json_decref(msg);
			return qmp_fail(e, -EPROTO, q->name,
					"a message that is neither a reply "
					"nor an event");
		}
		json_decref(msg); /* the late reply to a command that timed out */
	}
	error = json_object_get(msg, "error");
	err = error ? qmp_remote_error(q, cmd, error, e) : 0;
	if (!err && ret)
		*ret = json_incref(json_object_get(msg, "return"));
	json_decref(msg);
	return err;
}

/* Send {"execute": cmd, "arguments": args, "id": id} (args stolen, may be NULL). */
static int qmp_send(struct qmp *q, const char *cmd, json_t *args, uint64_t id, uint64_t deadline,
		    struct qmp_error *e)
{
	json_t *req = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
	char *text = NULL;
	int err = -ENOMEM;

	if (req && args)
		json_object_set(req, "arguments", args);
	if (req)
		text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	json_decref(args);
	if (!text)
		return qmp_fail(e, err, q->name, "out of memory");
	/* json_dumps() escapes newlines inside strings: the line ends where we say. */
	err = qmp_write(q, text, strlen(text), deadline);
	if (!err)
		err = qmp_write(q, "\n", 1, deadline);
	free(text);
	if (err)
		return qmp_fail(e, err, q->name, "cannot send %s: %s", cmd, strerror(-err));
	return 0;
}

int qmp_execute(struct qmp *q, const char *cmd, json_t *args, json_t **ret, struct qmp_error *e)
{
	uint64_t deadline = clock_mono_ns() + (uint64_t)q->timeout_ms * 1000000u;
	uint64_t id = q->next_id++;
	int err;

	if (ret)
		*ret = NULL;
	if (q->broken) {
		json_decref(args);
		return qmp_fail(e, q->broken, q->name,
				"connection unusable after an earlier "
				"error");
	}
	err = qmp_send(q, cmd, args, id, deadline, e);
	if (!err)
		err = qmp_wait_reply(q, cmd, id, deadline, ret, e);
	if (err && err != -EREMOTEIO && err != -ETIMEDOUT)
		q->broken = err;
	return err;
}

int qmp_set_link(struct qmp *q, const char *name, bool up, struct qmp_error *e)
{
	json_t *args = json_pack("{s:s, s:b}", "name", name, "up", up);

	if (!args)
		return qmp_fail(e, -ENOMEM, q->name, "out of memory");
	return qmp_execute(q, "set_link", args, NULL, e);
}

int qmp_getfd(struct qmp *q, const char *fdname, int fd, struct qmp_error *e)
{
	json_t *args = json_pack("{s:s}", "fdname", fdname);
	int err;

	if (!args)
		return qmp_fail(e, -ENOMEM, q->name, "out of memory");
	q->pass_fd = fd;
	err = qmp_execute(q, "getfd", args, NULL, e);
	q->pass_fd = -1;
	return err;
}

/* Read the greeting ({"QMP": {...}}) and leave command mode's negotiation done. */
static int qmp_handshake(struct qmp *q, struct qmp_error *e)
{
	uint64_t deadline = clock_mono_ns() + (uint64_t)q->timeout_ms * 1000000u;
	json_t *msg;
	int err;

	err = qmp_next(q, deadline, &msg, e);
	if (err == -ETIMEDOUT)
		return qmp_fail(e, err, q->name,
				"no greeting within %d ms (is another client connected to this "
				"monitor?)",
				q->timeout_ms);
	if (err)
		return err;
	if (!json_is_object(json_object_get(msg, "QMP"))) {
		json_decref(msg);
		return qmp_fail(e, -EPROTO, q->name, "no QMP greeting (is this a QMP monitor?)");
	}
	json_decref(msg);
	return qmp_execute(q, "qmp_capabilities", NULL, NULL, e);
}

int qmp_open_fd(int fd, const char *name, int timeout_ms, struct qmp **out, struct qmp_error *e)
{
	struct qmp *q = calloc(1, sizeof(*q));
	int err;

	*out = NULL;
	if (q) {
		q->fd = fd;
		q->name = strdup(name);
		q->events = json_array();
	}
	if (!q || !q->name || !q->events) {
		qmp_close(q);
		if (!q)
			close(fd);
		return qmp_fail(e, -ENOMEM, name, "out of memory");
	}
	q->timeout_ms = timeout_ms > 0 ? timeout_ms : QMP_TIMEOUT_MS;
	q->next_id = 1;
	q->pass_fd = -1;
	err = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ? -errno : 0;
	if (err)
		qmp_fail(e, err, name, "%s", strerror(-err));
	else
		err = qmp_handshake(q, e);
	if (err) {
		qmp_close(q);
		return err;
	}
	*out = q;
	return 0;
}

int qmp_open(const char *path, const struct openas_cred *cred, int timeout_ms, struct qmp **out,
	     struct qmp_error *e)
{
	int fd = openas_connect(cred, path);

	*out = NULL;
	if (fd == -ELOOP)
		return qmp_fail(e, fd, path, "is a symbolic link (give the socket's own path)");
	if (fd == -ENOTSOCK)
		return qmp_fail(e, fd, path, "not a socket");
	if (fd < 0)
		return qmp_fail(e, fd, path, "cannot connect%s: %s", cred ? " as the caller" : "",
				strerror(-fd));
	return qmp_open_fd(fd, path, timeout_ms, out, e);
}

json_t *qmp_take_events(struct qmp *q)
{
	json_t *events = q->events, *fresh = json_array();

	if (!fresh)
		return json_incref(events); /* out of memory: keep them, hand out a reference */
	q->events = fresh;
	return events;
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	close(q->fd);
	json_decref(q->events);
	free(q->name);
	free(q);
}
