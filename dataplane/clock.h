/* SPDX-License-Identifier: MIT */
/*
 * clock: the one clock helper of tapyard. Every layer reads time through
 * these: CLOCK_MONOTONIC for deadlines and intervals, CLOCK_REALTIME only
 * for timestamps a person or a pcapng reader sees.
 */
#ifndef TAPYARD_CLOCK_H
#define TAPYARD_CLOCK_H

#include <stdint.h>
#include <time.h>

/* clock_ns() - the time of clock id in nanoseconds. */
static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* clock_mono_ns() - CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t clock_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* clock_mono_ms() - CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t clock_mono_ms(void)
{
	return clock_mono_ns() / 1000000u;
}

/* clock_mono_s() - CLOCK_MONOTONIC in seconds, as a double (for durations people read). */
static inline double clock_mono_s(void)
{
	return (double)clock_mono_ns() / 1e9;
}

/* clock_real_ns() - CLOCK_REALTIME in nanoseconds (timestamps, never deadlines). */
static inline uint64_t clock_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* clock_timespec() - ns as a struct timespec (for pthread_cond_timedwait and the like). */
static inline struct timespec clock_timespec(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u),
				 .tv_nsec = (long)(ns % 1000000000u)};
}

#endif
