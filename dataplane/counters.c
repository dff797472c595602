/* SPDX-License-Identifier: MIT */
/* counters: names of the per-port counters and lock-free snapshots of them. */
#include "counters.h"

#define DP_COUNTER_NAME(name, doc) #name,
#define DP_COUNTER_DOC(name, doc) doc,
const char *const dp_counter_names[] = {DP_COUNTERS(DP_COUNTER_NAME)};
const char *const dp_counter_docs[] = {DP_COUNTERS(DP_COUNTER_DOC)};
const unsigned int dp_counter_count = sizeof(dp_counter_names) / sizeof(dp_counter_names[0]);

_Static_assert(sizeof(struct dp_counters) == sizeof(struct dp_counters_live),
	       "live and plain counters must have the same layout");

void counters_read(const struct dp_counters_live *live, struct dp_counters *out)
{
	const _Atomic uint64_t *src = (const _Atomic uint64_t *)live;
	uint64_t *dst = (uint64_t *)out;

	for (unsigned int i = 0; i < dp_counter_count; i++)
		dst[i] = atomic_load_explicit(&src[i], memory_order_relaxed);
}

void counters_reset(struct dp_counters_live *live)
{
	_Atomic uint64_t *c = (_Atomic uint64_t *)live;

	for (unsigned int i = 0; i < dp_counter_count; i++)
		atomic_store_explicit(&c[i], 0, memory_order_relaxed);
}

uint64_t counters_get(const struct dp_counters *c, unsigned int i)
{
	return i < dp_counter_count ? ((const uint64_t *)c)[i] : 0;
}
