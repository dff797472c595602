/* SPDX-License-Identifier: MIT */
/*
 * test_record: the record of what a daemon owns and `tapyard cleanup`'s
 * removal of a dead daemon's leftovers. The file's life (create, add,
 * replace, remove, destroy), liveness (this very process, a reaped child, a
 * reused pid), refusals (live owner, live server, corrupt record, unknown
 * kind), a starting daemon's take-over, the socket and pidfile; and, as root,
 * real objects: a persistent TAP, a network namespace, a tc filter in it, a
 * non-TAP recorded as a TAP, which must be left alone; the TAPs port/add
 * records and port/del and bridge/del forget; and a daemon killed while its
 * TAPs live on, whose cleanup removes exactly what it recorded.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "cleanup.h"
#include "record.h"
#include "dp.h"
#include "log.h"

static char dir[64], sock[128], state[128], pidfile[128];
static char ifprefix[10]; /* "tyq<pid>", the interfaces of this run */
static pid_t holder; /* a crashed daemon's child, which holds its TAPs open */

static int setup(void **st)
{
	(void)st;
	log_set_level(LOG_LVL_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/tyd3-rec-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/lab.sock", dir);
	snprintf(state, sizeof(state), "%s/lab.state", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/lab.pid", dir);
	snprintf(ifprefix, sizeof(ifprefix), "tyq%x", (unsigned int)getpid() & 0xffffff);
	return 0;
}

/* Interface name "tyq<pid><suffix>", unique to this run (the same in a child). */
static const char *ifname(char *buf, const char *suffix)
{
	snprintf(buf, IFNAMSIZ, "%s%.5s", ifprefix, suffix);
	return buf;
}

/* Delete the interfaces of this run (each may be gone already). */
static void del_links(void)
{
	static const char *const suffixes[] = {"a", "b", "c", "e", "x"};
	char cmd[64], name[IFNAMSIZ];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null", ifname(name, suffixes[i]));
		if (system(cmd) < 0)
			fail_msg("cannot run %s", cmd);
	}
}

static int teardown(void **st)
{
	(void)st;
	if (holder > 0)
		kill(holder, SIGKILL);
	holder = 0;
	if (geteuid() == 0)
		del_links();
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
	assert_int_equal(record_write_file(state, text, 0644), 0);
}

static void write_pidfile(pid_t pid)
{
	char text[32];

	snprintf(text, sizeof(text), "%d\n", (int)pid);
	assert_int_equal(record_write_file(pidfile, text, 0644), 0);
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

/* Run cleanup_socket() (or record_take_over()); its report goes to *out (static). */
static int settle(bool take_over, const char **out, pid_t *owner)
{
	static char text[4096];
	FILE *m;
	int err;

	text[0] = '\0'; /* fmemopen() leaves it alone when nothing is written */
	m = fmemopen(text, sizeof(text), "w");
	assert_non_null(m);
	*owner = -1;
	err = (take_over ? record_take_over : cleanup_socket)(sock, m, owner);
	fclose(m);
	*out = text;
	return err;
}

/* Run cleanup, which must find no live owner. Returns its result. */
static int cleanup(const char **out)
{
	pid_t owner;
	int err = settle(false, out, &owner);

	assert_int_equal(owner, 0);
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
	assert_int_equal(record_path("/run/tapyard/tapyard.sock", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/run/tapyard/tapyard.state");
	assert_int_equal(record_path("/tmp/ctl", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/tmp/ctl.state");
	assert_int_equal(record_path("/tmp/a.socket", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/tmp/a.socket.state");
	assert_int_equal(record_path("/a/very/long/path/to/a/socket.sock", buf, 16), -ENAMETOOLONG);
}

static void test_life(void **st)
{
	struct record *rec;
	const char *report;
	json_t *doc;
	pid_t owner;

	(void)st;
	assert_int_equal(record_create(sock, pidfile, &rec), 0);
	doc = load_state();
	assert_int_equal(json_integer_value(json_object_get(doc, "pid")), getpid());
	assert_string_equal(json_string_value(json_object_get(doc, "socket")), sock);
	assert_string_equal(json_string_value(json_object_get(doc, "pidfile")), pidfile);
	assert_int_equal(json_array_size(json_object_get(doc, "objects")), 0);
	json_decref(doc);

	assert_int_equal(record_add(rec, "tap", "tyd3a", json_pack("{s:s}", "bridge", "b")), 0);
	assert_int_equal(record_add(rec, "netns", "tyd3-none", NULL), 0);
	assert_int_equal(record_add(rec, "tap", "tyd3a", json_pack("{s:s}", "bridge", "c")), 0);
	doc = load_state();
	assert_int_equal(json_array_size(json_object_get(doc, "objects")), 2);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_array_get(json_object_get(doc, "objects"), 0),
					"extra"),
			"bridge")),
		"c");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(doc, "objects"), 0), "name")),
			    "tyd3a");
	json_decref(doc);
	assert_int_equal(record_remove(rec, "tap", "tyd3a"), 0);
	assert_int_equal(record_remove(rec, "tap", "tyd3a"), -ENOENT);
	doc = load_state();
	assert_int_equal(json_array_size(json_object_get(doc, "objects")), 1);
	json_decref(doc);

	/* Its daemon (this process) is alive: cleanup refuses, names it and touches nothing. */
	assert_int_equal(settle(false, &report, &owner), -EBUSY);
	assert_int_equal(owner, getpid());
	assert_int_equal(settle(true, &report, &owner), -EBUSY);
	assert_int_equal(owner, getpid());
	assert_true(exists(state));

	/* A clean stop removes the file; the leftover namespace does not exist: nothing to do. */
	record_destroy(rec);
	assert_false(exists(state));
	assert_int_equal(cleanup(&report), 0);
	assert_string_equal(report, "");
}

static void test_null_record(void **st)
{
	(void)st;
	assert_int_equal(record_add(NULL, "tap", "x", json_object()), 0);
	assert_int_equal(record_remove(NULL, "tap", "x"), 0);
	record_destroy(NULL);
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
	struct record *rec;
	const char *report;
	pid_t owner;
	int fd;

	(void)st;
	/* A server answers on the socket: refused, whatever the record says. */
	write_record(dead_pid(), 0, "[]");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(addr.sun_path, sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(cleanup(&report), -EADDRINUSE);
	assert_true(exists(state));
	/* ... and named when the record's daemon (this process) runs. */
	assert_int_equal(record_create(sock, pidfile, &rec), 0);
	assert_int_equal(settle(false, &report, &owner), -EADDRINUSE);
	assert_int_equal(owner, getpid());
	record_destroy(rec);
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
	assert_int_equal(record_write_file(state, "{\"objects\": 3}", 0644), 0);
	assert_int_equal(cleanup(&report), -EBADMSG);
	assert_int_equal(settle(true, &report, &owner), -EBADMSG);
	assert_true(exists(state));
}

/* A starting daemon has probed the socket itself: take-over reads the record only. */
static void test_take_over(void **st)
{
	struct record *rec;
	const char *report;
	pid_t owner;

	(void)st;
	assert_int_equal(settle(true, &report, &owner), 0);
	assert_int_equal(owner, 0);
	assert_string_equal(report, "");
	/* A live daemon's record: refused, with its pid. */
	assert_int_equal(record_create(sock, pidfile, &rec), 0);
	assert_int_equal(settle(true, &report, &owner), -EBUSY);
	assert_int_equal(owner, getpid());
	assert_true(exists(state));
	record_destroy(rec);
	/* A dead one's: its leftovers go, and the report says so. */
	write_record(dead_pid(), 0, "[]");
	write_pidfile(getpid()); /* names another process: kept */
	stale_socket();
	assert_int_equal(settle(true, &report, &owner), 0);
	assert_int_equal(owner, 0);
	assert_has(report, "removed socket ");
	assert_has(report, "removed record ");
	assert_null(strstr(report, "pidfile"));
	assert_false(exists(state));
	assert_false(exists(sock));
	unlink(pidfile);
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
	write_record(
		dead_pid(), 0,
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

/* A process alone in a network namespace of its own, as a guest's process holds it. */
static pid_t netns_holder(void)
{
	struct stat own, its;
	char path[64];
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) == 0)
			pause();
		_exit(1);
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	assert_int_equal(stat("/proc/self/ns/net", &own), 0);
	for (int i = 0; i < 500 && stat(path, &its) == 0 && its.st_ino == own.st_ino; i++)
		usleep(10000);
	return pid;
}

/* A TAP moved into a guest's namespace (it has no name) and renamed there is found by its MAC. */
static void test_moved_tap(void **st)
{
	char cmd[256], objects[512];
	const char *report;
	struct stat ns;
	pid_t holder;
	bool gone;

	(void)st;
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 ||
	    system("command -v ip >/dev/null && command -v nsenter >/dev/null") != 0)
		skip();
	holder = netns_holder();
	snprintf(cmd, sizeof(cmd), "/proc/%d/ns/net", (int)holder);
	assert_int_equal(stat(cmd, &ns), 0);
	persistent_tap("tyd3m0");
	snprintf(cmd, sizeof(cmd),
		 "ip link set tyd3m0 address 02:00:00:00:3d:01 && ip link set tyd3m0 netns %d && "
		 "nsenter -t %d -n ip link set tyd3m0 name eth0",
		 (int)holder, (int)holder);
	sh(cmd);
	snprintf(objects, sizeof(objects),
		 "[{\"kind\": \"tap\", \"name\": \"tyd3m0\", \"extra\": {\"bridge\": \"b\", "
		 "\"netns_ino\": %llu, \"mac\": \"02:00:00:00:3d:01\"}}]",
		 (unsigned long long)ns.st_ino);
	write_record(dead_pid(), 0, objects);
	assert_int_equal(cleanup(&report), 0);
	snprintf(cmd, sizeof(cmd), "nsenter -t %d -n ip link show eth0 >/dev/null 2>&1",
		 (int)holder);
	gone = system(cmd) != 0;
	kill(holder, SIGKILL); /* its namespace goes, and a TAP left in it */
	waitpid(holder, NULL, 0);
	assert_has(report, "removed tap tyd3m0\n");
	assert_true(gone);
}

/* Skip unless root with /dev/net/tun and ip. */
static void need_taps(void)
{
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 ||
	    system("command -v ip >/dev/null") != 0)
		skip();
}

/* Watch for writes of the record file (each one renames a new file over it). */
static int watch_state(void)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	assert_true(fd >= 0);
	assert_true(inotify_add_watch(fd, dir, IN_MOVED_TO) >= 0);
	return fd;
}

/* How many times the record file was written since watch_state(); closes fd. */
static int state_writes(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	int n = 0;
	ssize_t len;

	while ((len = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			n += ev->len && strcmp(ev->name, "lab.state") == 0;
		}
	}
	close(fd);
	return n;
}

static bool link_exists(const char *name)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "ip link show %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* A daemon's parts, without a socket: dataplane, dispatcher, record. */
struct daemon_parts {
	struct dp *dp;
	struct ctl *ctl;
	struct record *rec;
};

static int parts_start(struct daemon_parts *d)
{
	struct dp_config cfg = {0};
	int err;

	err = dp_create(&cfg, &d->dp);
	if (!err)
		err = dp_start(d->dp);
	if (!err)
		err = ctl_create(d->dp, &d->ctl);
	if (!err)
		err = record_create(sock, pidfile, &d->rec);
	if (!err)
		ctl_set_record(d->ctl, &record_ops, d->rec);
	return err;
}

static void parts_stop(struct daemon_parts *d)
{
	ctl_destroy(d->ctl);
	dp_destroy(d->dp);
	record_destroy(d->rec);
}

/* Run a command; 0 or the error of its reply. */
static int call(struct ctl *ctl, const char *cmd, json_t *args)
{
	json_t *reply = ctl_call(ctl, cmd, args);
	int err = ctl_reply_error(reply, NULL, NULL);

	json_decref(reply);
	return err;
}

static int port_add(struct ctl *ctl, const char *bridge, const char *name, bool existing)
{
	return call(
		ctl, "port/add",
		json_pack("{s:s, s:s, s:b}", "bridge", bridge, "name", name, "existing", existing));
}

/* The record file's objects must be exactly the TAPs named: (name, bridge)..., NULL. */
static void assert_taps(const char *name, ...)
{
	json_t *doc = load_state(), *want = json_array();
	va_list ap;

	va_start(ap, name);
	for (; name; name = va_arg(ap, const char *))
		json_array_append_new(want,
				      json_pack("{s:s, s:s, s:{s:s}}", "kind", "tap", "name", name,
						"extra", "bridge", va_arg(ap, const char *)));
	va_end(ap);
	if (!json_equal(json_object_get(doc, "objects"), want)) {
		char *text = json_dumps(json_object_get(doc, "objects"), JSON_COMPACT);

		fail_msg("recorded %s", text);
	}
	json_decref(want);
	json_decref(doc);
}

/* port/add records a TAP it creates, never one it opens; port/del and bridge/del forget it. */
static void test_port_record(void **st)
{
	char a[IFNAMSIZ], b[IFNAMSIZ], c[IFNAMSIZ], e[IFNAMSIZ], x[IFNAMSIZ];
	struct daemon_parts d = {0};
	int watch;

	(void)st;
	need_taps();
	ifname(a, "a"), ifname(b, "b"), ifname(c, "c"), ifname(e, "e"), ifname(x, "x");
	persistent_tap(e);
	assert_int_equal(parts_start(&d), 0);
	assert_int_equal(call(d.ctl, "bridge/add", json_pack("{s:s}", "name", "br1")), 0);
	assert_int_equal(call(d.ctl, "bridge/add", json_pack("{s:s}", "name", "br2")), 0);

	assert_int_equal(port_add(d.ctl, "br1", a, false), 0);
	assert_taps(a, "br1", NULL);
	/* Opened, not created: not ours, never recorded, not even for a moment. */
	watch = watch_state();
	assert_int_equal(port_add(d.ctl, "br1", e, false), 0);
	assert_int_equal(port_add(d.ctl, "br1", x, true), -EINVAL); /* --existing, absent */
	assert_int_equal(state_writes(watch), 0);
	assert_int_equal(port_add(d.ctl, "br1", "tyq-name-too-long", false), -EINVAL);
	assert_int_equal(port_add(d.ctl, "br1", a, false), -EINVAL); /* a port already */
	assert_int_equal(port_add(d.ctl, "br2", b, false), 0);
	assert_int_equal(port_add(d.ctl, "br1", c, false), 0);
	assert_taps(a, "br1", b, "br2", c, "br1", NULL);
	assert_int_equal(call(d.ctl, "port/del", json_pack("{s:s}", "name", b)), 0);
	assert_taps(a, "br1", c, "br1", NULL);
	/* A bridge takes its ports' TAPs with it (the opened one was never recorded). */
	assert_int_equal(call(d.ctl, "bridge/del", json_pack("{s:s}", "name", "br1")), 0);
	assert_taps(NULL);
	assert_true(link_exists(e));
	parts_stop(&d);
	assert_false(exists(state));
}

/*
 * A daemon that creates TAPs a and b, opens the existing e, deletes b, starts
 * a process that holds its fds (so that a outlives it), sends that pid to out
 * and dies of SIGKILL.
 */
static void crashing_daemon(int out)
{
	char a[IFNAMSIZ], b[IFNAMSIZ], e[IFNAMSIZ];
	struct daemon_parts d = {0};

	ifname(a, "a"), ifname(b, "b"), ifname(e, "e");
	if (parts_start(&d) || call(d.ctl, "bridge/add", json_pack("{s:s}", "name", "br")) ||
	    port_add(d.ctl, "br", a, false) || port_add(d.ctl, "br", b, false) ||
	    port_add(d.ctl, "br", e, false) ||
	    call(d.ctl, "port/del", json_pack("{s:s}", "name", b)))
		_exit(1);
	holder = fork();
	if (holder == 0) {
		for (;;)
			pause(); /* holds every fd of the daemon, the TAPs' among them */
	}
	if (write(out, &holder, sizeof(holder)) != (ssize_t)sizeof(holder))
		_exit(1);
	raise(SIGKILL);
	_exit(1);
}

/* Cleanup after the crash removes exactly what was recorded: a, not b nor e. */
static void test_crash_cleanup(void **st)
{
	char a[IFNAMSIZ], b[IFNAMSIZ], e[IFNAMSIZ], want[512];
	const char *report;
	int pipefd[2], status;
	pid_t daemon;

	(void)st;
	need_taps();
	ifname(a, "a"), ifname(b, "b"), ifname(e, "e");
	persistent_tap(e);
	assert_int_equal(pipe(pipefd), 0);
	daemon = fork();
	assert_true(daemon >= 0);
	if (daemon == 0)
		crashing_daemon(pipefd[1]);
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &holder, sizeof(holder)), sizeof(holder));
	close(pipefd[0]);
	assert_int_equal(waitpid(daemon, &status, 0), daemon);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	assert_taps(a, "br", NULL);
	assert_true(link_exists(a));
	assert_int_equal(cleanup(&report), 0);
	snprintf(want, sizeof(want), "removed tap %s\nremoved record %s\n", a, state);
	assert_string_equal(report, want);
	assert_false(link_exists(a));
	assert_true(link_exists(e));
	assert_false(exists(state));
}

/*
 * A record someone else could have written is never acted on: one writable by
 * others, one another user owns, one with pid 0 and a pidfile that is not a
 * number, or one in a directory a user owns or anyone may write.
 */
static void test_planted_record(void **st)
{
	const char *report;
	pid_t owner;

	(void)st;
	write_record(dead_pid(), 0,
		     "[{\"kind\": \"netns\", \"name\": \"tyd3-planted\", \"extra\": {}}]");
	assert_int_equal(chmod(state, 0666), 0);
	assert_int_equal(cleanup(&report), -EPERM);
	assert_has(report, "not trusting record");
	assert_has(report, "writable by others");
	assert_true(exists(state));
	if (geteuid() == 0) {
		assert_int_equal(chmod(state, 0644), 0);
		assert_int_equal(chown(state, 65534, 65534), 0);
		assert_int_equal(cleanup(&report), -EPERM);
		assert_has(report, "not written by this daemon's user");
		assert_true(exists(state));
	}
	/* pid 0 used to count as "not alive", and a pidfile that is no number as matching it. */
	unlink(state);
	write_record(0, 0, "[]");
	assert_int_equal(record_write_file(pidfile, "victim\n", 0644), 0);
	assert_int_equal(cleanup(&report), -EBADMSG);
	assert_true(exists(pidfile));
	assert_true(exists(state));
	unlink(state);
	/* The directory: anyone may write it, or a user owns it. */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(settle(false, &report, &owner), -EPERM);
	assert_has(report, "writable by others");
	assert_int_equal(chmod(dir, 0700), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 65534, 65534), 0);
		assert_int_equal(settle(false, &report, &owner), -EPERM);
		assert_has(report, "owned by uid 65534");
		assert_int_equal(chown(dir, 0, 0), 0);
	}
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
		T(test_take_over),
		T(test_port_record),
		T(test_crash_cleanup),
		T(test_planted_record),
		T(test_moved_tap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
