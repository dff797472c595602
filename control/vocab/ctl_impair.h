/* SPDX-License-Identifier: MIT */
/*
 * ctl_impair: the impairment commands.
 *
 *   impair/set       target + {mode?, knobs...}        -> {target..., knobs}
 *   impair/get       target                            -> {target..., knobs, stats}
 *   impair/clear     target
 *   impair/clear_all {bridge?}
 *   impair/list      {bridge?}                         -> [{target..., knobs, stats, scheduled}]
 *   impair/schedule  target + {steps: [{at_ms, knobs...}], repeat?, period_ms?, mode?}
 *
 * A target is one of {"bridge": B}, {"port": P, "dir": "tx"|"rx"} (tx: what
 * the guest sends) or {"from": A, "to": B} (one way). Knobs: delay_ms,
 * jitter_ms, delay_corr, distribution, keep_order, loss, loss_corr, gemodel
 * {p, r, h, k}, state4 {p13, p31, p32, p23, p14}, duplicate, duplicate_corr,
 * corrupt, corrupt_corr, reorder, reorder_corr, reorder_gap, rate_bps,
 * rate_overhead, rate_cell, limit_packets, limit_bytes, seed. Percentages
 * are 0 to 100, fractions allowed.
 *
 * mode "update" (the default) changes only the knobs given; "replace" resets
 * every other knob to none. loss, gemodel and state4 are one knob, the loss
 * model: setting one clears the others. The seed stays unless given; giving
 * it restarts the target's random sequence. A schedule's steps are applied
 * in turn, each updating (or replacing) the knobs of the step before, the
 * first those in force when the schedule is set; with repeat, period_ms
 * (beyond the last at_ms) is the length of one round.
 */
#ifndef TAPYARD_CTL_IMPAIR_H
#define TAPYARD_CTL_IMPAIR_H

#include <jansson.h>

#include "ctl_impl.h"

#define CTL_IMPAIR_NCMDS 7

/* The command table (listed in ctl_tables[] in ctl.c). */
extern const struct ctl_cmd ctl_impair_cmds[CTL_IMPAIR_NCMDS];

/*
 * ctl_impair_config() - the daemon configuration's "impairments" section: an
 * array of impair/set requests (target, mode and knobs), or of impair/schedule
 * requests when an element has "steps".
 * Return: 0, or -EINVAL with e naming the path ("impairments[1].loss: ...").
 */
int ctl_impair_config(struct ctl *ctl, json_t *value, const char *path, struct ctl_err *e);

#endif
