/* SPDX-License-Identifier: MIT */
/*
 * test_ctl_link: link/set and link/qmp over `pair` ports, with a fake QEMU
 * monitor on a unix socket: set_link reaches it with the port's netdev id,
 * a QMP error leaves the link as it was and says why, port/list says how
 * link state reaches each guest. As root also the trust rule: a --group
 * member cannot make the daemon connect to a socket the member could not
 * connect to, whoever runs link/set later.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "ctl_harness.h"
#include "dp.h"

#define NPEERS 2

/* The fake monitor: serves one connection per fake_serve(). */
struct fake {
	int listener; /* non-blocking */
	const char *reply; /* the body of the reply to set_link */
	pthread_t thread;
	json_t *request; /* the set_link request it read */
};

static struct {
	struct dp *dp;
	struct ctl *ctl;
	int peer[NPEERS];
	char dir[64];
	char sock[96];
	struct fake fake;
} fx;

static void fake_send(int fd, const char *text)
{
	(void)!send(fd, text, strlen(text), MSG_NOSIGNAL);
}

static json_t *fake_read(int fd)
{
	char line[4096];
	size_t n = 0;

	while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1) {
		if (line[n++] == '\n')
			return json_loadb(line, n, 0, NULL);
	}
	return NULL;
}

static void fake_reply(int fd, json_t *req, const char *body)
{
	char text[512];

	snprintf(text, sizeof(text), "{%s, \"id\": %lld}\n", body,
		 (long long)json_integer_value(json_object_get(req, "id")));
	fake_send(fd, text);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd p = {.fd = f->listener, .events = POLLIN};
	json_t *req;
	int c;

	if (poll(&p, 1, 20000) != 1) /* a safety net against a hang, not a measurement */
		return NULL;
	c = accept(f->listener, NULL, NULL);
	if (c < 0)
		return NULL;
	fcntl(c, F_SETFL, 0);
	fake_send(c, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
	req = fake_read(c);
	if (req)
		fake_reply(c, req, "\"return\": {}");
	json_decref(req);
	f->request = fake_read(c);
	if (f->request)
		fake_reply(c, f->request, f->reply);
	fake_read(c); /* until the client closes */
	close(c);
	return NULL;
}

/* Serve one connection in a thread, answering set_link with reply. */
static void fake_serve(const char *reply)
{
	json_decref(fx.fake.request);
	fx.fake.request = NULL;
	fx.fake.reply = reply;
	assert_int_equal(pthread_create(&fx.fake.thread, NULL, fake_main, &fx.fake), 0);
}

/* Wait for the served connection; the set_link request it read must say netdev and up. */
static void fake_check(const char *netdev, bool up)
{
	json_t *args;

	pthread_join(fx.fake.thread, NULL);
	assert_non_null(fx.fake.request);
	assert_string_equal(json_string_value(json_object_get(fx.fake.request, "execute")),
			    "set_link");
	args = json_object_get(fx.fake.request, "arguments");
	assert_string_equal(json_string_value(json_object_get(args, "name")), netdev);
	assert_int_equal(json_is_true(json_object_get(args, "up")), up);
}

/* Did nobody connect to the fake? */
static bool fake_untouched(void)
{
	int c = accept(fx.fake.listener, NULL, NULL);

	if (c >= 0)
		close(c);
	return c < 0 && errno == EAGAIN;
}

static int setup(void **state)
{
	struct dp_config cfg = {.nbufs = 64, .buf_size = 4096, .tx_slots = 256};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int l;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	th_open_pairs(&cfg, &fx.dp, &fx.ctl, fx.peer, NPEERS);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/tyqmctl.XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.sock, sizeof(fx.sock), "%s/qmp.sock", fx.dir);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx.sock);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 4), 0);
	fx.fake.listener = l;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	th_close_pairs(fx.dp, fx.ctl, fx.peer, NPEERS);
	close(fx.fake.listener);
	json_decref(fx.fake.request);
	unlink(fx.sock);
	rmdir(fx.dir);
	return 0;
}

static const char *port_field(json_t *port, const char *key)
{
	return json_string_value(json_object_get(port, key));
}

static void test_link_set_tells_qemu(void **state)
{
	json_t *r;

	(void)state;
	/* Without a socket, a pair port is only cut by the switch. */
	r = OK("link/set", "{'port': 'p0', 'up': false}");
	assert_string_equal(port_field(r, "link_via"), "switch");
	assert_false(json_is_true(json_object_get(r, "up")));
	OK("link/set", "{'port': 'p0', 'up': true}");
	r = OK("link/qmp", "{'port': 'p0', 'qmp': '%s', 'qmp_netdev': 'n0'}", fx.sock);
	assert_string_equal(port_field(r, "link_via"), "qmp");
	assert_string_equal(port_field(r, "qmp"), fx.sock);
	assert_string_equal(port_field(r, "qmp_netdev"), "n0");
	r = json_array_get(OK("port/list", "{}"), 0);
	assert_string_equal(port_field(r, "link_via"), "qmp");
	assert_string_equal(port_field(json_array_get(th_last_ok(), 1), "link_via"), "switch");
	fake_serve("\"return\": {}");
	r = OK("link/set", "{'port': 'p0', 'up': false}");
	fake_check("n0", false);
	assert_false(json_is_true(json_object_get(r, "up")));
	fake_serve("\"return\": {}");
	r = OK("link/set", "{'port': 'p0', 'up': true}");
	fake_check("n0", true);
	assert_true(json_is_true(json_object_get(r, "up")));
	/* Forgotten: the switch alone again, and nobody connects. */
	r = OK("link/qmp", "{'port': 'p0'}");
	assert_string_equal(port_field(r, "link_via"), "switch");
	OK("link/set", "{'port': 'p0', 'up': false}");
	assert_true(fake_untouched());
}

static void test_a_qmp_error_changes_nothing(void **state)
{
	json_t *r;

	(void)state;
	OK("link/qmp", "{'port': 'p1', 'qmp': '%s', 'qmp_netdev': 'nope'}", fx.sock);
	fake_serve("\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'nope' not "
		   "found\"}");
	ERR("EREMOTEIO", "DeviceNotFound: Device 'nope' not found", "link/set",
	    "{'port': 'p1', 'up': false}");
	th_last_err(NULL, "link left up");
	fake_check("nope", false);
	r = json_array_get(OK("port/list", "{}"), 1);
	assert_true(json_is_true(json_object_get(r, "up")));
	/* A socket nobody listens on: the error names it. */
	OK("link/qmp", "{'port': 'p1', 'qmp': '%s/none.sock', 'qmp_netdev': 'n1'}", fx.dir);
	ERR("ENOENT", "none.sock", "link/set", "{'port': 'p1', 'up': false}");
}

static void test_qmp_args(void **state)
{
	(void)state;
	ERR("EINVAL", "args.qmp_netdev: needed with args.qmp", "link/qmp",
	    "{'port': 'p0', 'qmp': '/x.sock'}");
	ERR("EINVAL", "args.qmp: needed with args.qmp_netdev", "link/qmp",
	    "{'port': 'p0', 'qmp_netdev': 'n0'}");
	ERR("EINVAL", "args.qmp: expected an absolute path", "link/qmp",
	    "{'port': 'p0', 'qmp': 'x.sock', 'qmp_netdev': 'n0'}");
	ERR("EINVAL", "args.qmp_netdev: must not be empty", "link/qmp",
	    "{'port': 'p0', 'qmp': '/x.sock', 'qmp_netdev': ''}");
	ERR("ENOENT", "port \"p9\" not found", "link/qmp",
	    "{'port': 'p9', 'qmp': '/x.sock', 'qmp_netdev': 'n0'}");
	ERR("EINVAL", "args.qmp_netdev: needed", "port/add",
	    "{'bridge': 'br0', 'name': 'tyqmx', 'qmp': '/x.sock'}");
}

#define SET_QMP "{'port': 'p0', 'qmp': '%s', 'qmp_netdev': 'n0'}"
#define LINK_DOWN "{'port': 'p0', 'up': false}"

/* The socket is root's alone (0700 directory): a member may not connect to it. */
static void test_a_member_connects_with_its_own_rights(void **state)
{
	const struct ctl_caller member = {.member = true, .cred = {.uid = 65534, .gid = 65534}};

	(void)state;
	if (geteuid() != 0) {
		skip(); /* needs root: the child takes uid 65534 */
		return;
	}
	assert_int_equal(chmod(fx.dir, 0700), 0);
	/* A member gives the path: connected to as the member, refused, never reached. */
	th_run_as(&member, "link/qmp", SET_QMP, fx.sock);
	th_last_ok();
	th_run_as(&member, "link/set", LINK_DOWN);
	th_last_err("EACCES", "as the caller");
	assert_true(fake_untouched());
	/* Root running link/set later does not lend the member its rights. */
	th_run_as(NULL, "link/set", LINK_DOWN);
	th_last_err("EACCES", "link left up");
	assert_true(fake_untouched());
	/* Root gives the path: the daemon's rights, whoever runs link/set. */
	th_run_as(NULL, "link/qmp", SET_QMP, fx.sock);
	th_last_ok();
	fake_serve("\"return\": {}");
	th_run_as(&member, "link/set", LINK_DOWN);
	th_last_ok();
	fake_check("n0", false);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_link_set_tells_qemu),
		T(test_a_qmp_error_changes_nothing),
		T(test_qmp_args),
		T(test_a_member_connects_with_its_own_rights),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
