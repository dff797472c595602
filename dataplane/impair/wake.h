/* SPDX-License-Identifier: MIT */
/*
 * wake: how late the loop wakes after its timer, learned, and the spin that
 * covers that tail.
 *
 * The delay queue's timer fires at a moment; the loop runs some time after
 * it (an idle virtual CPU takes tens of microseconds to wake). wake keeps a
 * decaying histogram of those latenesses and, every WAKE_WINDOW samples,
 * re-estimates two figures from it: the spin (the 99th percentile plus a
 * margin, within [WAKE_SPIN_MIN_NS, WAKE_SPIN_MAX_NS]): arming the timer that
 * long before a deadline and polling the rest makes nearly every deadline on
 * time; and the typical lateness (the median), the best guess of how long
 * ago something that woke a sleeping loop happened. Pure: no clock, no I/O;
 * the caller gives each lateness.
 */
#ifndef TAPYARD_WAKE_H
#define TAPYARD_WAKE_H

#include <stdbool.h>
#include <stdint.h>

#define WAKE_BUCKET_NS 2000u /* histogram resolution */
#define WAKE_BUCKETS 512u /* up to 1024 us; the last bucket holds everything later */
#define WAKE_WINDOW 128u /* samples between two estimates */
#define WAKE_MARGIN_NS 4000u /* added to the 99th percentile */
#define WAKE_SPIN_START_NS 100000u /* the spin before the first estimate */
#define WAKE_SPIN_MIN_NS 5000u
#define WAKE_SPIN_MAX_NS 1000000u

struct wake {
	uint32_t hist[WAKE_BUCKETS];
	uint32_t total; /* samples in hist (decayed) */
	uint32_t fresh; /* samples since the last estimate */
	uint64_t spin_ns;
	uint64_t typical_ns;
};

/* wake_init() - an empty history: spin WAKE_SPIN_START_NS, typical lateness 0. */
void wake_init(struct wake *w);

/*
 * wake_observe() - count one wake-up that came late_ns after the moment the
 * timer was set for. Every WAKE_WINDOW samples the estimates are updated and
 * the history halved (old wake-ups weigh half as much at each estimate).
 * Returns true when the estimates were updated.
 */
bool wake_observe(struct wake *w, uint64_t late_ns);

/* wake_spin() - how long before a deadline to stop sleeping and poll (ns). */
uint64_t wake_spin(const struct wake *w);

/* wake_typical() - the median lateness of a wake-up (ns), 0 before the first estimate. */
uint64_t wake_typical(const struct wake *w);

#endif
