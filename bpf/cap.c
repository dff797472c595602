/* SPDX-License-Identifier: MIT */
/*
 * cap: the capture program's loader. The program comes from the skeleton
 * bpftool generated at build time (cap.skel.h). cap_open() loads it once for
 * the maps (ring buffer, NIC table); every attachment loads its own instance
 * with its NIC tag in .rodata and the shared maps reused, because at tc
 * ingress nothing in the skb tells netdevs of two namespaces with the same
 * ifindex apart (the netns cookie helper only sees the socket's namespace).
 *
 * Attaching happens in a short helper thread that enters the netdev's network
 * namespace (setns changes only the calling thread), adds the clsact qdisc
 * when missing and one filter per direction, and exits; detaching does the
 * same and removes the qdisc again if it added it and nobody else uses it.
 */
#include "cap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pkt_sched.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netlink/route/classifier.h>
#include <netlink/route/tc.h>

#include "log.h"

#ifdef TAPYARD_HAVE_BPF
#include "cap.skel.h"
#endif

/* Filter index in struct cap_link: egress (guest tx) first. */
static const enum bpf_tc_attach_point cap_points[2] = {BPF_TC_EGRESS, BPF_TC_INGRESS};

struct cap {
	struct cap_bpf *base; /* owns the shared maps */
	struct ring_buffer *rb;
	int ring_fd, nics_fd;
	cap_event_fn fn;
	void *ctx;
};

bool cap_available(void)
{
#ifdef TAPYARD_HAVE_BPF
	return true;
#else
	return false;
#endif
}

/* ---- the skeleton (absent when the build had no clang or bpftool) ---- */

#ifdef TAPYARD_HAVE_BPF
/*
 * Load a program instance tagged tag. The first (c->base unset) creates the
 * maps; the others reuse them.
 */
static int cap_load(struct cap *c, uint32_t tag, struct cap_bpf **out)
{
	struct cap_bpf *skel = cap_bpf__open();
	int err;

	if (!skel)
		return -errno;
	skel->rodata->nic_tag = tag;
	err = c->base ? bpf_map__reuse_fd(skel->maps.ring, c->ring_fd) : 0;
	if (!err && c->base)
		err = bpf_map__reuse_fd(skel->maps.nics, c->nics_fd);
	if (!err)
		err = cap_bpf__load(skel);
	if (err) {
		cap_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

static void cap_unload(struct cap_bpf *skel)
{
	cap_bpf__destroy(skel);
}

/* Program 0 (egress, guest tx) or 1 (ingress, guest rx) of an instance. */
static const struct bpf_program *cap_bpf_prog(struct cap_bpf *skel, int i)
{
	return i ? skel->progs.cap_ingress : skel->progs.cap_egress;
}

/* The ring buffer's (ring) or the NIC table's fd. */
static int cap_bpf_map_fd(struct cap_bpf *skel, bool ring)
{
	return bpf_map__fd(ring ? skel->maps.ring : skel->maps.nics);
}
#else
static int cap_load(struct cap *c, uint32_t tag, struct cap_bpf **out)
{
	(void)c;
	(void)tag;
	(void)out;
	return -EOPNOTSUPP;
}

static void cap_unload(struct cap_bpf *skel)
{
	(void)skel;
}

static const struct bpf_program *cap_bpf_prog(struct cap_bpf *skel, int i)
{
	(void)skel;
	(void)i;
	return NULL;
}

static int cap_bpf_map_fd(struct cap_bpf *skel, bool ring)
{
	(void)skel;
	(void)ring;
	return -1;
}
#endif

/* libbpf's messages go to the debug log: a failed load as non-root is expected. */
static int cap_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("libbpf: %s", msg);
	return 0;
}

/* ---- namespaces ---- */

struct cap_ns_call {
	int netns_fd;
	int (*fn)(void *arg);
	void *arg;
	int rc;
};

static void *cap_ns_thread(void *p)
{
	struct cap_ns_call *call = p;

	if (setns(call->netns_fd, CLONE_NEWNET) < 0)
		call->rc = -errno;
	else
		call->rc = call->fn(call->arg);
	return NULL;
}

/* Run fn(arg) in a thread inside network namespace netns_fd; returns what fn returns. */
static int cap_in_netns(int netns_fd, int (*fn)(void *arg), void *arg)
{
	struct cap_ns_call call = {netns_fd, fn, arg, 0};
	pthread_t t;
	int err;

	err = pthread_create(&t, NULL, cap_ns_thread, &call);
	if (err)
		return -err;
	pthread_join(t, NULL);
	return call.rc;
}

int cap_netns_name(int fd, char *name, size_t size)
{
	struct stat want, st;
	struct dirent *de;
	char path[300];
	int err = -ENOENT;
	DIR *dir;

	if (fstat(fd, &want) < 0)
		return -errno;
	dir = opendir("/run/netns");
	if (!dir)
		return -ENOENT;
	while (err && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		if (stat(path, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) {
			snprintf(name, size, "%s", de->d_name);
			err = 0;
		}
	}
	closedir(dir);
	return err;
}

/* Is the namespace whose nsfs inode is st the one this process started in? */
static bool cap_netns_is_own(const struct stat *st)
{
	struct stat own;

	return stat("/proc/self/ns/net", &own) == 0 && own.st_dev == st->st_dev &&
	       own.st_ino == st->st_ino;
}

/* ---- tc filters (run inside the netdev's namespace) ---- */

/* How many tc filters the netdev has on its clsact ingress and egress hooks. */
static int cap_filter_count(int ifindex)
{
	static const uint32_t parents[2] = {TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS),
					    TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)};
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache;
	int n = 0, err = 0;

	if (!sk)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_ROUTE);
	for (int i = 0; !err && i < 2; i++) {
		err = rtnl_cls_alloc_cache(sk, ifindex, parents[i], &cache);
		if (!err) {
			n += nl_cache_nitems(cache);
			nl_cache_free(cache);
		}
	}
	nl_socket_free(sk);
	return err ? -EIO : n;
}

/* Remove the clsact qdisc cap_attach() added, unless someone else's filters use it. */
static void cap_qdisc_release(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int n = cap_filter_count(ifindex);

	if (n == 0)
		bpf_tc_hook_destroy(&hook);
	else if (n > 0)
		log_debug("ifindex %d: clsact qdisc kept, %d other filter(s) use it", ifindex, n);
}

/* Detach filter i of link (0: egress, 1: ingress); a filter already gone is fine. */
static int cap_filter_detach(const struct cap_link *link, int i)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = link->ifindex, .attach_point = cap_points[i]);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = link->handle[i], .priority = link->prio[i]);
	int err;

	if (!link->handle[i])
		return 0;
	err = bpf_tc_detach(&hook, &opts);
	return err == -ENOENT || err == -ENODEV || err == -EINVAL ? 0 : err;
}

static int cap_detach_ns(void *arg)
{
	const struct cap_link *link = arg;
	int err = cap_filter_detach(link, 0);
	int err2 = cap_filter_detach(link, 1);

	if (link->qdisc_created)
		cap_qdisc_release(link->ifindex);
	return err ? err : err2;
}

/*
 * Attach the link's program instance (link->prog) in the current namespace.
 * Handle and priority are left to the kernel: on an empty hook the filter
 * gets priority 49152, else one below the first filter's, so the tap sees a
 * frame before any filter already there may drop it; its programs return
 * TC_ACT_UNSPEC, so every filter after it still runs.
 */
static int cap_attach_ns(void *arg)
{
	struct cap_link *link = arg;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = link->ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	const struct bpf_program *progs[2] = {cap_bpf_prog(link->prog, 0),
					      cap_bpf_prog(link->prog, 1)};
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	link->qdisc_created = err == 0;
	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(progs[i]));

		hook.attach_point = cap_points[i];
		err = bpf_tc_attach(&hook, &opts);
		if (err) {
			cap_detach_ns(link);
			return err;
		}
		link->handle[i] = opts.handle;
		link->prio[i] = opts.priority;
	}
	return 0;
}

int cap_attach(struct cap *c, uint32_t tag, int netns_fd, int ifindex, const char *ifname,
	       struct cap_link *link)
{
	struct stat st;
	int err;

	memset(link, 0, sizeof(*link));
	if ((tag & 0xffff) >= CAP_MAX_NICS)
		return -EINVAL;
	if (fstat(netns_fd, &st) < 0)
		return -errno;
	link->ns_dev = st.st_dev;
	link->ns_ino = st.st_ino;
	if (cap_netns_name(netns_fd, link->netns, sizeof(link->netns)))
		link->netns[0] = '\0';
	link->host_netns = cap_netns_is_own(&st);
	snprintf(link->ifname, sizeof(link->ifname), "%s", ifname);
	link->ifindex = ifindex;
	err = cap_load(c, tag, &link->prog);
	if (!err)
		err = cap_in_netns(netns_fd, cap_attach_ns, link);
	if (err) {
		cap_unload(link->prog);
		link->prog = NULL;
	}
	return err;
}

/* Open the namespace the link was attached in, by name or as our own; -1 when not found. */
static int cap_link_netns(const struct cap_link *link)
{
	char path[300];
	struct stat st;
	int fd;

	if (link->netns[0])
		snprintf(path, sizeof(path), "/run/netns/%s", link->netns);
	else if (link->host_netns)
		snprintf(path, sizeof(path), "/proc/self/ns/net");
	else
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 &&
	    (fstat(fd, &st) < 0 || st.st_dev != link->ns_dev || st.st_ino != link->ns_ino)) {
		close(fd); /* a namespace of that name, but not the same one */
		fd = -1;
	}
	return fd;
}

int cap_detach(struct cap_link *link, int netns_fd, int ifindex)
{
	int fd = netns_fd, err = 0;

	if (fd < 0)
		fd = cap_link_netns(link);
	else
		link->ifindex = ifindex;
	if (fd >= 0 && link->prog)
		err = cap_in_netns(fd, cap_detach_ns, link);
	if (fd >= 0 && fd != netns_fd)
		close(fd);
	cap_unload(link->prog);
	link->prog = NULL;
	return err;
}

/* ---- the NIC table ---- */

int cap_select(struct cap *c, uint32_t slot, uint32_t snaplen)
{
	struct cap_nic_val val = {0};

	if (slot >= CAP_MAX_NICS)
		return -EINVAL;
	if (snaplen)
		bpf_map_lookup_elem(c->nics_fd, &slot, &val); /* keep the lost count */
	val.snaplen = snaplen > CAP_SNAP_MAX ? CAP_SNAP_MAX : snaplen;
	return bpf_map_update_elem(c->nics_fd, &slot, &val, BPF_ANY) ? -errno : 0;
}

int cap_lost(struct cap *c, uint32_t slot, uint64_t *lost)
{
	struct cap_nic_val val;

	if (bpf_map_lookup_elem(c->nics_fd, &slot, &val))
		return -errno;
	*lost = val.lost;
	return 0;
}

/* ---- loading and draining ---- */

static int cap_on_sample(void *ctx, void *data, size_t size)
{
	struct cap *c = ctx;

	if (size >= sizeof(struct cap_event))
		c->fn(c->ctx, data, size);
	return 0;
}

int cap_open(cap_event_fn fn, void *ctx, struct cap **out)
{
	struct cap *c;
	int err;

	if (!cap_available())
		return -EOPNOTSUPP;
	libbpf_set_print(cap_libbpf_print);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->ctx = ctx;
	c->ring_fd = c->nics_fd = -1;
	err = cap_load(c, 0, &c->base); /* creates the maps */
	if (err)
		goto fail;
	c->ring_fd = cap_bpf_map_fd(c->base, true);
	c->nics_fd = cap_bpf_map_fd(c->base, false);
	c->rb = ring_buffer__new(c->ring_fd, cap_on_sample, c, NULL);
	if (!c->rb) {
		err = -errno;
		goto fail;
	}
	*out = c;
	return 0;
fail:
	cap_close(c);
	return err;
}

void cap_close(struct cap *c)
{
	if (!c)
		return;
	ring_buffer__free(c->rb);
	cap_unload(c->base);
	free(c);
}

int cap_fd(struct cap *c)
{
	return ring_buffer__epoll_fd(c->rb);
}

int cap_drain(struct cap *c)
{
	return ring_buffer__consume(c->rb);
}
