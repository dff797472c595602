/* SPDX-License-Identifier: MIT */
/*
 * dp_impair_path: the impairment stage of the data path and the delay queue.
 *
 * dp_impair_fwd (on the loop thread): the chain of targets on a path decides
 * per wire packet; a frame that passes is sent at once when due and nothing
 * earlier waits, else it waits in the delay queue holding a reference to its
 * receive buffer (or owning its segment buffer). Each queued item records
 * its chain (target index and generation), so when it leaves, or is dropped
 * with its port, each target's queue depth is released exactly once per copy
 * it counted, even if the target was replaced meanwhile.
 *
 * Time: one IORING_OP_TIMEOUT (absolute, CLOCK_MONOTONIC) armed for the
 * earliest of the queue's head and the next schedule step (the deadline),
 * moved earlier with a timeout update when a new head comes before it. Its
 * completion only wakes the loop; the work happens in dp_impair_run() after
 * each batch. With a spin time set (dp_impair_timer_set), the timer is armed
 * that much before the deadline and the loop waits the rest by polling
 * (loop.c's loop_wait): waking an idle CPU from a timer costs tens of
 * microseconds on a virtual machine, polling a few. Every frame leaving the
 * queue counts its lateness (now minus its send time) in a histogram.
 */
#include <errno.h>
#include <string.h>

#include "dp_impair_impl.h"
#include "gso.h"
#include "tag.h"
#include "tx.h"

/* The targets on one path, in order. */
struct imp_chain {
	unsigned int n;
	uint16_t idx[IMP_CHAIN];
	bool per_packet; /* some target needs a decision per wire packet */
	bool may_delay; /* some target delays or limits the rate: frames may wait */
};

/* The combined verdict of a chain for one unit (a packet, or a GSO frame kept whole). */
struct imp_verdict {
	enum impair_drop drop;
	unsigned int copies;
	uint8_t dupmask;
	bool corrupt, reordered;
	uint32_t bit;
	uint64_t send_ns, dup_send_ns;
};

/* A buffer on its way out: its bytes and what its targets counted. */
struct imp_unit {
	uint16_t bid;
	uint8_t flags;
	uint32_t len; /* bytes at the buffer's start: header (IMP_F_HDR) and frame */
	uint16_t npkts; /* counted in the targets' queues */
	uint32_t bytes;
};

/* ---- buffers and queue depth ---- */

/* Take a reference on the unit's buffer for the queue (a segment buffer is owned already). */
static void imp_hold(struct dp *dp, uint16_t bid)
{
	if (bid & TX_SEGBUF)
		return;
	dp->bufref[bid]++;
	dp->imp->bufs_held++;
}

/* Give the queue's reference back; a segment buffer that was not posted is freed. */
static void imp_unhold(struct dp *dp, uint16_t bid, bool posted)
{
	if (bid & TX_SEGBUF) {
		if (!posted)
			tx_buf_put(dp, bid);
		return;
	}
	dp->imp->bufs_held--;
	tx_buf_put(dp, bid);
}

/* The target of chain entry i of m, if it is still the one that counted the item. */
static struct imp_target *imp_meta_target(struct dp_imp *imp, const struct imp_meta *m,
					  unsigned int i)
{
	struct imp_target *tg = &imp->t[m->tgt[i].idx];

	return tg->used && tg->gen == m->tgt[i].gen ? tg : NULL;
}

/* Release what item m counted in its targets' queues; dropped: count it as dropped_port. */
static void imp_meta_release(struct dp_imp *imp, const struct imp_meta *m, bool dropped)
{
	bool dup = m->flags & IMP_F_DUP;

	for (unsigned int i = 0; i < m->ntgt; i++) {
		struct imp_target *tg = imp_meta_target(imp, m, i);

		if (!tg || (dup && !(m->dupmask & (1u << i))))
			continue;
		impair_release(&tg->st, m->bytes, m->npkts);
		if (dropped)
			tg->st.stats.dropped_port += m->npkts;
	}
}

/* Release n copies of a unit of npkts packets, bytes each, in the first k targets of chain c. */
static void imp_chain_release(struct dp_imp *imp, const struct imp_chain *c, unsigned int k,
			      uint8_t dupmask, uint32_t bytes, unsigned int npkts)
{
	for (unsigned int i = 0; i < k; i++) {
		unsigned int copies = dupmask & (1u << i) ? 2 : 1;

		impair_release(&imp->t[c->idx[i]].st, (size_t)bytes * copies, npkts * copies);
	}
}

/* ---- the data path ---- */

/* The targets on the path in -> out, in order: in's tx, the bridge, the pair, out's rx. */
static void imp_chain(struct dp *dp, unsigned int in, unsigned int out, struct imp_chain *c)
{
	struct dp_imp *imp = dp->imp;
	const uint16_t cells[IMP_CHAIN] = {imp->tx[in], imp->bridge[dp->ports[in].bridge],
					   imp->pair[in][out], imp->rx[out]};

	c->n = 0;
	c->per_packet = c->may_delay = false;
	for (unsigned int i = 0; i < IMP_CHAIN; i++) {
		const struct impair_cfg *cfg;

		if (cells[i] == IMP_NONE)
			continue;
		c->idx[c->n++] = cells[i];
		cfg = &imp->t[cells[i]].cfg;
		c->per_packet |= impair_cfg_per_packet(cfg);
		c->may_delay |= cfg->delay_ns || cfg->jitter_ns || cfg->rate_bps;
	}
}

/*
 * Can the delay queue take more? Delayed frames may hold at most half the
 * receive buffers (like a stuck port), and the queue has a fixed size.
 */
static bool imp_room(struct dp *dp)
{
	struct dp_imp *imp = dp->imp;

	return imp->bufs_held < dp->cfg.nbufs / 2 && dq_count(imp->dq) < dq_capacity(imp->dq);
}

/*
 * The switch's own queue is full: drop before the targets decide, so that a
 * frame that never waits does not take a slot on a rate-limited link.
 */
static bool imp_full(struct dp *dp, const struct imp_chain *c, const struct dp_fwd *fx,
		     unsigned int out)
{
	if (!c->may_delay || imp_room(dp))
		return false;
	for (unsigned int i = 0; i < c->n; i++)
		dp->imp->t[c->idx[i]].st.stats.dropped_queue++;
	tx_drop(dp, out, CTR_IDX(drop_queue_full), CTR_IDX(rx_dropped), &fx->eth, fx->in);
	return true;
}

/*
 * The chain's verdict for one unit of len bytes (npkts wire packets kept
 * whole; 0: one packet decided with every knob), arriving now. Each target's
 * send time is the next one's arrival. A drop releases what the targets
 * before it counted.
 */
static void imp_decide(struct dp_imp *imp, const struct imp_chain *c, uint64_t now, size_t len,
		       unsigned int npkts, struct imp_verdict *v)
{
	uint64_t gap = 0;

	*v = (struct imp_verdict){.copies = 1, .send_ns = now};
	for (unsigned int k = 0; k < c->n; k++) {
		struct imp_target *tg = &imp->t[c->idx[k]];
		struct impair_verdict iv;

		if (npkts)
			impair_decide_burst(&tg->cfg, &tg->st, v->send_ns, len, npkts, &iv);
		else
			impair_decide(&tg->cfg, &tg->st, v->send_ns, len, &iv);
		if (iv.drop) {
			imp_chain_release(imp, c, k, v->dupmask, (uint32_t)len, npkts ? npkts : 1);
			*v = (struct imp_verdict){.drop = iv.drop};
			return;
		}
		if (iv.copies > 1) {
			v->dupmask |= (uint8_t)(1u << k);
			v->copies = 2;
			gap = iv.dup_send_ns - iv.send_ns > gap ? iv.dup_send_ns - iv.send_ns : gap;
		}
		if (iv.corrupt && !v->corrupt) {
			v->corrupt = true;
			v->bit = iv.corrupt_bit;
		}
		v->reordered |= iv.reordered;
		v->send_ns = iv.send_ns;
	}
	v->dup_send_ns = v->send_ns + gap;
}

/* The queue item of unit u for port out, copy flags, from chain c with verdict v. */
static void imp_item(struct dp *dp, const struct imp_unit *u, unsigned int in, unsigned int out,
		     const struct imp_chain *c, const struct imp_verdict *v, uint8_t flags,
		     struct dq_item *it)
{
	struct imp_meta m = {.bid = u->bid,
			     .out_gen = dp->ports[out].gen,
			     .in = (uint8_t)in,
			     .flags = (uint8_t)(u->flags | flags),
			     .ntgt = (uint8_t)c->n,
			     .dupmask = v->dupmask,
			     .npkts = u->npkts,
			     .bytes = u->bytes};

	for (unsigned int i = 0; i < c->n; i++) {
		m.tgt[i].idx = c->idx[i];
		m.tgt[i].gen = dp->imp->t[c->idx[i]].gen;
	}
	*it = (struct dq_item){.send_ns = flags & IMP_F_DUP ? v->dup_send_ns : v->send_ns,
			       .port = out,
			       .len = u->len};
	memcpy(it->cookie, &m, sizeof(m));
}

/* Write item it to its port, or drop it there (counted). Returns true when posted. */
static bool imp_post(struct dp *dp, const struct dq_item *it, const struct imp_meta *m)
{
	struct dp_port *o = &dp->ports[it->port];
	uint8_t *data = dp_buf(dp, m->bid);
	size_t hdr = m->flags & IMP_F_HDR ? VNET_HDR_LEN : 0;
	struct frame eth = {data + hdr, it->len - hdr};

	if (!o->port || o->gen != m->out_gen)
		return false; /* deleted: dp_impair_port_del() normally took it out already */
	if (tx_link_drops(dp, it->port, &eth, m->in))
		return false;
	return tx_frame(dp, it->port, m->bid, data, it->len, hdr, m->in);
}

/* Send a due item (or drop it when its port went away); releases its buffer and targets. */
static void imp_send(struct dp *dp, const struct dq_item *it)
{
	struct imp_meta m;
	bool posted;

	memcpy(&m, it->cookie, sizeof(m));
	posted = imp_post(dp, it, &m);
	imp_meta_release(dp->imp, &m, !posted);
	imp_unhold(dp, m.bid, posted);
}

/* Count a drop of the switch's own on the queue (no room): the port and the targets. */
static void imp_drop_full(struct dp *dp, const struct dq_item *it, size_t why)
{
	struct imp_meta m;
	uint8_t *data;

	memcpy(&m, it->cookie, sizeof(m));
	data = dp_buf(dp, m.bid) + (m.flags & IMP_F_HDR ? VNET_HDR_LEN : 0);
	tx_drop(dp, it->port, why, CTR_IDX(rx_dropped),
		&(struct frame){data, it->len - (m.flags & IMP_F_HDR ? VNET_HDR_LEN : 0)}, m.in);
	for (unsigned int i = 0; i < m.ntgt; i++) {
		struct imp_target *tg = imp_meta_target(dp->imp, &m, i);

		if (tg)
			tg->st.stats.dropped_queue += m.npkts;
	}
	imp_meta_release(dp->imp, &m, false);
}

/* Send item it now when due and nothing queued comes first, else queue it. */
static void imp_emit(struct dp *dp, const struct dq_item *it)
{
	struct dp_imp *imp = dp->imp;
	const struct dq_item *head = dq_peek(imp->dq);
	struct imp_meta m;

	memcpy(&m, it->cookie, sizeof(m));
	if (it->send_ns <= dp->now && (!head || head->send_ns > it->send_ns)) {
		imp_hold(dp, m.bid);
		imp_send(dp, it);
		return;
	}
	if (!imp_room(dp) || dq_push(imp->dq, it)) {
		imp_drop_full(dp, it, CTR_IDX(drop_queue_full));
		if (m.bid & TX_SEGBUF)
			tx_buf_put(dp, m.bid);
		return;
	}
	imp_hold(dp, m.bid);
}

/* Emit the copies of unit u that verdict v lets through. */
static void imp_emit_copies(struct dp *dp, const struct imp_unit *u, const struct imp_unit *dup,
			    unsigned int in, unsigned int out, const struct imp_chain *c,
			    const struct imp_verdict *v)
{
	struct dq_item it;

	imp_item(dp, u, in, out, c, v, 0, &it);
	imp_emit(dp, &it);
	if (v->copies > 1 && dup) {
		imp_item(dp, dup, in, out, c, v, IMP_F_DUP, &it);
		imp_emit(dp, &it);
	}
}

/* Count a verdict's drop on port out. */
static void imp_count_drop(struct dp *dp, const struct imp_verdict *v, unsigned int out,
			   const struct frame *eth, unsigned int in)
{
	size_t why =
		v->drop == IMPAIR_DROP_LOSS ? CTR_IDX(drop_impair_loss) : CTR_IDX(drop_queue_full);

	tx_drop(dp, out, why, CTR_IDX(rx_dropped), eth, in);
}

/*
 * A private copy of the frame with bit flipped, in a segment buffer: the
 * header too when out takes one, with its checksum completed and no
 * offload flags, so the receiver checks and sees the damage.
 */
static bool imp_corrupt_copy(struct dp *dp, const struct dp_fwd *fx, unsigned int out, uint32_t bit,
			     struct imp_unit *u)
{
	size_t hdr = dp->ports[out].hdr_len && dp->ports[fx->in].hdr_len ? VNET_HDR_LEN : 0;
	size_t len = fx->eth.len + hdr;
	uint16_t seg = len <= DP_SEG_SIZE ? tx_seg_get(dp) : DP_SEG_NONE;
	uint8_t *buf;

	if (seg == DP_SEG_NONE)
		return false;
	buf = dp_buf(dp, seg);
	memcpy(buf + hdr, fx->eth.data, fx->eth.len);
	if (hdr) {
		struct vnet_hdr vh = fx->vh;
		struct frame copy = {buf + hdr, fx->eth.len};

		if (vh.flags & VNET_F_NEEDS_CSUM)
			gso_csum_complete(&copy, &vh);
		vh.flags = 0;
		vnet_hdr_write(&vh, buf);
	}
	buf[hdr + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	*u = (struct imp_unit){.bid = seg, .flags = hdr ? IMP_F_HDR : 0, .len = (uint32_t)len};
	return true;
}

/* A frame that is one wire packet. */
static void imp_fwd_frame(struct dp *dp, struct dp_fwd *fx, unsigned int out,
			  const struct imp_chain *c)
{
	size_t hdr = dp->ports[fx->in].hdr_len;
	struct imp_unit orig = {.bid = fx->bid,
				.flags = hdr ? IMP_F_HDR : 0,
				.len = (uint32_t)(hdr ? fx->all.len : fx->eth.len),
				.npkts = 1,
				.bytes = (uint32_t)fx->eth.len};
	struct imp_unit first = orig;
	struct imp_verdict v;

	imp_decide(dp->imp, c, dp->now, fx->eth.len, 0, &v);
	if (v.drop) {
		imp_count_drop(dp, &v, out, &fx->eth, fx->in);
		return;
	}
	if (v.corrupt && !imp_corrupt_copy(dp, fx, out, v.bit, &first)) {
		imp_chain_release(dp->imp, c, c->n, v.dupmask, orig.bytes, 1);
		tx_drop(dp, out, CTR_IDX(drop_no_buffer), CTR_IDX(rx_dropped), &fx->eth, fx->in);
		return;
	}
	first.npkts = 1;
	first.bytes = orig.bytes;
	imp_emit_copies(dp, &first, &orig, fx->in, out, c, &v);
}

/* GSO frame fx as one unit: its buffer whole, counted as its *n wire packets' bytes. */
static struct imp_unit imp_unit_whole(const struct dp_fwd *fx, unsigned int *n)
{
	size_t bytes = gso_wire_bytes(&fx->eth, &fx->vh, n);

	return (struct imp_unit){.bid = fx->bid,
				 .flags = IMP_F_HDR,
				 .len = (uint32_t)fx->all.len,
				 .npkts = (uint16_t)*n,
				 .bytes = (uint32_t)bytes};
}

/* A GSO frame kept whole: delay, rate and queue limit over its wire packets. */
static bool imp_fwd_whole(struct dp *dp, struct dp_fwd *fx, unsigned int out,
			  const struct imp_chain *c)
{
	unsigned int n;
	struct imp_unit u = imp_unit_whole(fx, &n);
	struct imp_verdict v;

	if (n == 0 || n > UINT16_MAX)
		return false; /* malformed: the plain path drops and counts it */
	imp_decide(dp->imp, c, dp->now, u.bytes, n, &v);
	if (v.drop)
		imp_count_drop(dp, &v, out, &fx->eth, fx->in);
	else
		imp_emit_copies(dp, &u, NULL, fx->in, out, c, &v);
	return true;
}

/* Wire packet i of GSO frame fx into a segment buffer; bit flipped when corrupt. */
static bool imp_segment(struct dp *dp, const struct dp_fwd *fx, unsigned int i,
			const struct imp_verdict *v, bool corrupt, struct imp_unit *u)
{
	uint16_t seg;
	int len = tx_segment(dp, fx, i, &seg);

	if (len < 0)
		return false;
	if (corrupt)
		dp_buf(dp, seg)[(v->bit / 8) % (unsigned int)len] ^= (uint8_t)(1u << (v->bit % 8));
	*u = (struct imp_unit){.bid = seg, .len = (uint32_t)len, .npkts = 1, .bytes = u->bytes};
	return true;
}

/* Send wire packet i of a cut GSO frame as verdict v says; each copy is built fresh. */
static void imp_fwd_segment(struct dp *dp, struct dp_fwd *fx, unsigned int out,
			    const struct imp_chain *c, unsigned int i, const struct imp_verdict *v,
			    uint32_t bytes)
{
	struct imp_unit first = {.bytes = bytes}, dup = {.bytes = bytes};

	if (v->drop) {
		imp_count_drop(dp, v, out, &fx->eth, fx->in);
		return;
	}
	if (!imp_segment(dp, fx, i, v, v->corrupt, &first) ||
	    (v->copies > 1 && !imp_segment(dp, fx, i, v, false, &dup))) {
		if (first.bid & TX_SEGBUF)
			tx_buf_put(dp, first.bid);
		imp_chain_release(dp->imp, c, c->n, v->dupmask, bytes, 1);
		tx_drop(dp, out, CTR_IDX(drop_no_buffer), CTR_IDX(rx_dropped), &fx->eth, fx->in);
		return;
	}
	imp_emit_copies(dp, &first, &dup, fx->in, out, c, v);
}

/* Can a cut frame's verdicts be honoured by sending it whole? */
static bool imp_uniform(const struct imp_verdict *v, unsigned int n, uint64_t *send)
{
	*send = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (v[i].drop || v[i].copies != 1 || v[i].corrupt || v[i].reordered)
			return false;
		*send = v[i].send_ns > *send ? v[i].send_ns : *send;
	}
	return true;
}

/*
 * A GSO frame decided per wire packet: sent whole when every packet passes
 * alike and out takes GSO frames, else cut, each packet as its verdict says.
 */
/* The bytes of wire packet i of n that share bytes (the first bytes % n carry one more). */
static uint32_t imp_share(size_t bytes, unsigned int n, unsigned int i)
{
	return (uint32_t)(bytes / n + (i < bytes % n));
}

/*
 * Decide every wire packet first when there are at most IMP_MAX_WIRE (a frame
 * whose packets are all decided alike goes out whole), else decide each as
 * it is cut.
 */
static void imp_fwd_cut(struct dp *dp, struct dp_fwd *fx, unsigned int out,
			const struct imp_chain *c)
{
	struct imp_verdict v[IMP_MAX_WIRE];
	unsigned int n, first;
	struct imp_unit whole = imp_unit_whole(fx, &n);
	size_t bytes = whole.bytes;

	if (n == 0) {
		tx_drop(dp, out, CTR_IDX(drop_no_offload), CTR_IDX(rx_dropped), &fx->eth, fx->in);
		return;
	}
	first = n <= IMP_MAX_WIRE ? n : 0;
	for (unsigned int i = 0; i < first; i++)
		imp_decide(dp->imp, c, dp->now, imp_share(bytes, n, i), 0, &v[i]);
	if (first && dp->ports[out].hdr_len && imp_uniform(v, n, &v[0].send_ns)) {
		v[0].dup_send_ns = v[0].send_ns;
		imp_emit_copies(dp, &whole, NULL, fx->in, out, c, &v[0]);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (!first)
			imp_decide(dp->imp, c, dp->now, imp_share(bytes, n, i), 0, &v[0]);
		imp_fwd_segment(dp, fx, out, c, i, first ? &v[i] : &v[0], imp_share(bytes, n, i));
	}
}

bool dp_impair_fwd(struct dp *dp, struct dp_fwd *fx, unsigned int out)
{
	struct imp_chain c;

	imp_chain(dp, fx->in, out, &c);
	if (!c.n)
		return false;
	if (imp_full(dp, &c, fx, out))
		return true;
	if (!fx->gso) {
		imp_fwd_frame(dp, fx, out, &c);
		return true;
	}
	if (!c.per_packet && dp->ports[out].hdr_len)
		return imp_fwd_whole(dp, fx, out, &c);
	imp_fwd_cut(dp, fx, out, &c);
	return true;
}

/* ---- time ---- */

/* The timer fired and the loop ran late_ns after it: learn, and follow in auto mode. */
static void imp_learn_wake(struct dp_imp *imp, uint64_t late_ns)
{
	if (!wake_observe(&imp->wake, late_ns))
		return;
	atomic_store_explicit(&imp->wake_typical_ns, wake_typical(&imp->wake),
			      memory_order_relaxed);
	if (atomic_load_explicit(&imp->spin_auto, memory_order_relaxed))
		atomic_store_explicit(&imp->spin_ns, wake_spin(&imp->wake), memory_order_relaxed);
}

void dp_impair_on_cqe(struct dp *dp, uint64_t tag, int res)
{
	struct dp_imp *imp = dp->imp;
	bool update = tag_index(tag) == 1;

	if (tag_gen(tag) != imp->timer_gen)
		return; /* an old timer's */
	if (!update || res < 0)
		imp->timer_armed = false; /* fired, cancelled, or gone before the update */
	if (!update && res == -ETIME && dp->now >= imp->timer_at)
		imp_learn_wake(imp, dp->now - imp->timer_at);
}

/*
 * The next deadline is due (absolute CLOCK_MONOTONIC ns, UINT64_MAX: none):
 * have the timer fire at due less the spin time, unless it fires earlier
 * anyway or that moment has passed (then loop_wait() polls until due).
 */
static void imp_arm(struct dp *dp, uint64_t due, uint64_t now)
{
	struct dp_imp *imp = dp->imp;
	struct io_uring_sqe *sqe;
	uint64_t spin = atomic_load_explicit(&imp->spin_ns, memory_order_relaxed);
	uint64_t at = due > spin ? due - spin : 0;

	imp->due = due;
	if (due == UINT64_MAX || at <= now || dp->stopping || !dp->ring_ready ||
	    (imp->timer_armed && imp->timer_at <= at))
		return;
	sqe = tx_sqe(dp);
	if (!sqe)
		return; /* the next batch tries again */
	imp->ts.tv_sec = (long long)(at / 1000000000ull);
	imp->ts.tv_nsec = (long long)(at % 1000000000ull);
	if (imp->timer_armed) {
		io_uring_prep_timeout_update(sqe, &imp->ts, tag_make(TAG_IMPAIR, imp->timer_gen, 0),
					     IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, tag_make(TAG_IMPAIR, imp->timer_gen, 1));
	} else {
		imp->timer_gen++;
		io_uring_prep_timeout(sqe, &imp->ts, 0, IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, tag_make(TAG_IMPAIR, imp->timer_gen, 0));
		imp->timer_armed = true;
	}
	imp->timer_at = at;
}

/* Bucket of a lateness of ns: 0 under 1 us, i for [2^(i-1), 2^i) us, the last one beyond. */
static unsigned int imp_late_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned int b = us ? 64 - (unsigned int)__builtin_clzll(us) : 0;

	return b < DP_IMPAIR_LATE_BUCKETS ? b : DP_IMPAIR_LATE_BUCKETS - 1;
}

void dp_impair_run(struct dp *dp)
{
	struct dp_imp *imp = dp->imp;
	const struct dq_item *head;
	struct dq_item it;
	uint64_t now, step;

	if (!dq_count(imp->dq) && !imp->scheduled) {
		imp->due = UINT64_MAX;
		return;
	}
	now = clock_mono_ns();
	imp_sched_run(dp, now);
	while ((head = dq_peek(imp->dq)) && head->send_ns <= now) {
		dq_pop(imp->dq, &it);
		ctr_add(&imp->late[imp_late_bucket(now - it.send_ns)], 1);
		imp_send(dp, &it);
	}
	head = dq_peek(imp->dq);
	step = imp->scheduled ? imp->sched_next : UINT64_MAX;
	imp_arm(dp, head && head->send_ns < step ? head->send_ns : step, now);
}

uint64_t dp_impair_due(const struct dp *dp)
{
	return dp->imp->due;
}

uint64_t dp_impair_spin(const struct dp *dp)
{
	return atomic_load_explicit(&dp->imp->spin_ns, memory_order_relaxed);
}

bool dp_impair_linger(const struct dp *dp)
{
	return dq_count(dp->imp->dq) &&
	       atomic_load_explicit(&dp->imp->spin_auto, memory_order_relaxed);
}

/* ---- ports going away ---- */

struct imp_flush {
	struct dp *dp;
	bool count_link_down;
};

/* A queued item dropped with its port: release it, count it. */
static void imp_flush_item(void *ctx, const struct dq_item *it)
{
	struct imp_flush *f = ctx;
	struct imp_meta m;
	uint8_t *data;
	size_t hdr;

	memcpy(&m, it->cookie, sizeof(m));
	hdr = m.flags & IMP_F_HDR ? VNET_HDR_LEN : 0;
	data = dp_buf(f->dp, m.bid);
	if (f->count_link_down) /* the link went down: the one link check counts it */
		tx_link_drops(f->dp, it->port, &(struct frame){data + hdr, it->len - hdr}, m.in);
	imp_meta_release(f->dp->imp, &m, true);
	imp_unhold(f->dp, m.bid, false);
}

void imp_queue_drop_port(struct dp *dp, unsigned int slot, bool count_link_down)
{
	struct imp_flush f = {dp, count_link_down};

	dq_remove_port(dp->imp->dq, slot, imp_flush_item, &f);
}

void imp_queue_drop_all(struct dp *dp)
{
	struct imp_flush f = {dp, false};
	struct dq_item it;

	while (dq_pop(dp->imp->dq, &it) == 0)
		imp_flush_item(&f, &it);
}
