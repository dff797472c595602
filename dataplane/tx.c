/* SPDX-License-Identifier: MIT */
/*
 * tx: the bottom of the data path, which forwarding and the impairment
 * stage both call: submission entries, receive and segment buffers and their
 * references, writes to a port (tx slots, writev, the virtio-net header
 * added or removed as the output needs) and their completions, drop
 * counting with the capture hook, and the one link check of every output.
 */
#include "tx.h"

#include <errno.h>
#include <string.h>

#include "gso.h"
#include "log.h"
#include "tag.h"

/* An SQE, submitting what is queued first when the submission queue is full. */
struct io_uring_sqe *tx_sqe(struct dp *dp)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&dp->ring);

	if (!sqe) {
		io_uring_submit(&dp->ring);
		sqe = io_uring_get_sqe(&dp->ring);
	}
	return sqe;
}

/* Hand buffer bid back to the kernel (published at the end of the batch). */
void tx_recycle(struct dp *dp, uint16_t bid)
{
	io_uring_buf_ring_add(dp->br, dp_buf(dp, bid), dp->cfg.buf_size, bid,
			      io_uring_buf_ring_mask(dp->cfg.nbufs), (int)dp->br_pending++);
	dp->bufs_out--;
}

/* A write using buffer bid completed: release the buffer when it was the last one. */
void tx_buf_put(struct dp *dp, uint16_t bid)
{
	if (bid & TX_SEGBUF)
		dp->seg_free[dp->seg_nfree++] = bid & ~TX_SEGBUF;
	else if (--dp->bufref[bid] == 0)
		tx_recycle(dp, bid);
}

uint16_t tx_seg_get(struct dp *dp)
{
	return dp->seg_nfree ? (uint16_t)(TX_SEGBUF | dp->seg_free[--dp->seg_nfree]) : DP_SEG_NONE;
}

int tx_segment(struct dp *dp, const struct dp_fwd *fx, unsigned int i, uint16_t *seg)
{
	int len;

	*seg = tx_seg_get(dp);
	if (*seg == DP_SEG_NONE)
		return -ENOBUFS;
	len = gso_segment(&fx->eth, &fx->vh, i, dp_buf(dp, *seg), DP_SEG_SIZE);
	if (len <= 0) {
		tx_buf_put(dp, *seg);
		return -EINVAL;
	}
	return len;
}

/* Tell port slot's hook about a frame (only called when the port has a hook). */
void tx_hook(struct dp *dp, unsigned int slot, enum dp_hook_dir dir, const uint8_t *data,
	     size_t len, const char *reason, unsigned int peer)
{
	struct dp_port *p = &dp->ports[slot];
	struct dp_hook_frame f = {
		.port = atomic_load_explicit(&p->live_id, memory_order_relaxed),
		.dir = dir,
		.data = data,
		.len = len,
		.drop_reason = reason,
		.peer = peer < DP_MAX_PORTS ? atomic_load_explicit(&dp->ports[peer].live_id,
								   memory_order_relaxed)
					    : DP_ALL,
	};

	f.ts_ns = clock_real_ns();
	p->hook(p->hook_ctx, &f);
}

void tx_drop(struct dp *dp, unsigned int slot, size_t why, size_t side, const struct frame *f,
	     unsigned int peer)
{
	struct dp_port *p = &dp->ports[slot];
	_Atomic uint64_t *c = (_Atomic uint64_t *)&p->ctr;

	ctr_add(&c[why], 1);
	ctr_add(&c[side], 1);
	if (p->hook && f)
		tx_hook(dp, slot, DP_HOOK_DROP, f->data, f->len, dp_counter_names[why], peer);
}

void tx_port_gone(struct dp_port *p, int err)
{
	if (p->gone)
		return;
	p->gone = true;
	p->need_rearm = false;
	ctr_add(&p->ctr.drop_port_gone, 1);
	log_warn("%s: port gone (%s); forwarding continues for the other ports", port_name(p->port),
		 err ? strerror(-err) : "end of file");
}

void tx_complete(struct dp *dp, uint64_t tag, int res)
{
	uint32_t ti = tag_index(tag);
	struct dp_tx *tx = &dp->tx[ti];
	struct dp_port *p = &dp->ports[tx->port];

	if (p->port && p->gen == tx->gen) {
		p->tx_inflight--;
		struct frame f = {(uint8_t *)tx->frame, tx->bytes};

		if (res >= 0) {
			ctr_add(&p->ctr.rx_packets, 1);
			ctr_add(&p->ctr.rx_bytes, tx->bytes);
			if (p->hook)
				tx_hook(dp, tx->port, DP_HOOK_GUEST_RX, f.data, f.len, NULL,
					DP_MAX_PORTS);
		} else if (res == -EBADFD || res == -ENXIO || res == -ENETDOWN) {
			tx_port_gone(p, res); /* ENXIO, ENETDOWN: a netdev port's interface */
		} else if (res == -EAGAIN || res == -ENOBUFS) {
			tx_drop(dp, tx->port, CTR_IDX(drop_queue_full), CTR_IDX(rx_dropped), &f,
				DP_MAX_PORTS);
		} else {
			tx_drop(dp, tx->port, CTR_IDX(drop_tx_error), CTR_IDX(rx_errors), &f,
				DP_MAX_PORTS);
			if (res != -EIO) /* EIO: the guest's interface is down */
				log_ratelimited(&p->rl, LOG_LVL_WARN, "%s: write failed: %s",
						port_name(p->port), strerror(-res));
		}
	}
	ctr_add(&dp->stats.writes, 1);
	tx_buf_put(dp, tx->bid);
	tx->next_free = dp->tx_free;
	dp->tx_free = ti;
}

/*
 * Submit the writes queued so far (most are done the moment they are
 * submitted) and handle every write completion already in the completion
 * queue, ahead of those before it.
 */
static void tx_reap(struct dp *dp)
{
	struct io_uring_cqe *cqe;
	unsigned int head;

	dp->tx_reaps++;
	io_uring_submit_and_get_events(&dp->ring);
	io_uring_for_each_cqe(&dp->ring, head, cqe) {
		uint64_t tag = io_uring_cqe_get_data64(cqe);

		if (tag_kind(tag) != TAG_WRITE)
			continue;
		tx_complete(dp, tag, cqe->res);
		/* Handled: the batch that reaches it in order passes over it. */
		cqe->user_data = tag_make(TAG_CANCEL, 0, 0);
	}
}

/*
 * Post one write of iov to port out. bid is the receive buffer (or segment
 * buffer) the iovecs point into; it is released when the write completes.
 * Returns false when the write could not be posted (counted as a drop).
 *
 * One port whose writes never complete may hold at most half the buffers.
 * Writes posted in this batch count too, but most of them are done the
 * moment they are submitted: at the cap (or out of write slots) the writes
 * are submitted and their completions handled first, once per port until it
 * posts again, so a burst to a port that takes its frames is not cut while a
 * stuck port still is.
 */
bool tx_post(struct dp *dp, unsigned int out, uint16_t bid, const struct iovec *iov,
	     unsigned int cnt, const struct frame *eth, unsigned int in)
{
	struct dp_port *o = &dp->ports[out];
	struct io_uring_sqe *sqe = NULL;
	bool full = o->tx_inflight >= dp->cfg.nbufs / 2;
	uint32_t ti;
	struct dp_tx *tx;

	if ((dp->tx_free == DP_TX_NIL || full) && o->tx_reaped == dp->tx_reaps) {
		tx_reap(dp); /* the writes of this batch may be done already */
		full = o->tx_inflight >= dp->cfg.nbufs / 2;
	}
	ti = dp->tx_free;
	if (ti != DP_TX_NIL && !full)
		sqe = tx_sqe(dp);
	if (!sqe) {
		tx_drop(dp, out, full ? CTR_IDX(drop_queue_full) : CTR_IDX(drop_no_buffer),
			CTR_IDX(rx_dropped), eth, in);
		return false;
	}
	tx = &dp->tx[ti];
	dp->tx_free = tx->next_free;
	tx->bid = bid;
	tx->port = (uint16_t)out;
	tx->gen = o->gen;
	tx->bytes = (uint32_t)eth->len;
	tx->frame = eth->data;
	memcpy(tx->iov, iov, cnt * sizeof(*iov));
	io_uring_prep_writev(sqe, o->fd, tx->iov, cnt, 0);
	io_uring_sqe_set_data64(sqe, tag_make(TAG_WRITE, 0, ti));
	if (!(bid & TX_SEGBUF))
		dp->bufref[bid]++;
	o->tx_inflight++;
	o->tx_reaped = dp->tx_reaps;
	return true;
}

bool tx_frame(struct dp *dp, unsigned int out, uint16_t bid, uint8_t *data, size_t len, size_t hdr,
	      unsigned int in)
{
	struct dp_port *o = &dp->ports[out];
	struct frame eth = {data + hdr, len - hdr};
	struct iovec iov[2];
	unsigned int cnt = 1;

	if (o->hdr_len && hdr) {
		iov[0] = (struct iovec){data, len};
	} else if (o->hdr_len) {
		iov[0] = (struct iovec){dp->zero_hdr, o->hdr_len};
		iov[1] = (struct iovec){eth.data, eth.len};
		cnt = 2;
	} else {
		iov[0] = (struct iovec){eth.data, eth.len};
	}
	return tx_post(dp, out, bid, iov, cnt, &eth, in);
}

bool tx_link_drops(struct dp *dp, unsigned int out, const struct frame *eth, unsigned int in)
{
	struct dp_port *o = &dp->ports[out];

	if (o->gone)
		tx_drop(dp, out, CTR_IDX(drop_port_gone), CTR_IDX(rx_dropped), eth, in);
	else if (!o->up)
		tx_drop(dp, out, CTR_IDX(drop_link_down), CTR_IDX(rx_dropped), eth, in);
	else
		return false;
	return true;
}
