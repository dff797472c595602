/* SPDX-License-Identifier: MIT */
/*
 * wake: learns the loop's wake-up lateness and the spin that covers its tail
 * (see wake.h). Owns only the struct wake it is given.
 */
#include "wake.h"

#include <string.h>

void wake_init(struct wake *w)
{
	memset(w, 0, sizeof(*w));
	w->spin_ns = WAKE_SPIN_START_NS;
}

/* The upper edge (ns) of the bucket where a share num/den of the samples is reached. */
static uint64_t wake_quantile(const struct wake *w, uint32_t num, uint32_t den)
{
	uint64_t need = ((uint64_t)w->total * num + den - 1) / den, seen = 0;

	for (uint32_t i = 0; i < WAKE_BUCKETS; i++) {
		seen += w->hist[i];
		if (seen >= need && seen)
			return (uint64_t)(i + 1) * WAKE_BUCKET_NS;
	}
	return (uint64_t)WAKE_BUCKETS * WAKE_BUCKET_NS;
}

/* Update the estimates from the history, then halve it. */
static void wake_estimate(struct wake *w)
{
	uint64_t spin = wake_quantile(w, 99, 100) + WAKE_MARGIN_NS;

	if (spin < WAKE_SPIN_MIN_NS)
		spin = WAKE_SPIN_MIN_NS;
	if (spin > WAKE_SPIN_MAX_NS)
		spin = WAKE_SPIN_MAX_NS;
	w->spin_ns = spin;
	w->typical_ns = wake_quantile(w, 1, 2) - WAKE_BUCKET_NS / 2; /* the bucket's middle */
	w->total = 0;
	for (uint32_t i = 0; i < WAKE_BUCKETS; i++) {
		w->hist[i] /= 2;
		w->total += w->hist[i];
	}
	w->fresh = 0;
}

bool wake_observe(struct wake *w, uint64_t late_ns)
{
	uint64_t b = late_ns / WAKE_BUCKET_NS;

	w->hist[b < WAKE_BUCKETS ? b : WAKE_BUCKETS - 1]++;
	w->total++;
	if (++w->fresh < WAKE_WINDOW)
		return false;
	wake_estimate(w);
	return true;
}

uint64_t wake_spin(const struct wake *w)
{
	return w->spin_ns;
}

uint64_t wake_typical(const struct wake *w)
{
	return w->typical_ns;
}
