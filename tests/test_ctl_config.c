/* SPDX-License-Identifier: MIT */
/*
 * test_ctl_config: the daemon's configuration file over a real running
 * dataplane. Bridges, partitions and commands are applied through the
 * command vocabulary (checked with the same commands, and with frames
 * between pair ports); every kind of error names its JSON path; sections
 * apply in table order whatever the file's order. Ports that are real TAPs
 * are tried only as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "ctl_config.h"
#include "log.h"

#define NPEERS 3

struct fixture {
	struct dp *dp;
	struct ctl *ctl;
	int peer[NPEERS]; /* peers of pair ports p0..p2 on bridge br0 */
};

static struct fixture fx;

static int setup(void **state)
{
	struct dp_config cfg = {.nbufs = 64, .buf_size = 4096, .tx_slots = 256};
	struct port *p;
	char name[8];
	json_t *r;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	log_set_level(LOG_LVL_ERROR);
	assert_int_equal(dp_create(&cfg, &fx.dp), 0);
	assert_int_equal(dp_start(fx.dp), 0);
	assert_int_equal(ctl_create(fx.dp, &fx.ctl), 0);
	r = ctl_call(fx.ctl, "bridge/add", json_pack("{s:s}", "name", "br0"));
	assert_int_equal(ctl_reply_error(r, NULL, NULL), 0);
	json_decref(r);
	for (int i = 0; i < NPEERS; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		assert_int_equal(port_pair_open(name, &p, &fx.peer[i]), 0);
		assert_int_equal(ctl_attach_port(fx.ctl, "br0", p, NULL), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ctl_destroy(fx.ctl);
	dp_destroy(fx.dp);
	for (int i = 0; i < NPEERS; i++)
		close(fx.peer[i]);
	return 0;
}

/* Apply a configuration given as JSON text with single quotes for double ones. */
static int apply(const char *text, struct ctl_err *e)
{
	char buf[2048];
	json_error_t jerr;
	json_t *config;
	int err;

	snprintf(buf, sizeof(buf), "%s", text);
	for (char *c = buf; *c; c++)
		if (*c == '\'')
			*c = '"';
	config = json_loads(buf, JSON_DECODE_ANY, &jerr);
	if (!config)
		fail_msg("bad test config %s: %s", buf, jerr.text);
	memset(e, 0, sizeof(*e));
	err = ctl_config_apply(fx.ctl, config, e);
	json_decref(config);
	return err;
}

static void apply_ok(const char *text)
{
	struct ctl_err e;

	if (apply(text, &e))
		fail_msg("config %s failed: %s", text, e.msg);
}

/* The result of a command that must succeed (a new reference). */
static json_t *call_ok(const char *cmd, json_t *args)
{
	json_t *r = ctl_call(fx.ctl, cmd, args), *result;

	assert_int_equal(ctl_reply_error(r, NULL, NULL), 0);
	result = json_incref(json_object_get(r, "result"));
	json_decref(r);
	return result;
}

/* A frame from peer i to peer j's MAC; tag in its payload. */
static void send_frame(int i, int j, uint8_t tag)
{
	uint8_t f[60] = {0x02, 0, 0, 0, 0, (uint8_t)j, 0x02, 0, 0, 0, 0, (uint8_t)i, 0x88, 0xb5};

	f[14] = tag;
	assert_int_equal(send(fx.peer[i], f, sizeof(f), 0), (ssize_t)sizeof(f));
}

/* The tag of the next frame at peer i (within 10 s). */
static int recv_tag(int i)
{
	struct pollfd pfd = {.fd = fx.peer[i], .events = POLLIN};
	uint8_t f[2048];

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_true(recv(fx.peer[i], f, sizeof(f), 0) >= 15);
	return f[14];
}

/* Wait until counter name of port reaches at least value (the loop counts asynchronously). */
static void wait_counter(const char *port, const char *name, json_int_t value)
{
	json_t *r, *c;
	json_int_t v;

	for (int i = 0; i < 10000; i++) {
		r = call_ok("counters/get", json_pack("{s:s}", "port", port));
		c = json_object_get(json_array_get(json_object_get(r, "ports"), 0), "counters");
		v = json_integer_value(json_object_get(c, name));
		json_decref(r);
		if (v >= value)
			return;
		usleep(1000);
	}
	fail_msg("counter %s of %s never reached %lld", name, port, (long long)value);
}

static void test_bridges(void **state)
{
	json_t *list;

	(void)state;
	apply_ok("{'bridges': [{'name': 'lan', 'fdb_age_ms': 1000, 'ports': []}, "
		 "{'name': 'wan'}]}");
	list = call_ok("bridge/list", NULL);
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "name")),
			    "lan");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "name")),
			    "wan");
	json_decref(list);
}

/* The cut paths, as "from>to" strings joined by spaces. */
static void assert_cuts(const char *want)
{
	json_t *list = call_ok("partition/list", NULL), *p;
	char got[256] = "";
	size_t i, len = 0;

	json_array_foreach(list, i, p)
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s>%s", i ? " " : "",
					json_string_value(json_object_get(p, "from")),
					json_string_value(json_object_get(p, "to")));
	assert_string_equal(got, want);
	json_decref(list);
}

static void test_partitions_and_commands(void **state)
{
	json_t *ports;

	(void)state;
	apply_ok("{'partitions': [{'from': ['p0'], 'to': 'p1', 'oneway': true}],"
		 " 'commands': [{'cmd': 'link/set', 'args': {'port': 'p2', 'up': false}},"
		 "              {'cmd': 'counters/reset'}]}");
	assert_cuts("p0>p1");
	ports = call_ok("port/list", json_pack("{s:s}", "bridge", "br0"));
	assert_true(json_is_false(json_object_get(json_array_get(ports, 2), "up")));
	json_decref(ports);
	/* p1 -> p0 passes; p0 -> p1 is cut: the frame after it (p2 is down) is the first at p1. */
	send_frame(1, 0, 7);
	assert_int_equal(recv_tag(0), 7);
	send_frame(0, 1, 8);
	wait_counter("p0", "drop_partition", 1);
	apply_ok("{'partitions': [], 'commands': [{'cmd': 'partition/heal_all'}]}");
	send_frame(0, 1, 9);
	assert_int_equal(recv_tag(1), 9);
	/* Two-way between groups. */
	apply_ok("{'partitions': [{'from': 'p2', 'to': ['p0', 'p1']}]}");
	assert_cuts("p0>p2 p1>p2 p2>p0 p2>p1");
}

/* Sections apply in table order (bridges before commands), whatever the file's order. */
static void test_section_order(void **state)
{
	json_t *fdb;

	(void)state;
	apply_ok("{'commands': [{'cmd': 'fdb/set_age', 'args': {'bridge': 'late', 'age_ms': 5}}],"
		 " 'partitions': [], 'bridges': [{'name': 'late'}]}");
	fdb = call_ok("fdb/show", json_pack("{s:s}", "bridge", "late"));
	assert_int_equal(json_array_size(fdb), 0);
	json_decref(fdb);
}

static void test_errors(void **state)
{
	static const char *const cases[][2] = {
		{"[]", "config: expected an object"},
		{"{'bridge': []}", "config: bridge: unknown section (known: bridges, partitions, "},
		{"{'bridges': {}}", "config: bridges: expected an array"},
		{"{'bridges': [1]}", "config: bridges[0]: expected an object"},
		{"{'bridges': [{}]}", "config: bridges[0].name: missing"},
		{"{'bridges': [{'name': ''}]}", "config: bridges[0].name: must not be empty"},
		{"{'bridges': [{'name': 'x', 'colour': 1}]}", "config: bridges[0].colour: unknown key"},
		{"{'bridges': [{'name': 'x', 'fdb_age_ms': 'long'}]}",
		 "config: bridges[0].fdb_age_ms: expected an integer"},
		{"{'bridges': [{'name': 'x', 'fdb_age_ms': 0}]}",
		 "config: bridges[0].fdb_age_ms: expected an integer from 1 to 4294967295"},
		{"{'bridges': [{'name': 'x', 'ports': 'p0'}]}",
		 "config: bridges[0].ports: expected an array"},
		{"{'bridges': [{'name': 'y', 'ports': [{'name': 'tyd3q0'}, {'name': 5}]}]}",
		 "config: bridges[0].ports[1].name: expected a string"},
		{"{'bridges': [{'name': 'y', 'ports': [{'name': 'q', 'existing': 1}]}]}",
		 "config: bridges[0].ports[0].existing: expected a boolean"},
		{"{'bridges': [{'name': 'y', 'ports': [{'name': 'q', 'link': 'off'}]}]}",
		 "config: bridges[0].ports[0].link: expected \"up\" or \"down\""},
		{"{'bridges': [{'name': 'y', 'ports': [{'name': 'q', 'mtu': 9000}]}]}",
		 "config: bridges[0].ports[0].mtu: unknown key"},
		{"{'bridges': [{'name': 'y', 'ports': [{'name': 'q', 'qmp': '/q.sock'}]}]}",
		 "config: bridges[0].ports[0].qmp_netdev: needed with qmp"},
		{"{'bridges': [{'name': 'y', 'ports': [{'name': 'q', 'qmp': 1, 'qmp_netdev': 'n'}]}]}",
		 "config: bridges[0].ports[0].qmp: expected a string"},
		{"{'bridges': [{'name': 'br0'}]}", "config: bridges[0]: bridge \"br0\" already exists"},
		{"{'bridges': [{'name': 'a-name-longer-than-31-bytes-xxxxx'}]}",
		 "config: bridges[0]: args.name: longer than 31 bytes"},
		{"{'partitions': [{'from': 'p0'}]}", "config: partitions[0].to: missing"},
		{"{'partitions': [{'from': 'p0', 'to': []}]}",
		 "config: partitions[0].to: expected a string or a non-empty array of strings"},
		{"{'partitions': [{'from': ['p0', 1], 'to': 'p1'}]}",
		 "config: partitions[0].from[1]: expected a string"},
		{"{'partitions': [{'from': 'p0', 'to': 'p1', 'oneway': 'yes'}]}",
		 "config: partitions[0].oneway: expected a boolean"},
		{"{'partitions': [{'from': 'p0', 'to': 'nope'}]}",
		 "config: partitions[0]: port \"nope\" not found"},
		{"{'commands': [{'cmd': 'status'}, {'cmd': 'nope'}]}",
		 "config: commands[1]: unknown command \"nope\""},
		{"{'commands': [{'cmd': 'status', 'args': []}]}",
		 "config: commands[0].args: expected an object"},
		{"{'commands': [{'command': 'status'}]}", "config: commands[0].command: unknown key"},
		{"{'commands': [{'cmd': 'bridge/add', 'args': {'name': 'z', 'x': 1}}]}",
		 "config: commands[0]: args.x: unknown argument"},
	};
	struct ctl_err e;
	json_t *list;

	(void)state;
	/* Each message starts with the expected text (later sections join the "known" list). */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (apply(cases[i][0], &e) != -EINVAL)
			fail_msg("config %s was accepted", cases[i][0]);
		if (strncmp(e.msg, cases[i][1], strlen(cases[i][1])) != 0)
			fail_msg("config %s:\n  got  \"%s\"\n  want \"%s\"", cases[i][0], e.msg,
				 cases[i][1]);
	}
	/* A malformed file applies nothing: no bridge "x" or "y" was made on the way. */
	list = call_ok("bridge/list", NULL);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
}

/* Write text to a temporary file; returns its path (static). */
static const char *temp_file(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/tyd3-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_load_file(void **state)
{
	struct ctl_err e = {0};
	const char *path;
	char want[160];
	json_t *list;

	(void)state;
	path = temp_file("{\"bridges\": [{\"name\": \"fromfile\"}]}\n");
	assert_int_equal(ctl_config_load(fx.ctl, path, &e), 0);
	unlink(path);
	list = call_ok("bridge/list", NULL);
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);

	path = temp_file("{\"bridges\": [\n  {\"name\": \"x\",}\n]}\n");
	assert_int_equal(ctl_config_load(fx.ctl, path, &e), -EINVAL);
	snprintf(want, sizeof(want), "config: %s:2:", path);
	unlink(path);
	if (strncmp(e.msg, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want it to start with \"%s\"", e.msg, want);
	/* Duplicate keys are refused, not silently merged. */
	path = temp_file("{\"bridges\": [], \"bridges\": []}");
	assert_int_equal(ctl_config_load(fx.ctl, path, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "duplicate"));
	unlink(path);
	assert_int_equal(ctl_config_load(fx.ctl, "/nonexistent/tyd3.json", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "config: unable to open /nonexistent/tyd3.json"));
}

/* Real TAPs (root): created, one taken down, an "existing" one that is missing refused. */
static void test_tap_ports(void **state)
{
	struct ctl_err e;
	json_t *ports;

	(void)state;
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0)
		skip();
	apply_ok("{'bridges': [{'name': 'lan', 'ports': [{'name': 'tyd3c0'},"
		 " {'name': 'tyd3c1', 'existing': false, 'link': 'down'}]}]}");
	ports = call_ok("port/list", json_pack("{s:s}", "bridge", "lan"));
	assert_int_equal(json_array_size(ports), 2);
	assert_true(json_is_true(json_object_get(json_array_get(ports, 0), "created")));
	assert_true(json_is_true(json_object_get(json_array_get(ports, 0), "up")));
	assert_true(json_is_false(json_object_get(json_array_get(ports, 1), "up")));
	json_decref(ports);
	assert_int_equal(apply("{'bridges': [{'name': 'lan2', 'ports': "
			       "[{'name': 'tyd3c9', 'existing': true}]}]}",
			       &e),
			 -EINVAL);
	if (!strstr(e.msg, "config: bridges[0].ports[0]: cannot open TAP \"tyd3c9\""))
		fail_msg("got \"%s\"", e.msg);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bridges),  T(test_partitions_and_commands),
		T(test_section_order), T(test_errors),
		T(test_load_file), T(test_tap_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
