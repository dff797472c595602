/* SPDX-License-Identifier: MIT */
/*
 * test_server: the control socket server on a socket in a temporary
 * directory, run on its own thread over a real dataplane. Requests through
 * cli_client and through raw sockets: malformed JSON, wrong types, unknown
 * commands, pipelined and split lines, an oversize line, clients that send
 * nothing, 100 clients at once, a client that disconnects mid-reply, the
 * client cap, stale and live sockets, the peer uid and group checks, and
 * capture/read long-polls (others are answered meanwhile; the cap on them; a
 * client that leaves while its poll waits; a server stopped while one waits).
 * After each abuse the server must still answer, and frames must still cross
 * the switch between two pair ports.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "cli_client.h"
#include "server.h"
#include "log.h"

#define NCLIENTS 100
#define NPAIRS 40
#define NIDLE 60
#define TEST_GID 4242 /* a group for the --group checks; it need not exist in /etc/group */

struct fixture {
	char dir[64];
	char path[128];
	struct dp *dp;
	struct ctl *ctl;
	struct server *srv;
	int stopfd;
	pthread_t thread;
	int rc;
	int peers[NPAIRS];
	int npeers;
	int fw[2]; /* peers of the two ports of bridge "fw": the forwarding check */
	uint8_t tag;
	int linger_fd; /* a client left connected until the server has stopped, or -1 */
};

static struct fixture fx;

/* A raw client connection with a line buffer. */
struct conn {
	int fd;
	char buf[1 << 16];
	size_t len;
};

static void *serve(void *arg)
{
	struct fixture *f = arg;

	f->rc = server_run(f->srv, f->stopfd);
	return NULL;
}

static void server_start(struct server_opts *opts)
{
	assert_int_equal(server_create(fx.ctl, fx.path, opts, &fx.srv), 0);
	fx.stopfd = eventfd(0, EFD_CLOEXEC);
	assert_true(fx.stopfd >= 0);
	fx.rc = -1;
	assert_int_equal(pthread_create(&fx.thread, NULL, serve, &fx), 0);
}

static void server_stop(void)
{
	struct stat st;

	assert_int_equal(eventfd_write(fx.stopfd, 1), 0);
	assert_int_equal(pthread_join(fx.thread, NULL), 0);
	assert_int_equal(fx.rc, 0);
	server_destroy(fx.srv);
	close(fx.stopfd);
	/* The socket file is gone. */
	assert_int_equal(stat(fx.path, &st), -1);
}

/* Bridge "fw" with pair ports fw0 and fw1, whose peers the forwarding check uses. */
static void add_forwarding_ports(void)
{
	struct port *p;
	json_t *r;

	r = ctl_call(fx.ctl, "bridge/add", json_pack("{s:s}", "name", "fw"));
	assert_int_equal(ctl_reply_error(r, NULL, NULL), 0);
	json_decref(r);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(port_pair_open(i ? "fw1" : "fw0", &p, &fx.fw[i]), 0);
		assert_int_equal(ctl_attach_port(fx.ctl, "fw", p, NULL), 0);
	}
}

static int setup_opts(struct server_opts *opts)
{
	struct dp_config cfg = {.nbufs = 64, .buf_size = 4096, .tx_slots = 256};

	memset(&fx, 0, sizeof(fx));
	fx.linger_fd = -1;
	log_set_level(LOG_LVL_ERROR);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/tyc-srv-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/ctl.sock", fx.dir);
	assert_int_equal(dp_create(&cfg, &fx.dp), 0);
	assert_int_equal(dp_start(fx.dp), 0);
	assert_int_equal(ctl_create(fx.dp, &fx.ctl), 0);
	add_forwarding_ports();
	server_start(opts);
	return 0;
}

static int setup(void **state)
{
	struct server_opts opts = {0};

	(void)state;
	return setup_opts(&opts);
}

static int setup_small(void **state)
{
	struct server_opts opts = {.max_clients = 4};

	(void)state;
	return setup_opts(&opts);
}

static int setup_line_ms(void **state)
{
	struct server_opts opts = {.line_ms = 1000};

	(void)state;
	return setup_opts(&opts);
}

static int setup_budget(void **state)
{
	struct server_opts opts = {.out_budget = 1 << 20};

	(void)state;
	return setup_opts(&opts);
}

static int setup_group(void **state)
{
	struct server_opts opts = {.group_set = true, .group = TEST_GID};

	(void)state;
	if (geteuid() != 0) {
		/* chown to a group we are not in needs root: serve without one, the test skips. */
		opts.group_set = false;
	}
	return setup_opts(&opts);
}

static int teardown(void **state)
{
	(void)state;
	server_stop();
	if (fx.linger_fd >= 0)
		close(fx.linger_fd);
	ctl_destroy(fx.ctl);
	dp_destroy(fx.dp);
	for (int i = 0; i < fx.npeers; i++)
		close(fx.peers[i]);
	close(fx.fw[0]);
	close(fx.fw[1]);
	rmdir(fx.dir);
	return 0;
}

static void conn_open(struct conn *c)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	strcpy(addr.sun_path, fx.path);
	c->len = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
}

static void conn_send(struct conn *c, const char *s, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(c->fd, s, len, MSG_NOSIGNAL);
		assert_true(n > 0);
		s += n;
		len -= (size_t)n;
	}
}

static void conn_sends(struct conn *c, const char *s)
{
	conn_send(c, s, strlen(s));
}

/* Read one reply line; fails after 10 s without one. */
static json_t *conn_reply(struct conn *c)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	char *nl;
	json_t *r;
	ssize_t n;
	size_t len;

	while (!(nl = memchr(c->buf, '\n', c->len))) {
		assert_true(c->len < sizeof(c->buf));
		assert_int_equal(poll(&pfd, 1, 10000), 1);
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		assert_true(n > 0);
		c->len += (size_t)n;
	}
	len = (size_t)(nl - c->buf);
	r = json_loadb(c->buf, len, 0, NULL);
	assert_non_null(r);
	memmove(c->buf, nl + 1, c->len - len - 1);
	c->len -= len + 1;
	return r;
}

/* The next reply must be an error with code and a message containing substring. */
static void conn_expect_err(struct conn *c, const char *code, const char *substring)
{
	json_t *r = conn_reply(c);
	const char *rc, *rm;

	assert_int_equal(ctl_reply_error(r, &rc, &rm), -EINVAL);
	assert_string_equal(rc, code);
	if (!strstr(rm, substring))
		fail_msg("\"%s\" does not contain \"%s\"", rm, substring);
	json_decref(r);
}

static void conn_expect_ok(struct conn *c)
{
	json_t *r = conn_reply(c);

	assert_int_equal(ctl_reply_error(r, NULL, NULL), 0);
	json_decref(r);
}

/* The server closed the connection (after any replies already read). */
static void conn_expect_closed(struct conn *c)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	char buf[256];
	ssize_t n;

	assert_int_equal(c->len, 0);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	n = recv(c->fd, buf, sizeof(buf), 0);
	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
}

/* A frame from fw port `from` to the other one arrives there, carrying a fresh tag. */
static void assert_forwards(int from)
{
	struct pollfd pfd = {.fd = fx.fw[!from], .events = POLLIN};
	uint8_t f[60] = {0}, in[2048];
	ssize_t n;

	/* 02:00:00:00:00:0X, X = port: the destination is learned after one round. */
	f[0] = 0x02;
	f[5] = (uint8_t)!from;
	f[6] = 0x02;
	f[11] = (uint8_t)from;
	f[12] = 0x88;
	f[13] = 0xb5;
	f[14] = ++fx.tag;
	assert_int_equal(send(fx.fw[from], f, sizeof(f), 0), (ssize_t)sizeof(f));
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	n = recv(fx.fw[!from], in, sizeof(in), 0);
	assert_int_equal(n, (ssize_t)sizeof(f));
	assert_int_equal(in[14], fx.tag);
	assert_memory_equal(in, f, sizeof(f));
}

/* Frames still cross the switch both ways. */
static void assert_forwarding(void)
{
	assert_forwards(0);
	assert_forwards(1);
}

/* One status request through cli_client must succeed: the server still answers. */
static void assert_server_answers(void)
{
	struct cli_client *cl;
	json_t *req = json_pack("{s:s}", "cmd", "status"), *reply;

	assert_int_equal(cli_client_connect(fx.path, 10000, &cl), 0);
	assert_int_equal(cli_client_call(cl, req, &reply), 0);
	assert_int_equal(ctl_reply_error(reply, NULL, NULL), 0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(reply, "result"), "version")),
		TAPYARD_VERSION);
	json_decref(reply);
	json_decref(req);
	cli_client_close(cl);
	assert_forwarding();
}

static void test_client_calls(void **state)
{
	struct cli_client *cl;
	json_t *req, *reply;
	const char *code;
	struct stat st;

	(void)state;
	assert_int_equal(stat(fx.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(cli_client_connect(fx.path, 10000, &cl), 0);
	req = json_pack("{s:s, s:{s:s}}", "cmd", "bridge/add", "args", "name", "br0");
	assert_int_equal(cli_client_call(cl, req, &reply), 0);
	assert_int_equal(ctl_reply_error(reply, NULL, NULL), 0);
	json_decref(reply);
	/* Same connection, second request: the error comes back as a reply. */
	assert_int_equal(cli_client_call(cl, req, &reply), 0);
	assert_int_equal(ctl_reply_error(reply, &code, NULL), -EINVAL);
	assert_string_equal(code, "EEXIST");
	json_decref(reply);
	json_decref(req);
	cli_client_close(cl);
	assert_server_answers();
}

static void test_malformed(void **state)
{
	struct conn c;

	(void)state;
	conn_open(&c);
	conn_sends(&c, "{bad\n");
	conn_expect_err(&c, "EINVAL", "request: invalid JSON");
	conn_sends(&c, "[\"x\"]\n");
	conn_expect_err(&c, "EINVAL", "request: expected an object");
	conn_sends(&c, "{\"cmd\": \"foo/bar\"}\n");
	conn_expect_err(&c, "ENOSYS", "unknown command \"foo/bar\"");
	conn_sends(&c, "{\"cmd\": \"link/set\", \"args\": {\"port\": \"x\", \"up\": 1}}\n");
	conn_expect_err(&c, "EINVAL", "args.up: expected a boolean");
	conn_send(&c, "{\"cmd\": \"st\0tus\"}\n", 18);
	conn_expect_err(&c, "EINVAL", "request: invalid JSON");
	assert_forwarding();
	/* Wrong types, one per kind of argument and of envelope field. */
	conn_sends(&c, "{\"cmd\": 7}\n");
	conn_expect_err(&c, "EINVAL", "cmd: expected a string");
	conn_sends(&c, "{\"cmd\": \"status\", \"args\": \"x\"}\n");
	conn_expect_err(&c, "EINVAL", "args: expected an object");
	conn_sends(&c, "{\"cmd\": \"bridge/add\", \"args\": {\"name\": [1]}}\n");
	conn_expect_err(&c, "EINVAL", "args.name: expected a string");
	conn_sends(&c, "{\"cmd\": \"fdb/set_age\", \"args\": {\"bridge\": \"fw\", "
		       "\"age_ms\": -1}}\n");
	conn_expect_err(&c, "EINVAL", "args.age_ms: expected an integer");
	conn_sends(&c, "{\"cmd\": \"partition/cut\", \"args\": {\"from\": {}, \"to\": \"fw1\"}}\n");
	conn_expect_err(&c, "EINVAL", "args.from: expected a string or an array");
	conn_sends(&c, "{\"cmd\": \"partition/cut\", \"args\": {\"from\": [\"fw0\", 3], "
		       "\"to\": \"fw1\"}}\n");
	conn_expect_err(&c, "EINVAL", "args.from[1]: expected a string");
	conn_sends(&c, "{\"cmd\": \"status\", \"args\": {}, \"extra\": 1}\n");
	conn_expect_err(&c, "EINVAL", "extra: unknown request field");
	assert_forwarding();
	/* Unknown commands and objects. */
	conn_sends(&c, "{\"cmd\": \"\"}\n");
	conn_expect_err(&c, "ENOSYS", "unknown command");
	conn_sends(&c, "{\"cmd\": \"bridge/add/x\"}\n");
	conn_expect_err(&c, "ENOSYS", "unknown command \"bridge/add/x\"");
	conn_sends(&c, "{\"cmd\": \"link/set\", \"args\": {\"port\": \"nope\", \"up\": true}}\n");
	conn_expect_err(&c, "ENOENT", "port \"nope\" not found");
	assert_forwarding();
	/* Blank lines are skipped; CRLF works; the connection stays usable. */
	conn_sends(&c, "\n\r\n{\"cmd\": \"status\"}\r\n");
	conn_expect_ok(&c);
	close(c.fd);
	assert_server_answers();
}

static void test_pipelined_and_split(void **state)
{
	struct conn c;
	json_t *r;

	(void)state;
	conn_open(&c);
	conn_sends(&c, "{\"cmd\":\"status\",\"id\":1}\n{\"cmd\":\"nope\",\"id\":2}\n"
		       "{\"cmd\":\"status\",\"id\":3}\n");
	for (int i = 1; i <= 3; i++) {
		r = conn_reply(&c);
		assert_int_equal(json_integer_value(json_object_get(r, "id")), i);
		json_decref(r);
	}
	conn_sends(&c, "{\"cmd\":");
	conn_sends(&c, "\"status\"");
	conn_sends(&c, "}\n");
	conn_expect_ok(&c);
	/* A last request without its newline is answered when the client shuts its side. */
	conn_sends(&c, "{\"cmd\":\"status\"}");
	assert_int_equal(shutdown(c.fd, SHUT_WR), 0);
	conn_expect_ok(&c);
	conn_expect_closed(&c);
	close(c.fd);
}

/* A status request padded with blanks to exactly len bytes, newline excluded. */
static char *padded_request(size_t len)
{
	const char *head = "{\"cmd\":\"status\"";
	char *s = malloc(len + 2);

	assert_non_null(s);
	memset(s, ' ', len);
	memcpy(s, head, strlen(head));
	s[len - 1] = '}';
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

static void test_oversize_line(void **state)
{
	struct conn c;
	char *s;

	(void)state;
	/* The longest line allowed is answered. */
	s = padded_request(SERVER_LINE_MAX);
	conn_open(&c);
	conn_sends(&c, s);
	conn_expect_ok(&c);
	free(s);
	/* One byte more: an error reply, then the connection is closed. */
	s = padded_request(SERVER_LINE_MAX + 1);
	conn_sends(&c, s);
	conn_expect_err(&c, "EMSGSIZE", "request line longer than 65536 bytes");
	conn_expect_closed(&c);
	close(c.fd);
	free(s);
	/* A stream without any newline at all. */
	s = malloc(200000);
	memset(s, '{', 200000);
	conn_open(&c);
	send(c.fd, s, 200000, MSG_NOSIGNAL | MSG_DONTWAIT);
	conn_expect_err(&c, "EMSGSIZE", "longer than");
	close(c.fd);
	free(s);
	assert_server_answers();
}

static void test_silent_clients(void **state)
{
	static struct conn idle[NIDLE];
	struct conn silent, partial;

	(void)state;
	conn_open(&silent);
	conn_open(&partial);
	conn_sends(&partial, "{\"cmd\": \"sta");
	for (int i = 0; i < NIDLE; i++)
		conn_open(&idle[i]);
	for (int i = 0; i < 3; i++)
		assert_server_answers();
	/* Idle clients that leave without a word change nothing. */
	for (int i = 0; i < NIDLE; i++)
		close(idle[i].fd);
	assert_server_answers();
	/* The partial request completes later and is answered. */
	conn_sends(&partial, "tus\"}\n");
	conn_expect_ok(&partial);
	close(partial.fd);
	close(silent.fd);
	assert_server_answers();
}

static void test_many_clients(void **state)
{
	static struct conn c[NCLIENTS];
	char req[64];
	json_t *r;

	(void)state;
	for (int i = 0; i < NCLIENTS; i++)
		conn_open(&c[i]);
	for (int i = 0; i < NCLIENTS; i++) {
		snprintf(req, sizeof(req), "{\"cmd\":\"status\",\"id\":%d}\n", i);
		conn_sends(&c[i], req);
		if (i % 25 == 0)
			assert_forwarding();
	}
	for (int i = NCLIENTS - 1; i >= 0; i--) {
		r = conn_reply(&c[i]);
		assert_int_equal(ctl_reply_error(r, NULL, NULL), 0);
		assert_int_equal(json_integer_value(json_object_get(r, "id")), i);
		json_decref(r);
	}
	for (int i = 0; i < NCLIENTS; i++)
		close(c[i].fd);
	assert_server_answers();
}

/* Attach NPAIRS pair ports so that counters/get replies are large (tens of KiB). */
static void add_many_ports(void)
{
	struct port *p;
	char name[16];
	json_t *r;

	r = ctl_call(fx.ctl, "bridge/add", json_pack("{s:s}", "name", "big"));
	assert_int_equal(ctl_reply_error(r, NULL, NULL), 0);
	json_decref(r);
	for (int i = 0; i < NPAIRS; i++) {
		snprintf(name, sizeof(name), "q%d", i);
		assert_int_equal(port_pair_open(name, &p, &fx.peers[fx.npeers]), 0);
		fx.npeers++;
		assert_int_equal(ctl_attach_port(fx.ctl, "big", p, NULL), 0);
	}
}

static void test_disconnect_mid_reply(void **state)
{
	const char *req = "{\"cmd\":\"counters/get\",\"args\":{\"bridge\":\"big\"}}\n";
	size_t len = strlen(req), n = 500;
	char *many = malloc(len * n + 1);
	struct conn *c = malloc(sizeof(*c));
	json_t *r;

	(void)state;
	add_many_ports();
	for (size_t i = 0; i < n; i++)
		memcpy(many + i * len, req, len);
	many[len * n] = '\0';
	for (int round = 0; round < 3; round++) {
		conn_open(c);
		conn_sends(c, many);
		/* Read the first reply so the server is surely writing, then vanish. */
		r = conn_reply(c);
		assert_int_equal(
			json_array_size(json_object_get(json_object_get(r, "result"), "ports")),
			NPAIRS);
		json_decref(r);
		close(c->fd);
		assert_server_answers();
	}
	/* A client that vanishes before reading anything. */
	conn_open(c);
	conn_sends(c, many);
	close(c->fd);
	assert_server_answers();
	free(many);
	free(c);
}

/*
 * A client that starts a request line and does not finish it (one byte a
 * second, say) is told and closed after line_ms; one that finishes in time,
 * or sends nothing at all, is served as ever.
 */
static void test_unfinished_line(void **state)
{
	struct conn slow, quiet, quick;

	(void)state;
	conn_open(&slow);
	conn_open(&quiet);
	conn_open(&quick);
	conn_sends(&slow, "{\"cmd\": \"sta");
	conn_sends(&quick, "{\"cmd\": \"sta");
	usleep(50 * 1000);
	conn_sends(&slow, " "); /* a byte now and then does not reset the clock */
	conn_sends(&quick, "tus\"}\n");
	conn_expect_ok(&quick);
	conn_expect_err(&slow, "ETIMEDOUT", "request line not finished within 1000 ms");
	conn_expect_closed(&slow);
	conn_sends(&quiet, "{\"cmd\": \"status\"}\n"); /* silence is no unfinished line */
	conn_expect_ok(&quiet);
	close(slow.fd);
	close(quiet.fd);
	close(quick.fd);
	assert_server_answers();
}

static void test_client_cap(void **state)
{
	enum { ALL = 4 + SERVER_OWNER_RESERVE }; /* the owner (this process) has the reserve too */
	struct conn c[ALL + 1];

	(void)state;
	for (int i = 0; i < ALL; i++) {
		conn_open(&c[i]);
		conn_sends(&c[i], "{\"cmd\":\"status\"}\n");
		conn_expect_ok(&c[i]);
	}
	conn_open(&c[ALL]);
	conn_expect_err(&c[ALL], "EBUSY", "too many control clients");
	conn_expect_closed(&c[ALL]);
	close(c[ALL].fd);
	/* They all still work; once one leaves, a newcomer is served. */
	for (int i = 0; i < ALL; i++) {
		conn_sends(&c[i], "{\"cmd\":\"status\"}\n");
		conn_expect_ok(&c[i]);
	}
	close(c[0].fd);
	/* cli_client reports the refusal as a reply until the server has seen the close. */
	for (int tries = 0;; tries++) {
		struct cli_client *cl;
		json_t *req = json_pack("{s:s}", "cmd", "status"), *reply = NULL;
		int err;

		assert_int_equal(cli_client_connect(fx.path, 10000, &cl), 0);
		err = cli_client_call(cl, req, &reply);
		cli_client_close(cl);
		json_decref(req);
		if (!err && ctl_reply_error(reply, NULL, NULL) == 0) {
			json_decref(reply);
			break;
		}
		json_decref(reply);
		assert_true(tries < 1000);
		usleep(1000);
	}
	for (int i = 1; i < ALL; i++)
		close(c[i].fd);
}

static void test_probe_and_stale(void **state)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct server *srv;
	char stale[160], file[160], longp[200];
	struct cli_client *cl;
	int fd;

	(void)state;
	assert_int_equal(server_probe(fx.path), -EADDRINUSE);
	assert_int_equal(server_create(fx.ctl, fx.path, NULL, &srv), -EADDRINUSE);
	assert_server_answers(); /* the refused second server left the socket alone */

	/* A stale socket (bound, then its owner went away) is replaced. */
	snprintf(stale, sizeof(stale), "%s/stale.sock", fx.dir);
	strcpy(addr.sun_path, stale);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	assert_int_equal(cli_client_connect(stale, 1000, &cl), -ECONNREFUSED);
	assert_int_equal(server_probe(stale), 0);
	assert_int_equal(server_create(fx.ctl, stale, NULL, &srv), 0);
	assert_int_equal(server_probe(stale), -EADDRINUSE);
	server_destroy(srv);
	assert_int_equal(access(stale, F_OK), -1);

	/* Not a socket: refused and left alone. */
	snprintf(file, sizeof(file), "%s/file", fx.dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	assert_int_equal(server_probe(file), -ENOTSOCK);
	assert_int_equal(server_create(fx.ctl, file, NULL, &srv), -ENOTSOCK);
	assert_int_equal(access(file, F_OK), 0);
	unlink(file);

	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(server_probe(longp), -ENAMETOOLONG);
	assert_int_equal(cli_client_connect(longp, 1000, &cl), -ENAMETOOLONG);
	snprintf(file, sizeof(file), "%s/none.sock", fx.dir);
	assert_int_equal(cli_client_connect(file, 1000, &cl), -ENOENT);
}

/* When set, bind() replaces the socket it made with a link to this file, as a racing user would. */
static const char *bind_swap_to;

int __real_bind(int fd, const struct sockaddr *addr, socklen_t len);
int __wrap_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int rc = __real_bind(fd, addr, len);
	const struct sockaddr_un *un = (const struct sockaddr_un *)addr;

	if (rc == 0 && bind_swap_to && addr->sa_family == AF_UNIX) {
		unlink(un->sun_path);
		if (symlink(bind_swap_to, un->sun_path))
			return -1;
	}
	return rc;
}

/* A link put in place of the socket after bind: neither its mode nor its group is followed. */
static void test_socket_swapped_for_link(void **state)
{
	struct server_opts opts = {.group = getgid()};
	char victim[160], path[160];
	struct server *srv;
	struct stat st;
	int fd;

	(void)state;
	snprintf(victim, sizeof(victim), "%s/victim", fx.dir);
	snprintf(path, sizeof(path), "%s/swapped.sock", fx.dir);
	fd = open(victim, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
	for (int group = 0; group < 2; group++) {
		opts.group_set = group;
		bind_swap_to = victim;
		assert_true(server_create(fx.ctl, path, &opts, &srv) < 0);
		bind_swap_to = NULL;
		assert_int_equal(stat(victim, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0644);
		assert_int_equal(lstat(path, &st), -1); /* the link was not left either */
	}
	unlink(victim);
}

/* What a peer of another uid experienced; the exit code of peer_child(). */
enum peer_result {
	PEER_SERVED = 0, /* the status request was answered */
	PEER_REFUSED = 1, /* the server refused it with EACCES */
	PEER_NO_CONNECT = 2, /* connect() failed: the socket's mode kept it out */
	PEER_BROKEN = 3, /* anything else */
};

/* Run as uid 65534 with primary group gid and supplementary groups: ask for status. No cmocka. */
static void peer_child(gid_t gid, const gid_t *groups, size_t ngroups)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct pollfd pfd = {.events = POLLIN};
	const char *req = "{\"cmd\":\"status\"}\n", *code = NULL;
	char buf[4096] = "";
	json_t *r;
	ssize_t n;

	strcpy(addr.sun_path, fx.path);
	if (setgroups(ngroups, groups) || setgid(gid) || setuid(65534))
		_exit(PEER_BROKEN);
	pfd.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(pfd.fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		_exit(errno == EACCES ? PEER_NO_CONNECT : PEER_BROKEN);
	if (send(pfd.fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		/* A refusal may close the connection before the request is sent. */
	}
	if (poll(&pfd, 1, 10000) != 1)
		_exit(PEER_BROKEN);
	n = recv(pfd.fd, buf, sizeof(buf) - 1, 0);
	r = n > 0 ? json_loadb(buf, strcspn(buf, "\n"), 0, NULL) : NULL;
	if (r && ctl_reply_error(r, NULL, NULL) == 0)
		_exit(PEER_SERVED);
	if (r && ctl_reply_error(r, &code, NULL) == -EINVAL && strcmp(code, "EACCES") == 0)
		_exit(PEER_REFUSED);
	_exit(PEER_BROKEN);
}

/* Fork a peer_child() and return what it experienced. */
static int run_peer(gid_t gid, const gid_t *groups, size_t ngroups)
{
	pid_t pid;
	int status;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		peer_child(gid, groups, ngroups);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* A client of another uid may not talk to the server, even through a 0666 socket. */
static void test_peer_uid(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(fx.path, 0666), 0);
	assert_int_equal(chmod(fx.dir, 0755), 0);
	assert_int_equal(run_peer(65534, NULL, 0), PEER_REFUSED);
	assert_server_answers();
}

/*
 * A member holding its share of the clients (a quarter) is refused more, and
 * however many it holds, root still gets in.
 */
static void test_per_uid_cap(void **state)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int share = SERVER_DEFAULT_CLIENTS / SERVER_PER_UID_SHARE, sv[2], status;
	char verdict = 0;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	strcpy(addr.sun_path, fx.path);
	assert_int_equal(chmod(fx.dir, 0755), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) { /* as uid 65534 in the group: share connections, then one more */
		struct conn c;
		int fd = -1;

		if (setgroups(0, NULL) || setgid(TEST_GID) || setuid(65534))
			_exit(1);
		for (int i = 0; i <= share; i++) {
			fd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
				_exit(1);
		}
		c.fd = fd; /* the last one must be refused */
		c.len = 0;
		conn_expect_err(&c, "EBUSY", "too many control clients of uid 65534");
		verdict = 'r';
		(void)!write(sv[1], &verdict, 1);
		pause(); /* hold the share while root connects */
		_exit(0);
	}
	close(sv[1]);
	assert_int_equal(read(sv[0], &verdict, 1), 1);
	assert_int_equal(verdict, 'r');
	assert_server_answers(); /* root is served beside them */
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(sv[0]);
}

/* With a group: mode 0660 of that group; its members (primary or supplementary) are served. */
static void test_peer_group(void **state)
{
	const gid_t member[] = {100, TEST_GID};
	struct stat st;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(stat(fx.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, TEST_GID);
	assert_int_equal(chmod(fx.dir, 0755), 0);
	assert_int_equal(run_peer(65534, member, 2), PEER_SERVED);
	assert_int_equal(run_peer(TEST_GID, NULL, 0), PEER_SERVED);
	assert_int_equal(run_peer(65534, NULL, 0), PEER_NO_CONNECT);
	/* The server checks too, whatever the socket's mode. */
	assert_int_equal(chmod(fx.path, 0666), 0);
	assert_int_equal(run_peer(65534, member, 1), PEER_REFUSED);
	assert_int_equal(run_peer(65534, member, 2), PEER_SERVED);
	assert_server_answers();
}

/* Good, malformed, empty and unknown lines in one write: one reply each, in order. */
static void test_mixed_lines(void **state)
{
	struct conn c;

	(void)state;
	conn_open(&c);
	conn_sends(&c, "{\"cmd\":\"status\"}\n{bad\n\n{\"cmd\":\"nope\"}\n");
	conn_expect_ok(&c);
	conn_expect_err(&c, "EINVAL", "invalid JSON");
	conn_expect_err(&c, "ENOSYS", "unknown command");
	close(c.fd);
}

/* Bridge "lp" with pair port lp0, which nothing sends to: start a capture there; its id. */
static int start_idle_capture(void)
{
	struct port *p;
	json_t *r;
	int id;

	r = ctl_call(fx.ctl, "bridge/add", json_pack("{s:s}", "name", "lp"));
	assert_int_equal(ctl_reply_error(r, NULL, NULL), 0);
	json_decref(r);
	assert_int_equal(port_pair_open("lp0", &p, &fx.peers[fx.npeers]), 0);
	fx.npeers++;
	assert_int_equal(ctl_attach_port(fx.ctl, "lp", p, NULL), 0);
	r = ctl_call(fx.ctl, "capture/start",
		     json_pack("{s:s, s:s}", "port", "lp0", "mode", "loop"));
	assert_int_equal(ctl_reply_error(r, NULL, NULL), 0);
	id = (int)json_integer_value(json_object_get(json_object_get(r, "result"), "id"));
	assert_true(id > 0);
	json_decref(r);
	return id;
}

/* Send a capture/read of capture cap waiting up to wait_ms, with request id req_id. */
static void conn_send_read(struct conn *c, int cap, int wait_ms, int req_id)
{
	char req[160];

	snprintf(req, sizeof(req),
		 "{\"cmd\":\"capture/read\",\"args\":{\"id\":%d,\"wait_ms\":%d},\"id\":%d}\n", cap,
		 wait_ms, req_id);
	conn_sends(c, req);
}

/* The next reply must be ok, carry request id req_id and, when frames >= 0, that many frames. */
static json_t *conn_expect_reply(struct conn *c, int req_id, int frames)
{
	json_t *r = conn_reply(c), *result;

	assert_int_equal(ctl_reply_error(r, NULL, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), req_id);
	result = json_object_get(r, "result");
	if (frames >= 0)
		assert_int_equal(json_array_size(json_object_get(result, "frames")), frames);
	return r;
}

/* Nothing has come for the client yet. */
static void conn_expect_nothing(struct conn *c)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

	assert_int_equal(c->len, 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
}

/* While client 1 long-polls a capture that gets no frames, client 2 is answered. */
static void test_long_poll(void **state)
{
	int cap = start_idle_capture();
	struct conn c1, c2;
	char req[128];
	json_t *r;

	(void)state;
	conn_open(&c1);
	conn_send_read(&c1, cap, 60000, 1);
	/* Pipelined behind the read: answered after it, never before. */
	conn_sends(&c1, "{\"cmd\":\"status\",\"id\":3}\n");
	conn_open(&c2);
	conn_sends(&c2, "{\"cmd\":\"status\",\"id\":2}\n");
	json_decref(conn_expect_reply(&c2, 2, -1));
	conn_expect_nothing(&c1);
	/* A read that does not wait runs at once too, on the same capture. */
	conn_send_read(&c2, cap, 0, 4);
	json_decref(conn_expect_reply(&c2, 4, 0));
	conn_expect_nothing(&c1);
	/* Stopping the capture (a command taking the dispatcher's lock) ends the wait. */
	snprintf(req, sizeof(req), "{\"cmd\":\"capture/stop\",\"args\":{\"id\":%d},\"id\":5}\n",
		 cap);
	conn_sends(&c2, req);
	json_decref(conn_expect_reply(&c2, 5, -1));
	r = conn_expect_reply(&c1, 1, 0);
	assert_true(json_is_false(json_object_get(json_object_get(r, "result"), "running")));
	json_decref(r);
	json_decref(conn_expect_reply(&c1, 3, -1));
	/* A client that shuts its side after a waiting read still gets the reply, then EOF. */
	conn_send_read(&c1, cap, 1, 6);
	assert_int_equal(shutdown(c1.fd, SHUT_WR), 0);
	json_decref(conn_expect_reply(&c1, 6, 0));
	conn_expect_closed(&c1);
	close(c1.fd);
	close(c2.fd);
	assert_server_answers();
}

/*
 * SERVER_MAX_BLOCKING long-polls at once; one more gets EBUSY. Clients
 * that leave while they wait free their workers: a later long-poll runs.
 */
static void test_long_poll_cap_and_disconnect(void **state)
{
	static struct conn c[SERVER_MAX_BLOCKING + 1];
	const int n = SERVER_MAX_BLOCKING;
	int cap = start_idle_capture();
	const char *code;
	json_t *r;

	(void)state;
	for (int i = 0; i < n; i++) {
		conn_open(&c[i]);
		conn_send_read(&c[i], cap, 60000, i);
	}
	conn_open(&c[n]);
	conn_send_read(&c[n], cap, 60000, n);
	r = conn_reply(&c[n]);
	assert_int_equal(ctl_reply_error(r, &code, NULL), -EINVAL);
	assert_string_equal(code, "EBUSY");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), n);
	json_decref(r);
	conn_sends(&c[n], "{\"cmd\":\"status\",\"id\":7}\n");
	json_decref(conn_expect_reply(&c[n], 7, -1));
	for (int i = 0; i < n; i++)
		close(c[i].fd);
	/* Their waits end (no frame came, nothing stopped the capture): a worker is free again. */
	for (int tries = 0;; tries++) {
		conn_send_read(&c[n], cap, 1, 8);
		r = conn_reply(&c[n]);
		if (ctl_reply_error(r, NULL, NULL) == 0) {
			json_decref(r);
			break;
		}
		json_decref(r);
		assert_true(tries < 5000);
		usleep(1000);
	}
	close(c[n].fd);
	assert_server_answers();
}

/* A server stopped while a client long-polls ends the wait and joins its worker. */
static void test_long_poll_at_stop(void **state)
{
	int cap = start_idle_capture();
	struct conn c, other;

	(void)state;
	conn_open(&c);
	conn_send_read(&c, cap, 60000, 1);
	conn_open(&other);
	conn_sends(&other, "{\"cmd\":\"status\",\"id\":2}\n");
	json_decref(conn_expect_reply(&other, 2, -1));
	close(other.fd);
	conn_expect_nothing(&c);
	fx.linger_fd = c.fd; /* closed by teardown, after the server stopped */
}

/*
 * guest/run waits for a process on a worker thread too: others are answered
 * meanwhile, and a client that leaves ends its run (the process is killed).
 */
/*
 * Replies that would pass the budget of unread output (here 1 MiB) are
 * refused with ENOBUFS and a line saying so; a smaller read is served.
 */
static void test_reply_budget(void **state)
{
	int cap = start_idle_capture(), peer = fx.peers[fx.npeers - 1];
	uint8_t frame[1400] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5};
	struct conn c;
	char req[160];

	(void)state;
	for (int i = 0; i < 1000; i++) /* about 1.9 MB as base64 in a reply */
		assert_int_equal(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	conn_open(&c);
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"capture/"
		 "read\",\"args\":{\"id\":%d,\"cursor\":999,\"wait_ms\":10000}}\n",
		 cap);
	conn_sends(&c, req); /* all 1000 are in the capture */
	json_decref(conn_reply(&c));
	snprintf(req, sizeof(req), "{\"cmd\":\"capture/read\",\"args\":{\"id\":%d,\"max\":1000}}\n",
		 cap);
	conn_sends(&c, req);
	conn_expect_err(&c, "ENOBUFS", "replies not yet read (at most 1048576)");
	snprintf(req, sizeof(req), "{\"cmd\":\"capture/read\",\"args\":{\"id\":%d,\"max\":10}}\n",
		 cap);
	conn_sends(&c, req);
	conn_expect_ok(&c);
	close(c.fd);
	assert_server_answers();
}

static void test_guest_run_off_loop(void **state)
{
	char req[256], pidfile[] = "/tmp/tysrvpid.XXXXXX", buf[32] = {0};
	struct conn c1, c2;
	pid_t pid = 0;
	int fd, tries;

	(void)state;
	if (geteuid() != 0)
		skip(); /* namespace guests need root */
	fd = mkstemp(pidfile);
	assert_true(fd >= 0);
	conn_open(&c1);
	conn_open(&c2);
	conn_sends(&c2, "{\"cmd\":\"guest/add\",\"args\":{\"name\":\"sv\"},\"id\":1}\n");
	json_decref(conn_expect_reply(&c2, 1, -1));
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"guest/run\",\"args\":{\"guest\":\"sv\",\"argv\":[\"sh\",\"-c\","
		 "\"echo $$ > %s; exec sleep 60\"]},\"id\":2}\n",
		 pidfile);
	conn_sends(&c1, req);
	for (tries = 0; tries < 1000 && pid <= 0; tries++) { /* until the shell wrote its pid */
		usleep(10000);
		if (pread(fd, buf, sizeof(buf) - 1, 0) > 0)
			pid = atoi(buf);
	}
	assert_true(pid > 0);
	conn_sends(&c2, "{\"cmd\":\"status\",\"id\":3}\n");
	json_decref(conn_expect_reply(&c2, 3, -1));
	conn_expect_nothing(&c1);
	close(c1.fd);
	for (tries = 0; tries < 1000 && kill(pid, 0) == 0; tries++)
		usleep(10000); /* the worker's next poll slice sees the stop */
	assert_int_equal(kill(pid, 0), -1);
	conn_sends(&c2, "{\"cmd\":\"guest/del\",\"args\":{\"name\":\"sv\"},\"id\":4}\n");
	json_decref(conn_expect_reply(&c2, 4, -1));
	close(c2.fd);
	close(fd);
	unlink(pidfile);
	assert_server_answers();
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_client_calls),
		T(test_malformed),
		T(test_pipelined_and_split),
		T(test_oversize_line),
		T(test_silent_clients),
		T(test_many_clients),
		T(test_disconnect_mid_reply),
		cmocka_unit_test_setup_teardown(test_client_cap, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_unfinished_line, setup_line_ms, teardown),
		cmocka_unit_test_setup_teardown(test_reply_budget, setup_budget, teardown),
		T(test_probe_and_stale),
		T(test_peer_uid),
		cmocka_unit_test_setup_teardown(test_peer_group, setup_group, teardown),
		cmocka_unit_test_setup_teardown(test_socket_swapped_for_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_uid_cap, setup_group, teardown),
		T(test_mixed_lines),
		T(test_long_poll),
		T(test_long_poll_cap_and_disconnect),
		T(test_long_poll_at_stop),
		T(test_guest_run_off_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
