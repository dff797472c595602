/* SPDX-License-Identifier: MIT */
/*
 * loop: the one io_uring loop that forwards frames.
 *
 * Reads: one multishot read per port (IORING_OP_READ_MULTISHOT, set in the
 * SQE by hand as liburing 2.3 has no helper) selecting buffers from one
 * provided-buffer ring; where the kernel lacks it, single-shot reads that are
 * re-armed after each frame. Writes: one writev per output port, sharing the
 * received buffer, which returns to the ring when its last write completes.
 * A port at its cap of writes in flight has the batch's writes submitted and
 * their completions handled ahead of the rest (tx_reap), so each
 * completion is marked seen as soon as it is handled.
 *
 * Each completion carries a 64-bit tag (tag.h: kind, generation, index)
 * decoded by one switch. A frame read goes to forwarding (fwd.c), whose
 * writes go through tx.c. After each batch of completions: delayed frames
 * that are due go out (impair/dp_impair_path.c, whose timer wakes the loop
 * for the next one), recycled buffers are published to the ring, stopped
 * reads re-armed, queued commands run (cmdq.c).
 */
#include <errno.h>
#include <stddef.h>
#include <time.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cmdq.h"
#include "dp_internal.h"
#include "dp_impair.h"
#include "fdb.h"
#include "fwd.h"
#include "tag.h"
#include "tx.h"

#define LOOP_BGID 1
#define LOOP_OP_READ_MULTISHOT 49 /* IORING_OP_READ_MULTISHOT, Linux 6.7 */
#define LOOP_SQ_ENTRIES 1024
#define LOOP_CQ_ENTRIES 16384

/* ---- buffers ---- */

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
		tx_recycle(dp, (uint16_t)i);
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
	sqe = dp->ring_ready ? tx_sqe(dp) : NULL;
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
	io_uring_sqe_set_data64(sqe, tag_make(TAG_READ, p->gen, slot));
	p->read_armed = true;
	p->need_rearm = false;
}

void loop_cancel_read(struct dp *dp, unsigned int slot)
{
	struct dp_port *p = &dp->ports[slot];
	struct io_uring_sqe *sqe;

	if (!dp->ring_ready || !p->read_armed)
		return;
	sqe = tx_sqe(dp);
	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, tag_make(TAG_READ, p->gen, slot), 0);
	io_uring_sqe_set_data64(sqe, tag_make(TAG_CANCEL, 0, 0));
	p->read_armed = false;
}

void loop_arm_watch(struct dp *dp, unsigned int i)
{
	struct dp_watch *w = &dp->watch[i];
	struct io_uring_sqe *sqe;

	if (!dp->ring_ready || w->fd < 0 || w->armed)
		return;
	sqe = tx_sqe(dp);
	if (!sqe)
		return;
	io_uring_prep_poll_multishot(sqe, w->fd, POLLIN);
	io_uring_sqe_set_data64(sqe, tag_make(TAG_WATCH, w->gen, i));
	w->armed = true;
}

void loop_cancel_watch(struct dp *dp, unsigned int i)
{
	struct dp_watch *w = &dp->watch[i];
	struct io_uring_sqe *sqe;

	if (!dp->ring_ready || !w->armed)
		return;
	sqe = tx_sqe(dp);
	if (sqe) {
		io_uring_prep_poll_remove(sqe, tag_make(TAG_WATCH, w->gen, i));
		io_uring_sqe_set_data64(sqe, tag_make(TAG_CANCEL, 0, 0));
	}
	w->armed = false;
}

static void loop_on_watch(struct dp *dp, uint64_t tag, const struct io_uring_cqe *cqe)
{
	unsigned int i = tag_index(tag);
	struct dp_watch *w = &dp->watch[i < DP_MAX_WATCH ? i : 0];

	if (i >= DP_MAX_WATCH || w->fd < 0 || w->gen != tag_gen(tag))
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

/* ---- completions ---- */

static void loop_on_read(struct dp *dp, uint64_t tag, const struct io_uring_cqe *cqe)
{
	unsigned int slot = tag_index(tag);
	uint16_t gen = tag_gen(tag);
	struct dp_port *p = &dp->ports[slot];
	bool has_buf = cqe->flags & IORING_CQE_F_BUFFER;
	uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);

	if (has_buf)
		dp->bufs_out++;
	if (!p->port || p->gen != gen) { /* the port was removed */
		if (has_buf)
			tx_recycle(dp, bid);
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		p->read_armed = false;
		loop_want_rearm(dp, p);
		ctr_add(&dp->stats.read_rearms, 1);
	}
	if (cqe->res <= 0 || !has_buf) {
		if (has_buf)
			tx_recycle(dp, bid);
		if (cqe->res == -ENOBUFS)
			ctr_add(&dp->stats.no_buffer, 1);
		else if (cqe->res != -EAGAIN && cqe->res != -EINTR && cqe->res != -ECANCELED)
			tx_port_gone(p, cqe->res);
		return;
	}
	ctr_add(&dp->stats.reads, 1);
	fwd_frame(dp, slot, bid, (size_t)cqe->res);
}

static void loop_arm_wake(struct dp *dp)
{
	struct io_uring_sqe *sqe = tx_sqe(dp);

	if (!sqe)
		return;
	io_uring_prep_poll_multishot(sqe, dp->wakefd, POLLIN);
	io_uring_sqe_set_data64(sqe, tag_make(TAG_WAKE, 0, 0));
}

static void loop_arm_timer(struct dp *dp)
{
	struct io_uring_sqe *sqe = tx_sqe(dp);

	if (!sqe)
		return;
	dp->tick.tv_sec = 1;
	dp->tick.tv_nsec = 0;
	io_uring_prep_timeout(sqe, &dp->tick, 0, 0);
	io_uring_sqe_set_data64(sqe, tag_make(TAG_TIMER, 0, 0));
}

/* Gone ports whose class can rebind (netdev ports) try again; no allocation. */
static void loop_revive(struct dp *dp)
{
	for (unsigned int i = 0; i < DP_MAX_PORTS; i++) {
		struct dp_port *p = &dp->ports[i];

		if (!p->port || !p->gone || port_revive(p->port))
			continue;
		p->gone = false;
		log_info("%s: port back%s%s", port_name(p->port), port_note(p->port)[0] ? ": " : "",
			 port_note(p->port));
		loop_arm_read(dp, i);
	}
}

/* Once a second: age the MAC tables, revive gone ports. */
static void loop_on_timer(struct dp *dp)
{
	loop_revive(dp);
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
		tx_complete(dp, tag, cqe->res);
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

/*
 * Handle the completions ready now, one at a time, each marked seen before
 * the next: tx_reap() may run inside a handler and must not see a
 * completion twice. Returns true when queued commands must run.
 */
static bool loop_reap(struct dp *dp)
{
	unsigned int n = io_uring_cq_ready(&dp->ring);
	struct io_uring_cqe *cqe;
	bool wake = false;

	for (unsigned int i = 0; i < n && io_uring_peek_cqe(&dp->ring, &cqe) == 0; i++) {
		wake |= loop_on_cqe(dp, cqe);
		io_uring_cqe_seen(&dp->ring, cqe);
	}
	ctr_add(&dp->stats.cqes, n);
	return wake;
}

/* Per-batch work: due delayed frames, publish recycled buffers, re-arm stopped reads, statistics.
 */
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
	struct io_uring_sqe *sqe = tx_sqe(dp);
	struct io_uring_cqe *cqe;

	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, tag_make(TAG_CANCEL, 0, 0));
	dp->stopping = true;
	for (int i = 0; i < 50; i++) { /* at most 5 s of stragglers */
		if (io_uring_submit_and_wait_timeout(&dp->ring, &cqe, 1, &idle, NULL) < 0)
			break;
		if (io_uring_cq_ready(&dp->ring) == 0)
			break;
		loop_reap(dp);
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
 * Submit, then wait for at least one completion; but poll for completions
 * instead of sleeping while an impairment deadline is closer than the spin
 * time (then until it is due; see dp_impair_timer_set) and, when
 * dp_impair_linger(), for the spin time after the loop last woke (dp->now).
 */
static int loop_wait(struct dp *dp)
{
	uint64_t due = dp_impair_due(dp), spin = dp_impair_spin(dp), now;
	bool linger = dp_impair_linger(dp), polled = false;

	if (!spin || (due == UINT64_MAX && !linger)) /* no clock read on the plain path */
		return io_uring_submit_and_wait(&dp->ring, 1);
	for (now = clock_mono_ns();; now = clock_mono_ns()) {
		bool near = due != UINT64_MAX && due <= now + spin;
		uint64_t until = near ? due : linger ? dp->now + spin : 0;

		if (!near && now >= until)
			return io_uring_submit_and_wait(&dp->ring, 1);
		if (!polled) /* runs the deferred completions too */
			io_uring_submit_and_get_events(&dp->ring);
		else
			io_uring_get_events(&dp->ring);
		polled = true;
		if (io_uring_cq_ready(&dp->ring) || now >= until)
			return 0; /* a completion, or the deadline is due */
	}
}

static void loop_run(struct dp *dp)
{
	while (!dp->stopping) {
		int err = loop_wait(dp);

		if (err < 0 && err != -EINTR && err != -EBUSY && err != -EAGAIN) {
			log_error("io_uring_submit_and_wait: %s; the loop stops", strerror(-err));
			break;
		}
		dp->now = clock_mono_ns();
		if (loop_reap(dp))
			cmdq_drain(dp);
		loop_batch_end(dp);
	}
}

void *loop_main(void *arg)
{
	struct dp *dp = arg;
	int err = loop_setup(dp);

	cmdq_loop_started(dp, err);
	if (!err) {
		atomic_store(&dp->stats.running, true);
		loop_run(dp);
	}
	loop_teardown(dp);
	cmdq_loop_stopped(dp);
	dp->stopping = false;
	atomic_store(&dp->stats.running, false);
	return NULL;
}
