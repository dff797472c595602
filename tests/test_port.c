/* SPDX-License-Identifier: MIT */
/*
 * test_port: the tap and pair port classes. TAP cases need root and
 * /dev/net/tun; without them they are skipped (exit 77 when nothing ran).
 */
#include <errno.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "port.h"

static bool can_tap(void)
{
	return geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
}

static void test_pair_basics(void **state)
{
	struct port *p;
	int peer;

	(void)state;
	assert_int_equal(port_pair_open("pairname-that-is-long", &p, &peer), 0);
	assert_string_equal(port_name(p), "pairname-that-i"); /* truncated to 15 */
	assert_string_equal(port_kind(p), "pair");
	assert_false(port_offloads(p));
	assert_int_equal(port_hdr_len(p), 0);
	assert_false(port_created(p));
	assert_int_equal(port_set_carrier(p, false), -EOPNOTSUPP);
	assert_true(port_fd(p) >= 0);
	port_destroy(p);
	port_destroy(NULL);
	close(peer);
}

static void test_tap_create_and_delete(void **state)
{
	struct port_tap_opts o = {.up = true};
	struct port *p;

	(void)state;
	if (!can_tap())
		skip();
	assert_int_equal(port_tap_open("typt0", &o, &p), 0);
	assert_true(port_created(p));
	assert_true(port_offloads(p));
	assert_int_equal(port_hdr_len(p), VNET_HDR_LEN);
	assert_string_equal(port_kind(p), "tap");
	assert_int_not_equal(if_nametoindex("typt0"), 0);
	assert_int_equal(port_set_carrier(p, false), 0);
	assert_int_equal(port_set_carrier(p, true), 0);
	port_destroy(p);
	assert_int_equal(if_nametoindex("typt0"), 0); /* created, so deleted */
}

static void test_tap_open_existing_keeps_it(void **state)
{
	struct port_tap_opts o = {.must_exist = true};
	struct port *p;

	(void)state;
	if (!can_tap())
		skip();
	assert_int_equal(port_tap_open("typt1", &o, &p), -ENODEV);
	assert_int_equal(system("ip tuntap add dev typt1 mode tap"), 0);
	o.must_exist = true;
	assert_int_equal(port_tap_open("typt1", &o, &p), 0);
	assert_false(port_created(p));
	port_destroy(p);
	assert_int_not_equal(if_nametoindex("typt1"), 0); /* not ours: left in place */
	o = (struct port_tap_opts){.must_create = true};
	assert_int_equal(port_tap_open("typt1", &o, &p), -EEXIST);
	assert_int_equal(system("ip link del typt1"), 0);
}

static void test_tap_errors(void **state)
{
	struct port_tap_opts o = {0};
	struct port *p;

	(void)state;
	assert_int_equal(port_tap_open("ty-name-much-too-long", &o, &p), -ENAMETOOLONG);
	assert_int_equal(port_tap_open("", &o, &p), -EINVAL);
	assert_int_equal(port_tap_open("ty/x", &o, &p), -EINVAL);
	assert_non_null(strstr(port_strerror(-ENAMETOOLONG), "too long"));
	assert_non_null(strstr(port_strerror(-EEXIST), "not a TAP"));
	if (!can_tap())
		skip();
	/* An interface that exists and is not a TAP. */
	assert_int_equal(system("ip link add typtv0 type veth peer name typtv1"), 0);
	assert_int_equal(port_tap_open("typtv0", &o, &p), -EEXIST);
	assert_int_equal(system("ip link del typtv0"), 0);
	/* A TUN (not TAP) device is refused too. */
	assert_int_equal(system("ip tuntap add dev typtu mode tun"), 0);
	assert_int_equal(port_tap_open("typtu", &o, &p), -EEXIST);
	assert_int_equal(system("ip link del typtu"), 0);
}

static int cleanup(void **state)
{
	(void)state;
	if (can_tap()) {
		for (const char *const *n = (const char *const[]){"typt0", "typt1", "typtv0", "typtu", NULL}; *n; n++) {
			char cmd[64];

			if (if_nametoindex(*n)) {
				snprintf(cmd, sizeof(cmd), "ip link del %s", *n);
				if (system(cmd) != 0)
					fprintf(stderr, "cleanup: %s failed\n", cmd);
			}
		}
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_basics),
		cmocka_unit_test_teardown(test_tap_create_and_delete, cleanup),
		cmocka_unit_test_teardown(test_tap_open_existing_keeps_it, cleanup),
		cmocka_unit_test_teardown(test_tap_errors, cleanup),
	};

	if (!can_tap())
		fprintf(stderr, "test_port: not root or no /dev/net/tun: TAP cases are skipped\n");
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
