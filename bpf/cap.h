/* SPDX-License-Identifier: MIT */
/*
 * cap: the loader of the capture program (cap.bpf.c). One struct cap holds
 * the maps a capture set shares: the ring buffer every tap writes to and the
 * NIC table (a snaplen per NIC slot, set at run time). cap_attach() loads one
 * instance of the program pair per netdev, tagged with its NIC slot, sharing
 * those maps, and attaches it inside the netdev's network namespace (tc
 * clsact egress and ingress).
 */
#ifndef TAPYARD_CAP_H
#define TAPYARD_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cap_shared.h"

#define CAP_NAME_MAX 64 /* a netns name */

/* Called by cap_drain() for each event; size is the record's size in the ring. */
typedef void (*cap_event_fn)(void *ctx, const struct cap_event *ev, size_t size);

/* The taps on one netdev, as cap_attach() made them. */
struct cap_link {
	struct cap_bpf *prog; /* this netdev's program instance, NULL when detached */
	dev_t ns_dev; /* the namespace it was attached in (its nsfs inode) */
	ino_t ns_ino;
	char netns[CAP_NAME_MAX]; /* name under /run/netns, or "" */
	bool host_netns; /* the namespace this process runs in */
	char ifname[16];
	int ifindex;
	uint32_t handle[2], prio[2]; /* egress, ingress filters */
	bool qdisc_created; /* cap_attach() added the clsact qdisc */
};

struct cap;
struct cap_bpf;

/* True when this build carries the BPF capture program. */
bool cap_available(void);

/*
 * cap_open() - create the shared maps (loading the program once to do so).
 * @fn, @ctx: what cap_drain() calls per event
 * Return: 0 with *out set, -EOPNOTSUPP (built without BPF), -EPERM (no
 * privilege), or another negative errno from the kernel.
 */
int cap_open(cap_event_fn fn, void *ctx, struct cap **out);

/* Free the maps (every link must be detached first). NULL is a no-op. */
void cap_close(struct cap *c);

/* The fd that is readable when the ring buffer has events. */
int cap_fd(struct cap *c);

/* Consume every event in the ring buffer. Returns how many, or a negative errno. */
int cap_drain(struct cap *c);

/*
 * cap_attach() - load a program instance for NIC tag and attach it to netdev
 * ifindex of namespace netns_fd, both directions. It captures nothing until
 * cap_select() gives its slot a snaplen.
 * @tag: put in every event; its low 16 bits are the NIC slot (< CAP_MAX_NICS)
 * @netns_fd: borrowed; the link keeps no reference to the namespace (which
 *	would keep a deleted guest's namespace and TAP alive)
 * @link: filled in; cap_detach() undoes it
 * Return: 0 or a negative errno (nothing stays attached on failure).
 */
int cap_attach(struct cap *c, uint32_t tag, int netns_fd, int ifindex, const char *ifname,
	       struct cap_link *link);

/*
 * cap_detach() - detach and unload what cap_attach() made.
 * @netns_fd, @ifindex: where the netdev is now (it may have moved), or -1 and
 *	0 when its port is gone: the namespace is then found by its name, or
 *	is this process's own; in an unnamed one the netdev went with it.
 * Return: 0 or a negative errno (the program is unloaded either way).
 */
int cap_detach(struct cap_link *link, int netns_fd, int ifindex);

/* Copy up to snaplen bytes per frame on NIC slot (0: stop; lost reset). Returns 0 or -errno. */
int cap_select(struct cap *c, uint32_t slot, uint32_t snaplen);

/* Frames the ring buffer had no room for on NIC slot since selected. Returns 0 or -errno. */
int cap_lost(struct cap *c, uint32_t slot, uint64_t *lost);

/*
 * cap_netns_name() - the name under /run/netns of namespace fd, if any.
 * Return: 0 with name set, or -ENOENT (unnamed).
 */
int cap_netns_name(int fd, char *name, size_t size);

#endif
