/* SPDX-License-Identifier: MIT */
/*
 * dp_impair_sched: impairment configurations applied to a target, now
 * (impair/set) or at their time (a schedule's steps, which the loop applies
 * after each batch through imp_sched_run()).
 */
#include "dp_impair_impl.h"

/* Put knobs cfg in force on tg; a non-zero seed reseeds, zero keeps the seed. */
void imp_apply(struct imp_target *tg, const struct impair_cfg *cfg)
{
	uint64_t seed = tg->cfg.seed;

	tg->cfg = *cfg;
	if (cfg->seed)
		impair_state_reseed(&tg->st, cfg->seed);
	else
		tg->cfg.seed = seed;
}

/* Recompute the earliest pending step of every schedule. */
static void imp_sched_recompute(struct dp_imp *imp, uint64_t now)
{
	imp->sched_next = UINT64_MAX;
	for (unsigned int i = 0; i < DP_IMPAIR_MAX && imp->scheduled; i++) {
		struct imp_target *tg = &imp->t[i];
		struct impair_schedule s = {tg->steps, tg->nsteps, tg->period_ns};
		uint64_t next;

		if (!tg->used || !tg->steps)
			continue;
		next = impair_schedule_next(&s, now - tg->sched_start);
		if (next != UINT64_MAX && tg->sched_start + next < imp->sched_next)
			imp->sched_next = tg->sched_start + next;
	}
}

/* Apply the step in force now on every scheduled target whose step changed. */
void imp_sched_run(struct dp *dp, uint64_t now)
{
	struct dp_imp *imp = dp->imp;

	if (!imp->scheduled || now < imp->sched_next)
		return;
	for (unsigned int i = 0; i < DP_IMPAIR_MAX; i++) {
		struct imp_target *tg = &imp->t[i];
		struct impair_schedule s = {tg->steps, tg->nsteps, tg->period_ns};
		long idx;

		if (!tg->used || !tg->steps)
			continue;
		idx = impair_schedule_at(&s, now - tg->sched_start);
		if (idx >= 0 && idx != tg->sched_idx)
			imp_apply(tg, &tg->steps[idx].cfg);
		tg->sched_idx = idx;
	}
	imp_sched_recompute(imp, now);
}
