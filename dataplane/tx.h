/* SPDX-License-Identifier: MIT */
/*
 * tx: the bottom of the data path (loop thread only): submission entries,
 * buffers and their references, writes to a port, drop counting and the
 * capture hook. Forwarding (fwd.c) and the impairment stage
 * (impair/dp_impair_path.c) call it; it calls neither.
 */
#ifndef TAPYARD_TX_H
#define TAPYARD_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "dp_internal.h"

/* No segment buffer (tx_seg_get()). */
#define DP_SEG_NONE 0xffff

/* The buffer bid names: a receive buffer, or TX_SEGBUF | a segment buffer. */
static inline uint8_t *dp_buf(struct dp *dp, uint16_t bid)
{
	if (bid & TX_SEGBUF)
		return dp->segbufs + (size_t)(bid & ~TX_SEGBUF) * DP_SEG_SIZE;
	return dp->bufs + (size_t)bid * dp->cfg.buf_size;
}

/* tx_sqe() - an SQE, submitting what is queued first when the submission queue is full; or NULL. */
struct io_uring_sqe *tx_sqe(struct dp *dp);

/* tx_recycle() - hand receive buffer bid back to the kernel (published after the batch). */
void tx_recycle(struct dp *dp, uint16_t bid);

/* tx_buf_put() - drop one reference to buffer bid (a segment buffer is freed), recycling it at the
 * last. */
void tx_buf_put(struct dp *dp, uint16_t bid);

/* tx_seg_get() - a free segment buffer as a bid (TX_SEGBUF | index), or DP_SEG_NONE; tx_buf_put()
 * frees it. */
uint16_t tx_seg_get(struct dp *dp);

/*
 * tx_segment() - wire packet i of GSO frame fx, built in a free segment
 * buffer (tx_buf_put() frees it).
 * @seg: receives the buffer as a bid (TX_SEGBUF | index)
 * Return: the packet's length, -ENOBUFS (no segment buffer free) or -EINVAL
 * (it cannot be cut; no buffer is taken).
 */
int tx_segment(struct dp *dp, const struct dp_fwd *fx, unsigned int i, uint16_t *seg);

/*
 * tx_hook() - tell port slot's capture hook about a frame (call only when it has one).
 * @reason: the drop counter's name for DP_HOOK_DROP, else NULL
 * @peer: the path's other port slot, or DP_MAX_PORTS
 */
void tx_hook(struct dp *dp, unsigned int slot, enum dp_hook_dir dir, const uint8_t *data,
	     size_t len, const char *reason, unsigned int peer);

/*
 * tx_drop() - count a drop on port slot: the reason counter why and the
 * side counter (rx_dropped, tx_dropped or rx_errors, by CTR_IDX), and tell
 * the port's hook. f may be NULL; peer is the path's other port or DP_MAX_PORTS.
 */
void tx_drop(struct dp *dp, unsigned int slot, size_t why, size_t side, const struct frame *f,
	     unsigned int peer);

/*
 * tx_link_drops() - the one link check of every output: a frame to port out
 * whose netdev is gone or whose link is down is dropped there (counted as
 * drop_port_gone or drop_link_down, with in as the path's other port).
 * Return: true when it was dropped.
 */
bool tx_link_drops(struct dp *dp, unsigned int out, const struct frame *eth, unsigned int in);

/*
 * tx_port_gone() - port p's netdev is gone (its namespace was deleted, or a netdev
 * port's interface was deleted or set down): counted, logged once; the slot stays,
 * and a class that can rebind comes back through the loop's revive.
 */
void tx_port_gone(struct dp_port *p, int err);

/*
 * tx_complete() - a write completed: count it (or its failure), release its
 * buffer and write slot.
 * @tag: the completion's tag (TAG_WRITE, the slot)
 * @res: the completion's result
 */
void tx_complete(struct dp *dp, uint64_t tag, int res);

/*
 * tx_post() - post one write of iov (cnt entries) to port out. bid is the
 * buffer the iovecs point into (a receive buffer gets one more reference; a
 * segment buffer belongs to the write once posted); eth is the Ethernet frame.
 * Return: false when it could not be posted (counted as a drop on out).
 */
bool tx_post(struct dp *dp, unsigned int out, uint16_t bid, const struct iovec *iov,
	     unsigned int cnt, const struct frame *eth, unsigned int in);

/*
 * tx_frame() - write a frame to port out: len bytes at data, of which the
 * first hdr are a virtio-net header (0: none), adding or removing the header
 * as out needs. bid as for tx_post().
 * Return: true when posted; false when dropped (and counted, on out).
 */
bool tx_frame(struct dp *dp, unsigned int out, uint16_t bid, uint8_t *data, size_t len, size_t hdr,
	      unsigned int in);

#endif
