/* SPDX-License-Identifier: MIT */
/*
 * impair: the impairment engine, netem's knobs as pure decisions.
 *
 * A target (a bridge, one port direction, a one-way pair of ports) has a
 * configuration (struct impair_cfg, what the user set) and a state (struct
 * impair_state: its own seeded PRNG, correlation memories, loss-model state,
 * reorder counter, last departure, queue depth and statistics). For every
 * wire packet the dataplane calls impair_decide(), which draws from the
 * target's PRNG only for the knobs that are set, in a fixed order, so the
 * same seed and the same input give the same verdicts:
 *
 *   1. duplicate (correlated): one extra copy;
 *   2. loss: random (correlated), Gilbert-Elliott or the 4-state Markov model;
 *      a lost packet loses one copy, a packet with no copy left is dropped;
 *   3. corrupt (correlated): one random bit of the first copy;
 *   4. queue limit (packets, bytes): beyond it the packet is dropped;
 *   5. reorder: when the reorder counter has reached gap - 1 and the
 *      (correlated) draw hits, the packet is sent now and the counter
 *      restarts; every other packet is delayed and counts one more;
 *   6. delay: delay + jitter drawn from the distribution (correlated), never
 *      below zero, kept in FIFO order when keep_order is set;
 *   7. rate: the packet leaves when the link is free, after its serialisation
 *      time: departure = max(now + delay, last departure) + wire bits / rate.
 *
 * Semantics follow netem (sch_netem.c and tc-netem(8)): Gilbert-Elliott takes
 * p, r, 1-h, 1-k; the 4-state model takes p13, p31, p32, p23, p14 (with tc's
 * defaults filled in by the caller); reorder, gap, rate, overhead and cell
 * size work as in netem; distributions are netem's tables computed
 * analytically (normal: the inverse normal CDF; pareto: shape 3 shifted to
 * mean 0 and scaled by 4/3, capped at 4 jitters; paretonormal: 1/4 normal +
 * 3/4 pareto).
 *
 * One deliberate difference: correlation. netem mixes each uniform draw with
 * the previous one, which shrinks the draws towards 1/2, so "loss 20% 75%"
 * loses about 0.1% of packets and correlated jitter narrows the delay range.
 * Here the configured percentage stays the long-run rate and the configured
 * distribution stays the distribution; correlation is the lag-one
 * correlation: events are a two-state Markov chain (after a hit the next hits
 * with p + rho (1 - p), after a miss with p (1 - rho)), delays follow a
 * Gaussian AR(1) process mapped through the normal CDF to a uniform draw.
 *
 * Queue accounting: every packet that passes counts in the target's queue
 * until the dataplane calls impair_release() for it (at once when it goes
 * out undelayed, when it leaves the delay queue, or when it is dropped there).
 *
 * Nothing here allocates, sleeps, or reads a clock: time is an argument.
 */
#ifndef TAPYARD_IMPAIR_H
#define TAPYARD_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Delay distributions (netem's names). */
enum impair_dist {
	IMPAIR_DIST_UNIFORM,
	IMPAIR_DIST_NORMAL,
	IMPAIR_DIST_PARETO,
	IMPAIR_DIST_PARETONORMAL,
};

/* Loss models: random (with correlation), Gilbert-Elliott, 4-state Markov. */
enum impair_loss_model {
	IMPAIR_LOSS_RANDOM,
	IMPAIR_LOSS_GE,
	IMPAIR_LOSS_4STATE,
};

/* Gilbert-Elliott parameters, in percent: netem's p, r, 1-h, 1-k. */
struct impair_ge {
	double p; /* good -> bad */
	double r; /* bad -> good */
	double h; /* loss probability in the bad state (netem's 1-h) */
	double k; /* loss probability in the good state (netem's 1-k) */
};

/*
 * 4-state Markov parameters, in percent (netem's clgstate). States: 1 good
 * in a gap, 2 good in a burst, 3 lost in a burst, 4 isolated loss.
 */
struct impair_4state {
	double p13, p31, p32, p23, p14;
};

/* Every knob of one target. All zero: no impairment. Percentages are 0..100. */
struct impair_cfg {
	uint64_t delay_ns;
	uint64_t jitter_ns;
	double delay_corr;
	enum impair_dist dist;
	bool keep_order; /* never send a packet before an earlier one */
	enum impair_loss_model loss_model;
	double loss; /* IMPAIR_LOSS_RANDOM */
	double loss_corr;
	struct impair_ge ge; /* IMPAIR_LOSS_GE */
	struct impair_4state s4; /* IMPAIR_LOSS_4STATE */
	double duplicate, duplicate_corr;
	double corrupt, corrupt_corr;
	double reorder, reorder_corr;
	uint32_t reorder_gap; /* 0 with reorder set means 1, as in tc */
	uint64_t rate_bps; /* 0: no rate limit */
	int32_t rate_overhead; /* bytes added to each packet (may be negative) */
	uint32_t rate_cell; /* round each packet up to whole cells of this size */
	uint32_t limit_packets; /* 0: no limit */
	uint64_t limit_bytes; /* 0: no limit */
	uint64_t seed; /* 0: the dataplane picks one (and reports it) */
};

/* Per-target statistics. */
struct impair_stats {
	uint64_t delayed; /* packets sent later than they arrived */
	uint64_t dropped_loss; /* lost to the loss model */
	uint64_t dropped_queue; /* dropped at the queue limit (or the switch's own) */
	uint64_t dropped_port; /* dropped while queued: their port went down or away */
	uint64_t duplicated; /* extra copies made */
	uint64_t corrupted; /* packets with one bit flipped */
	uint64_t reordered; /* packets sent ahead of delayed ones */
	uint64_t queue_packets; /* packets decided but not yet released */
	uint64_t queue_bytes;
};

/* xoshiro256** state. */
struct impair_rng {
	uint64_t s[4];
};

/* A target's decision state. */
struct impair_state {
	struct impair_rng rng;
	double delay_z; /* delay correlation: the AR(1) process */
	uint8_t loss_last, dup_last, corrupt_last, reorder_last; /* event correlation */
	uint8_t loss_state; /* GE: 0 good, 1 bad; 4-state: 1..4 */
	uint32_t reorder_count; /* packets delayed since the last reordered one */
	uint64_t last_send; /* latest send time given (keep_order) */
	uint64_t last_depart; /* when the rate-limited link is free again */
	uint64_t rate_rem; /* remainder of bits * 1e9 / rate carried over */
	struct impair_stats stats;
};

/* Why a packet was dropped. */
enum impair_drop {
	IMPAIR_PASS,
	IMPAIR_DROP_LOSS,
	IMPAIR_DROP_QUEUE,
};

/* What to do with one packet. */
struct impair_verdict {
	enum impair_drop drop;
	unsigned int copies; /* 1, or 2 when duplicated; 0 when dropped */
	bool corrupt; /* flip corrupt_bit of the first copy */
	uint32_t corrupt_bit; /* bit index from the start of the frame, below 8 * len */
	bool reordered; /* sent now, ahead of delayed packets */
	uint64_t send_ns; /* when the first copy leaves */
	uint64_t dup_send_ns; /* when the second copy leaves */
};

/*
 * impair_cfg_check() - validate cfg.
 * @field: receives the name of the first bad knob (vocabulary spelling)
 * Return: 0 or -EINVAL.
 */
int impair_cfg_check(const struct impair_cfg *cfg, const char **field);

/*
 * impair_cfg_is_noop() - does cfg impair nothing? True without delay, jitter,
 * loss model, duplicate, corrupt, reorder, rate, limit or keep_order (the
 * correlations, distribution, gap, overhead, cell size and seed alone do nothing).
 */
bool impair_cfg_is_noop(const struct impair_cfg *cfg);

/*
 * impair_cfg_per_packet() - does cfg need a decision per wire packet (loss,
 * duplicate, corrupt or reorder)? When false a GSO super-frame may pass
 * whole through impair_decide_burst().
 */
bool impair_cfg_per_packet(const struct impair_cfg *cfg);

/* Seed the PRNG of st from seed (splitmix64) and reset every model state and statistic. */
void impair_state_init(struct impair_state *st, uint64_t seed);

/* Restart the loss models and correlation memories; queue and rate state stay. */
void impair_state_reset_models(struct impair_state *st);

/* Reseed the PRNG and restart the models; statistics, queue and rate state stay. */
void impair_state_reseed(struct impair_state *st, uint64_t seed);

/* The next 64 random bits of rng (xoshiro256**). */
uint64_t impair_rng_next(struct impair_rng *rng);

/*
 * impair_wire_len() - bytes a packet of len bytes occupies on the link:
 * len + rate_overhead (at least 1), rounded up to whole rate_cell cells.
 */
uint64_t impair_wire_len(const struct impair_cfg *cfg, uint64_t len);

/*
 * impair_delay_sample() - one delay draw (delay + jitter of cfg's
 * distribution, with correlation), in ns, never negative. Advances st.
 */
uint64_t impair_delay_sample(const struct impair_cfg *cfg, struct impair_state *st);

/* One loss decision of cfg's loss model. Advances st. Returns true when the packet is lost. */
bool impair_loss_event(const struct impair_cfg *cfg, struct impair_state *st);

/*
 * impair_decide() - the verdict for one wire packet of len bytes (the
 * Ethernet frame) arriving at now_ns. Updates st (PRNG, models, queue
 * depth, statistics).
 */
void impair_decide(const struct impair_cfg *cfg, struct impair_state *st, uint64_t now_ns,
		   size_t len, struct impair_verdict *v);

/*
 * impair_decide_burst() - the verdict for npkts wire packets that travel
 * together (a GSO super-frame kept whole), len bytes in all: delay, queue
 * limit and rate only; valid when !impair_cfg_per_packet(cfg).
 */
void impair_decide_burst(const struct impair_cfg *cfg, struct impair_state *st, uint64_t now_ns,
			 size_t len, unsigned int npkts, struct impair_verdict *v);

/* npkts packets of len bytes in all left the target's queue (sent or dropped). */
void impair_release(struct impair_state *st, size_t len, unsigned int npkts);

/* One step of a schedule: the knobs in force from at_ns after the schedule starts. */
struct impair_step {
	uint64_t at_ns;
	struct impair_cfg cfg;
};

/* Steps in ascending at_ns; period_ns > 0 repeats them every period_ns. */
struct impair_schedule {
	const struct impair_step *steps;
	size_t n;
	uint64_t period_ns;
};

/* Check steps ascend and lie within the period. Returns 0 or -EINVAL. */
int impair_schedule_check(const struct impair_schedule *s);

/*
 * impair_schedule_at() - the step in force elapsed ns after the start.
 * Return: its index, or -1 before the first step.
 */
long impair_schedule_at(const struct impair_schedule *s, uint64_t elapsed);

/*
 * impair_schedule_next() - when (ns after the start) the step after the one in
 * force at elapsed begins. Return: that time, or UINT64_MAX when none follows.
 */
uint64_t impair_schedule_next(const struct impair_schedule *s, uint64_t elapsed);

#endif
