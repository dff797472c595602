/* SPDX-License-Identifier: MIT */
/*
 * record: the JSON record of what a daemon owns, and `tapyard cleanup`'s
 * removal of what a dead daemon left behind, one handler per kind of object.
 * Handlers work over rtnetlink (libnl-route) inside the object's network
 * namespace, entered on the calling thread only.
 */
#include "record.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_arp.h>
#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/route/classifier.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "qemu.h"

#define RECORD_NETNS_DIR "/run/netns"

struct record {
	pthread_mutex_t lock;
	char path[PATH_MAX];
	json_t *doc; /* {"pid", "starttime", "socket", "pidfile", "objects": [...]} */
};

/*
 * Remove one recorded object if it still exists.
 * Return: 1 removed, 0 already gone, or a negative errno with why in msg.
 */
typedef int (*record_remove_fn)(const char *name, json_t *extra, char *msg, size_t len);

struct record_kind {
	const char *kind;
	record_remove_fn remove;
};

static int record_rm_tap(const char *name, json_t *extra, char *msg, size_t len);
static int record_rm_netns(const char *name, json_t *extra, char *msg, size_t len);
static int record_rm_tc(const char *name, json_t *extra, char *msg, size_t len);
static int record_rm_qemu(const char *name, json_t *extra, char *msg, size_t len);

/* Every kind of object `tapyard cleanup` knows how to remove; a module adds its row here. */
static const struct record_kind record_kinds[] = {
	{"tap", record_rm_tap},
	{"netns", record_rm_netns},
	{"tc", record_rm_tc},
	{"qemu", record_rm_qemu},
};

int record_path(const char *socket, char *buf, size_t len)
{
	size_t n = strlen(socket);
	int w;

	if (n > 5 && strcmp(socket + n - 5, ".sock") == 0)
		n -= 5;
	w = snprintf(buf, len, "%.*s.state", (int)n, socket);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

void record_lock_path(const char *socket, char *buf, size_t len)
{
	snprintf(buf, len, "%s.lock", socket);
}

/* Is directory path (lstat'ed as st) safe? last: it holds the files (no sticky excuse). */
static int record_dir_safe(const char *path, const struct stat *st, bool last, char *why,
			   size_t len)
{
	if (!S_ISDIR(st->st_mode)) {
		snprintf(why, len, "%s is not a directory (or is a symbolic link)", path);
		return -ENOTDIR;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(why, len, "%s is owned by uid %u, not by root", path,
			 (unsigned int)st->st_uid);
		return -EPERM;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && (last || !(st->st_mode & S_ISVTX))) {
		snprintf(why, len, "%s is writable by %s", path,
			 st->st_mode & S_IWOTH ? "others" : "its group");
		return -EPERM;
	}
	return 0;
}

int record_dir_check(const char *socket, bool create, char *why, size_t len)
{
	char dir[PATH_MAX], real[PATH_MAX], *slash;
	struct stat st;
	int err;

	snprintf(dir, sizeof(dir), "%s", socket);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (create && mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_debug("cannot create %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) < 0 || !realpath(dir, real)) {
		err = -errno;
		snprintf(why, len, "%s: %s", dir, strerror(-err));
		return err;
	}
	err = record_dir_safe(dir, &st, true, why, len);
	/* Its ancestors too, as sshd's StrictModes checks them; a sticky one (/tmp) may be shared.
	 */
	for (slash = strrchr(real, '/'); !err && slash; slash = strrchr(real, '/')) {
		*(slash == real ? slash + 1 : slash) = '\0';
		if (lstat(real, &st) < 0)
			return -errno;
		err = record_dir_safe(real, &st, false, why, len);
		if (slash == real)
			break;
	}
	return err;
}

/* The start time (clock ticks after boot) and command name of process pid. */
static int record_proc(pid_t pid, unsigned long long *start, char *comm, size_t len)
{
	char path[64], buf[1024], *open_paren, *close_paren, *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EIO;
	snprintf(comm, len, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	/* Fields after "(comm)": state is field 3, starttime field 22. */
	p = close_paren + 1;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EIO;
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}

int record_write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_MAX + 32];
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp); /* a leftover of ours; never write through one someone else made */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	while (!err && off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno != EINTR)
			err = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* Rewrite the record file from rec->doc. Called with the lock held. */
static int record_write(struct record *rec)
{
	char *text = json_dumps(rec->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int err;

	if (!text)
		return -ENOMEM;
	err = record_write_file(rec->path, text, 0644);
	free(text);
	if (err)
		log_warn("cannot write the record %s: %s", rec->path, strerror(-err));
	return err;
}

int record_create(const char *socket, const char *pidfile, struct record **out)
{
	unsigned long long start = 0;
	struct record *rec;
	char comm[64];
	int err;

	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	err = record_path(socket, rec->path, sizeof(rec->path));
	if (err) {
		free(rec);
		return err;
	}
	record_proc(getpid(), &start, comm, sizeof(comm));
	rec->doc = json_pack("{s:i, s:I, s:s, s:s?, s:[]}", "pid", (int)getpid(), "starttime",
			     (json_int_t)start, "socket", socket, "pidfile", pidfile, "objects");
	if (!rec->doc) {
		free(rec);
		return -ENOMEM;
	}
	pthread_mutex_init(&rec->lock, NULL);
	err = record_write(rec);
	if (err) {
		json_decref(rec->doc);
		pthread_mutex_destroy(&rec->lock);
		free(rec);
		return err;
	}
	*out = rec;
	return 0;
}

/* The index of kind/name in objects, or -1. */
static ssize_t record_find(json_t *objects, const char *kind, const char *name)
{
	json_t *o;
	size_t i;

	json_array_foreach(objects, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "kind")), kind) == 0 &&
		    strcmp(json_string_value(json_object_get(o, "name")), name) == 0)
			return (ssize_t)i;
	}
	return -1;
}

int record_add(struct record *rec, const char *kind, const char *name, json_t *extra)
{
	json_t *objects, *o;
	ssize_t i;
	int err;

	if (!rec) {
		json_decref(extra);
		return 0;
	}
	o = json_pack("{s:s, s:s, s:o}", "kind", kind, "name", name, "extra",
		      extra ? extra : json_object());
	if (!o)
		return -ENOMEM;
	pthread_mutex_lock(&rec->lock);
	objects = json_object_get(rec->doc, "objects");
	i = record_find(objects, kind, name);
	if (i >= 0)
		json_array_set_new(objects, (size_t)i, o);
	else
		json_array_append_new(objects, o);
	err = record_write(rec);
	pthread_mutex_unlock(&rec->lock);
	return err;
}

int record_remove(struct record *rec, const char *kind, const char *name)
{
	json_t *objects;
	ssize_t i;
	int err = -ENOENT;

	if (!rec)
		return 0;
	pthread_mutex_lock(&rec->lock);
	objects = json_object_get(rec->doc, "objects");
	i = record_find(objects, kind, name);
	if (i >= 0) {
		json_array_remove(objects, (size_t)i);
		err = record_write(rec);
	}
	pthread_mutex_unlock(&rec->lock);
	return err;
}

static int record_ops_add(void *ctx, const char *kind, const char *name, json_t *extra)
{
	return record_add(ctx, kind, name, extra);
}

static int record_ops_remove(void *ctx, const char *kind, const char *name)
{
	return record_remove(ctx, kind, name);
}

const struct ctl_record_ops record_ops = {.add = record_ops_add, .remove = record_ops_remove};

/* ---- removal handlers ---- */

/* The network namespace whose inode is ino, through a process still inside it; -ENOENT: none. */
static int record_netns_of(json_int_t ino)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int fd = -ENOENT;

	while (d && fd < 0 && (de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		if (stat(path, &st) == 0 && (json_int_t)st.st_ino == ino)
			fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (d)
		closedir(d);
	return fd < 0 ? -ENOENT : fd;
}

/*
 * Enter the network namespace an object's extra names on this thread: "netns"
 * (a name in RECORD_NETNS_DIR), or "netns_ino" (a guest's namespace, which
 * has no name: a process inside it still holds it). Neither: stay. -ENOENT:
 * the namespace is gone. *back receives the way back.
 */
static int record_netns_enter(json_t *extra, int *back)
{
	const char *netns = json_string_value(json_object_get(extra, "netns"));
	json_int_t ino = json_integer_value(json_object_get(extra, "netns_ino"));
	char path[PATH_MAX];
	int fd, err = 0;

	*back = -1;
	if (netns) {
		snprintf(path, sizeof(path), RECORD_NETNS_DIR "/%s", netns);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	} else if (ino > 0) {
		fd = record_netns_of(ino);
		if (fd < 0)
			return fd;
	} else {
		return 0;
	}
	*back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*back < 0 || setns(fd, CLONE_NEWNET) < 0)
		err = -errno;
	close(fd);
	return err;
}

static void record_netns_leave(int back)
{
	if (back < 0)
		return;
	if (setns(back, CLONE_NEWNET) < 0)
		log_error("cannot return to the daemon's network namespace: %s", strerror(errno));
	close(back);
}

/* A route netlink socket. */
static struct nl_sock *record_nl(char *msg, size_t len)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk) {
		snprintf(msg, len, "out of memory");
		return NULL;
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err < 0) {
		snprintf(msg, len, "netlink: %s", nl_geterror(err));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/* Delete link name when it is a TAP (kind "tun", Ethernet): 1, 0 (absent or not a TAP), -errno. */
static int record_tap_del(struct nl_sock *sk, const char *name, char *msg, size_t len)
{
	struct rtnl_link *link = NULL;
	const char *type;
	int err;

	err = rtnl_link_get_kernel(sk, 0, name, &link);
	if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV)
		return 0;
	if (err < 0) {
		snprintf(msg, len, "netlink: %s", nl_geterror(err));
		return -EIO;
	}
	type = rtnl_link_get_type(link);
	if (!type || strcmp(type, "tun") != 0 || rtnl_link_get_arptype(link) != ARPHRD_ETHER) {
		snprintf(msg, len, "%s is not a TAP any more: left alone", name);
		rtnl_link_put(link);
		return 0;
	}
	err = rtnl_link_delete(sk, link);
	rtnl_link_put(link);
	if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV) {
		snprintf(msg, len, "cannot delete: %s", nl_geterror(err));
		return -EIO;
	}
	return err < 0 ? 0 : 1;
}

/* The name of the link with MAC address mac (as "aa:bb:..."), into buf; false when there is none. */
static bool record_link_of_mac(struct nl_sock *sk, const char *mac, char *buf, size_t size)
{
	struct nl_cache *cache;
	struct nl_object *o;
	bool found = false;

	if (rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache) < 0)
		return false;
	for (o = nl_cache_get_first(cache); o && !found; o = nl_cache_get_next(o)) {
		struct nl_addr *a = rtnl_link_get_addr((struct rtnl_link *)o);
		char text[64];

		if (a && strcasecmp(nl_addr2str(a, text, sizeof(text)), mac) == 0) {
			snprintf(buf, size, "%s", rtnl_link_get_name((struct rtnl_link *)o));
			found = true;
		}
	}
	nl_cache_free(cache);
	return found;
}

/*
 * A TAP: by name where it was made, or, moved into a guest's namespace and
 * renamed there ("netns_ino" and "mac" in extra), by its MAC address there.
 */
static int record_rm_tap(const char *name, json_t *extra, char *msg, size_t len)
{
	const char *mac = json_string_value(json_object_get(extra, "mac"));
	char moved[IFNAMSIZ];
	struct nl_sock *sk;
	int back, err;

	err = record_netns_enter(extra, &back);
	if (err == -ENOENT)
		return 0; /* its namespace is gone, and the TAP with it */
	if (err) {
		snprintf(msg, len, "cannot enter its netns: %s", strerror(-err));
	} else {
		sk = record_nl(msg, len);
		err = sk ? 0 : -EIO;
		if (sk && mac && json_object_get(extra, "netns_ino"))
			err = record_link_of_mac(sk, mac, moved, sizeof(moved))
				      ? record_tap_del(sk, moved, msg, len)
				      : 0;
		else if (sk)
			err = record_tap_del(sk, name, msg, len);
		nl_socket_free(sk);
	}
	record_netns_leave(back);
	return err;
}

/* A QEMU guest's run directory ("dir" in extra): the files QEMU and tapyard put there, then it. */
static void record_rm_qemu_dir(json_t *extra)
{
	static const char *const files[] = {"agent.sock", "qmp.sock", "console.log", "qemu.log"};
	const char *dir = json_string_value(json_object_get(extra, "dir"));
	char path[PATH_MAX];

	for (size_t i = 0; dir && i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	if (dir)
		rmdir(dir);
}

/*
 * A QEMU guest's process ("pid" and its "start" time in extra): killed only
 * while that pid is still the process that was started then, never a process
 * that reused the pid. Its TAPs go with it.
 */
static int record_rm_qemu(const char *name, json_t *extra, char *msg, size_t len)
{
	json_int_t pid = json_integer_value(json_object_get(extra, "pid"));
	json_int_t start = json_integer_value(json_object_get(extra, "start"));

	(void)name;
	if (pid <= 1 || start <= 0) {
		snprintf(msg, len, "no pid and start time in the record");
		return -EINVAL;
	}
	if (qemu_pid_start((pid_t)pid) != (unsigned long long)start) {
		record_rm_qemu_dir(extra);
		return 0; /* gone (or the pid is another process's now) */
	}
	if (kill((pid_t)pid, SIGKILL))
		return -errno;
	record_rm_qemu_dir(extra);
	snprintf(msg, len, "pid %d", (int)pid);
	return 1;
}

/* Like `ip netns del`: detach the namespace's bind mount and remove its file. */
static int record_rm_netns(const char *name, json_t *extra, char *msg, size_t len)
{
	char path[PATH_MAX];
	struct stat st;

	(void)extra;
	if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		snprintf(msg, len, "not a namespace name");
		return -EINVAL;
	}
	snprintf(path, sizeof(path), RECORD_NETNS_DIR "/%s", name);
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
		snprintf(msg, len, "umount: %s", strerror(errno));
	if (unlink(path) < 0) {
		snprintf(msg, len, "cannot remove %s: %s", path, strerror(errno));
		return -errno;
	}
	return 1;
}

/* What the "tc" record of extra describes: a filter priority on a clsact hook. */
struct record_tc {
	const char *ifname, *netns;
	uint32_t parent;
	uint16_t pref; /* 0: every filter of the hook */
	bool qdisc_created; /* tapyard added the clsact qdisc: remove it once it is unused */
};

static int record_tc_parse(json_t *extra, struct record_tc *tc, char *msg, size_t len)
{
	const char *parent = json_string_value(json_object_get(extra, "parent"));
	json_int_t pref = json_integer_value(json_object_get(extra, "pref"));

	tc->ifname = json_string_value(json_object_get(extra, "ifname"));
	tc->netns = json_string_value(json_object_get(extra, "netns"));
	tc->qdisc_created = json_is_true(json_object_get(extra, "qdisc_created"));
	if (!tc->ifname || !parent || (strcmp(parent, "ingress") && strcmp(parent, "egress")) ||
	    pref < 0 || pref > 0xffff) {
		snprintf(msg, len,
			 "bad record: needs extra.ifname, extra.parent "
			 "(ingress or egress) and an optional extra.pref");
		return -EINVAL;
	}
	tc->parent = TC_H_MAKE(TC_H_CLSACT,
			       strcmp(parent, "ingress") == 0 ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
	tc->pref = (uint16_t)pref;
	return 0;
}

/* Count the filters of tc's hook (of its priority) on ifindex. */
static int record_tc_count(struct nl_sock *sk, int ifindex, const struct record_tc *tc)
{
	struct nl_cache *cache;
	struct nl_object *o;
	int n = 0;

	if (rtnl_cls_alloc_cache(sk, ifindex, tc->parent, &cache) < 0)
		return 0;
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o))
		n += !tc->pref || rtnl_cls_get_prio((struct rtnl_cls *)o) == tc->pref;
	nl_cache_free(cache);
	return n;
}

/* Remove the clsact qdisc of ifindex when no filter is left on either of its hooks. */
static void record_tc_qdisc_release(struct nl_sock *sk, int ifindex)
{
	struct record_tc any = {.parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)};
	struct rtnl_qdisc *q;

	if (record_tc_count(sk, ifindex, &any))
		return;
	any.parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);
	if (record_tc_count(sk, ifindex, &any))
		return;
	q = rtnl_qdisc_alloc();
	if (!q)
		return;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_CLSACT);
	rtnl_tc_set_handle(TC_CAST(q), TC_H_MAKE(TC_H_CLSACT, 0));
	if (rtnl_qdisc_delete(sk, q) < 0)
		log_debug("ifindex %d: the clsact qdisc could not be removed", ifindex);
	rtnl_qdisc_put(q);
}

/* Delete the filters tc names: 1, 0 (none there), or -errno. */
static int record_tc_del(struct nl_sock *sk, const struct record_tc *tc, char *msg, size_t len)
{
	struct rtnl_link *link = NULL;
	struct rtnl_cls *cls;
	int ifindex, err;

	if (rtnl_link_get_kernel(sk, 0, tc->ifname, &link) < 0)
		return 0; /* the device went away, and its filters with it */
	ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	if (!record_tc_count(sk, ifindex, tc))
		return 0;
	cls = rtnl_cls_alloc();
	if (!cls)
		return -ENOMEM;
	rtnl_tc_set_ifindex(TC_CAST(cls), ifindex);
	rtnl_tc_set_parent(TC_CAST(cls), tc->parent);
	if (tc->pref)
		rtnl_cls_set_prio(cls, tc->pref);
	err = rtnl_cls_delete(sk, cls, 0);
	rtnl_cls_put(cls);
	if (err < 0) {
		snprintf(msg, len, "cannot delete the filter: %s", nl_geterror(err));
		return -EIO;
	}
	if (tc->qdisc_created)
		record_tc_qdisc_release(sk, ifindex);
	return 1;
}

static int record_rm_tc(const char *name, json_t *extra, char *msg, size_t len)
{
	struct record_tc tc;
	struct nl_sock *sk;
	int back, err;

	(void)name;
	err = record_tc_parse(extra, &tc, msg, len);
	if (err)
		return err;
	err = record_netns_enter(extra, &back);
	if (err == -ENOENT)
		return 0;
	if (err) {
		snprintf(msg, len, "cannot enter netns %s: %s", tc.netns, strerror(-err));
	} else {
		sk = record_nl(msg, len);
		err = sk ? record_tc_del(sk, &tc, msg, len) : -EIO;
		nl_socket_free(sk);
	}
	record_netns_leave(back);
	return err;
}

/* Remove one recorded object o through its kind's handler; say what happened on report. */
static int record_remove_object(json_t *o, FILE *report)
{
	const char *kind = json_string_value(json_object_get(o, "kind"));
	const char *name = json_string_value(json_object_get(o, "name"));
	char msg[256] = "";
	int r = -EINVAL;

	if (!kind || !name) {
		fprintf(report, "skipped a malformed record entry\n");
		return -EBADMSG;
	}
	snprintf(msg, sizeof(msg), "no handler for this kind");
	for (size_t i = 0; i < sizeof(record_kinds) / sizeof(record_kinds[0]); i++) {
		if (strcmp(record_kinds[i].kind, kind) == 0) {
			msg[0] = '\0';
			r = record_kinds[i].remove(name, json_object_get(o, "extra"), msg,
						   sizeof(msg));
			break;
		}
	}
	if (r > 0)
		fprintf(report, "removed %s %s\n", kind, name);
	else if (r < 0)
		fprintf(report, "cannot remove %s %s: %s\n", kind, name,
			msg[0] ? msg : strerror(-r));
	else if (msg[0])
		fprintf(report, "%s %s: %s\n", kind, name, msg);
	return r < 0 ? r : 0;
}

/* Remove every object of doc, newest first. Returns 0 or the first error. */
static int record_remove_all(json_t *doc, FILE *report)
{
	json_t *objects = json_object_get(doc, "objects");
	int err = 0, r;

	for (size_t i = json_array_size(objects); i-- > 0;) {
		r = record_remove_object(json_array_get(objects, i), report);
		if (r && !err)
			err = r;
	}
	return err;
}

void record_destroy(struct record *rec)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	if (!rec)
		return;
	m = open_memstream(&text, &len);
	if (m) {
		record_remove_all(rec->doc, m);
		fclose(m);
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
			log_warn("leftover: %s", line);
		free(text);
	}
	unlink(rec->path);
	json_decref(rec->doc);
	pthread_mutex_destroy(&rec->lock);
	free(rec);
}

/* Load the record at path: 0 with *doc set, -ENOENT, or -EBADMSG (not a record). */
/*
 * Open the record at path if this daemon's kind wrote it: a regular file,
 * not a link, owned by us and writable by nobody else. Returns the fd, or
 * -ENOENT, or -EPERM saying why on report (may be NULL).
 */
static int record_open_trusted(const char *path, FILE *report)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;

	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		if (report)
			fprintf(report, "not trusting record %s: %s\n", path,
				fd < 0			 ? strerror(errno)
				: !S_ISREG(st.st_mode)	 ? "not a regular file"
				: st.st_uid != geteuid() ? "not written by this daemon's user"
							 : "writable by others");
		if (fd >= 0)
			close(fd);
		return -EPERM;
	}
	return fd;
}

static int record_load(const char *path, json_t **doc, FILE *report)
{
	json_error_t jerr;
	json_int_t pid;
	int fd = record_open_trusted(path, report);

	*doc = NULL;
	if (fd < 0)
		return fd;
	*doc = json_loadfd(fd, 0, &jerr);
	close(fd);
	if (!*doc)
		return -EBADMSG;
	pid = json_integer_value(json_object_get(*doc, "pid"));
	if (!json_is_integer(json_object_get(*doc, "pid")) || pid <= 0 || pid > INT_MAX ||
	    !json_is_array(json_object_get(*doc, "objects"))) {
		json_decref(*doc);
		*doc = NULL;
		return -EBADMSG;
	}
	return 0;
}

/* The pid of the record's daemon when that very process still runs, else 0. */
static pid_t record_alive(json_t *doc)
{
	json_int_t pid = json_integer_value(json_object_get(doc, "pid"));
	json_t *want = json_object_get(doc, "starttime");
	unsigned long long start;
	char comm[64];

	if (pid <= 0 || pid > INT_MAX || record_proc((pid_t)pid, &start, comm, sizeof(comm)))
		return 0;
	if (json_is_integer(want) && json_integer_value(want) > 0)
		return (unsigned long long)json_integer_value(want) == start ? (pid_t)pid : 0;
	return strcmp(comm, "tapyard") == 0 ? (pid_t)pid : 0;
}

/* Remove the pidfile when it still names pid. */
static void record_rm_pidfile(const char *path, json_int_t pid, FILE *report)
{
	char buf[32] = "", want[32];
	FILE *f;

	if (!path || !(f = fopen(path, "re")))
		return;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	snprintf(want, sizeof(want), "%lld\n", (long long)pid);
	if (pid > 0 && strcmp(buf, want) == 0 && unlink(path) == 0)
		fprintf(report, "removed pidfile %s\n", path);
}

/* Remove the socket when nobody serves it. */
static void record_rm_socket(const char *path, FILE *report)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) == 0)
		fprintf(report, "removed socket %s\n", path);
}

/* Remove what a dead daemon's record doc lists, then its pidfile, socket and the record itself. */
static int record_clear(const char *socket, const char *path, json_t *doc, FILE *report)
{
	int err = record_remove_all(doc, report);

	if (err)
		return err; /* the record stays, for another try */
	record_rm_pidfile(json_string_value(json_object_get(doc, "pidfile")),
			  json_integer_value(json_object_get(doc, "pid")), report);
	record_rm_socket(socket, report);
	if (unlink(path) == 0)
		fprintf(report, "removed record %s\n", path);
	return 0;
}

/* Read socket's record into *doc (path into path) and its live daemon's pid into *owner. */
static int record_read(const char *socket, char *path, json_t **doc, pid_t *owner, FILE *report)
{
	int err = record_path(socket, path, PATH_MAX);

	*owner = 0;
	*doc = NULL;
	if (!err)
		err = record_load(path, doc, report);
	if (!err)
		*owner = record_alive(*doc);
	return err;
}

int record_owner(const char *socket, pid_t *owner, FILE *report)
{
	char path[PATH_MAX];
	json_t *doc;
	int err = record_read(socket, path, &doc, owner, report);

	json_decref(doc);
	return err;
}

int record_take_over(const char *socket, FILE *report, pid_t *owner)
{
	char path[PATH_MAX];
	json_t *doc;
	int err = record_read(socket, path, &doc, owner, report);

	if (err == -ENOENT) {
		record_rm_socket(socket, report);
		err = 0;
	} else if (!err) {
		err = *owner ? -EBUSY : record_clear(socket, path, doc, report);
	}
	json_decref(doc);
	return err;
}
