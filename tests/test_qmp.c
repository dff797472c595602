/* SPDX-License-Identifier: MIT */
/*
 * test_qmp: the QMP client against a fake QEMU in a thread, over a
 * socketpair: greeting and capabilities, a reply, an error reply, events
 * and stale replies interleaved with the reply, garbage, silence (timeout),
 * an oversized line, a closed connection; and qmp_open() over a unix socket
 * path, which refuses a symbolic link.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "qmp.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7}}, \"capabilities\": []}}\r\n"
#define TIMEOUT_MS 300 /* for the tests that expect a timeout: short, no bound asserted */

/* The fake QEMU: runs fn on its end of the socketpair in a thread. */
struct fake {
	int fd;
	void (*fn)(struct fake *f);
	pthread_t thread;
	json_t *last; /* the last request it read */
};

static void fake_send(struct fake *f, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;

	while (len) {
		n = send(f->fd, text, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

/* Read one request line; NULL when the client closed. */
static json_t *fake_read(struct fake *f)
{
	char line[4096];
	size_t n = 0;

	while (n < sizeof(line) - 1 && read(f->fd, line + n, 1) == 1) {
		if (line[n++] == '\n') {
			json_decref(f->last);
			f->last = json_loadb(line, n, 0, NULL);
			return f->last;
		}
	}
	return NULL;
}

/* Reply to the request just read with body (e.g. "\"return\": {}"), echoing its id. */
static void fake_reply(struct fake *f, const char *body)
{
	char text[1024];

	snprintf(text, sizeof(text), "{%s, \"id\": %lld}\r\n", body,
		 (long long)json_integer_value(json_object_get(f->last, "id")));
	fake_send(f, text);
}

/* Greet, take qmp_capabilities. */
static void fake_hello(struct fake *f)
{
	fake_send(f, GREETING);
	if (fake_read(f))
		fake_reply(f, "\"return\": {}");
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	f->fn(f);
	return NULL;
}

/* Start the fake and connect a client to it; returns qmp_open_fd()'s result. */
static int fake_start(struct fake *f, void (*fn)(struct fake *), int timeout_ms, struct qmp **q,
		      struct qmp_error *e)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->fd = sv[1];
	f->fn = fn;
	f->last = NULL;
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
	*q = NULL;
	return qmp_open_fd(sv[0], "/fake/qmp.sock", timeout_ms, q, e);
}

static void fake_stop(struct fake *f, struct qmp *q)
{
	qmp_close(q);
	shutdown(f->fd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->fd);
	json_decref(f->last);
}

static void serve_set_link(struct fake *f)
{
	json_t *req;

	fake_hello(f);
	req = fake_read(f);
	if (req && strcmp(json_string_value(json_object_get(req, "execute")), "set_link") == 0 &&
	    json_is_false(json_object_get(json_object_get(req, "arguments"), "up")))
		fake_reply(f, "\"return\": {}");
	else
		fake_reply(f,
			   "\"error\": {\"class\": \"GenericError\", \"desc\": \"bad request\"}");
	fake_read(f); /* until the client closes */
}

static void test_greeting_capabilities_and_a_reply(void **state)
{
	struct qmp_error e = {{0}};
	struct fake f;
	struct qmp *q;

	(void)state;
	assert_int_equal(fake_start(&f, serve_set_link, 0, &q, &e), 0);
	assert_int_equal(qmp_set_link(q, "n0", false, &e), 0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(f.last, "arguments"), "name")),
		"n0");
	fake_stop(&f, q);
}

/* The fd getfd passed, fstat'ed by the fake (its inode), or 0. */
static ino_t getfd_ino;

/* Take a getfd request with its fd (SCM_RIGHTS rides on the request's first bytes). */
static void serve_getfd(struct fake *f)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char line[4096];
	struct iovec iov = {.iov_base = line, .iov_len = sizeof(line) - 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = ctl.buf,
			   .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c;
	struct stat st;
	ssize_t n;
	int fd;

	fake_hello(f);
	n = recvmsg(f->fd, &m, 0);
	c = n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
	if (c && c->cmsg_type == SCM_RIGHTS) {
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
		if (fstat(fd, &st) == 0)
			getfd_ino = st.st_ino;
		close(fd);
	}
	json_decref(f->last);
	f->last = n > 0 ? json_loadb(line, (size_t)n, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	if (n > 0 && line[n - 1] != '\n')
		read(f->fd, line, 1); /* the newline, sent apart */
	fake_reply(f, "\"return\": {}");
	fake_read(f); /* until the client closes */
}

static void test_getfd_passes_the_fd(void **state)
{
	struct qmp_error e = {{0}};
	struct stat st;
	struct fake f;
	struct qmp *q;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(fake_start(&f, serve_getfd, 0, &q, &e), 0);
	assert_int_equal(qmp_getfd(q, "fd-x", fd, &e), 0);
	assert_string_equal(json_string_value(json_object_get(f.last, "execute")), "getfd");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(f.last, "arguments"), "fdname")),
		"fd-x");
	assert_true(getfd_ino == st.st_ino);
	assert_true(fcntl(fd, F_GETFD) >= 0); /* still the caller's */
	fake_stop(&f, q);
	close(fd);
}

static void serve_error(struct fake *f)
{
	fake_hello(f);
	if (fake_read(f))
		fake_reply(f, "\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'n9' "
			      "not found\"}");
	fake_read(f);
}

static void test_an_error_reply_names_class_and_desc(void **state)
{
	struct qmp_error e = {{0}};
	struct fake f;
	struct qmp *q;

	(void)state;
	assert_int_equal(fake_start(&f, serve_error, 0, &q, &e), 0);
	assert_int_equal(qmp_set_link(q, "n9", true, &e), -EREMOTEIO);
	assert_non_null(strstr(e.msg, "/fake/qmp.sock"));
	assert_non_null(strstr(e.msg, "DeviceNotFound"));
	assert_non_null(strstr(e.msg, "Device 'n9' not found"));
	/* An error reply leaves the connection usable. */
	fake_stop(&f, q);
}

static void serve_events(struct fake *f)
{
	fake_send(f, GREETING);
	fake_send(f, "{\"event\": \"EARLY\", \"timestamp\": {\"seconds\": 1}}\n");
	if (fake_read(f))
		fake_reply(f, "\"return\": {}");
	if (!fake_read(f))
		return;
	fake_send(f, "{\"event\": \"NIC_RX_FILTER_CHANGED\", \"data\": {\"name\": \"n0\"}}\r\n");
	fake_send(f, "{\"return\": {\"stale\": true}, \"id\": 999}\r\n"); /* an older command's */
	fake_send(f, "\r\n");
	fake_send(f, "{\"event\": \"STOP\"}\r\n{\"return\": {\"x\": 1}, \"id\": ");
	fake_send(f, "2}\r\n"); /* split across writes */
	fake_read(f);
}

static void test_events_are_kept_never_taken_for_replies(void **state)
{
	struct qmp_error e = {{0}};
	json_t *ret = NULL, *events;
	struct fake f;
	struct qmp *q;

	(void)state;
	assert_int_equal(fake_start(&f, serve_events, 0, &q, &e), 0);
	assert_int_equal(qmp_execute(q, "query-x", NULL, &ret, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(ret, "x")), 1);
	json_decref(ret);
	events = qmp_take_events(q);
	assert_int_equal(json_array_size(events), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "event")),
			    "EARLY");
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 2), "event")),
			    "STOP");
	json_decref(events);
	events = qmp_take_events(q);
	assert_int_equal(json_array_size(events), 0);
	json_decref(events);
	fake_stop(&f, q);
}

static void serve_garbage_greeting(struct fake *f)
{
	fake_send(f, "SSH-2.0-OpenSSH_9.2\r\n");
	fake_read(f);
}

static void serve_garbage_reply(struct fake *f)
{
	fake_hello(f);
	if (fake_read(f))
		fake_send(f, "{\"return\": {}, \"id\": 2\r\n");
	fake_read(f);
}

static void serve_json_not_qmp(struct fake *f)
{
	fake_send(f, "{\"hello\": 1}\n");
	fake_read(f);
}

static void test_garbage_is_a_protocol_error(void **state)
{
	struct qmp_error e = {{0}};
	struct fake f;
	struct qmp *q;

	(void)state;
	assert_int_equal(fake_start(&f, serve_garbage_greeting, 0, &q, &e), -EPROTO);
	assert_non_null(strstr(e.msg, "not JSON"));
	fake_stop(&f, q);
	assert_int_equal(fake_start(&f, serve_json_not_qmp, 0, &q, &e), -EPROTO);
	assert_non_null(strstr(e.msg, "no QMP greeting"));
	fake_stop(&f, q);
	assert_int_equal(fake_start(&f, serve_garbage_reply, 0, &q, &e), 0);
	assert_int_equal(qmp_set_link(q, "n0", true, &e), -EPROTO);
	/* The stream cannot be trusted any more. */
	assert_int_equal(qmp_set_link(q, "n0", true, &e), -EPROTO);
	assert_non_null(strstr(e.msg, "unusable"));
	fake_stop(&f, q);
}

static void serve_silence(struct fake *f)
{
	fake_read(f);
}

static void serve_no_reply(struct fake *f)
{
	fake_hello(f);
	while (fake_read(f))
		;
}

static void test_a_silent_server_times_out(void **state)
{
	struct qmp_error e = {{0}};
	struct fake f;
	struct qmp *q;

	(void)state;
	assert_int_equal(fake_start(&f, serve_silence, TIMEOUT_MS, &q, &e), -ETIMEDOUT);
	assert_non_null(strstr(e.msg, "no greeting"));
	fake_stop(&f, q);
	assert_int_equal(fake_start(&f, serve_no_reply, TIMEOUT_MS, &q, &e), 0);
	assert_int_equal(qmp_set_link(q, "n0", false, &e), -ETIMEDOUT);
	assert_non_null(strstr(e.msg, "no answer"));
	fake_stop(&f, q);
}

static void serve_oversized(struct fake *f)
{
	static char big[QMP_LINE_MAX + 64];

	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "{\"QMP\": \"", 9);
	fake_send(f, big);
	fake_read(f);
}

static void serve_close(struct fake *f)
{
	fake_hello(f);
	fake_read(f);
	shutdown(f->fd, SHUT_RDWR);
}

static void test_an_oversized_line_and_a_closed_socket(void **state)
{
	struct qmp_error e = {{0}};
	struct fake f;
	struct qmp *q;

	(void)state;
	assert_int_equal(fake_start(&f, serve_oversized, 0, &q, &e), -EMSGSIZE);
	assert_non_null(strstr(e.msg, "longer than"));
	fake_stop(&f, q);
	assert_int_equal(fake_start(&f, serve_close, 0, &q, &e), 0);
	assert_int_equal(qmp_set_link(q, "n0", false, &e), -ECONNRESET);
	assert_non_null(strstr(e.msg, "closed"));
	fake_stop(&f, q);
}

/* A listening unix socket at path. */
static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 4), 0);
	return s;
}

static void serve_accepted(struct fake *f)
{
	int l = f->fd;

	f->fd = accept(l, NULL, NULL);
	close(l);
	if (f->fd >= 0)
		serve_set_link(f);
}

static void test_open_by_path_never_through_a_link(void **state)
{
	char dir[] = "/tmp/tyqmp.XXXXXX", sock[64], link[64];
	struct qmp_error e = {{0}};
	struct qmp *q = NULL;
	struct fake f = {0};

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	snprintf(link, sizeof(link), "%s/link.sock", dir);
	f.fd = listen_at(sock);
	assert_int_equal(symlink(sock, link), 0);
	assert_int_equal(qmp_open(link, NULL, 0, &q, &e), -ELOOP);
	assert_non_null(strstr(e.msg, "symbolic link"));
	assert_int_equal(qmp_open(dir, NULL, 0, &q, &e), -ENOTSOCK);
	f.fn = serve_accepted;
	assert_int_equal(pthread_create(&f.thread, NULL, fake_main, &f), 0);
	assert_int_equal(qmp_open(sock, NULL, 0, &q, &e), 0);
	assert_int_equal(qmp_set_link(q, "n0", false, &e), 0);
	fake_stop(&f, q);
	unlink(link);
	unlink(sock);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_capabilities_and_a_reply),
		cmocka_unit_test(test_getfd_passes_the_fd),
		cmocka_unit_test(test_an_error_reply_names_class_and_desc),
		cmocka_unit_test(test_events_are_kept_never_taken_for_replies),
		cmocka_unit_test(test_garbage_is_a_protocol_error),
		cmocka_unit_test(test_a_silent_server_times_out),
		cmocka_unit_test(test_an_oversized_line_and_a_closed_socket),
		cmocka_unit_test(test_open_by_path_never_through_a_link),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
