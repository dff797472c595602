/* SPDX-License-Identifier: MIT */
/*
 * test_ctl_record: the record of what a daemon owns and `tapyard cleanup`'s
 * removal of a dead daemon's leftovers. The file's life (create, add,
 * replace, remove, destroy), liveness (this very process, a reaped child, a
 * reused pid), refusals (live owner, live server, corrupt record, unknown
 * kind), the socket and pidfile; and, as root, real objects: a persistent
 * TAP, a network namespace, a tc filter in it, and a non-TAP recorded as a
 * TAP, which must be left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_record.h"
#include "log.h"

static char dir[64], sock[128], state[128], pidfile[128];

static int setup(void **st)
{
	(void)st;
	log_set_level(LOG_LVL_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/tyd3-rec-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/lab.sock", dir);
	snprintf(state, sizeof(state), "%s/lab.state", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/lab.pid", dir);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	unlink(sock);
	unlink(state);
	unlink(pidfile);
	assert_int_equal(rmdir(dir), 0); /* nothing else was left in it */
	if (geteuid() == 0 &&
	    system("ip netns del tyd3r0 2>/dev/null; ip link del tyd3r3 2>/dev/null") < 0)
		return -1;
	return 0;
}

static json_t *load_state(void)
{
	json_t *doc = json_load_file(state, 0, NULL);

	assert_non_null(doc);
	return doc;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* A pid that surely belongs to no process: a child that exited and was reaped. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

/* Write a record by hand: as a daemon that died would have left it. */
static void write_record(pid_t pid, long long starttime, const char *objects)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "{\"pid\": %d, \"starttime\": %lld, \"socket\": \"%s\", \"pidfile\": \"%s\", "
		 "\"objects\": %s}",
		 (int)pid, starttime, sock, pidfile, objects);
	assert_int_equal(ctl_record_write_file(state, text, 0644), 0);
}

static void write_pidfile(pid_t pid)
{
	char text[32];

	snprintf(text, sizeof(text), "%d\n", (int)pid);
	assert_int_equal(ctl_record_write_file(pidfile, text, 0644), 0);
}

/* A socket file nobody listens on. */
static void stale_socket(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(addr.sun_path, sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
}

/* Run cleanup; its report goes to *out (static). Returns its result. */
static int cleanup(const char **out)
{
	static char text[4096];
	FILE *m = fmemopen(text, sizeof(text), "w");
	int err;

	assert_non_null(m);
	err = ctl_record_cleanup(sock, m);
	fclose(m);
	*out = text;
	return err;
}

static void assert_has(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("\"%s\" does not contain \"%s\"", text, want);
}

static void test_path(void **st)
{
	char buf[64];

	(void)st;
	assert_int_equal(ctl_record_path("/run/tapyard/tapyard.sock", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/run/tapyard/tapyard.state");
	assert_int_equal(ctl_record_path("/tmp/ctl", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/tmp/ctl.state");
	assert_int_equal(ctl_record_path("/tmp/a.socket", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/tmp/a.socket.state");
	assert_int_equal(ctl_record_path("/a/very/long/path/to/a/socket.sock", buf, 16),
			 -ENAMETOOLONG);
}

static void test_life(void **st)
{
	struct ctl_record *rec;
	json_t *doc, *names;
	const char *report;

	(void)st;
	assert_int_equal(ctl_record_create(sock, pidfile, &rec), 0);
	doc = load_state();
	assert_int_equal(json_integer_value(json_object_get(doc, "pid")), getpid());
	assert_string_equal(json_string_value(json_object_get(doc, "socket")), sock);
	assert_string_equal(json_string_value(json_object_get(doc, "pidfile")), pidfile);
	assert_int_equal(json_array_size(json_object_get(doc, "objects")), 0);
	json_decref(doc);

	assert_int_equal(ctl_record_add(rec, "tap", "tyd3a", json_pack("{s:s}", "bridge", "b")), 0);
	assert_int_equal(ctl_record_add(rec, "netns", "tyd3-none", NULL), 0);
	assert_int_equal(ctl_record_add(rec, "tap", "tyd3a", json_pack("{s:s}", "bridge", "c")), 0);
	doc = load_state();
	assert_int_equal(json_array_size(json_object_get(doc, "objects")), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(json_object_get(doc, "objects"),
								   0),
						    "extra"),
				    "bridge")),
			    "c");
	json_decref(doc);
	names = ctl_record_names(rec, "tap");
	assert_int_equal(json_array_size(names), 1);
	assert_string_equal(json_string_value(json_array_get(names, 0)), "tyd3a");
	json_decref(names);
	assert_int_equal(ctl_record_remove(rec, "tap", "tyd3a"), 0);
	assert_int_equal(ctl_record_remove(rec, "tap", "tyd3a"), -ENOENT);
	doc = load_state();
	assert_int_equal(json_array_size(json_object_get(doc, "objects")), 1);
	json_decref(doc);

	/* Its daemon (this process) is alive: cleanup refuses and touches nothing. */
	assert_int_equal(ctl_record_owner(sock), getpid());
	assert_int_equal(cleanup(&report), -EBUSY);
	assert_true(exists(state));

	/* A clean stop removes the file; the leftover namespace does not exist: nothing to do. */
	ctl_record_destroy(rec);
	assert_false(exists(state));
	assert_int_equal(ctl_record_owner(sock), 0);
}

static void test_null_record(void **st)
{
	json_t *names;

	(void)st;
	assert_int_equal(ctl_record_add(NULL, "tap", "x", json_object()), 0);
	assert_int_equal(ctl_record_remove(NULL, "tap", "x"), 0);
	names = ctl_record_names(NULL, "tap");
	assert_int_equal(json_array_size(names), 0);
	json_decref(names);
	ctl_record_destroy(NULL);
}

static void test_cleanup_dead(void **st)
{
	pid_t dead = dead_pid();
	const char *report;

	(void)st;
	/* Nothing at all. */
	assert_int_equal(cleanup(&report), 0);
	assert_string_equal(report, "");
	/* A dead daemon's record, pidfile and socket. */
	write_record(dead, 0, "[]");
	write_pidfile(dead);
	stale_socket();
	assert_int_equal(ctl_record_owner(sock), 0);
	assert_int_equal(cleanup(&report), 0);
	assert_has(report, "removed pidfile ");
	assert_has(report, "removed socket ");
	assert_has(report, "removed record ");
	assert_false(exists(state));
	assert_false(exists(pidfile));
	assert_false(exists(sock));

	/* A pidfile that names another process is not the daemon's any more: kept. */
	write_record(dead, 0, "[]");
	write_pidfile(getpid());
	assert_int_equal(cleanup(&report), 0);
	assert_true(exists(pidfile));
	assert_false(exists(state));
	unlink(pidfile);

	/* Our own pid with another start time: the pid was reused, the daemon is dead. */
	write_record(getpid(), 1, "[]");
	assert_int_equal(ctl_record_owner(sock), 0);
	assert_int_equal(cleanup(&report), 0);
	assert_false(exists(state));

	/* A stale socket without any record is removed too. */
	stale_socket();
	assert_int_equal(cleanup(&report), 0);
	assert_has(report, "removed socket ");
}

static void test_cleanup_refusals(void **st)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const char *report;
	int fd;

	(void)st;
	/* A server answers on the socket: refused, whatever the record says. */
	write_record(dead_pid(), 0, "[]");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(addr.sun_path, sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(cleanup(&report), -EBUSY);
	assert_true(exists(state));
	close(fd);
	unlink(sock);

	/* An object of a kind nobody handles: an error, the record is kept for another try. */
	write_record(dead_pid(), 0, "[{\"kind\": \"vlan\", \"name\": \"v1\", \"extra\": {}}]");
	assert_int_equal(cleanup(&report), -EINVAL);
	assert_has(report, "cannot remove vlan v1: no handler for this kind");
	assert_true(exists(state));

	/* A tc record without its interface: refused as malformed. */
	write_record(dead_pid(), 0, "[{\"kind\": \"tc\", \"name\": \"cap\", \"extra\": {}}]");
	assert_int_equal(cleanup(&report), -EINVAL);
	assert_has(report, "bad record");

	/* Not a record at all. */
	assert_int_equal(ctl_record_write_file(state, "{\"objects\": 3}", 0644), 0);
	assert_int_equal(cleanup(&report), -EBADMSG);
	assert_int_equal(ctl_record_owner(sock), -EBADMSG);
}

/* Run a shell command as a test step. */
static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

/* A persistent TAP, as left behind when nothing deletes it. */
static void persistent_tap(const char *name)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
}

static void test_cleanup_objects(void **st)
{
	const char *report;

	(void)st;
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 ||
	    system("command -v ip >/dev/null && command -v tc >/dev/null") != 0)
		skip();
	sh("ip netns add tyd3r0 && ip -n tyd3r0 link add tyd3v0 type veth peer name tyd3v1 && "
	   "tc -n tyd3r0 qdisc add dev tyd3v0 clsact && "
	   "tc -n tyd3r0 filter add dev tyd3v0 ingress pref 7 bpf bytecode '1,6 0 0 0,' && "
	   "tc -n tyd3r0 filter add dev tyd3v0 ingress pref 9 bpf bytecode '1,6 0 0 0,'");
	persistent_tap("tyd3r3");

	/* The tc filter of priority 7 only. */
	write_record(dead_pid(), 0,
		     "[{\"kind\": \"tc\", \"name\": \"cap0\", \"extra\": {\"netns\": \"tyd3r0\", "
		     "\"ifname\": \"tyd3v0\", \"parent\": \"ingress\", \"pref\": 7}}]");
	assert_int_equal(cleanup(&report), 0);
	assert_has(report, "removed tc cap0");
	sh("! tc -n tyd3r0 filter show dev tyd3v0 ingress | grep -q 'pref 7 ' && "
	   "tc -n tyd3r0 filter show dev tyd3v0 ingress | grep -q 'pref 9 '");

	/* Newest first: a veth recorded as a TAP is left alone, the TAP and namespace go. */
	write_record(dead_pid(), 0,
		     "[{\"kind\": \"netns\", \"name\": \"tyd3r0\", \"extra\": {}},"
		     " {\"kind\": \"tap\", \"name\": \"tyd3r3\", \"extra\": {\"bridge\": \"b\"}},"
		     " {\"kind\": \"tap\", \"name\": \"tyd3v1\", \"extra\": {\"netns\": \"tyd3r0\"}},"
		     " {\"kind\": \"tap\", \"name\": \"tyd3r4\", \"extra\": {}}]");
	assert_int_equal(cleanup(&report), 0);
	assert_has(report, "tap tyd3v1: tyd3v1 is not a TAP any more: left alone\n"
			   "removed tap tyd3r3\nremoved netns tyd3r0\n");
	assert_null(strstr(report, "tyd3r4")); /* already gone: nothing to say */
	sh("! ip link show tyd3r3 >/dev/null 2>&1 && ! ip netns list | grep -q '^tyd3r0'");
	assert_false(exists(state));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_path),
		T(test_life),
		T(test_null_record),
		T(test_cleanup_dead),
		T(test_cleanup_refusals),
		T(test_cleanup_objects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
