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

#include "clock.h"
#include "dp.h"
#include "frame.h"
#include "log.h"
#include "partition.h"

_Static_assert(DP_MAX_PORTS <= PARTITION_MAX_PORTS, "partition matrix too small");

/* Completion tags: kind in the top byte, then slot and generation or index. */
enum dp_tag_kind { TAG_READ = 1, TAG_WRITE, TAG_WAKE, TAG_TIMER, TAG_CANCEL, TAG_WATCH, TAG_IMPAIR };

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
	bool up;          /* link state */
	bool gone;        /* netdev disappeared */
	bool read_armed;  /* a read request is outstanding */
	bool need_rearm;  /* re-arm the read after this batch */
	uint32_t tx_inflight;
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
	uint16_t bid;  /* receive buffer it writes from, or TX_SEGBUF | segment buffer */
	uint16_t port; /* destination slot */
	uint16_t gen;  /* destination generation */
	uint32_t bytes;     /* Ethernet frame length */
	const uint8_t *frame; /* the Ethernet frame, for hooks */
	uint32_t next_free;
	struct iovec iov[2];
};

/* A command posted to the loop; see dp_call(). */
struct dp_cmd {
	int (*fn)(struct dp *dp, struct dp_cmd *cmd);
	uint32_t a, b;
	bool flag;
	const char *name;
	void *ptr;
	size_t n, max;
	uint32_t out_id;
	void (*out_fn)(void); /* a callback carried by the command (cast back by its user) */
	int result;
	bool done;
	struct dp_cmd *next;
};

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

/* The index of a live counter, for loop_drop(). */
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
	unsigned int bufs_out;   /* buffers held by the switch */
	uint8_t *segbufs;
	uint16_t *seg_free; /* stack of free segment buffers */
	unsigned int seg_nfree;

	struct dp_tx *tx;
	uint32_t tx_free;

	struct dp_port ports[DP_MAX_PORTS];
	struct dp_bridge bridges[DP_MAX_BRIDGES];
	struct partition part;
	struct dp_stats_live stats;
	struct dp_watch watch[DP_MAX_WATCH];
	struct dp_imp *imp;        /* impairment targets and the delay queue (dp_impair.c) */
	unsigned int imp_targets;  /* targets in use: 0 keeps the impairment stage out of the way */

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

/* Post cmd to the loop (or run it inline when the loop is not running) and wait. */
int dp_call(struct dp *dp, struct dp_cmd *cmd);

/* Run every queued command (loop thread). */
void dp_drain_commands(struct dp *dp);

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

/* The buffer bid names: a receive buffer, or TX_SEGBUF | a segment buffer. */
static inline uint8_t *dp_buf(struct dp *dp, uint16_t bid)
{
	if (bid & TX_SEGBUF)
		return dp->segbufs + (size_t)(bid & ~TX_SEGBUF) * DP_SEG_SIZE;
	return dp->bufs + (size_t)bid * dp->cfg.buf_size;
}

/*
 * loop_drop() - count a drop on port slot: the reason counter why and the
 * side counter (rx_dropped, tx_dropped or rx_errors, by CTR_IDX), and tell
 * the port's hook. f may be NULL; peer is the path's other port or DP_MAX_PORTS.
 */
void loop_drop(struct dp *dp, unsigned int slot, size_t why, size_t side, const struct frame *f,
	       unsigned int peer);

/*
 * loop_tx_frame() - write a frame to port out: len bytes at data, of which
 * the first hdr are a virtio-net header (0: none), adding or removing the
 * header as out needs. bid is the buffer data lies in (a receive buffer gets
 * one more reference; a segment buffer belongs to the write once posted).
 * Return: true when posted; false when dropped (and counted, on out).
 */
bool loop_tx_frame(struct dp *dp, unsigned int out, uint16_t bid, uint8_t *data, size_t len,
		   size_t hdr, unsigned int in);

/* Drop one reference to buffer bid (a segment buffer is freed), recycling it at the last. */
void loop_buf_put(struct dp *dp, uint16_t bid);

/* No segment buffer (loop_seg_get()). */
#define DP_SEG_NONE 0xffff

/* A free segment buffer as a bid (TX_SEGBUF | index), or DP_SEG_NONE; loop_buf_put() frees it. */
uint16_t loop_seg_get(struct dp *dp);

/*
 * loop_segment() - wire packet i of GSO frame fx, built in a free segment
 * buffer (loop_buf_put() frees it).
 * @seg: receives the buffer as a bid (TX_SEGBUF | index)
 * Return: the packet's length, -ENOBUFS (no segment buffer free) or -EINVAL
 * (it cannot be cut; no buffer is taken).
 */
int loop_segment(struct dp *dp, const struct dp_fwd *fx, unsigned int i, uint16_t *seg);

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
struct dp_port *dp_port_get(struct dp *dp, uint32_t id);

/* The bridge slot for a live id, or NULL. */
struct dp_bridge *dp_bridge_get(struct dp *dp, uint32_t id);

#endif
