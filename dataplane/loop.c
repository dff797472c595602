/* SPDX-License-Identifier: MIT */
/*
 * loop: the one io_uring loop that forwards frames.
 *
 * Reads: one multishot read per port (IORING_OP_READ_MULTISHOT, set in the
 * SQE by hand as liburing 2.3 has no helper) selecting buffers from one
 * provided-buffer ring; where the kernel lacks it, single-shot reads that are
 * re-armed after each frame. Writes: one writev per output port, sharing the
 * received buffer, which returns to the ring when its last write completes.
 *
 * Each completion carries a 64-bit tag (kind, slot, generation or write slot)
 * decoded by one switch. After each batch of completions: delayed frames that
 * are due go out (dp_impair.c, whose timer wakes the loop for the next one),
 * recycled buffers are published to the ring, stopped reads re-armed, queued
 * commands run.
 *
 * Impairments sit on the per-output path: when any target exists,
 * loop_fwd_one() hands the frame to dp_impair_fwd(), which decides, then
 * sends, queues or drops it through loop_tx_frame() and loop_drop().
 */
#include <errno.h>
#include <stddef.h>
#include <time.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dp_internal.h"
#include "frame.h"
#include "gso.h"

#define LOOP_BGID 1
#define LOOP_OP_READ_MULTISHOT 49 /* IORING_OP_READ_MULTISHOT, Linux 6.7 */
#define LOOP_SQ_ENTRIES 1024
#define LOOP_CQ_ENTRIES 16384

/* ---- tags ---- */

static uint64_t tag_port(enum dp_tag_kind kind, unsigned int slot, uint16_t gen)
{
	return (uint64_t)kind << 56 | (uint64_t)gen << 16 | slot;
}

static uint64_t tag_tx(uint32_t tx)
{
	return (uint64_t)TAG_WRITE << 56 | tx;
}

static enum dp_tag_kind tag_kind(uint64_t tag)
{
	return (enum dp_tag_kind)(tag >> 56);
}

/* An SQE, submitting what is queued first when the submission queue is full. */
static struct io_uring_sqe *loop_sqe(struct dp *dp)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&dp->ring);

	if (!sqe) {
		io_uring_submit(&dp->ring);
		sqe = io_uring_get_sqe(&dp->ring);
	}
	return sqe;
}

/* ---- buffers ---- */

static uint8_t *loop_buf(struct dp *dp, uint16_t bid)
{
	return dp->bufs + (size_t)bid * dp->cfg.buf_size;
}

/* Hand buffer bid back to the kernel (published at the end of the batch). */
static void loop_recycle(struct dp *dp, uint16_t bid)
{
	io_uring_buf_ring_add(dp->br, loop_buf(dp, bid), dp->cfg.buf_size, bid,
			      io_uring_buf_ring_mask(dp->cfg.nbufs), (int)dp->br_pending++);
	dp->bufs_out--;
}

/* A write using buffer bid completed: release the buffer when it was the last one. */
void loop_buf_put(struct dp *dp, uint16_t bid)
{
	if (bid & TX_SEGBUF)
		dp->seg_free[dp->seg_nfree++] = bid & ~TX_SEGBUF;
	else if (--dp->bufref[bid] == 0)
		loop_recycle(dp, bid);
}

uint16_t loop_seg_get(struct dp *dp)
{
	return dp->seg_nfree ? (uint16_t)(TX_SEGBUF | dp->seg_free[--dp->seg_nfree]) : DP_SEG_NONE;
}

int loop_segment(struct dp *dp, const struct dp_fwd *fx, unsigned int i, uint16_t *seg)
{
	int len;

	*seg = loop_seg_get(dp);
	if (*seg == DP_SEG_NONE)
		return -ENOBUFS;
	len = gso_segment(&fx->eth, &fx->vh, i, dp_buf(dp, *seg), DP_SEG_SIZE);
	if (len <= 0) {
		loop_buf_put(dp, *seg);
		return -EINVAL;
	}
	return len;
}

static int loop_bufs_setup(struct dp *dp)
{
	struct io_uring_buf_reg reg = {0};
	int err;

	dp->bufs_bytes = (size_t)dp->cfg.nbufs * dp->cfg.buf_size;
	dp->bufs = mmap(NULL, dp->bufs_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	if (dp->bufs == MAP_FAILED) {
		dp->bufs = NULL;
		return -ENOMEM;
	}
	dp->br_bytes = dp->cfg.nbufs * sizeof(struct io_uring_buf);
	dp->br = mmap(NULL, dp->br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      0);
	if (dp->br == MAP_FAILED) {
		dp->br = NULL;
		return -ENOMEM;
	}
	dp->bufref = calloc(dp->cfg.nbufs, sizeof(*dp->bufref));
	dp->segbufs = malloc((size_t)DP_SEG_COUNT * DP_SEG_SIZE);
	dp->seg_free = malloc(DP_SEG_COUNT * sizeof(*dp->seg_free));
	if (!dp->bufref || !dp->segbufs || !dp->seg_free)
		return -ENOMEM;
	for (unsigned int i = 0; i < DP_SEG_COUNT; i++)
		dp->seg_free[i] = (uint16_t)i;
	dp->seg_nfree = DP_SEG_COUNT;
	io_uring_buf_ring_init(dp->br);
	reg.ring_addr = (unsigned long)dp->br;
	reg.ring_entries = dp->cfg.nbufs;
	reg.bgid = LOOP_BGID;
	err = io_uring_register_buf_ring(&dp->ring, &reg, 0);
	if (err)
		return err;
	dp->bufs_out = dp->cfg.nbufs;
	dp->br_pending = 0;
	for (unsigned int i = 0; i < dp->cfg.nbufs; i++)
		loop_recycle(dp, (uint16_t)i);
	io_uring_buf_ring_advance(dp->br, (int)dp->br_pending);
	dp->br_pending = 0;
	return 0;
}

static void loop_bufs_teardown(struct dp *dp)
{
	if (dp->bufs)
		munmap(dp->bufs, dp->bufs_bytes);
	if (dp->br)
		munmap(dp->br, dp->br_bytes);
	free(dp->bufref);
	free(dp->segbufs);
	free(dp->seg_free);
	dp->bufs = NULL;
	dp->br = NULL;
	dp->bufref = NULL;
	dp->segbufs = NULL;
	dp->seg_free = NULL;
}

/* ---- reads ---- */

/* Arm p's read after this batch (the batch end visits ports only when one asked). */
static void loop_want_rearm(struct dp *dp, struct dp_port *p)
{
	p->need_rearm = true;
	dp->rearm_pending = true;
}

void loop_arm_read(struct dp *dp, unsigned int slot)
{
	struct dp_port *p = &dp->ports[slot];
	struct io_uring_sqe *sqe;

	if (p->gone || p->read_armed) {
		p->need_rearm = false;
		return;
	}
	sqe = dp->ring_ready ? loop_sqe(dp) : NULL;
	if (!sqe) {
		loop_want_rearm(dp, p);
		return;
	}
	if (dp->multishot) {
		io_uring_prep_rw(LOOP_OP_READ_MULTISHOT, sqe, p->fd, NULL, 0, 0);
	} else {
		io_uring_prep_rw(IORING_OP_READ, sqe, p->fd, NULL, dp->cfg.buf_size, 0);
	}
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = LOOP_BGID;
	io_uring_sqe_set_data64(sqe, tag_port(TAG_READ, slot, p->gen));
	p->read_armed = true;
	p->need_rearm = false;
}

void loop_cancel_read(struct dp *dp, unsigned int slot)
{
	struct dp_port *p = &dp->ports[slot];
	struct io_uring_sqe *sqe;

	if (!dp->ring_ready || !p->read_armed)
		return;
	sqe = loop_sqe(dp);
	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, tag_port(TAG_READ, slot, p->gen), 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)TAG_CANCEL << 56);
	p->read_armed = false;
}

static uint64_t tag_watch(unsigned int i, uint16_t gen)
{
	return (uint64_t)TAG_WATCH << 56 | (uint64_t)gen << 16 | i;
}

void loop_arm_watch(struct dp *dp, unsigned int i)
{
	struct dp_watch *w = &dp->watch[i];
	struct io_uring_sqe *sqe;

	if (!dp->ring_ready || w->fd < 0 || w->armed)
		return;
	sqe = loop_sqe(dp);
	if (!sqe)
		return;
	io_uring_prep_poll_multishot(sqe, w->fd, POLLIN);
	io_uring_sqe_set_data64(sqe, tag_watch(i, w->gen));
	w->armed = true;
}

void loop_cancel_watch(struct dp *dp, unsigned int i)
{
	struct dp_watch *w = &dp->watch[i];
	struct io_uring_sqe *sqe;

	if (!dp->ring_ready || !w->armed)
		return;
	sqe = loop_sqe(dp);
	if (sqe) {
		io_uring_prep_poll_remove(sqe, tag_watch(i, w->gen));
		io_uring_sqe_set_data64(sqe, (uint64_t)TAG_CANCEL << 56);
	}
	w->armed = false;
}

static void loop_on_watch(struct dp *dp, uint64_t tag, const struct io_uring_cqe *cqe)
{
	unsigned int i = tag & 0xffff;
	struct dp_watch *w = &dp->watch[i];

	if (i >= DP_MAX_WATCH || w->fd < 0 || w->gen != (uint16_t)(tag >> 16))
		return; /* unwatched */
	if (!(cqe->flags & IORING_CQE_F_MORE))
		w->armed = false;
	if (cqe->res < 0) { /* not re-armed: the fd is unusable */
		w->armed = false;
		if (cqe->res != -ECANCELED)
			log_warn("watched fd %d: poll failed: %s", w->fd, strerror(-cqe->res));
		return;
	}
	if (cqe->res > 0 && !dp->stopping)
		w->fn(w->ctx);
	if (!w->armed && !dp->stopping)
		loop_arm_watch(dp, i);
}

/* The port's netdev is gone (its namespace was deleted): stop using it, keep the slot. */
static void loop_port_gone(struct dp_port *p, int err)
{
	if (p->gone)
		return;
	p->gone = true;
	p->need_rearm = false;
	ctr_add(&p->ctr.drop_port_gone, 1);
	log_warn("%s: port gone (%s); forwarding continues for the other ports",
		 port_name(p->port), err ? strerror(-err) : "end of file");
}

/* ---- hooks and drops ---- */

/* Tell port slot's hook about a frame (only called when the port has a hook). */
static void loop_hook(struct dp *dp, unsigned int slot, enum dp_hook_dir dir, const uint8_t *data,
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

void loop_drop(struct dp *dp, unsigned int slot, size_t why, size_t side,
		      const struct frame *f, unsigned int peer)
{
	struct dp_port *p = &dp->ports[slot];
	_Atomic uint64_t *c = (_Atomic uint64_t *)&p->ctr;

	ctr_add(&c[why], 1);
	ctr_add(&c[side], 1);
	if (p->hook && f)
		loop_hook(dp, slot, DP_HOOK_DROP, f->data, f->len, dp_counter_names[why], peer);
}

/* ---- forwarding ---- */

/*
 * Post one write of iov to port out. bid is the receive buffer (or segment
 * buffer) the iovecs point into; it is released when the write completes.
 * Returns false when the write could not be posted (counted as a drop).
 */
static bool loop_tx_post(struct dp *dp, unsigned int out, uint16_t bid, const struct iovec *iov,
			 unsigned int cnt, const struct frame *eth, unsigned int in)
{
	struct dp_port *o = &dp->ports[out];
	struct io_uring_sqe *sqe = NULL;
	uint32_t ti = dp->tx_free;
	struct dp_tx *tx;

	/* One port whose writes never complete may hold at most half the buffers. */
	bool full = o->tx_inflight >= dp->cfg.nbufs / 2;

	if (ti != DP_TX_NIL && !full)
		sqe = loop_sqe(dp);
	if (!sqe) {
		loop_drop(dp, out, full ? CTR_IDX(drop_queue_full) : CTR_IDX(drop_no_buffer),
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
	io_uring_sqe_set_data64(sqe, tag_tx(ti));
	if (!(bid & TX_SEGBUF))
		dp->bufref[bid]++;
	o->tx_inflight++;
	return true;
}

bool loop_tx_frame(struct dp *dp, unsigned int out, uint16_t bid, uint8_t *data, size_t len,
		   size_t hdr, unsigned int in)
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
	return loop_tx_post(dp, out, bid, iov, cnt, &eth, in);
}

/* Write the received frame to out, adding or dropping the virtio-net header as out needs. */
static void loop_tx(struct dp *dp, struct dp_fwd *fx, unsigned int out)
{
	loop_tx_frame(dp, out, fx->bid, fx->all.data, fx->all.len, dp->ports[fx->in].hdr_len,
		      fx->in);
}

/*
 * A GSO super-frame for a port without offloads: cut it into wire packets in
 * segment buffers, one write each.
 */
static void loop_tx_segments(struct dp *dp, struct dp_fwd *fx, unsigned int out)
{
	unsigned int n = gso_wire_count(&fx->eth, &fx->vh);

	if (n == 0) {
		loop_drop(dp, out, CTR_IDX(drop_no_offload), CTR_IDX(rx_dropped), &fx->eth, fx->in);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint16_t seg;
		int len = loop_segment(dp, fx, i, &seg);

		if (len < 0) {
			loop_drop(dp, out,
				  len == -ENOBUFS ? CTR_IDX(drop_no_buffer) : CTR_IDX(drop_no_offload),
				  CTR_IDX(rx_dropped), &fx->eth, fx->in);
			continue;
		}
		struct frame wire = {dp_buf(dp, seg), (size_t)len};

		if (!loop_tx_post(dp, out, seg, &(struct iovec){wire.data, wire.len}, 1, &wire,
				  fx->in))
			loop_buf_put(dp, seg);
	}
}

/* Send the frame to output port out, unless something on the path drops it. */
static void loop_fwd_one(struct dp *dp, struct dp_fwd *fx, unsigned int out)
{
	struct dp_port *in = &dp->ports[fx->in], *o = &dp->ports[out];

	if (o->gone) {
		loop_drop(dp, out, CTR_IDX(drop_port_gone), CTR_IDX(rx_dropped), &fx->eth, fx->in);
		return;
	}
	if (!o->up) {
		loop_drop(dp, out, CTR_IDX(drop_link_down), CTR_IDX(rx_dropped), &fx->eth, fx->in);
		return;
	}
	if (partition_blocked(&dp->part, fx->in, out)) {
		loop_drop(dp, fx->in, CTR_IDX(drop_partition), CTR_IDX(tx_dropped), &fx->eth, out);
		return;
	}
	if (in->hdr_len && !o->hdr_len && !fx->gso && (fx->vh.flags & VNET_F_NEEDS_CSUM) &&
	    !fx->csum_done) {
		/* Complete once in place; offloading outputs accept a full checksum too. */
		if (gso_csum_complete(&fx->eth, &fx->vh) == 0) {
			fx->vh.flags = VNET_F_DATA_VALID;
			vnet_hdr_write(&fx->vh, fx->all.data);
		}
		fx->csum_done = true;
	}
	if (dp->imp_targets && dp_impair_fwd(dp, fx, out))
		return;
	if (in->hdr_len && !o->hdr_len && fx->gso)
		loop_tx_segments(dp, fx, out);
	else
		loop_tx(dp, fx, out);
}

/* Validate a frame read from port in. Returns 0, or -1 when it was dropped (and counted). */
static int loop_check(struct dp *dp, struct dp_fwd *fx, struct frame_eth *eth)
{
	struct dp_port *in = &dp->ports[fx->in];
	size_t why = 0;

	fx->eth = frame_tail(&fx->all, in->hdr_len);
	if (fx->all.len >= dp->cfg.buf_size)
		why = CTR_IDX(drop_oversize);
	else if (!in->up)
		why = CTR_IDX(drop_link_down);
	else if (in->hdr_len && vnet_hdr_parse(&fx->all, &fx->vh))
		why = CTR_IDX(drop_malformed);
	if (!why) {
		fx->gso = (fx->vh.gso_type & ~VNET_GSO_ECN) != VNET_GSO_NONE;
		if (frame_eth_parse(&fx->eth, eth))
			why = CTR_IDX(drop_runt);
		else if (!fx->gso && fx->eth.len > FRAME_MAX_LEN)
			why = CTR_IDX(drop_oversize);
	}
	if (!why)
		return 0;
	if (why != CTR_IDX(drop_link_down))
		ctr_add(&in->ctr.tx_errors, 1);
	loop_drop(dp, fx->in, why, CTR_IDX(tx_dropped), &fx->eth, DP_MAX_PORTS);
	return -1;
}

static void loop_fwd(struct dp *dp, unsigned int slot, uint16_t bid, size_t len)
{
	struct dp_port *in = &dp->ports[slot];
	struct dp_bridge *b = &dp->bridges[in->bridge];
	struct dp_fwd fx = {.in = slot, .bid = bid, .all = {loop_buf(dp, bid), len}};
	struct frame_eth eth;
	int out;

	/*
	 * Forwarding holds a reference of its own until it is done, so that a
	 * write or queue entry that takes one and gives it back (a post that
	 * fails) cannot recycle the buffer while the frame is still being read.
	 */
	dp->bufref[bid] = 1;
	ctr_add(&in->ctr.tx_packets, 1);
	ctr_add(&in->ctr.tx_bytes, len > in->hdr_len ? len - in->hdr_len : 0);
	if (loop_check(dp, &fx, &eth))
		goto done;
	if (in->hook)
		loop_hook(dp, slot, DP_HOOK_GUEST_TX, fx.eth.data, fx.eth.len, NULL, DP_MAX_PORTS);
	if (fx.gso)
		ctr_add(&dp->stats.gso_frames, 1);
	fdb_learn(b->fdb, eth.src, (uint16_t)slot, dp->now);
	if (mac_is_multicast(eth.dst)) {
		ctr_add(&in->ctr.multicast, 1);
	} else {
		out = fdb_lookup(b->fdb, eth.dst, dp->now);
		if (out >= 0) {
			if ((unsigned int)out != slot) /* no hairpin */
				loop_fwd_one(dp, &fx, (unsigned int)out);
			goto done;
		}
	}
	ctr_add(&dp->stats.floods, 1);
	for (unsigned int i = 0; i < b->nports; i++)
		if (b->ports[i] != slot)
			loop_fwd_one(dp, &fx, b->ports[i]);
done:
	loop_buf_put(dp, bid);
}

/* ---- completions ---- */

static void loop_on_read(struct dp *dp, uint64_t tag, const struct io_uring_cqe *cqe)
{
	unsigned int slot = tag & 0xffff;
	uint16_t gen = (uint16_t)(tag >> 16);
	struct dp_port *p = &dp->ports[slot];
	bool has_buf = cqe->flags & IORING_CQE_F_BUFFER;
	uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);

	if (has_buf)
		dp->bufs_out++;
	if (!p->port || p->gen != gen) { /* the port was removed */
		if (has_buf)
			loop_recycle(dp, bid);
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		p->read_armed = false;
		loop_want_rearm(dp, p);
		ctr_add(&dp->stats.read_rearms, 1);
	}
	if (cqe->res <= 0 || !has_buf) {
		if (has_buf)
			loop_recycle(dp, bid);
		if (cqe->res == -ENOBUFS)
			ctr_add(&dp->stats.no_buffer, 1);
		else if (cqe->res != -EAGAIN && cqe->res != -EINTR && cqe->res != -ECANCELED)
			loop_port_gone(p, cqe->res);
		return;
	}
	ctr_add(&dp->stats.reads, 1);
	loop_fwd(dp, slot, bid, (size_t)cqe->res);
}

static void loop_on_write(struct dp *dp, uint64_t tag, int res)
{
	uint32_t ti = (uint32_t)(tag & 0xffffffff);
	struct dp_tx *tx = &dp->tx[ti];
	struct dp_port *p = &dp->ports[tx->port];

	if (p->port && p->gen == tx->gen) {
		p->tx_inflight--;
		struct frame f = {(uint8_t *)tx->frame, tx->bytes};

		if (res >= 0) {
			ctr_add(&p->ctr.rx_packets, 1);
			ctr_add(&p->ctr.rx_bytes, tx->bytes);
			if (p->hook)
				loop_hook(dp, tx->port, DP_HOOK_GUEST_RX, f.data, f.len, NULL,
					  DP_MAX_PORTS);
		} else if (res == -EBADFD) {
			loop_port_gone(p, res);
		} else if (res == -EAGAIN || res == -ENOBUFS) {
			loop_drop(dp, tx->port, CTR_IDX(drop_queue_full), CTR_IDX(rx_dropped), &f,
				  DP_MAX_PORTS);
		} else {
			loop_drop(dp, tx->port, CTR_IDX(drop_tx_error), CTR_IDX(rx_errors), &f,
				  DP_MAX_PORTS);
			if (res != -EIO) /* EIO: the guest's interface is down */
				log_ratelimited(&p->rl, LOG_LVL_WARN, "%s: write failed: %s",
						port_name(p->port), strerror(-res));
		}
	}
	ctr_add(&dp->stats.writes, 1);
	loop_buf_put(dp, tx->bid);
	tx->next_free = dp->tx_free;
	dp->tx_free = ti;
}

static void loop_arm_wake(struct dp *dp)
{
	struct io_uring_sqe *sqe = loop_sqe(dp);

	if (!sqe)
		return;
	io_uring_prep_poll_multishot(sqe, dp->wakefd, POLLIN);
	io_uring_sqe_set_data64(sqe, (uint64_t)TAG_WAKE << 56);
}

static void loop_arm_timer(struct dp *dp)
{
	struct io_uring_sqe *sqe = loop_sqe(dp);

	if (!sqe)
		return;
	dp->tick.tv_sec = 1;
	dp->tick.tv_nsec = 0;
	io_uring_prep_timeout(sqe, &dp->tick, 0, 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)TAG_TIMER << 56);
}

/* Once a second: age the MAC tables. */
static void loop_on_timer(struct dp *dp)
{
	for (unsigned int i = 0; i < DP_MAX_BRIDGES; i++)
		if (atomic_load_explicit(&dp->bridges[i].live_id, memory_order_relaxed))
			fdb_age(dp->bridges[i].fdb, dp->now);
	if (!dp->stopping)
		loop_arm_timer(dp);
}

/* Returns true when queued commands must run after this batch. */
static bool loop_on_cqe(struct dp *dp, const struct io_uring_cqe *cqe)
{
	uint64_t tag = io_uring_cqe_get_data64(cqe);

	switch (tag_kind(tag)) {
	case TAG_READ:
		loop_on_read(dp, tag, cqe);
		break;
	case TAG_WRITE:
		loop_on_write(dp, tag, cqe->res);
		break;
	case TAG_WAKE:
		if (!(cqe->flags & IORING_CQE_F_MORE) && !dp->stopping)
			loop_arm_wake(dp);
		return true;
	case TAG_TIMER:
		loop_on_timer(dp);
		break;
	case TAG_WATCH:
		loop_on_watch(dp, tag, cqe);
		break;
	case TAG_IMPAIR:
		dp_impair_on_cqe(dp, tag, cqe->res);
		break;
	case TAG_CANCEL:
		break;
	}
	return false;
}

/* Per-batch work: due delayed frames, publish recycled buffers, re-arm stopped reads, statistics. */
static void loop_batch_end(struct dp *dp)
{
	dp_impair_run(dp);
	if (dp->br_pending) {
		io_uring_buf_ring_advance(dp->br, (int)dp->br_pending);
		dp->br_pending = 0;
	}
	if (dp->rearm_pending && dp->bufs_out < dp->cfg.nbufs) {
		dp->rearm_pending = false; /* set again by a port that still cannot be armed */
		for (unsigned int i = 0; i < DP_MAX_PORTS; i++)
			if (dp->ports[i].port && dp->ports[i].need_rearm)
				loop_arm_read(dp, i);
	}
	atomic_store_explicit(&dp->stats.bufs_free, dp->cfg.nbufs - dp->bufs_out,
			      memory_order_relaxed);
	ctr_add(&dp->stats.batches, 1);
}

/* ---- set-up and the loop ---- */

static int loop_ring_init(struct dp *dp)
{
	struct io_uring_params p = {0};
	struct io_uring_probe *probe;
	int err;

	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
		  IORING_SETUP_SUBMIT_ALL;
	p.cq_entries = LOOP_CQ_ENTRIES;
	err = io_uring_queue_init_params(LOOP_SQ_ENTRIES, &dp->ring, &p);
	if (err == -EINVAL) { /* older kernel: plain ring */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = LOOP_CQ_ENTRIES;
		err = io_uring_queue_init_params(LOOP_SQ_ENTRIES, &dp->ring, &p);
	}
	if (err)
		return err;
	probe = io_uring_get_probe_ring(&dp->ring);
	dp->multishot = probe && !dp->cfg.no_multishot &&
			io_uring_opcode_supported(probe, LOOP_OP_READ_MULTISHOT);
	free(probe);
	atomic_store(&dp->stats.multishot, dp->multishot);
	return 0;
}

int loop_setup(struct dp *dp)
{
	int err = loop_ring_init(dp);

	if (err) {
		log_error("io_uring unavailable: %s", strerror(-err));
		return err;
	}
	dp->ring_ready = true;
	err = loop_bufs_setup(dp);
	if (err) {
		log_error("cannot set up %u receive buffers of %u bytes: %s", dp->cfg.nbufs,
			  dp->cfg.buf_size, strerror(-err));
		return err;
	}
	loop_arm_wake(dp);
	loop_arm_timer(dp);
	for (unsigned int i = 0; i < DP_MAX_PORTS; i++) {
		dp->ports[i].read_armed = false;
		if (dp->ports[i].port)
			loop_arm_read(dp, i);
	}
	for (unsigned int i = 0; i < DP_MAX_WATCH; i++) {
		dp->watch[i].armed = false;
		loop_arm_watch(dp, i);
	}
	return 0;
}

/*
 * Cancel every request and reap the completions, so that no request still
 * holds a port's file when the ring goes: a TAP tapyard created must be gone
 * by the time dp_destroy() returns, not when the kernel's ring teardown runs.
 */
static void loop_quiesce(struct dp *dp)
{
	struct __kernel_timespec idle = {.tv_nsec = 100 * 1000 * 1000};
	struct io_uring_sqe *sqe = loop_sqe(dp);
	struct io_uring_cqe *cqe;

	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, (uint64_t)TAG_CANCEL << 56);
	dp->stopping = true;
	for (int i = 0; i < 50; i++) { /* at most 5 s of stragglers */
		if (io_uring_submit_and_wait_timeout(&dp->ring, &cqe, 1, &idle, NULL) < 0)
			break;
		unsigned int head, n = 0;

		io_uring_for_each_cqe(&dp->ring, head, cqe)
		{
			loop_on_cqe(dp, cqe);
			n++;
		}
		io_uring_cq_advance(&dp->ring, n);
		if (n == 0)
			break;
	}
}

static void loop_teardown(struct dp *dp)
{
	if (dp->ring_ready) {
		loop_quiesce(dp);
		dp_impair_stop(dp);
		io_uring_queue_exit(&dp->ring);
	}
	dp->ring_ready = false;
	loop_bufs_teardown(dp);
	for (unsigned int i = 0; i < DP_MAX_PORTS; i++) {
		dp->ports[i].read_armed = false;
		dp->ports[i].tx_inflight = 0;
	}
	for (unsigned int i = 0; i < DP_MAX_WATCH; i++)
		dp->watch[i].armed = false;
	/* Writes in flight died with the ring: rebuild the write slot list. */
	for (uint32_t i = 0; i < dp->cfg.tx_slots; i++)
		dp->tx[i].next_free = i + 1 < dp->cfg.tx_slots ? i + 1 : DP_TX_NIL;
	dp->tx_free = 0;
}

/*
 * Submit, then wait for at least one completion; but when an impairment
 * deadline is closer than the spin time, poll for completions until it is
 * due instead of sleeping (see dp_impair_timer_set).
 */
static int loop_wait(struct dp *dp)
{
	uint64_t due = dp_impair_due(dp), spin = dp_impair_spin(dp), now;

	if (!spin || due == UINT64_MAX || due > (now = clock_mono_ns()) + spin)
		return io_uring_submit_and_wait(&dp->ring, 1);
	io_uring_submit_and_get_events(&dp->ring); /* runs the deferred completions too */
	while (now < due && !io_uring_cq_ready(&dp->ring)) {
		io_uring_get_events(&dp->ring);
		now = clock_mono_ns();
	}
	return 0;
}

static void loop_run(struct dp *dp)
{
	while (!dp->stopping) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;
		bool wake = false;
		int err = loop_wait(dp);

		if (err < 0 && err != -EINTR && err != -EBUSY && err != -EAGAIN) {
			log_error("io_uring_submit_and_wait: %s; the loop stops", strerror(-err));
			break;
		}
		dp->now = clock_mono_ns();
		io_uring_for_each_cqe(&dp->ring, head, cqe)
		{
			wake |= loop_on_cqe(dp, cqe);
			n++;
		}
		io_uring_cq_advance(&dp->ring, n);
		ctr_add(&dp->stats.cqes, n);
		if (wake)
			dp_drain_commands(dp);
		loop_batch_end(dp);
	}
}

void *loop_main(void *arg)
{
	struct dp *dp = arg;
	int err = loop_setup(dp);

	pthread_mutex_lock(&dp->qlock);
	dp->start_result = err;
	dp->loop_running = !err;
	pthread_cond_broadcast(&dp->qcond);
	pthread_mutex_unlock(&dp->qlock);
	if (!err) {
		atomic_store(&dp->stats.running, true);
		loop_run(dp);
	}
	loop_teardown(dp);
	/* From now on commands run inline; finish the queued ones the same way, under the lock. */
	pthread_mutex_lock(&dp->qlock);
	dp->loop_running = false;
	for (struct dp_cmd *c = dp->qhead, *next; c; c = next) {
		next = c->next;
		c->result = c->fn(dp, c);
		c->done = true;
	}
	dp->qhead = dp->qtail = NULL;
	pthread_cond_broadcast(&dp->qcond);
	pthread_mutex_unlock(&dp->qlock);
	dp->stopping = false;
	atomic_store(&dp->stats.running, false);
	return NULL;
}
