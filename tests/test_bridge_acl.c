/* SPDX-License-Identifier: MIT */
/*
 * test_bridge_acl: the bridge-helper's access list, in qemu-bridge-helper's
 * bridge.conf format: refused by default, allow and deny per bridge or all,
 * deny winning, includes (missing ones ignored, nested too deep refused),
 * malformed lines named, and files that are not root's only refused. Needs
 * root to own the files it writes (exit 77 without).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bridge_acl.h"

static char dir[64];

/* Write text to dir/name, mode 0644; returns its path (static buffer per name slot). */
static const char *conf(const char *name, const char *text)
{
	static char paths[4][128];
	static int next;
	char *path = paths[next++ % 4];
	FILE *f;

	snprintf(path, 128, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	return path;
}

static int check(const char *path, const char *bridge)
{
	char why[512];

	return bridge_acl_check(path, bridge, why, sizeof(why));
}

static void test_rules(void **state)
{
	const char *p;

	(void)state;
	p = conf("empty.conf", "# nothing allowed\n\n");
	assert_int_equal(check(p, "lan"), -EACCES);
	p = conf("one.conf", "allow lan\n");
	assert_int_equal(check(p, "lan"), 0);
	assert_int_equal(check(p, "lan2"), -EACCES);
	p = conf("all.conf", "  allow\tall  \ndeny lab\n");
	assert_int_equal(check(p, "lan"), 0);
	assert_int_equal(check(p, "lab"), -EACCES); /* deny wins */
	p = conf("denyall.conf", "allow lan\ndeny all\n");
	assert_int_equal(check(p, "lan"), -EACCES);
	assert_int_equal(check("/nonexistent/tapyard/bridge.conf", "lan"), -ENOENT);
}

static void test_includes(void **state)
{
	char text[256];
	const char *p;

	(void)state;
	conf("inc.conf", "allow lab\n");
	snprintf(text, sizeof(text), "include %s/inc.conf\ninclude %s/missing.conf\n", dir, dir);
	p = conf("main.conf", text);
	assert_int_equal(check(p, "lab"), 0);
	assert_int_equal(check(p, "lan"), -EACCES);
	snprintf(text, sizeof(text), "include %s/self.conf\n", dir);
	p = conf("self.conf", text);
	assert_int_equal(check(p, "lan"), -ELOOP);
}

static void test_refusals(void **state)
{
	char why[512], text[256];
	const char *p;

	(void)state;
	p = conf("bad.conf", "allow lan\npermit lan\n");
	assert_int_equal(bridge_acl_check(p, "lan", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "bad.conf:2: unknown rule \"permit\""));
	p = conf("noarg.conf", "allow\n");
	assert_int_equal(check(p, "lan"), -EINVAL);
	p = conf("open.conf", "allow all\n");
	assert_int_equal(chmod(p, 0666), 0);
	assert_int_equal(bridge_acl_check(p, "lan", why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "owned by root and writable by root only"));
	/* an included file that others may write spoils the whole list */
	snprintf(text, sizeof(text), "allow lan\ninclude %s/open.conf\n", dir);
	p = conf("incopen.conf", text);
	assert_int_equal(check(p, "lan"), -EPERM);
	assert_int_equal(chown(conf("users.conf", "allow all\n"), 1, 1), 0);
	snprintf(text, sizeof(text), "%s/users.conf", dir);
	assert_int_equal(check(text, "lan"), -EPERM);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tynd-acl-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_refusals),
	};

	if (geteuid() != 0) {
		printf("skip: the access list must be root's files: run as root\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
