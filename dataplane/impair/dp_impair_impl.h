/* SPDX-License-Identifier: MIT */
/*
 * dp_impair_impl: what the two halves of the impairment stage share
 * (internal to dataplane/). dp_impair.c keeps the targets, their commands
 * and schedules, and drops them with their ports; dp_impair_path.c decides
 * frames, keeps the delay queue and its timer. Both run on the loop thread
 * (but dp_impair_init/free and the lock-free reads).
 */
#ifndef TAPYARD_DP_IMPAIR_IMPL_H
#define TAPYARD_DP_IMPAIR_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_impair.h"
#include "dp_internal.h"
#include "dq.h"
#include "wake.h"

#define IMP_NONE 0xffff
#define IMP_CHAIN 4 /* port tx, bridge, pair, port rx */
#define IMP_MAX_WIRE 256 /* wire packets of one GSO frame decided before cutting (more: one by one) */
#define IMP_F_HDR 1 /* the buffer starts with a virtio-net header */
#define IMP_F_DUP 2 /* the second copy of a duplicated packet */

struct imp_target {
	bool used;
	uint16_t gen;
	struct dp_impair_target id;
	unsigned int bslot; /* the bridge it belongs to */
	struct impair_cfg cfg;
	struct impair_state st;
	struct impair_step *steps; /* a running schedule, or NULL */
	size_t nsteps;
	uint64_t period_ns, sched_start;
	long sched_idx;
};

struct dp_imp {
	struct imp_target t[DP_IMPAIR_MAX];
	uint16_t bridge[DP_MAX_BRIDGES];
	uint16_t tx[DP_MAX_PORTS], rx[DP_MAX_PORTS];
	uint16_t pair[DP_MAX_PORTS][DP_MAX_PORTS];
	unsigned int scheduled; /* targets with a schedule */
	uint64_t sched_next; /* earliest pending step, UINT64_MAX: none */
	struct dq *dq;
	unsigned int bufs_held; /* queued items holding a receive buffer */
	bool timer_armed;
	uint16_t timer_gen;
	uint64_t timer_at;
	struct __kernel_timespec ts;
	uint64_t due; /* the next deadline, UINT64_MAX: none */
	_Atomic uint64_t spin_ns; /* the part of a wait for a deadline spent polling */
	_Atomic bool spin_auto; /* spin_ns follows wake (the default) */
	struct wake wake; /* the timer's wake-up lateness, learned */
	_Atomic uint64_t wake_typical_ns; /* wake's median, for readers off the loop */
	_Atomic uint64_t late[DP_IMPAIR_LATE_BUCKETS]; /* frames sent, by lateness */
};

/* What a queued item carries (in dq_item.cookie). */
struct imp_meta {
	uint16_t bid; /* receive buffer, or TX_SEGBUF | segment buffer */
	uint16_t out_gen; /* the destination port's generation */
	uint8_t in; /* the input port slot, for hooks */
	uint8_t flags; /* IMP_F_* */
	uint8_t ntgt;
	uint8_t dupmask; /* chain positions that duplicated (and count both copies) */
	uint16_t npkts; /* wire packets counted in the targets' queues */
	uint16_t pad;
	uint32_t bytes; /* bytes counted in the targets' queues */
	struct {
		uint16_t idx, gen;
	} tgt[IMP_CHAIN];
};

_Static_assert(sizeof(struct imp_meta) <= sizeof(((struct dq_item *)0)->cookie), "meta too big");
_Static_assert(DP_MAX_PORTS <= 256, "imp_meta.in is one byte");

/* Apply the schedule steps due at now, on every scheduled target (dp_impair_sched.c). */
void imp_sched_run(struct dp *dp, uint64_t now);

/* Make cfg the target's configuration (dp_impair_sched.c). */
void imp_apply(struct imp_target *tg, const struct impair_cfg *cfg);

/*
 * imp_queue_drop_port() - drop the frames queued for port slot, releasing
 * their buffers and what their targets counted (dp_impair_path.c).
 * @count_link_down: count each as drop_link_down on the port
 */
void imp_queue_drop_port(struct dp *dp, unsigned int slot, bool count_link_down);

/* Drop every queued frame, uncounted: the loop stops (dp_impair_path.c). */
void imp_queue_drop_all(struct dp *dp);

#endif
