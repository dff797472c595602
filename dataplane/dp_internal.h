/* SPDX-License-Identifier: MIT */
/*
 * dp_internal: the switch's state, shared by dp.c (the command side) and
 * loop.c (the io_uring loop). Nothing outside dataplane/ includes this.
 */
#ifndef TAPYARD_DP_INTERNAL_H
#define TAPYARD_DP_INTERNAL_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "clock.h"
#include "dp.h"
#include "frame.h"
#include "log.h"
#include "partition.h"

_Static_assert(DP_MAX_PORTS <= PARTITION_MAX_PORTS, "partition matrix too small");

#define DP_MAX_WATCH 32

/* An fd the loop polls for another layer (a BPF ring buffer, say). */
struct dp_watch {
	int fd; /* -1: free */
	uint16_t gen;
	bool armed;
	dp_fd_fn fn;
	void *ctx;
};

/* A write's buffer id with this bit set names a segment buffer, not a receive buffer. */
#define TX_SEGBUF 0x8000
/* Segment buffers: GSO frames cut into wire packets for ports without offloads. */
#define DP_SEG_COUNT 512
#define DP_SEG_SIZE 16384
#define DP_TX_NIL UINT32_MAX

/* One port slot. The loop owns everything but the atomics, which others read. */
struct dp_port {
	struct port *port; /* NULL: free */
	_Atomic uint32_t live_id; /* id while in use, 0 when free */
	uint16_t gen;
	uint16_t bridge; /* bridge slot */
	int fd;
	size_t hdr_len;
	bool up; /* link state */
	bool gone; /* netdev disappeared */
	bool read_armed; /* a read request is outstanding */
	bool need_rearm; /* re-arm the read after this batch */
	uint32_t tx_inflight; /* writes posted whose completions were not handled yet */
	uint32_t tx_reaped; /* dp->tx_reaps when this port last posted a write */
	dp_hook_fn hook; /* capture hook, or NULL */
	void *hook_ctx;
	struct dp_counters_live ctr;
	struct log_ratelimit rl;
};

struct dp_bridge {
	_Atomic uint32_t live_id; /* 0 when free */
	uint16_t gen;
	char name[DP_BRIDGE_NAME_MAX];
	struct fdb *fdb;
	uint16_t nports;
	uint16_t ports[DP_MAX_PORTS]; /* member port slots */
};

/* A write in flight: which buffer, to which port, and its iovecs. */
struct dp_tx {
	uint16_t bid; /* receive buffer it writes from, or TX_SEGBUF | segment buffer */
	uint16_t port; /* destination slot */
	uint16_t gen; /* destination generation */
	uint32_t bytes; /* Ethernet frame length */
	const uint8_t *frame; /* the Ethernet frame, for hooks */
	uint32_t next_free;
	struct iovec iov[2];
};

/*
 * A command posted to the loop (cmdq_call()). Each command is a struct of its
 * own whose first member, hdr, is this header; its handler, named dpc_* (a
 * dataplane command), gets it back with DPC_OF().
 */
struct dp_cmd {
	int (*fn)(struct dp *dp, struct dp_cmd *cmd);
	int result;
	bool done;
	struct dp_cmd *next;
};

/* The command of type (whose member hdr is the header) that header h belongs to. */
#define DPC_OF(h, type) ((type *)(void *)((char *)(h)-offsetof(type, hdr)))

/* What one received frame needs while it is sent to its outputs. */
struct dp_fwd {
	unsigned int in;
	uint16_t bid;
	struct frame all; /* with the virtio-net header, if any */
	struct frame eth; /* the Ethernet frame */
	struct vnet_hdr vh;
	bool gso;
	bool csum_done;
};

/* The index of a live counter, for tx_drop(). */
#define CTR_IDX(name) (offsetof(struct dp_counters_live, name) / sizeof(_Atomic uint64_t))

struct dp_imp;

struct dp_stats_live {
	_Atomic uint64_t batches, cqes, reads, writes, read_rearms, no_buffer, commands, floods,
		gso_frames;
	_Atomic uint32_t ports, bridges, bufs_free;
	_Atomic bool multishot, running;
};

struct dp {
	struct dp_config cfg;
	struct io_uring ring;
	bool ring_ready;
	bool multishot;
	bool stopping;
	bool rearm_pending; /* some port's need_rearm is set */
	uint64_t now; /* CLOCK_MONOTONIC ns, read once per batch */

	/* receive buffers: one provided-buffer ring */
	uint8_t *bufs;
	size_t bufs_bytes;
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	uint16_t *bufref; /* writes still using each buffer */
	unsigned int br_pending; /* buffers added since the last advance */
	unsigned int bufs_out; /* buffers held by the switch */
	uint8_t *segbufs;
	uint16_t *seg_free; /* stack of free segment buffers */
	unsigned int seg_nfree;

	struct dp_tx *tx;
	uint32_t tx_free;
	uint32_t tx_reaps; /* times tx_reap() ran */

	struct dp_port ports[DP_MAX_PORTS];
	struct dp_bridge bridges[DP_MAX_BRIDGES];
	struct partition part;
	struct dp_stats_live stats;
	struct dp_watch watch[DP_MAX_WATCH];
	struct dp_imp *imp; /* impairment targets and the delay queue (dp_impair.c) */
	unsigned int imp_targets; /* targets in use: 0 keeps the impairment stage out of the way */

	int wakefd;
	struct __kernel_timespec tick;
	uint8_t zero_hdr[16];

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	bool loop_running; /* protected by qlock */
	struct dp_cmd *qhead, *qtail;
	int start_result;
};

/* Loop thread entry. */
void *loop_main(void *arg);

/* Set up the ring and buffers (loop thread). Returns 0 or a negative errno. */
int loop_setup(struct dp *dp);

/* Arm the read of port slot (loop thread, or inline before the loop runs). */
void loop_arm_read(struct dp *dp, unsigned int slot);

/* Cancel the read of port slot (loop thread). */
void loop_cancel_read(struct dp *dp, unsigned int slot);

/* Arm or cancel the poll of watch slot i (loop thread, or nothing before the loop runs). */
void loop_arm_watch(struct dp *dp, unsigned int i);
void loop_cancel_watch(struct dp *dp, unsigned int i);

/* ---- impairments (dp_impair.c), all on the loop thread but init/free ---- */

/* Allocate the impairment state of dp (dp_create). Returns 0 or -ENOMEM. */
int dp_impair_init(struct dp *dp);

/* Free it (dp_destroy, after the loop stopped). */
void dp_impair_free(struct dp *dp);

/*
 * dp_impair_fwd() - the impairment stage of the path fx->in -> out: decide,
 * then send, queue or drop the frame (or its wire packets).
 * Return: true when it took the frame, false when no target is on the path.
 */
bool dp_impair_fwd(struct dp *dp, struct dp_fwd *fx, unsigned int out);

/* Per batch: apply due schedule steps, send due frames, re-arm the timer. */
void dp_impair_run(struct dp *dp);

/* The next impairment deadline (CLOCK_MONOTONIC ns), UINT64_MAX: none. */
uint64_t dp_impair_due(const struct dp *dp);

/* How long before a deadline the loop polls instead of sleeping (ns; 0: it sleeps). */
uint64_t dp_impair_spin(const struct dp *dp);

/*
 * Whether the loop also polls for the spin time after it woke before it
 * sleeps again: in auto mode, while delayed frames are queued, so that a
 * frame coming sooner than a wake-up takes is read, and its delay counted,
 * when it comes rather than when the loop wakes.
 */
bool dp_impair_linger(const struct dp *dp);

/* A TAG_IMPAIR completion (the timer or its update). */
void dp_impair_on_cqe(struct dp *dp, uint64_t tag, int res);

/* Port slot's link went down: drop (and count) the frames queued for it. */
void dp_impair_port_down(struct dp *dp, unsigned int slot);

/* Port slot is being removed: drop its queued frames and its targets. */
void dp_impair_port_del(struct dp *dp, unsigned int slot);

/* Bridge slot is being removed (its ports are gone already): drop its target. */
void dp_impair_bridge_del(struct dp *dp, unsigned int slot);

/* The loop stops: drop every queued frame, returning its buffer. */
void dp_impair_stop(struct dp *dp);

/* Port and bridge ids. */
static inline uint32_t dp_make_id(uint16_t gen, unsigned int slot)
{
	return (uint32_t)gen << 16 | slot;
}

static inline unsigned int dp_id_slot(uint32_t id)
{
	return id & 0xffff;
}

/* The port slot for a live id, or NULL. */
static inline struct dp_port *dp_port_get(struct dp *dp, uint32_t id)
{
	unsigned int slot = dp_id_slot(id);

	if (id == 0 || slot >= DP_MAX_PORTS)
		return NULL;
	if (atomic_load_explicit(&dp->ports[slot].live_id, memory_order_acquire) != id)
		return NULL;
	return &dp->ports[slot];
}

/* The bridge slot for a live id, or NULL. */
static inline struct dp_bridge *dp_bridge_get(struct dp *dp, uint32_t id)
{
	unsigned int slot = dp_id_slot(id);

	if (id == 0 || slot >= DP_MAX_BRIDGES)
		return NULL;
	if (atomic_load_explicit(&dp->bridges[slot].live_id, memory_order_acquire) != id)
		return NULL;
	return &dp->bridges[slot];
}

#endif
