/* SPDX-License-Identifier: MIT */
/*
 * fwd: what happens to a frame read from a port: check it (every drop at the
 * switch's input), learn its source, look up its destination (or flood), and
 * forward it to each output, unless the output's link, a partition or the
 * impairment stage drops, queues or sends it otherwise. Writes go through tx.c.
 */
#include "fwd.h"

#include <errno.h>

#include "dp_impair.h"
#include "fdb.h"
#include "frame.h"
#include "gso.h"
#include "tx.h"

/* Write the received frame to out, adding or dropping the virtio-net header as out needs. */
static void fwd_tx(struct dp *dp, struct dp_fwd *fx, unsigned int out)
{
	tx_frame(dp, out, fx->bid, fx->all.data, fx->all.len, dp->ports[fx->in].hdr_len, fx->in);
}

/*
 * A GSO super-frame for a port without offloads: cut it into wire packets in
 * segment buffers, one write each.
 */
static void fwd_segments(struct dp *dp, struct dp_fwd *fx, unsigned int out)
{
	unsigned int n = gso_wire_count(&fx->eth, &fx->vh);

	if (n == 0) {
		tx_drop(dp, out, CTR_IDX(drop_no_offload), CTR_IDX(rx_dropped), &fx->eth, fx->in);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint16_t seg;
		int len = tx_segment(dp, fx, i, &seg);

		if (len < 0) {
			tx_drop(dp, out,
				len == -ENOBUFS ? CTR_IDX(drop_no_buffer)
						: CTR_IDX(drop_no_offload),
				CTR_IDX(rx_dropped), &fx->eth, fx->in);
			continue;
		}
		struct frame wire = {dp_buf(dp, seg), (size_t)len};

		if (!tx_post(dp, out, seg, &(struct iovec){wire.data, wire.len}, 1, &wire, fx->in))
			tx_buf_put(dp, seg);
	}
}

/* Send the frame to output port out, unless something on the path drops it. */
static void fwd_one(struct dp *dp, struct dp_fwd *fx, unsigned int out)
{
	struct dp_port *in = &dp->ports[fx->in], *o = &dp->ports[out];

	if (tx_link_drops(dp, out, &fx->eth, fx->in))
		return;
	if (partition_blocked(&dp->part, fx->in, out)) {
		tx_drop(dp, fx->in, CTR_IDX(drop_partition), CTR_IDX(tx_dropped), &fx->eth, out);
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
		fwd_segments(dp, fx, out);
	else
		fwd_tx(dp, fx, out);
}

/* Validate a frame read from port in. Returns 0, or -1 when it was dropped (and counted). */
static int fwd_check(struct dp *dp, struct dp_fwd *fx, struct frame_eth *eth)
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
	tx_drop(dp, fx->in, why, CTR_IDX(tx_dropped), &fx->eth, DP_MAX_PORTS);
	return -1;
}

void fwd_frame(struct dp *dp, unsigned int slot, uint16_t bid, size_t len)
{
	struct dp_port *in = &dp->ports[slot];
	struct dp_bridge *b = &dp->bridges[in->bridge];
	struct dp_fwd fx = {.in = slot, .bid = bid, .all = {dp_buf(dp, bid), len}};
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
	if (fwd_check(dp, &fx, &eth))
		goto done;
	if (in->hook)
		tx_hook(dp, slot, DP_HOOK_GUEST_TX, fx.eth.data, fx.eth.len, NULL, DP_MAX_PORTS);
	if (fx.gso)
		ctr_add(&dp->stats.gso_frames, 1);
	fdb_learn(b->fdb, eth.src, (uint16_t)slot, dp->now);
	if (mac_is_multicast(eth.dst)) {
		ctr_add(&in->ctr.multicast, 1);
	} else {
		out = fdb_lookup(b->fdb, eth.dst, dp->now);
		if (out >= 0) {
			if ((unsigned int)out != slot) /* no hairpin */
				fwd_one(dp, &fx, (unsigned int)out);
			goto done;
		}
	}
	ctr_add(&dp->stats.floods, 1);
	for (unsigned int i = 0; i < b->nports; i++)
		if (b->ports[i] != slot)
			fwd_one(dp, &fx, b->ports[i]);
done:
	tx_buf_put(dp, bid);
}
