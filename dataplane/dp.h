/* SPDX-License-Identifier: MIT */
/*
 * dp: the dataplane's public face. One switch instance holds bridges, ports
 * attached to them, the partition matrix and the io_uring loop that forwards
 * frames between ports, running on its own thread.
 *
 * Threads: every function here may be called from any thread other than the
 * loop's. Changes are posted to a command queue the loop drains once per
 * batch; the call returns when the loop has applied them. Counters and loop
 * statistics are read without locks. Before dp_start() and after dp_stop()
 * commands apply directly.
 *
 * Ids: bridges and ports are named by 32-bit ids (slot and generation), so a
 * stale id is refused with -ENOENT rather than touching a reused slot.
 */
#ifndef TAPYARD_DP_H
#define TAPYARD_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "fdb.h"
#include "port.h"

#define DP_MAX_PORTS 256
#define DP_MAX_BRIDGES 64
#define DP_BRIDGE_NAME_MAX 32

struct dp;

/* Start-up configuration; zero fields take the defaults shown. */
struct dp_config {
	unsigned int nbufs;       /* receive buffers, a power of two (1024) */
	unsigned int buf_size;    /* bytes per buffer (65664: a 64 KiB GSO frame + headers) */
	unsigned int tx_slots;    /* writes in flight at most (4096) */
	uint32_t fdb_capacity;    /* MAC table entries per bridge (16384) */
	uint32_t fdb_age_ms;      /* MAC ageing time (300000) */
	bool no_multishot;        /* force the single-shot read fallback */
};

/* Loop statistics, published for lock-free reads. */
struct dp_stats {
	uint64_t batches;        /* completion batches handled */
	uint64_t cqes;           /* completions handled */
	uint64_t reads;          /* frames read */
	uint64_t writes;         /* writes completed */
	uint64_t read_rearms;    /* reads re-armed (multishot ended or fallback) */
	uint64_t no_buffer;      /* reads that found the buffer ring empty */
	uint64_t commands;       /* control commands applied */
	uint64_t floods;         /* frames flooded */
	uint64_t gso_frames;     /* GSO super-frames read */
	uint32_t ports;          /* ports attached */
	uint32_t bridges;        /* bridges */
	uint32_t bufs_free;      /* receive buffers free right now */
	bool multishot;          /* multishot reads in use */
	bool running;            /* the loop thread is running */
};

/* A port as dp_port_info() reports it. */
struct dp_port_info {
	uint32_t id;
	uint32_t bridge;
	char name[PORT_NAME_MAX];
	const char *kind; /* "tap", "pair" or "netdev" */
	bool up;          /* link state as set by dp_port_set_link() */
	bool gone;        /* its netdev disappeared */
	bool created;     /* tapyard created the netdev */
	bool offloads;    /* virtio-net header and offloads */
	char note[PORT_NOTE_MAX]; /* what attaching changed on the interface (port_note()) */
};

/*
 * dp_create() - allocate a switch (no thread yet).
 * Return: 0 or a negative errno; -EINVAL names a bad config field in the log.
 */
int dp_create(const struct dp_config *cfg, struct dp **out);

/*
 * dp_start() - set up the ring and buffers and start the loop thread.
 * Return: 0, or a negative errno when io_uring or the buffer ring is unavailable.
 */
int dp_start(struct dp *dp);

/* Stop the loop thread and wait for it. Safe to call twice. */
void dp_stop(struct dp *dp);

/* Stop, destroy every port (deleting TAPs tapyard created) and free. NULL is a no-op. */
void dp_destroy(struct dp *dp);

/* Add a bridge. Returns 0 with *id set, -EEXIST for a used name, -ENOSPC when full. */
int dp_bridge_add(struct dp *dp, const char *name, uint32_t *id);

/* Delete a bridge and destroy its ports. Returns 0 or -ENOENT. */
int dp_bridge_del(struct dp *dp, uint32_t id);

/* Find a bridge by name. Returns 0 with *id set or -ENOENT. */
int dp_bridge_find(struct dp *dp, const char *name, uint32_t *id);

/* A bridge's name into buf (DP_BRIDGE_NAME_MAX). Returns 0 or -ENOENT. */
int dp_bridge_name(struct dp *dp, uint32_t id, char *buf);

/* Ids of all bridges, at most max; returns how many. */
size_t dp_bridge_list(struct dp *dp, uint32_t *ids, size_t max);

/*
 * dp_port_add() - attach port to bridge; the switch owns it from now on.
 * On failure the port is destroyed. Returns 0 with *id set, -ENOENT (bridge),
 * -EEXIST (a port of that name), -ENOSPC (no slot).
 */
int dp_port_add(struct dp *dp, uint32_t bridge, struct port *port, uint32_t *id);

/* Detach and destroy a port. Frames in flight to it are dropped. Returns 0 or -ENOENT. */
int dp_port_del(struct dp *dp, uint32_t id);

/* Find a port by name. Returns 0 with *id set or -ENOENT. */
int dp_port_find(struct dp *dp, const char *name, uint32_t *id);

/* Describe a port. Returns 0 or -ENOENT. */
int dp_port_info(struct dp *dp, uint32_t id, struct dp_port_info *info);

/*
 * dp_port_netdev() - where a TAP port's netdev lives now (a guest may have
 * moved it into its namespace and renamed it).
 * @netns_fd: receives a new fd of the netdev's network namespace (the caller closes it)
 * @ifname: receives its current name (PORT_NAME_MAX bytes)
 * @ifindex: receives its index in that namespace
 * Return: 0, -ENOENT (no such port), -EOPNOTSUPP (not a TAP), or a negative errno.
 */
int dp_port_netdev(struct dp *dp, uint32_t id, int *netns_fd, char *ifname, int *ifindex);

/* Ids of the ports of bridge (or of all bridges when bridge is DP_ALL); returns how many. */
size_t dp_port_list(struct dp *dp, uint32_t bridge, uint32_t *ids, size_t max);
#define DP_ALL UINT32_MAX

/*
 * dp_port_set_link() - link down: the port neither sends nor receives (counted
 * as drop_link_down) and the guest sees NO-CARRIER; link up reverses it.
 */
int dp_port_set_link(struct dp *dp, uint32_t id, bool up);

/* Cut (cut=true) or heal the one-way path from -> to. Both ports must exist. */
int dp_partition_set(struct dp *dp, uint32_t from, uint32_t to, bool cut);

/* A one-way path between two ports. */
struct dp_path {
	uint32_t from, to;
};

/*
 * dp_partition_apply() - cut (cut=true) or heal n paths at once: the loop sees
 * all of them change between two frames, never half. Every port must exist,
 * or nothing changes and -ENOENT is returned.
 */
int dp_partition_apply(struct dp *dp, const struct dp_path *paths, size_t n, bool cut);

/* Copy up to max cut paths among the ports of bridge (DP_ALL: all) into out; returns how many. */
size_t dp_partition_dump(struct dp *dp, uint32_t bridge, struct dp_path *out, size_t max);

/* Is the path from -> to cut? Returns 1, 0 or -ENOENT. */
int dp_partition_get(struct dp *dp, uint32_t from, uint32_t to);

/* Heal every cut path among the ports of bridge (DP_ALL: everywhere). */
int dp_partition_heal_all(struct dp *dp, uint32_t bridge);

/* Read a port's counters without locking. Returns 0 or -ENOENT. */
int dp_port_counters(struct dp *dp, uint32_t id, struct dp_counters *out);

/* Zero a port's counters (DP_ALL: every port). */
int dp_counters_reset(struct dp *dp, uint32_t id);

/* One learned address, as dp_fdb_dump() reports it. */
struct dp_fdb_entry {
	uint8_t mac[6];
	uint32_t port; /* port id */
	uint64_t idle_ms;
};

/* Copy up to max MAC table entries of bridge into out; *n receives the count. */
int dp_fdb_dump(struct dp *dp, uint32_t bridge, struct dp_fdb_entry *out, size_t max, size_t *n);

/* Forget learned addresses: of one port, or the whole bridge when port is DP_ALL. */
int dp_fdb_flush(struct dp *dp, uint32_t bridge, uint32_t port);

/* Set the MAC ageing time of bridge. */
int dp_fdb_set_age(struct dp *dp, uint32_t bridge, uint32_t age_ms);

/* ---- hooks for capture (called on the loop thread; they must not block) ---- */

enum dp_hook_dir {
	DP_HOOK_GUEST_TX, /* the guest sent it: read from the port */
	DP_HOOK_GUEST_RX, /* the guest received it: written to the port */
	DP_HOOK_DROP,     /* the switch dropped it on this port's path; see drop_reason */
};

/* One frame as a hook sees it. */
struct dp_hook_frame {
	uint32_t port;           /* port id */
	enum dp_hook_dir dir;
	const uint8_t *data;     /* the Ethernet frame, without any virtio-net header */
	size_t len;              /* bytes at data */
	uint64_t ts_ns;          /* CLOCK_REALTIME, nanoseconds */
	const char *drop_reason; /* for DP_HOOK_DROP: the counter name, e.g. "drop_partition" */
	uint32_t peer;           /* for DP_HOOK_DROP: the other port of the path, or DP_ALL */
};

typedef void (*dp_hook_fn)(void *ctx, const struct dp_hook_frame *f);

/*
 * dp_port_set_hook() - call fn(ctx, frame) for every frame port sends,
 * receives, or loses to a drop; fn NULL removes the hook. One hook per port;
 * a capture layer multiplexes. Returns 0 or -ENOENT.
 */
int dp_port_set_hook(struct dp *dp, uint32_t port, dp_hook_fn fn, void *ctx);

/* Called on the loop thread when a watched fd is readable. */
typedef void (*dp_fd_fn)(void *ctx);

/*
 * dp_watch_fd() - have the loop call fn(ctx) whenever fd is readable (a BPF
 * ring buffer's fd, say), so the loop drains it between batches. The caller
 * keeps the fd open until dp_unwatch_fd() returns. Returns 0, -EEXIST, -ENOSPC.
 */
int dp_watch_fd(struct dp *dp, int fd, dp_fd_fn fn, void *ctx);

/* Stop watching fd; fn is not called after this returns. Returns 0 or -ENOENT. */
int dp_unwatch_fd(struct dp *dp, int fd);

/* Loop statistics without locking. */
void dp_get_stats(struct dp *dp, struct dp_stats *st);

/* Block until the loop has handled every command posted so far (for tests). */
int dp_sync(struct dp *dp);

#endif
