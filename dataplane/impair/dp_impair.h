/* SPDX-License-Identifier: MIT */
/*
 * dp_impair: impairments in the switch, per target.
 *
 * A target is a whole bridge, one direction of one port (tx: what its guest
 * sends, rx: what its guest receives), or a one-way (from, to) pair of ports.
 * A frame from port A to port B on bridge X passes, in this order, the
 * targets that exist among: A's tx, bridge X, the pair (A, B), B's rx; each
 * decides with its own knobs and state (see impair.h), the send time of one
 * being the arrival time of the next. Decisions are taken per output path
 * and per wire packet: a GSO super-frame is cut into wire packets only when
 * its decisions differ (a loss, a corruption, a duplicate, a reordering) or
 * the output cannot take it whole.
 *
 * Delayed frames wait in one delay queue ordered by send time, woken by one
 * io_uring timeout for its head. Frames queued for a port whose link goes
 * down, or that is deleted, are dropped at once and counted (drop_link_down
 * on the port, dropped_port in the targets).
 *
 * Like every dp_* call, these may be called from any thread but the loop's
 * and return when the loop has applied them; all knobs of a target change
 * between two frames, never half.
 */
#ifndef TAPYARD_DP_IMPAIR_H
#define TAPYARD_DP_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp.h"
#include "impair.h"

/* Most targets at once. */
#define DP_IMPAIR_MAX 1024
/* Most steps in one schedule. */
#define DP_IMPAIR_MAX_STEPS 256
/* Longest spin before a deadline, in microseconds. */
#define DP_IMPAIR_SPIN_MAX_US 1000
/* dp_impair_timer_set()'s spin that follows the learned wake-up lateness (the default). */
#define DP_IMPAIR_SPIN_AUTO UINT32_MAX
/*
 * Lateness histogram of delayed frames: bucket 0 counts frames sent less than
 * 1 us after their send time, bucket i from 2^(i-1) to 2^i us, the last one
 * everything later.
 */
#define DP_IMPAIR_LATE_BUCKETS 20

enum dp_impair_kind {
	DP_IMPAIR_BRIDGE, /* a: bridge id */
	DP_IMPAIR_PORT_TX, /* a: port id; what its guest sends */
	DP_IMPAIR_PORT_RX, /* a: port id; what its guest receives */
	DP_IMPAIR_PAIR, /* a: from port id, b: to port id (same bridge) */
};

/* Where an impairment applies. */
struct dp_impair_target {
	enum dp_impair_kind kind;
	uint32_t a, b;
};

/* One target as dp_impair_list() reports it. */
struct dp_impair_entry {
	struct dp_impair_target target;
	struct impair_cfg cfg;
	struct impair_stats stats;
	bool scheduled; /* a schedule is running */
};

/*
 * dp_impair_set() - replace every knob of target t at once.
 * @cfg: the knobs; NULL removes the target (frames already queued still
 *       leave as decided). A target whose knobs are all zero stays in place
 *       (it costs what an impairment costs and impairs nothing). A running
 *       schedule on the target stops. Seed: 0 keeps the target's seed (a new
 *       target gets a random one, reported by dp_impair_get()); any other
 *       value reseeds the PRNG and restarts the loss models, even when equal.
 * Return: 0 (also when removing a target that has no impairment), -ENOENT
 * (no such bridge or port), -EINVAL (bad knobs, or a pair across bridges or
 * of one port), -ENOSPC (too many targets).
 */
int dp_impair_set(struct dp *dp, const struct dp_impair_target *t, const struct impair_cfg *cfg);

/*
 * dp_impair_get() - the knobs and statistics of target t (either may be NULL).
 * Return: 0, -ENOENT (no such bridge or port), -ENODATA (no impairment there).
 */
int dp_impair_get(struct dp *dp, const struct dp_impair_target *t, struct impair_cfg *cfg,
		  struct impair_stats *stats);

/* Remove every target of bridge (DP_ALL: of every bridge). Returns 0 or -ENOENT. */
int dp_impair_clear_all(struct dp *dp, uint32_t bridge);

/*
 * dp_impair_schedule() - run steps on target t: steps[i].cfg replaces its
 * knobs at steps[i].at_ns after now (the loop applies them at their time);
 * period_ns > 0 repeats the steps every period_ns. Until the first step the
 * knobs in force stay (none if the target is new).
 * Return: 0, -ENOENT, -EINVAL (bad knobs, steps not ascending or not within
 * the period, more than DP_IMPAIR_MAX_STEPS), -ENOSPC, -ENOMEM.
 */
int dp_impair_schedule(struct dp *dp, const struct dp_impair_target *t,
		       const struct impair_step *steps, size_t n, uint64_t period_ns);

/*
 * dp_impair_list() - copy up to max targets among bridge (DP_ALL: all) into out.
 * Return: how many targets there are (may exceed max).
 */
size_t dp_impair_list(struct dp *dp, uint32_t bridge, struct dp_impair_entry *out, size_t max);

/* How precisely delayed frames leave, as dp_impair_timer_get() reports it. */
struct dp_impair_timer {
	uint32_t spin_us; /* the spin time in force */
	bool spin_auto; /* spin_us is learned (DP_IMPAIR_SPIN_AUTO) */
	uint32_t wake_typical_us; /* the loop's median wake-up lateness, learned */
	uint64_t late[DP_IMPAIR_LATE_BUCKETS]; /* frames sent from the delay queue, by lateness */
};

/*
 * dp_impair_timer_set() - wait the last spin_us microseconds before each
 * deadline of the delay queue by polling instead of sleeping (0: sleep until
 * the timer fires). Polling costs CPU while a deadline is that close, and
 * saves the time a sleeping CPU takes to wake up. DP_IMPAIR_SPIN_AUTO (the
 * default): spin as long as the 99th percentile of the timer's wake-up
 * lateness, learned as the switch runs (wake.h).
 * Return: 0, -ERANGE (over DP_IMPAIR_SPIN_MAX_US and not DP_IMPAIR_SPIN_AUTO).
 */
int dp_impair_timer_set(struct dp *dp, uint32_t spin_us);

/* The spin time and the lateness histogram since the switch started (lock-free). */
void dp_impair_timer_get(struct dp *dp, struct dp_impair_timer *out);

#endif
