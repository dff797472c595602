/* SPDX-License-Identifier: MIT */
/*
 * guest: network-namespace guests: the namespace, its links, and commands
 * run inside it. See guest.h for what a run sees.
 */
#include "guest.h"
#include "clock.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "netlink.h"

/* <linux/if.h> has it but clashes with <net/if.h>. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

struct guest {
	int netns; /* the namespace */
	dev_t ns_dev; /* its identity, to find the processes inside */
	ino_t ns_ino;
	struct nl_sock *nl; /* rtnetlink inside the guest */
};

static void guest_sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Write a short string to a /proc/sys file of the calling thread's namespace (best effort). */
static void guest_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, value, strlen(value)) < 0) {
		/* a kernel without IPv6 has nothing to turn off */
	}
	close(fd);
}

/* Create a namespace from the calling thread and come back; *fd receives it. */
static int guest_unshare(const struct guest_opts *opts, int *fd)
{
	int cur, err = 0;

	cur = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		goto out;
	}
	*fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		err = -errno;
	if (!err) {
		/* A NIC coming up announces itself (gratuitous ARP), so peers' caches follow a
		 * re-attach. */
		guest_sysctl("/proc/sys/net/ipv4/conf/all/arp_notify", "1");
		guest_sysctl("/proc/sys/net/ipv4/conf/default/arp_notify", "1");
	}
	if (!err && !opts->ipv6) {
		guest_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
		guest_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	}
	if (setns(cur, CLONE_NEWNET)) {
		/* The thread would stay in the guest: nothing sane is left to do. */
		perror("tapyard: guest: cannot return to the original network namespace");
		abort();
	}
out:
	close(cur);
	return err;
}

int guest_create(const struct guest_opts *opts, struct guest **out)
{
	static const struct guest_opts defaults;
	struct guest *g = calloc(1, sizeof(*g));
	struct stat st;
	int err, lo;

	if (!g)
		return -ENOMEM;
	g->netns = -1;
	err = guest_unshare(opts ? opts : &defaults, &g->netns);
	if (!err && fstat(g->netns, &st))
		err = -errno;
	if (err)
		goto fail;
	g->ns_dev = st.st_dev;
	g->ns_ino = st.st_ino;
	err = netlink_open(g->netns, &g->nl);
	if (err)
		goto fail;
	lo = netlink_ifindex(g->nl, "lo");
	err = lo < 0 ? lo : netlink_link_set_up(g->nl, lo, true);
	if (err)
		goto fail;
	*out = g;
	return 0;
fail:
	guest_destroy(g);
	return err;
}

int guest_netns_fd(const struct guest *g)
{
	return g->netns;
}

/* Is process pid inside the guest's network namespace? */
static bool guest_owns_pid(const struct guest *g, const char *pid)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	if (stat(path, &st))
		return false; /* gone, or a zombie */
	return st.st_dev == g->ns_dev && st.st_ino == g->ns_ino;
}

/* One pass over /proc; returns how many processes were signalled. */
static int guest_kill_pass(struct guest *g)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self || !guest_owns_pid(g, de->d_name))
			continue;
		if (kill((pid_t)pid, SIGKILL) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int guest_kill_all(struct guest *g)
{
	int total = 0, n;

	/* Processes may fork while we look; repeat until a pass finds nobody. */
	for (int round = 0; round < 100; round++) {
		n = guest_kill_pass(g);
		if (!n)
			break;
		total += n;
		guest_sleep_ms(round < 10 ? 1 : 10);
	}
	return total;
}

void guest_destroy(struct guest *g)
{
	if (!g)
		return;
	if (g->netns >= 0) {
		guest_kill_all(g);
		close(g->netns);
	}
	netlink_close(g->nl);
	free(g);
}

int guest_link_wait(struct guest *g, const char *ifname, bool lower_up, unsigned int timeout_ms)
{
	uint64_t deadline = clock_mono_ms() + timeout_ms;
	unsigned int flags;
	int idx, err;

	idx = netlink_ifindex(g->nl, ifname);
	if (idx < 0)
		return idx;
	for (;;) {
		err = netlink_link_flags(g->nl, idx, &flags);
		if (err)
			return err;
		/* LOWER_UP follows carrier at once; RUNNING once the kernel's link watch ran. */
		if (lower_up &&
		    (flags & (IFF_LOWER_UP | IFF_RUNNING)) == (IFF_LOWER_UP | IFF_RUNNING))
			break;
		if (!lower_up && !(flags & (IFF_LOWER_UP | IFF_RUNNING)))
			return 0;
		if (clock_mono_ms() >= deadline)
			return -ETIMEDOUT;
		guest_sleep_ms(2);
	}
	/* Up again: what the guest tried to resolve meanwhile is retried at once, not in 1 s. */
	err = netlink_neigh_forget_unresolved(g->nl, idx);
	return err < 0 ? err : 0;
}

int guest_link_adopt(struct guest *g, int src_netns_fd, int ifindex, const struct guest_link *l)
{
	struct nl_sock *src;
	int err, idx;

	err = netlink_open(src_netns_fd, &src);
	if (err)
		return err;
	/* A link must be down to be renamed. */
	err = netlink_link_set_up(src, ifindex, false);
	if (!err)
		err = netlink_link_move(src, ifindex, g->netns, l->ifname);
	netlink_close(src);
	if (err)
		return err;
	idx = netlink_ifindex(g->nl, l->ifname);
	if (idx < 0)
		return idx;
	if (l->mac)
		err = netlink_link_set_mac(g->nl, idx, l->mac);
	if (!err && l->addr)
		err = netlink_addr_add(g->nl, idx, l->addr, l->prefix);
	if (!err)
		err = netlink_link_set_up(g->nl, idx, true);
	if (!err && guest_link_wait(g, l->ifname, true, 2000) == -ETIMEDOUT) {
		/* Carrier may be off on purpose (link down before attach): not an error. */
	}
	return err;
}

int guest_link_rename(struct guest *g, const char *from, const char *to)
{
	int idx = netlink_ifindex(g->nl, from);
	int err;

	if (idx < 0)
		return idx;
	err = netlink_link_set_up(g->nl, idx, false);
	if (!err)
		err = netlink_link_rename(g->nl, idx, to);
	if (!err)
		err = netlink_link_set_up(g->nl, idx, true);
	return err;
}

int guest_parse_cidr(const char *s, uint32_t *addr, unsigned int *prefix)
{
	char buf[INET_ADDRSTRLEN + 4];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long p = 32;
	char *end;

	if (n == 0 || n >= INET_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, addr) != 1)
		return -EINVAL;
	if (slash) {
		errno = 0;
		p = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || p > 32)
			return -EINVAL;
	}
	*prefix = (unsigned int)p;
	return 0;
}

/* ---- running commands ---- */

/* The child's way into the guest: its network namespace, a fresh sysfs, hosts and hostname. */
static void guest_enter(const struct guest_run_req *req, void *ctx)
{
	const struct guest *g = ctx;

	if (setns(g->netns, CLONE_NEWNET))
		guest_run_child_fail("setns");
	if (unshare(CLONE_NEWNS | CLONE_NEWUTS))
		guest_run_child_fail("unshare");
	if (mount("", "/", NULL, MS_SLAVE | MS_REC, NULL))
		guest_run_child_fail("mount --make-rslave /");
	/* A fresh sysfs shows the guest's own links, as `ip netns exec` does. */
	umount2("/sys", MNT_DETACH);
	if (mount("sysfs", "/sys", "sysfs", 0, NULL))
		guest_run_child_fail("mount /sys");
	if (req->hosts && mount(req->hosts, "/etc/hosts", NULL, MS_BIND, NULL))
		guest_run_child_fail("bind-mount /etc/hosts");
	if (req->hostname && sethostname(req->hostname, strlen(req->hostname)))
		guest_run_child_fail("sethostname");
}

int guest_run_start(struct guest *g, const struct guest_run_req *req, struct guest_proc **out)
{
	return guest_run_spawn(req, guest_enter, g, out);
}
