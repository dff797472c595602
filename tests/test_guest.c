/* SPDX-License-Identifier: MIT */
/*
 * test_guest: namespace guests through the guest/... commands of the control
 * vocabulary, over a real running dataplane with real TAPs: attach (with
 * eth renumbering), addresses and names, run (output, stdin, argv, timeouts,
 * signals, truncation, clean environment), link carrier, detach, delete
 * (background processes killed, TAPs gone) and the error paths. Needs root
 * and /dev/net/tun; without them it exits 77. The CIDR parser runs anyway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "ctl_harness.h"
#include "guest.h"
#include "log.h"

static struct {
	struct dp *dp;
	struct ctl *ctl;
} fx;

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (!s)
		fail_msg("no string %s in reply", key);
	return s;
}

static json_int_t num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		fail_msg("no integer %s in reply", key);
	return json_integer_value(v);
}

/* Run cmd (raw text) in guest g with extra env (may be NULL); returns the result. */
static json_t *sh(const char *g, const char *cmd, json_t *env)
{
	json_t *args = json_pack("{s:s, s:s, s:i}", "guest", g, "cmd", cmd, "timeout_ms", 10000);

	if (env)
		json_object_set_new(args, "env", env);
	th_call("guest/run", args);
	return th_last_ok();
}

/* Run cmd in guest g; it must exit 0. Returns its stdout (valid until the next request). */
static const char *sh_ok(const char *g, const char *cmd)
{
	json_t *r = sh(g, cmd, NULL);

	if (num(r, "exit_code") != 0) {
		th_dump_last(cmd);
		fail();
	}
	return str(r, "stdout");
}

static int setup(void **state)
{
	struct dp_config cfg = {.nbufs = 256, .buf_size = 65664, .tx_slots = 512};

	(void)state;
	memset(&fx, 0, sizeof(fx));
	th_open(&cfg, &fx.dp, &fx.ctl);
	OK("bridge/add", "{'name': 'lan'}");
	OK("bridge/add", "{'name': 'wan'}");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	th_close(fx.dp, fx.ctl);
	return 0;
}

static void test_parse_cidr(void **state)
{
	unsigned int prefix;
	uint32_t addr;

	(void)state;
	assert_int_equal(guest_parse_cidr("10.1.0.0/24", &addr, &prefix), 0);
	assert_int_equal(addr, htonl(0x0a010000));
	assert_int_equal(prefix, 24);
	assert_int_equal(guest_parse_cidr("192.168.1.7", &addr, &prefix), 0);
	assert_int_equal(prefix, 32);
	assert_int_equal(guest_parse_cidr("10.1.0.0/33", &addr, &prefix), -EINVAL);
	assert_int_equal(guest_parse_cidr("10.1.0.0/", &addr, &prefix), -EINVAL);
	assert_int_equal(guest_parse_cidr("10.1.0/24x", &addr, &prefix), -EINVAL);
	assert_int_equal(guest_parse_cidr("", &addr, &prefix), -EINVAL);
	assert_int_equal(guest_parse_cidr("lan", &addr, &prefix), -EINVAL);
}

/* Two guests on one bridge reach each other by name; names and addresses are as documented. */
static void test_two_guests_ping(void **state)
{
	json_t *r;

	(void)state;
	OK("guest/add", "{'name': 'a'}");
	OK("guest/add", "{'name': 'b'}");
	r = OK("guest/attach", "{'guest': 'a', 'bridge': 'lan'}");
	assert_string_equal(str(r, "ifname"), "eth0");
	assert_string_equal(str(r, "address"), "10.1.0.1/24");
	assert_true(strncmp(str(r, "port"), "tyl", 3) == 0);
	assert_true(strlen(str(r, "port")) < IFNAMSIZ);
	assert_string_equal(str(r, "mac"), "52:54:00:b2:3e:de"); /* Provium's for "a-lan" */
	r = OK("guest/attach", "{'guest': 'b', 'bridge': 'lan'}");
	assert_string_equal(str(r, "address"), "10.1.0.2/24");
	assert_string_equal(sh_ok("a", "getent hosts b.lan"), "10.1.0.2        b.lan b\n");
	assert_string_equal(sh_ok("b", "getent hosts a"), "10.1.0.1        a.lan a\n");
	sh_ok("a", "ping -c 1 -W 2 b.lan");
	sh_ok("b", "ping -c 1 -W 2 a");
	assert_string_equal(sh_ok("a", "hostname"), "a\n");
	assert_string_equal(sh_ok("a", "cat /sys/class/net/eth0/address"), "52:54:00:b2:3e:de\n");
	assert_string_equal(sh_ok("a", "cat /sys/class/net/eth0/carrier"), "1\n");
	assert_string_equal(sh_ok("a", "ls /sys/class/net | tr '\\n' ' '"), "eth0 lo ");
	r = OK("guest/list", "{}");
	assert_int_equal(json_array_size(r), 2);
	assert_string_equal(
		str(json_array_get(json_object_get(json_array_get(r, 0), "nics"), 0), "bridge"),
		"lan");
	/* The hosts file is written only when what it says changes: a mark added behind
	 * tapyard's back survives a guest without NICs, and goes when c gets one. */
	sh_ok("a", "echo '# mark' >> /etc/hosts");
	OK("guest/add", "{'name': 'c'}");
	OK("guest/list", "{}");
	assert_string_equal(sh_ok("b", "grep -c '# mark' /etc/hosts"), "1\n");
	OK("guest/attach", "{'guest': 'c', 'bridge': 'lan'}");
	assert_string_equal(sh_ok("b", "getent hosts c"), "10.1.0.3        c.lan c\n");
	assert_string_equal(sh_ok("b", "grep -c '# mark' /etc/hosts || true"), "0\n");
}

/* eth names follow bridge-name order, across attach and detach. */
static void test_renumber(void **state)
{
	json_t *r;

	(void)state;
	OK("guest/add", "{'name': 'a'}");
	OK("guest/add", "{'name': 'b'}");
	OK("guest/attach", "{'guest': 'b', 'bridge': 'wan', 'subnet': '192.168.7.0/24'}");
	r = OK("guest/attach", "{'guest': 'a', 'bridge': 'wan', 'subnet': '192.168.7.0/24'}");
	assert_string_equal(str(r, "address"), "192.168.7.2/24");
	r = OK("guest/attach",
	       "{'guest': 'a', 'bridge': 'lan', 'subnet': '10.9.0.0/24', 'address': '10.9.0.5'}");
	assert_string_equal(str(r, "ifname"), "eth0");
	assert_string_equal(str(r, "address"), "10.9.0.5/24");
	assert_string_equal(sh_ok("a", "ip -o -4 addr show eth1 | awk '{print $4}'"),
			    "192.168.7.2/24\n");
	assert_string_equal(sh_ok("a", "ip -o -4 addr show eth0 | awk '{print $4}'"),
			    "10.9.0.5/24\n");
	sh_ok("a", "ping -c 1 -W 2 b.wan");
	assert_string_equal(sh_ok("b", "getent hosts a"), "10.9.0.5        a.lan a\n");
	OK("guest/detach", "{'guest': 'a', 'bridge': 'lan'}");
	assert_string_equal(sh_ok("a", "ip -o -4 addr show eth0 | awk '{print $4}'"),
			    "192.168.7.2/24\n");
	sh_ok("a", "ping -c 1 -W 2 b.wan && ! test -e /sys/class/net/eth1");
}

static void test_run_results(void **state)
{
	json_t *r;

	(void)state;
	OK("guest/add", "{'name': 'a'}");
	r = OK("guest/run", "{'guest': 'a', 'cmd': 'echo out; echo err >&2; exit 3'}");
	assert_int_equal(num(r, "exit_code"), 3);
	assert_string_equal(str(r, "status"), "exited");
	assert_string_equal(str(r, "stdout"), "out\n");
	assert_string_equal(str(r, "stderr"), "err\n");
	assert_true(json_is_null(json_object_get(r, "signal")));
	r = OK("guest/run", "{'guest': 'a', 'cmd': 'sleep 10', 'timeout_ms': 200}");
	assert_int_equal(num(r, "exit_code"), -2);
	assert_string_equal(str(r, "status"), "timed_out");
	assert_true(json_is_true(json_object_get(r, "timed_out")));
	r = OK("guest/run", "{'guest': 'a', 'cmd': 'kill -9 $$'}");
	assert_int_equal(num(r, "exit_code"), -1);
	assert_string_equal(str(r, "status"), "signalled");
	assert_int_equal(num(r, "signal"), 9);
	r = OK("guest/run", "{'guest': 'a', 'cmd': 'tr a-z A-Z', 'stdin': 'hello'}");
	assert_string_equal(str(r, "stdout"), "HELLO");
	r = OK("guest/run", "{'guest': 'a', 'argv': ['printf', '%%s|', 'x y', 'z']}");
	assert_string_equal(str(r, "stdout"), "x y|z|");
	r = OK("guest/run", "{'guest': 'a', 'cmd': 'head -c 100000 /dev/zero', 'max_output': 10}");
	assert_int_equal(json_string_length(json_object_get(r, "stdout")), 10);
	assert_true(json_is_true(json_object_get(r, "stdout_truncated")));
	r = sh("a", "echo \"$FOO:$PATH:$HOME\"; env | wc -l", json_pack("{s:s}", "FOO", "bar"));
	assert_true(strncmp(str(r, "stdout"), "bar:/usr/local/sbin:", 20) == 0);
	assert_true(atoi(strchr(str(r, "stdout"), '\n') + 1) < 12);
	/* A background process keeps its output pipe open: run returns when the shell exits. */
	r = OK("guest/run", "{'guest': 'a', 'cmd': 'sleep 30 & echo started', 'timeout_ms': 5000}");
	assert_string_equal(str(r, "stdout"), "started\n");
	assert_string_equal(str(r, "status"), "exited");
}

/* Deleting a guest kills what runs inside and removes its TAPs. */
static void test_del_cleans_up(void **state)
{
	char path[64], port[IFNAMSIZ];
	const char *out;
	FILE *f;
	char st = 'Z';
	long pid;

	(void)state;
	OK("guest/add", "{'name': 'a'}");
	snprintf(port, sizeof(port), "%s",
		 str(OK("guest/attach", "{'guest': 'a', 'bridge': 'lan'}"), "port"));
	out = sh_ok("a", "sleep 100 >/dev/null 2>&1 & echo $!");
	pid = atol(out);
	assert_true(pid > 0);
	assert_int_equal(kill((pid_t)pid, 0), 0);
	OK("guest/del", "{'name': 'a'}");
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	for (int i = 0; i < 200; i++) {
		f = fopen(path, "r");
		if (!f || fscanf(f, "%*d %*s %c", &st) != 1 || st == 'Z') {
			if (f)
				fclose(f);
			st = 'Z';
			break;
		}
		fclose(f);
		usleep(10000);
	}
	assert_int_equal(st, 'Z');
	assert_int_equal(if_nametoindex(port), 0);
	ERR("ENOENT", "port", "port/del", "{'name': '%s'}", port);
	assert_int_equal(json_array_size(OK("guest/list", "{}")), 0);
}

/* guest/link: the guest sees carrier go and come back; traffic follows. */
static void test_link(void **state)
{
	(void)state;
	OK("guest/add", "{'name': 'a'}");
	OK("guest/add", "{'name': 'b'}");
	OK("guest/attach", "{'guest': 'a', 'bridge': 'lan'}");
	OK("guest/attach", "{'guest': 'b', 'bridge': 'lan'}");
	OK("guest/link", "{'guest': 'a', 'bridge': 'lan', 'up': false}");
	assert_string_equal(sh_ok("a", "cat /sys/class/net/eth0/carrier"), "0\n");
	assert_int_equal(
		num(OK("guest/run", "{'guest': 'a', 'cmd': 'ping -c 1 -W 1 b.lan'}"), "exit_code"),
		1);
	/* The ping left b's address unresolved in a; reconnecting forgets that, so the
	 * next ping asks at once instead of after the kernel's 1 s ARP retry. */
	assert_non_null(strstr(sh_ok("a", "ip neigh show dev eth0"), "INCOMPLETE"));
	OK("guest/link", "{'guest': 'a', 'bridge': 'lan', 'up': true}");
	assert_null(strstr(sh_ok("a", "ip neigh show dev eth0"), "INCOMPLETE"));
	sh_ok("a", "ping -c 1 -W 2 b.lan");
}

static void test_errors(void **state)
{
	(void)state;
	ERR("EINVAL", "args.name", "guest/add", "{'name': 'a.b'}");
	ERR("EINVAL", "args.name", "guest/add", "{'name': '-x'}");
	OK("guest/add", "{'name': 'a'}");
	ERR("EEXIST", "already exists", "guest/add", "{'name': 'a'}");
	ERR("ENOENT", "guest \"zz\" not found", "guest/del", "{'name': 'zz'}");
	ERR("ENOENT", "bridge \"nope\" not found", "guest/attach",
	    "{'guest': 'a', 'bridge': 'nope'}");
	ERR("ENOENT", "guest \"zz\" not found", "guest/attach", "{'guest': 'zz', 'bridge': 'lan'}");
	ERR("EINVAL", "args.subnet", "guest/attach",
	    "{'guest': 'a', 'bridge': 'lan', 'subnet': '10.1.0.0'}");
	ERR("EINVAL", "args.subnet", "guest/attach",
	    "{'guest': 'a', 'bridge': 'lan', 'subnet': 'lan'}");
	ERR("EINVAL", "args.mac", "guest/attach",
	    "{'guest': 'a', 'bridge': 'lan', 'mac': '01:00:00:00:00:01'}");
	ERR("EINVAL", "args.mac", "guest/attach", "{'guest': 'a', 'bridge': 'lan', 'mac': 'zz'}");
	assert_string_equal(str(OK("guest/attach",
				   "{'guest': 'a', 'bridge': 'lan', 'mac': '02:00:00:00:00:0a'}"),
				"mac"),
			    "02:00:00:00:00:0a");
	ERR("EEXIST", "already attached", "guest/attach", "{'guest': 'a', 'bridge': 'lan'}");
	ERR("EINVAL", "overlaps bridge \"lan\"", "guest/attach",
	    "{'guest': 'a', 'bridge': 'wan', 'subnet': '10.1.0.128/25'}");
	ERR("EINVAL", "not a host", "guest/attach",
	    "{'guest': 'a', 'bridge': 'wan', 'address': '10.1.0.9'}");
	ERR("ENOENT", "not attached to bridge \"wan\"", "guest/detach",
	    "{'guest': 'a', 'bridge': 'wan'}");
	ERR("EINVAL", "exactly one", "guest/run", "{'guest': 'a'}");
	ERR("EINVAL", "exactly one", "guest/run",
	    "{'guest': 'a', 'cmd': 'true', 'argv': ['true']}");
	ERR("EINVAL", "args.argv[0]", "guest/run", "{'guest': 'a', 'argv': [1]}");
	ERR("EINVAL", "args.env.X", "guest/run", "{'guest': 'a', 'cmd': 'true', 'env': {'X': 1}}");
	ERR("ENOENT", "cannot run", "guest/run", "{'guest': 'a', 'argv': ['no-such-program-ty']}");
	ERR("EINVAL", "args.bogus", "guest/run", "{'guest': 'a', 'cmd': 'true', 'bogus': 1}");
	/* The port vanished under the guest (bridge deleted): the guest forgets the NIC. */
	OK("bridge/del", "{'name': 'lan'}");
	assert_int_equal(
		json_array_size(json_object_get(json_array_get(OK("guest/list", "{}"), 0), "nics")),
		0);
	OK("guest/clear", "{}");
	assert_int_equal(json_array_size(OK("guest/list", "{}")), 0);
}

int main(void)
{
	const struct CMUnitTest pure[] = {cmocka_unit_test(test_parse_cidr)};
	const struct CMUnitTest root[] = {
		cmocka_unit_test_setup_teardown(test_two_guests_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renumber, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_cleans_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	int failed = cmocka_run_group_tests_name("guest (no root)", pure, NULL, NULL);

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("SKIP: namespace guests need root and /dev/net/tun\n");
		return failed ? failed : 77;
	}
	return failed + cmocka_run_group_tests_name("guest", root, NULL, NULL);
}
