/* SPDX-License-Identifier: MIT */
/*
 * test_ctl: every command of the control vocabulary and its error paths,
 * through ctl_dispatch() over a real running dataplane with `pair` ports
 * (no root needed), plus forwarding checks: frames written to one peer fd
 * and read from another.
 *
 * Requests are written as JSON with single quotes ('x' for "x") for
 * readability. Absence of a frame is proven without timeouts: wait until the
 * drop counter moved, then send a marker frame that must be the first to
 * arrive.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "ctl_harness.h"
#include "log.h"

#define NPEERS 4

struct fixture {
	struct dp *dp;
	struct ctl *ctl;
	int peer[NPEERS]; /* peers of p0..p3: p0-p2 on br0, p3 on br1 */
};

static struct fixture fx;

static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void mac_of(int i, uint8_t *mac)
{
	const uint8_t m[6] = {0x02, 0, 0, 0, 0, (uint8_t)(0x10 + i)};

	memcpy(mac, m, 6);
}

static int setup(void **state)
{
	struct dp_config cfg = {.nbufs = 64, .buf_size = 4096, .tx_slots = 256};

	(void)state;
	memset(&fx, 0, sizeof(fx));
	th_open_pairs(&cfg, &fx.dp, &fx.ctl, fx.peer, NPEERS);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	th_close_pairs(fx.dp, fx.ctl, fx.peer, NPEERS);
	return 0;
}

/* Send a 60-byte frame from peer i to dst, carrying tag. */
static void send_frame(int i, const uint8_t *dst, uint8_t tag)
{
	uint8_t f[60] = {0};

	memcpy(f, dst, 6);
	mac_of(i, f + 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	f[14] = tag;
	assert_int_equal(send(fx.peer[i], f, sizeof(f), 0), (ssize_t)sizeof(f));
}

/* The tag of the next frame peer i receives; fails after 10 s without one. */
static int recv_tag(int i)
{
	struct pollfd pfd = {.fd = fx.peer[i], .events = POLLIN};
	uint8_t f[2048];
	ssize_t n;

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	n = recv(fx.peer[i], f, sizeof(f), 0);
	assert_true(n >= 15);
	return f[14];
}

/* Nothing waits at peer i right now. */
static void assert_nothing_at(int i)
{
	struct pollfd pfd = {.fd = fx.peer[i], .events = POLLIN};

	assert_int_equal(poll(&pfd, 1, 0), 0);
}

/* Peer i sees the end of its connection (the port was destroyed). */
static void assert_closed(int i)
{
	struct pollfd pfd = {.fd = fx.peer[i], .events = POLLIN};
	char buf[64];

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(recv(fx.peer[i], buf, sizeof(buf), 0), 0);
}

/* A counter of a port, read through counters/get. */
static json_int_t counter(const char *port, const char *name)
{
	json_t *r = OK("counters/get", "{'port': '%s'}", port);

	return json_integer_value(json_object_get(
		json_object_get(json_array_get(json_object_get(r, "ports"), 0), "counters"), name));
}

/* Wait until a counter reaches at least value (the loop applies frames asynchronously). */
static void wait_counter(const char *port, const char *name, json_int_t value)
{
	struct timespec ms = {0, 1000000};

	for (int i = 0; i < 10000; i++) {
		if (counter(port, name) >= value)
			return;
		nanosleep(&ms, NULL);
	}
	fail_msg("counter %s of %s never reached %lld", name, port, (long long)value);
}

/* A string member of the i-th element of array a. */
static const char *item_str(json_t *a, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(a, i), key));
}

/* Dispatch a whole request (stolen) and keep its reply as the last one. */
static void send_req(json_t *req)
{
	th_set_last(ctl_dispatch(fx.ctl, req));
	json_decref(req);
}

static void test_request_envelope(void **state)
{
	(void)state;
	send_req(json_pack("[]"));
	th_last_err("EINVAL", "request: expected an object");
	send_req(json_pack("{s:i}", "args", 1));
	th_last_err("EINVAL", "cmd: missing");
	send_req(json_pack("{s:i}", "cmd", 1));
	th_last_err("EINVAL", "cmd: expected a string");
	send_req(json_pack("{s:s, s:s}", "cmd", "status", "bogus", "x"));
	th_last_err("EINVAL", "bogus: unknown request field");
	ERR("ENOSYS", "unknown command \"foo/bar\"", "foo/bar", "{}");
	ERR("EINVAL", "args: expected an object", "status", "[1]");
	ERR("EINVAL", "args.name: unknown argument", "status", "{'name': 'x'}");
	ERR("EINVAL", "args.nmae: unknown argument", "bridge/add", "{'nmae': 'x'}");
	OK("status", "null");

	/* The id is echoed in replies, ok or not. */
	send_req(json_pack("{s:s, s:i}", "cmd", "status", "id", 42));
	th_last_ok();
	assert_int_equal(json_integer_value(json_object_get(th_last(), "id")), 42);
	send_req(json_pack("{s:s, s:s}", "cmd", "nope", "id", "a"));
	th_last_err("ENOSYS", "unknown command");
	assert_string_equal(json_string_value(json_object_get(th_last(), "id")), "a");
}

static void test_dispatch_text(void **state)
{
	const char *bad[] = {"{", "{\"cmd\": \"status\"} x", "",
			     "{\"cmd\":\"status\",\"cmd\":\"status\"}"};
	char *out;
	json_t *reply;

	(void)state;
	out = ctl_dispatch_text(fx.ctl, "{\"cmd\": \"status\"}", 17);
	assert_null(strchr(out, '\n'));
	reply = json_loads(out, 0, NULL);
	assert_non_null(reply);
	assert_int_equal(ctl_reply_error(reply, NULL, NULL), 0);
	json_decref(reply);
	free(out);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = ctl_dispatch_text(fx.ctl, bad[i], strlen(bad[i]));
		th_set_last(json_loads(out, 0, NULL));
		free(out);
		th_last_err("EINVAL", "request: invalid JSON");
	}
	/* Trailing garbage past the length is not read. */
	out = ctl_dispatch_text(fx.ctl, "{\"cmd\": \"status\"}garbage", 17);
	th_set_last(json_loads(out, 0, NULL));
	free(out);
	th_last_ok();
}

static void test_reply_error(void **state)
{
	const char *code, *msg;
	json_t *r;

	(void)state;
	r = ctl_error_reply(-ENOENT, "port \"%s\" not found", "x");
	assert_int_equal(ctl_reply_error(r, &code, &msg), -EINVAL);
	assert_string_equal(code, "ENOENT");
	assert_string_equal(msg, "port \"x\" not found");
	json_decref(r);
	r = json_pack("{s:i}", "ok", 1);
	assert_int_equal(ctl_reply_error(r, &code, &msg), -EPROTO);
	json_decref(r);
	assert_string_equal(ctl_errno_name(-EEXIST), "EEXIST");
	assert_string_equal(ctl_errno_name(-99999), "EIO");
}

static void test_status(void **state)
{
	json_t *r, *loop;

	(void)state;
	r = OK("status", "{}");
	assert_string_equal(json_string_value(json_object_get(r, "version")), TAPYARD_VERSION);
	assert_true(json_is_integer(json_object_get(r, "uptime_s")));
	assert_int_equal(json_integer_value(json_object_get(r, "bridges")), 2);
	assert_int_equal(json_integer_value(json_object_get(r, "ports")), NPEERS);
	loop = json_object_get(r, "loop");
	assert_true(json_is_true(json_object_get(loop, "running")));
	assert_true(json_is_integer(json_object_get(loop, "commands")));
	assert_true(json_is_integer(json_object_get(loop, "bufs_free")));
}

static void test_bridge(void **state)
{
	json_t *r;

	(void)state;
	r = OK("bridge/add", "{'name': 'br2'}");
	assert_string_equal(json_string_value(json_object_get(r, "name")), "br2");
	ERR("EEXIST", "bridge \"br2\" already exists", "bridge/add", "{'name': 'br2'}");
	ERR("EINVAL", "args.name: missing", "bridge/add", "{}");
	ERR("EINVAL", "args.name: expected a string", "bridge/add", "{'name': 3}");
	ERR("EINVAL", "args.name: must not be empty", "bridge/add", "{'name': ''}");
	ERR("ENAMETOOLONG", "args.name: longer than 31 bytes", "bridge/add",
	    "{'name': '0123456789abcdef0123456789abcdef'}");
	r = OK("bridge/list", "{}");
	assert_int_equal(json_array_size(r), 3);
	assert_string_equal(item_str(r, 0, "name"), "br0");
	assert_int_equal(json_array_size(json_object_get(json_array_get(r, 0), "ports")), 3);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_array_get(r, 0), "ports"), 1)),
			    "p1");
	assert_int_equal(json_array_size(json_object_get(json_array_get(r, 2), "ports")), 0);
	ERR("ENOENT", "bridge \"nope\" not found", "bridge/del", "{'name': 'nope'}");
	ERR("EINVAL", "args.name: missing", "bridge/del", "{}");
	OK("bridge/del", "{'name': 'br2'}");
	/* Deleting a bridge deletes its ports. */
	OK("bridge/del", "{'name': 'br1'}");
	ERR("ENOENT", "port \"p3\" not found", "link/set", "{'port': 'p3', 'up': false}");
	assert_int_equal(json_array_size(OK("bridge/list", "{}")), 1);
}

static void test_port_add_errors(void **state)
{
	(void)state;
	ERR("EINVAL", "args.bridge: missing", "port/add", "{'name': 'tyc0'}");
	ERR("EINVAL", "args.name: missing", "port/add", "{'bridge': 'br0'}");
	ERR("ENOENT", "bridge \"nope\" not found", "port/add",
	    "{'bridge': 'nope', 'name': 'tyc0'}");
	ERR("EINVAL", "args.type: unsupported port type \"pair\"", "port/add",
	    "{'bridge': 'br0', 'name': 'tyc0', 'type': 'pair'}");
	ERR("EINVAL", "args.type: expected a string", "port/add",
	    "{'bridge': 'br0', 'name': 'tyc0', 'type': 1}");
	ERR("EINVAL", "args.existing: expected a boolean", "port/add",
	    "{'bridge': 'br0', 'name': 'tyc0', 'existing': 'yes'}");
	ERR("EINVAL", "args.up: expected a boolean", "port/add",
	    "{'bridge': 'br0', 'name': 'tyc0', 'up': 1}");
	ERR("EINVAL", "args.speed: unknown argument", "port/add",
	    "{'bridge': 'br0', 'name': 'tyc0', 'speed': 1}");
	/* A port name in use is refused before any TAP is touched. */
	ERR("EEXIST", "port \"p1\" already exists", "port/add", "{'bridge': 'br0', 'name': 'p1'}");
	/* port_tap_open refuses a long name before touching the kernel; the message names it. */
	ERR("ENAMETOOLONG", "cannot open TAP \"tyc-name-too-long\": interface name too long",
	    "port/add", "{'bridge': 'br0', 'name': 'tyc-name-too-long'}");
	assert_int_equal(json_integer_value(json_object_get(OK("status", "{}"), "ports")), NPEERS);
}

static void test_attach_port(void **state)
{
	struct port *p;
	char buf[8];
	int peer;

	(void)state;
	assert_int_equal(port_pair_open("p9", &p, &peer), 0);
	assert_int_equal(ctl_attach_port(fx.ctl, "nope", p, NULL), -ENOENT);
	/* The port was destroyed: its peer sees the end. */
	assert_int_equal(recv(peer, buf, sizeof(buf), 0), 0);
	close(peer);
	assert_int_equal(port_pair_open("p1", &p, &peer), 0);
	assert_int_equal(ctl_attach_port(fx.ctl, "br0", p, NULL), -EEXIST);
	close(peer);
}

static void test_port_list_del(void **state)
{
	json_t *r, *p;

	(void)state;
	r = OK("port/list", "{}");
	assert_int_equal(json_array_size(r), NPEERS);
	r = OK("port/list", "{'bridge': 'br1'}");
	assert_int_equal(json_array_size(r), 1);
	p = json_array_get(r, 0);
	assert_string_equal(item_str(r, 0, "name"), "p3");
	assert_string_equal(item_str(r, 0, "bridge"), "br1");
	assert_string_equal(item_str(r, 0, "kind"), "pair");
	assert_true(json_is_true(json_object_get(p, "up")));
	assert_true(json_is_false(json_object_get(p, "gone")));
	assert_true(json_is_false(json_object_get(p, "created")));
	assert_true(json_is_false(json_object_get(p, "offloads")));
	ERR("ENOENT", "bridge \"nope\" not found", "port/list", "{'bridge': 'nope'}");
	ERR("EINVAL", "args.bridge: expected a string", "port/list", "{'bridge': ['br0']}");
	ERR("ENOENT", "port \"nope\" not found", "port/del", "{'name': 'nope'}");
	ERR("EINVAL", "args.name: missing", "port/del", "{}");
	OK("port/del", "{'name': 'p3'}");
	assert_int_equal(json_array_size(OK("port/list", "{'bridge': 'br1'}")), 0);
	assert_int_equal(json_array_size(OK("port/list", "{}")), NPEERS - 1);
	/* The peer of a deleted pair port sees the end. */
	assert_closed(3);
}

static void test_link_set(void **state)
{
	json_t *r;

	(void)state;
	ERR("EINVAL", "args.up: missing", "link/set", "{'port': 'p1'}");
	ERR("EINVAL", "args.up: expected a boolean", "link/set", "{'port': 'p1', 'up': 'down'}");
	ERR("EINVAL", "args.port: missing", "link/set", "{'up': true}");
	ERR("ENOENT", "port \"nope\" not found", "link/set", "{'port': 'nope', 'up': true}");
	r = OK("link/set", "{'port': 'p1', 'up': false}");
	assert_true(json_is_false(json_object_get(r, "up")));
	r = OK("port/list", "{'bridge': 'br0'}");
	assert_true(json_is_false(json_object_get(json_array_get(r, 1), "up")));

	/* p1 is down: a broadcast from p0 reaches p2 only. */
	send_frame(0, mac_bcast, 1);
	assert_int_equal(recv_tag(2), 1);
	wait_counter("p1", "drop_link_down", 1);
	assert_nothing_at(1);
	OK("link/set", "{'port': 'p1', 'up': true}");
	send_frame(0, mac_bcast, 2);
	assert_int_equal(recv_tag(1), 2);
	assert_int_equal(recv_tag(2), 2);
}

static void test_partition_cut_heal(void **state)
{
	json_t *r;

	(void)state;
	r = OK("partition/cut", "{'from': 'p0', 'to': 'p1', 'oneway': true}");
	assert_int_equal(json_integer_value(json_object_get(r, "paths")), 1);
	r = OK("partition/list", "{}");
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(item_str(r, 0, "from"), "p0");
	assert_string_equal(item_str(r, 0, "to"), "p1");

	/* p0 -> p1 is cut: a broadcast from p0 reaches p2 only; p1 -> p0 still works. */
	send_frame(0, mac_bcast, 3);
	assert_int_equal(recv_tag(2), 3);
	wait_counter("p0", "drop_partition", 1);
	assert_nothing_at(1);
	send_frame(1, mac_bcast, 4);
	assert_int_equal(recv_tag(0), 4);
	assert_int_equal(recv_tag(2), 4);

	r = OK("partition/heal", "{'from': 'p0', 'to': 'p1', 'oneway': true}");
	assert_int_equal(json_array_size(OK("partition/list", "{}")), 0);
	send_frame(0, mac_bcast, 5);
	assert_int_equal(recv_tag(1), 5);
	assert_int_equal(recv_tag(2), 5);

	/* Both ways, with sets of ports; self paths are skipped. */
	r = OK("partition/cut", "{'from': ['p0'], 'to': ['p1', 'p2']}");
	assert_int_equal(json_integer_value(json_object_get(r, "paths")), 4);
	assert_int_equal(json_array_size(OK("partition/list", "{'bridge': 'br0'}")), 4);
	assert_int_equal(json_array_size(OK("partition/list", "{'bridge': 'br1'}")), 0);
	r = OK("partition/cut", "{'from': ['p0', 'p1'], 'to': ['p1', 'p2']}");
	assert_int_equal(json_integer_value(json_object_get(r, "paths")), 6);
	r = OK("partition/heal", "{'from': 'p1', 'to': 'p2'}");
	assert_int_equal(json_array_size(OK("partition/list", "{}")), 4);
	OK("partition/heal_all", "{'bridge': 'br0'}");
	assert_int_equal(json_array_size(OK("partition/list", "{}")), 0);
}

static void test_partition_errors(void **state)
{
	(void)state;
	ERR("EINVAL", "args.from: missing", "partition/cut", "{'to': 'p1'}");
	ERR("EINVAL", "args.to: missing", "partition/cut", "{'from': 'p1'}");
	ERR("EINVAL", "args.to: expected a string or an array of strings", "partition/cut",
	    "{'from': 'p0', 'to': 1}");
	ERR("EINVAL", "args.to[1]: expected a string", "partition/heal",
	    "{'from': 'p0', 'to': ['p1', 2]}");
	ERR("EINVAL", "args.to: must not be empty", "partition/cut", "{'from': 'p0', 'to': []}");
	ERR("EINVAL", "args.oneway: expected a boolean", "partition/cut",
	    "{'from': 'p0', 'to': 'p1', 'oneway': 1}");
	ERR("ENOENT", "port \"nope\" not found", "partition/cut", "{'from': 'p0', 'to': 'nope'}");
	ERR("EINVAL", "ports \"p0\" and \"p3\" are on different bridges", "partition/cut",
	    "{'from': 'p0', 'to': ['p1', 'p3']}");
	ERR("EINVAL", "args.to: names only the ports of args.from", "partition/cut",
	    "{'from': 'p0', 'to': 'p0'}");
	/* Nothing was applied by the refused requests. */
	assert_int_equal(json_array_size(OK("partition/list", "{}")), 0);
	ERR("EINVAL", "args.port: missing", "partition/isolate", "{}");
	ERR("ENOENT", "port \"nope\" not found", "partition/unisolate", "{'port': 'nope'}");
	ERR("ENOENT", "bridge \"nope\" not found", "partition/heal_all", "{'bridge': 'nope'}");
	ERR("ENOENT", "bridge \"nope\" not found", "partition/list", "{'bridge': 'nope'}");
}

static void test_partition_isolate(void **state)
{
	json_t *r;

	(void)state;
	r = OK("partition/isolate", "{'port': 'p1'}");
	assert_int_equal(json_integer_value(json_object_get(r, "paths")), 4);
	r = OK("partition/list", "{}");
	assert_int_equal(json_array_size(r), 4);
	/* p3 is on br1 and untouched; p0 <-> p2 still works. */
	send_frame(0, mac_bcast, 6);
	assert_int_equal(recv_tag(2), 6);
	wait_counter("p0", "drop_partition", 1);
	assert_nothing_at(1);
	OK("partition/unisolate", "{'port': 'p1'}");
	assert_int_equal(json_array_size(OK("partition/list", "{}")), 0);
	OK("partition/isolate", "{'port': 'p2'}");
	OK("partition/cut", "{'from': 'p1', 'to': 'p0'}");
	assert_int_equal(json_array_size(OK("partition/list", "{}")), 6);
	OK("partition/heal_all", "{}");
	assert_int_equal(json_array_size(OK("partition/list", "{}")), 0);
	send_frame(0, mac_bcast, 7);
	assert_int_equal(recv_tag(1), 7);
	assert_int_equal(recv_tag(2), 7);
}

static void test_counters(void **state)
{
	const char *key;
	json_t *r, *c, *v;
	unsigned int i = 0;

	(void)state;
	send_frame(0, mac_bcast, 8);
	assert_int_equal(recv_tag(1), 8);
	assert_int_equal(recv_tag(2), 8);
	wait_counter("p0", "tx_packets", 1);
	r = OK("counters/get", "{}");
	assert_int_equal(json_array_size(json_object_get(r, "ports")), NPEERS);
	r = json_array_get(json_object_get(r, "ports"), 1);
	assert_string_equal(json_string_value(json_object_get(r, "name")), "p1");
	assert_string_equal(json_string_value(json_object_get(r, "bridge")), "br0");
	c = json_object_get(r, "counters");
	assert_int_equal(json_object_size(c), dp_counter_count);
	json_object_foreach(c, key, v) {
		assert_string_equal(key, dp_counter_names[i++]);
		assert_true(json_is_integer(v));
	}
	assert_int_equal(counter("p1", "rx_packets"), 1);
	assert_int_equal(counter("p1", "rx_bytes"), 60);

	r = OK("counters/get", "{'port': ['p2', 'p0']}");
	assert_int_equal(json_array_size(json_object_get(r, "ports")), 2);
	assert_string_equal(item_str(json_object_get(r, "ports"), 0, "name"), "p2");
	r = OK("counters/get", "{'bridge': 'br1'}");
	assert_int_equal(json_array_size(json_object_get(r, "ports")), 1);
	ERR("EINVAL", "args: give port or bridge, not both", "counters/get",
	    "{'port': 'p0', 'bridge': 'br0'}");
	ERR("ENOENT", "port \"nope\" not found", "counters/get", "{'port': ['p0', 'nope']}");
	ERR("ENOENT", "bridge \"nope\" not found", "counters/get", "{'bridge': 'nope'}");

	OK("counters/reset", "{'port': 'p1'}");
	assert_int_equal(counter("p1", "rx_packets"), 0);
	assert_int_equal(counter("p0", "tx_packets"), 1);
	OK("counters/reset", "{}");
	assert_int_equal(counter("p0", "tx_packets"), 0);
	ERR("ENOENT", "port \"nope\" not found", "counters/reset", "{'port': 'nope'}");
	ERR("EINVAL", "args.port: expected a string", "counters/reset", "{'port': 1}");
}

static void test_fdb(void **state)
{
	uint8_t mac[6];
	json_t *r;

	(void)state;
	send_frame(0, mac_bcast, 9);
	assert_int_equal(recv_tag(1), 9);
	assert_int_equal(recv_tag(2), 9);
	send_frame(3, mac_bcast, 10); /* learned on br1 only */
	r = OK("fdb/show", "{'bridge': 'br0'}");
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(item_str(r, 0, "mac"), "02:00:00:00:00:10");
	assert_string_equal(item_str(r, 0, "port"), "p0");
	assert_true(json_is_integer(json_object_get(json_array_get(r, 0), "idle_ms")));

	/* Unicast to the learned address goes to p0 alone: p2 gets the next broadcast first. */
	mac_of(0, mac);
	send_frame(1, mac, 11);
	assert_int_equal(recv_tag(0), 11);
	send_frame(0, mac_bcast, 12);
	assert_int_equal(recv_tag(2), 12);
	assert_int_equal(recv_tag(1), 12);

	ERR("EINVAL", "port \"p3\" is not on bridge \"br0\"", "fdb/flush",
	    "{'bridge': 'br0', 'port': 'p3'}");
	OK("fdb/flush", "{'bridge': 'br0', 'port': 'p0'}");
	r = OK("fdb/show", "{'bridge': 'br0'}");
	assert_int_equal(json_array_size(r), 1); /* p1's address remains */
	assert_string_equal(item_str(r, 0, "port"), "p1");
	OK("fdb/flush", "{'bridge': 'br0'}");
	assert_int_equal(json_array_size(OK("fdb/show", "{'bridge': 'br0'}")), 0);
	ERR("EINVAL", "args.bridge: missing", "fdb/show", "{}");
	ERR("ENOENT", "bridge \"nope\" not found", "fdb/show", "{'bridge': 'nope'}");
	ERR("ENOENT", "bridge \"nope\" not found", "fdb/flush", "{'bridge': 'nope'}");
	ERR("ENOENT", "port \"nope\" not found", "fdb/flush", "{'bridge': 'br0', 'port': 'nope'}");

	OK("fdb/set_age", "{'bridge': 'br0', 'age_ms': 1000}");
	ERR("EINVAL", "args.age_ms: expected an integer from 1 to 4294967295", "fdb/set_age",
	    "{'bridge': 'br0', 'age_ms': 0}");
	ERR("EINVAL", "args.age_ms: expected an integer", "fdb/set_age",
	    "{'bridge': 'br0', 'age_ms': 4294967296}");
	ERR("EINVAL", "args.age_ms: expected an integer", "fdb/set_age",
	    "{'bridge': 'br0', 'age_ms': '10'}");
	ERR("EINVAL", "args.age_ms: missing", "fdb/set_age", "{'bridge': 'br0'}");
	ERR("ENOENT", "bridge \"nope\" not found", "fdb/set_age",
	    "{'bridge': 'nope', 'age_ms': 5}");
}

static void test_log_set(void **state)
{
	json_t *r;

	(void)state;
	r = OK("log/set", "{'level': 'debug'}");
	assert_string_equal(json_string_value(json_object_get(r, "level")), "debug");
	assert_int_equal(log_get_level(), LOG_LVL_DEBUG);
	ERR("EINVAL", "args.level: unknown level \"loud\"", "log/set", "{'level': 'loud'}");
	ERR("EINVAL", "args.level: missing", "log/set", "{}");
	ERR("EINVAL", "args.level: expected a string", "log/set", "{'level': 2}");
	assert_int_equal(log_get_level(), LOG_LVL_DEBUG);
	OK("log/set", "{'level': 'warn'}");
	assert_string_equal(json_string_value(json_object_get(OK("status", "{}"), "log_level")),
			    "warn");
}

/* A --group member reads and changes the lab, never runs anything as the daemon. */
static void test_member_permissions(void **state)
{
	const struct ctl_caller member = {.member = true, .cred = {.uid = 65534, .gid = 65534}};
	const struct ctl_caller owner = {.cred = {.uid = 0}};

	(void)state;
	th_run_as(&member, "status", "{}");
	th_last_ok();
	th_run_as(&member, "bridge/add", "{'name': 'brm'}");
	th_last_ok();
	th_run_as(&member, "log/set", "{'level': 'debug'}");
	th_last_err("EPERM", "permission denied: log/set");
	th_run_as(&member, "guest/run", "{'guest': 'g', 'cmd': 'id'}");
	th_last_err("EPERM", "permission denied: guest/run");
	/* Root, the daemon's user and the process itself may. */
	th_run_as(&owner, "log/set", "{'level': 'warn'}");
	th_last_ok();
	th_run_as(&owner, "guest/run", "{'guest': 'g', 'cmd': 'id'}");
	th_last_err("ENOENT", "guest \"g\" not found");
	th_run_as(NULL, "log/set", "{'level': 'warn'}");
	th_last_ok();
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_request_envelope), T(test_dispatch_text),
		T(test_reply_error),	  T(test_status),
		T(test_bridge),		  T(test_port_add_errors),
		T(test_attach_port),	  T(test_port_list_del),
		T(test_link_set),	  T(test_partition_cut_heal),
		T(test_partition_errors), T(test_partition_isolate),
		T(test_counters),	  T(test_fdb),
		T(test_log_set),	  T(test_member_permissions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
