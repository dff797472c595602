/* SPDX-License-Identifier: MIT */
/*
 * dp_impair: impairment targets in the switch, their commands and schedules.
 *
 * Targets live in one table; per-bridge, per-port-direction and per-pair
 * index tables name the target of each place (IMP_NONE: none), so finding
 * the chain of a path is four lookups (dp_impair_path.c walks it). Each
 * target holds its knobs, its decision state (impair.h) and an optional
 * schedule, whose steps the loop applies at their time (imp_sched_run).
 *
 * Commands (dp_impair_set and friends) run on the loop thread through
 * cmdq_call(), like every change to the switch; schedule steps are allocated
 * by the caller and freed by whoever retires them. A port or bridge going
 * away takes its targets and its queued frames with it.
 */
#include "dp_impair.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cmdq.h"
#include "dp_impair_impl.h"

/* ---- set-up ---- */

int dp_impair_init(struct dp *dp)
{
	struct dp_imp *imp = calloc(1, sizeof(*imp));
	int err;

	if (!imp)
		return -ENOMEM;
	err = dq_create(2 * ((size_t)dp->cfg.nbufs + DP_SEG_COUNT), &imp->dq);
	if (err) {
		free(imp);
		return err;
	}
	memset(imp->bridge, 0xff, sizeof(imp->bridge));
	memset(imp->tx, 0xff, sizeof(imp->tx));
	memset(imp->rx, 0xff, sizeof(imp->rx));
	memset(imp->pair, 0xff, sizeof(imp->pair));
	imp->sched_next = UINT64_MAX;
	imp->due = UINT64_MAX;
	wake_init(&imp->wake);
	atomic_store(&imp->spin_ns, wake_spin(&imp->wake));
	atomic_store(&imp->spin_auto, true);
	dp->imp = imp;
	return 0;
}

void dp_impair_free(struct dp *dp)
{
	if (!dp->imp)
		return;
	for (unsigned int i = 0; i < DP_IMPAIR_MAX; i++)
		free(dp->imp->t[i].steps);
	dq_destroy(dp->imp->dq);
	free(dp->imp);
	dp->imp = NULL;
}

/* ---- targets ---- */

/* The index cell of target t, checking its ports and bridge exist; NULL with *err set. */
static uint16_t *imp_cell(struct dp *dp, const struct dp_impair_target *t, unsigned int *bslot,
			  int *err)
{
	struct dp_port *a = dp_port_get(dp, t->a), *b = dp_port_get(dp, t->b);
	struct dp_imp *imp = dp->imp;

	*err = -ENOENT;
	switch (t->kind) {
	case DP_IMPAIR_BRIDGE:
		if (!dp_bridge_get(dp, t->a))
			return NULL;
		*bslot = dp_id_slot(t->a);
		return &imp->bridge[*bslot];
	case DP_IMPAIR_PORT_TX:
	case DP_IMPAIR_PORT_RX:
		if (!a)
			return NULL;
		*bslot = a->bridge;
		return t->kind == DP_IMPAIR_PORT_TX ? &imp->tx[dp_id_slot(t->a)]
						    : &imp->rx[dp_id_slot(t->a)];
	case DP_IMPAIR_PAIR:
		if (!a || !b)
			return NULL;
		*err = -EINVAL;
		if (a->bridge != b->bridge || t->a == t->b)
			return NULL;
		*bslot = a->bridge;
		return &imp->pair[dp_id_slot(t->a)][dp_id_slot(t->b)];
	}
	*err = -EINVAL;
	return NULL;
}

/* The target at index cell value v, or NULL. */
static struct imp_target *imp_at(struct dp_imp *imp, uint16_t v)
{
	return v == IMP_NONE ? NULL : &imp->t[v];
}

/* Stop target tg's schedule, freeing its steps. */
static void imp_unschedule(struct dp_imp *imp, struct imp_target *tg)
{
	if (!tg->steps)
		return;
	free(tg->steps);
	tg->steps = NULL;
	tg->nsteps = 0;
	/* With no schedule left, nothing may keep re-arming the timer for a stale step time. */
	if (--imp->scheduled == 0)
		imp->sched_next = UINT64_MAX;
}

/* Remove the target in *cell, if any. */
static void imp_remove(struct dp *dp, uint16_t *cell)
{
	struct imp_target *tg = imp_at(dp->imp, *cell);

	if (!tg)
		return;
	imp_unschedule(dp->imp, tg);
	tg->used = false;
	*cell = IMP_NONE;
	dp->imp_targets--;
}

/* A new target in *cell with zero knobs and seed. Returns it, or NULL when the table is full. */
static struct imp_target *imp_add(struct dp *dp, uint16_t *cell, const struct dp_impair_target *t,
				  unsigned int bslot, uint64_t seed)
{
	struct imp_target *tg = NULL;

	for (unsigned int i = 0; i < DP_IMPAIR_MAX && !tg; i++) {
		if (!dp->imp->t[i].used) {
			tg = &dp->imp->t[i];
			*cell = (uint16_t)i;
		}
	}
	if (!tg)
		return NULL;
	tg->used = true;
	tg->gen++;
	tg->id = *t;
	tg->bslot = bslot;
	tg->cfg = (struct impair_cfg){.seed = seed};
	impair_state_init(&tg->st, seed);
	dp->imp_targets++;
	return tg;
}

/* ---- commands ---- */

/* A request to the loop: one target, its knobs or schedule, and what comes back. */
/* The target t, created (with seed, for a new target without one) when absent; or NULL with *err.
 */
static struct imp_target *imp_get_or_add(struct dp *dp, const struct dp_impair_target *t,
					 uint64_t seed, int *err)
{
	unsigned int bslot;
	uint16_t *cell = imp_cell(dp, t, &bslot, err);
	struct imp_target *tg;

	if (!cell)
		return NULL;
	tg = imp_at(dp->imp, *cell);
	if (!tg)
		tg = imp_add(dp, cell, t, bslot, seed);
	*err = tg ? 0 : -ENOSPC;
	return tg;
}

struct dpc_impair_set {
	struct dp_cmd hdr;
	const struct dp_impair_target *t;
	const struct impair_cfg *cfg; /* NULL: remove the target */
	uint64_t seed; /* for a new target without one */
};

static int dpc_impair_set(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_impair_set *r = DPC_OF(hdr, struct dpc_impair_set);
	struct imp_target *tg;
	unsigned int bslot;
	uint16_t *cell;
	int err;

	if (!r->cfg) {
		cell = imp_cell(dp, r->t, &bslot, &err);
		if (cell)
			imp_remove(dp, cell);
		return cell ? 0 : err;
	}
	tg = imp_get_or_add(dp, r->t, r->seed, &err);
	if (!tg)
		return err;
	imp_unschedule(dp->imp, tg);
	imp_apply(tg, r->cfg);
	return 0;
}

/* A seed for a target that gets none: random, below 2^63 so JSON shows it as it is. */
static uint64_t imp_random_seed(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), 0) != sizeof(s))
		s = (uint64_t)clock_mono_ns() * 0x9e3779b97f4a7c15ull;
	s &= INT64_MAX;
	return s ? s : 1;
}

int dp_impair_set(struct dp *dp, const struct dp_impair_target *t, const struct impair_cfg *cfg)
{
	struct dpc_impair_set c = {
		.hdr.fn = dpc_impair_set, .t = t, .cfg = cfg, .seed = imp_random_seed()};

	if (cfg && impair_cfg_check(cfg, NULL))
		return -EINVAL;
	return cmdq_call(dp, &c.hdr);
}

struct dpc_impair_get {
	struct dp_cmd hdr;
	const struct dp_impair_target *t;
	struct impair_cfg *cfg_out; /* or NULL */
	struct impair_stats *stats; /* or NULL */
};

static int dpc_impair_get(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_impair_get *r = DPC_OF(hdr, struct dpc_impair_get);
	struct imp_target *tg;
	unsigned int bslot;
	uint16_t *cell;
	int err;

	cell = imp_cell(dp, r->t, &bslot, &err);
	if (!cell)
		return err;
	tg = imp_at(dp->imp, *cell);
	if (!tg)
		return -ENODATA;
	if (r->cfg_out)
		*r->cfg_out = tg->cfg;
	if (r->stats)
		*r->stats = tg->st.stats;
	return 0;
}

int dp_impair_get(struct dp *dp, const struct dp_impair_target *t, struct impair_cfg *cfg,
		  struct impair_stats *stats)
{
	struct dpc_impair_get c = {
		.hdr.fn = dpc_impair_get, .t = t, .cfg_out = cfg, .stats = stats};

	return cmdq_call(dp, &c.hdr);
}

/* Does tg belong to bridge (a bridge id, DP_ALL: any)? */
static bool imp_on_bridge(const struct imp_target *tg, uint32_t bridge)
{
	return tg->used && (bridge == DP_ALL || tg->bslot == dp_id_slot(bridge));
}

/* The index cell naming target tg. */
static uint16_t *imp_cell_of(struct dp *dp, const struct imp_target *tg)
{
	unsigned int bslot;
	int err;

	return imp_cell(dp, &tg->id, &bslot, &err);
}

/* impair/clear_all and impair/list of a bridge (or DP_ALL). */
struct dpc_impair_bridge {
	struct dp_cmd hdr;
	uint32_t bridge;
	struct dp_impair_entry *list; /* list: at most max */
	size_t max, n;
};

static int dpc_impair_clear_all(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_impair_bridge *r = DPC_OF(hdr, struct dpc_impair_bridge);
	uint16_t *cell;

	if (r->bridge != DP_ALL && !dp_bridge_get(dp, r->bridge))
		return -ENOENT;
	for (unsigned int i = 0; i < DP_IMPAIR_MAX; i++) {
		if (!imp_on_bridge(&dp->imp->t[i], r->bridge))
			continue;
		cell = imp_cell_of(dp, &dp->imp->t[i]);
		if (cell)
			imp_remove(dp, cell);
	}
	return 0;
}

int dp_impair_clear_all(struct dp *dp, uint32_t bridge)
{
	struct dpc_impair_bridge c = {.hdr.fn = dpc_impair_clear_all, .bridge = bridge};

	return cmdq_call(dp, &c.hdr);
}

static int dpc_impair_list(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_impair_bridge *r = DPC_OF(hdr, struct dpc_impair_bridge);
	struct imp_target *tg;

	r->n = 0;
	for (unsigned int i = 0; i < DP_IMPAIR_MAX; i++) {
		tg = &dp->imp->t[i];
		if (!imp_on_bridge(tg, r->bridge))
			continue;
		if (r->n < r->max)
			r->list[r->n] = (struct dp_impair_entry){tg->id, tg->cfg, tg->st.stats,
								 tg->steps != NULL};
		r->n++;
	}
	return 0;
}

size_t dp_impair_list(struct dp *dp, uint32_t bridge, struct dp_impair_entry *out, size_t max)
{
	struct dpc_impair_bridge c = {
		.hdr.fn = dpc_impair_list, .bridge = bridge, .list = out, .max = max};

	return cmdq_call(dp, &c.hdr) ? 0 : c.n;
}

struct dpc_impair_schedule {
	struct dp_cmd hdr;
	const struct dp_impair_target *t;
	struct impair_step *steps; /* the target's once taken (then NULL) */
	size_t nsteps;
	uint64_t period_ns;
	uint64_t seed; /* for a new target without one */
};

static int dpc_impair_schedule(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_impair_schedule *r = DPC_OF(hdr, struct dpc_impair_schedule);
	struct imp_target *tg;
	int err;

	tg = imp_get_or_add(dp, r->t, r->seed, &err);
	if (!tg)
		return err;
	imp_unschedule(dp->imp, tg);
	tg->steps = r->steps;
	tg->nsteps = r->nsteps;
	tg->period_ns = r->period_ns;
	tg->sched_start = clock_mono_ns();
	tg->sched_idx = -1;
	r->steps = NULL; /* the target owns them now */
	dp->imp->scheduled++;
	dp->imp->sched_next = tg->sched_start; /* apply step 0 now if it is due */
	imp_sched_run(dp, tg->sched_start);
	return 0;
}

/* Check a schedule before it goes to the loop. */
static int imp_schedule_check(const struct impair_step *steps, size_t n, uint64_t period_ns)
{
	struct impair_schedule s = {steps, n, period_ns};

	if (n > DP_IMPAIR_MAX_STEPS || impair_schedule_check(&s))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (impair_cfg_check(&steps[i].cfg, NULL))
			return -EINVAL;
	return 0;
}

int dp_impair_schedule(struct dp *dp, const struct dp_impair_target *t,
		       const struct impair_step *steps, size_t n, uint64_t period_ns)
{
	struct dpc_impair_schedule c = {.hdr.fn = dpc_impair_schedule,
					.t = t,
					.nsteps = n,
					.period_ns = period_ns,
					.seed = imp_random_seed()};
	int err = imp_schedule_check(steps, n, period_ns);

	if (err)
		return err;
	c.steps = malloc(n * sizeof(*steps));
	if (!c.steps)
		return -ENOMEM;
	memcpy(c.steps, steps, n * sizeof(*steps));
	err = cmdq_call(dp, &c.hdr);
	free(c.steps); /* NULL when the loop took them */
	return err;
}

/* ---- timer precision ---- */

struct dpc_impair_timer {
	struct dp_cmd hdr;
	uint32_t spin_us;
};

static int dpc_impair_timer_set(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_impair_timer *c = DPC_OF(hdr, struct dpc_impair_timer);

	bool autospin = c->spin_us == DP_IMPAIR_SPIN_AUTO;
	uint64_t spin = autospin ? wake_spin(&dp->imp->wake) : (uint64_t)c->spin_us * 1000;

	atomic_store_explicit(&dp->imp->spin_auto, autospin, memory_order_relaxed);
	atomic_store_explicit(&dp->imp->spin_ns, spin, memory_order_relaxed);
	dp->imp->timer_armed = false; /* re-armed for the new moment; the old one only wakes us */
	dp->imp->timer_gen++;
	return 0;
}

int dp_impair_timer_set(struct dp *dp, uint32_t spin_us)
{
	struct dpc_impair_timer c = {.hdr.fn = dpc_impair_timer_set, .spin_us = spin_us};

	if (spin_us > DP_IMPAIR_SPIN_MAX_US && spin_us != DP_IMPAIR_SPIN_AUTO)
		return -ERANGE;
	return cmdq_call(dp, &c.hdr);
}

void dp_impair_timer_get(struct dp *dp, struct dp_impair_timer *out)
{
	struct dp_imp *imp = dp->imp;

	out->spin_us = (uint32_t)(dp_impair_spin(dp) / 1000);
	out->spin_auto = atomic_load_explicit(&imp->spin_auto, memory_order_relaxed);
	out->wake_typical_us =
		(uint32_t)(atomic_load_explicit(&imp->wake_typical_ns, memory_order_relaxed) /
			   1000);
	for (unsigned int i = 0; i < DP_IMPAIR_LATE_BUCKETS; i++)
		out->late[i] = atomic_load_explicit(&imp->late[i], memory_order_relaxed);
}

/* ---- ports going away ---- */

void dp_impair_port_down(struct dp *dp, unsigned int slot)
{
	imp_queue_drop_port(dp, slot, true);
}

void dp_impair_port_del(struct dp *dp, unsigned int slot)
{
	struct dp_imp *imp = dp->imp;

	imp_queue_drop_port(dp, slot, false);
	imp_remove(dp, &imp->tx[slot]);
	imp_remove(dp, &imp->rx[slot]);
	for (unsigned int i = 0; i < DP_MAX_PORTS; i++) {
		imp_remove(dp, &imp->pair[slot][i]);
		imp_remove(dp, &imp->pair[i][slot]);
	}
}

void dp_impair_bridge_del(struct dp *dp, unsigned int slot)
{
	imp_remove(dp, &dp->imp->bridge[slot]);
}

void dp_impair_stop(struct dp *dp)
{
	imp_queue_drop_all(dp);
	dp->imp->timer_armed = false;
}
