/* SPDX-License-Identifier: MIT */
/*
 * capstore: records in a power-of-two ring indexed by sequence number; their
 * bytes in an arena used as a ring of absolute positions (a frame never wraps:
 * when it does not fit before the arena's end it starts at the next lap).
 * Frames [first, next) are present; putting a frame first evicts the oldest
 * until the new one fits in both rings.
 *
 * The writer (the switch's loop) takes no lock, so no reader can ever hold it
 * up, as a seqlock: it publishes the new first (release fence) before it
 * overwrites an evicted frame's slot and bytes, and the new next after the
 * frame is in place. A reader copies a frame, then (acquire fence) checks that
 * first has not passed it meanwhile; if it has, the copy may be torn and the
 * frame counts as evicted. The mutex and condition variable only serve
 * sleeping readers; the writer wakes them with a trylock, never waiting.
 */
#include "capstore.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAPSTORE_SLICE_MS 10 /* a waiter re-checks this often (missed wakeups, stop flags) */

struct capstore_slot {
	struct capstore_rec rec;
	uint64_t pos; /* absolute arena position of its bytes */
};

struct capstore {
	struct capstore_slot *slots;
	uint64_t mask; /* slots - 1 */
	uint8_t *arena;
	size_t bytes;
	uint64_t head; /* arena position after the newest frame (writer only) */
	_Atomic uint64_t first, next;
	_Atomic uint64_t evicted;
	/* sleeping readers */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool want_wake; /* a waiter sleeps: the next put signals */
	uint64_t wakeups; /* capstore_wake() calls (under lock) */
};

int capstore_create(size_t bytes, uint32_t frames, struct capstore **out)
{
	struct capstore *s;
	pthread_condattr_t ca;
	uint64_t n = 1;

	if (!bytes || !frames)
		return -EINVAL;
	while (n < frames)
		n <<= 1;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->slots = calloc(n, sizeof(*s->slots));
	s->arena = malloc(bytes);
	if (!s->slots || !s->arena) {
		free(s->slots);
		free(s->arena);
		free(s);
		return -ENOMEM;
	}
	s->mask = n - 1;
	s->bytes = bytes;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = s;
	return 0;
}

void capstore_destroy(struct capstore *s)
{
	if (!s)
		return;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->slots);
	free(s->arena);
	free(s);
}

/*
 * Evict the oldest frames until one ending at arena position end fits, and
 * publish the new first before anything is overwritten (writer only).
 */
static void capstore_make_room(struct capstore *s, uint64_t end)
{
	uint64_t first = atomic_load_explicit(&s->first, memory_order_relaxed);
	uint64_t next = atomic_load_explicit(&s->next, memory_order_relaxed), old = first;

	while (first < next) {
		const struct capstore_slot *slot = &s->slots[first & s->mask];

		if (end - slot->pos <= s->bytes && next - first <= s->mask)
			break;
		first++;
	}
	if (first == old)
		return;
	atomic_store_explicit(&s->first, first, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->evicted, first - old, memory_order_relaxed);
	atomic_thread_fence(memory_order_release); /* first is out before the overwrites */
}

/* Wake sleeping readers if one asked, without ever waiting for the lock. */
static void capstore_signal(struct capstore *s)
{
	if (!atomic_exchange(&s->want_wake, false))
		return;
	if (pthread_mutex_trylock(&s->lock) != 0) {
		atomic_store(&s->want_wake, true); /* the next put tries again */
		return;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

uint64_t capstore_put(struct capstore *s, const struct capstore_rec *rec, const uint8_t *data)
{
	size_t caplen = rec->caplen < s->bytes ? rec->caplen : s->bytes;
	uint64_t start = s->head, seq = atomic_load_explicit(&s->next, memory_order_relaxed);
	size_t off = start % s->bytes;
	struct capstore_slot *slot;

	if (off + caplen > s->bytes)
		start += s->bytes - off; /* the next lap */
	capstore_make_room(s, start + caplen);
	slot = &s->slots[seq & s->mask];
	slot->rec = *rec;
	slot->rec.caplen = (uint32_t)caplen;
	slot->pos = start;
	if (caplen)
		memcpy(s->arena + start % s->bytes, data, caplen);
	s->head = start + caplen;
	atomic_store_explicit(&s->next, seq + 1, memory_order_seq_cst); /* published */
	capstore_signal(s);
	return seq;
}

int capstore_get(struct capstore *s, uint64_t seq, struct capstore_rec *rec, uint8_t *buf,
		 size_t size)
{
	const struct capstore_slot *slot = &s->slots[seq & s->mask];
	size_t off;

	if (seq >= atomic_load_explicit(&s->next, memory_order_acquire))
		return -EAGAIN;
	if (seq < atomic_load_explicit(&s->first, memory_order_acquire))
		return -ENOENT;
	*rec = slot->rec;
	off = (size_t)(slot->pos % s->bytes);
	if (size > rec->caplen)
		size = rec->caplen;
	if (rec->caplen > s->bytes - off)
		return -ENOENT; /* torn by an overwrite: a frame never crosses the arena's end */
	if (size)
		memcpy(buf, s->arena + off, size);
	atomic_thread_fence(memory_order_acquire); /* the copy is done before first is read */
	if (seq < atomic_load_explicit(&s->first, memory_order_relaxed))
		return -ENOENT; /* overwritten while copied */
	return 0;
}

void capstore_bounds(struct capstore *s, uint64_t *first, uint64_t *next)
{
	*next = atomic_load_explicit(&s->next, memory_order_acquire);
	*first = atomic_load_explicit(&s->first, memory_order_acquire);
	if (*first > *next)
		*first = *next;
}

uint64_t capstore_evicted(struct capstore *s)
{
	return atomic_load_explicit(&s->evicted, memory_order_relaxed);
}

/* The CLOCK_MONOTONIC time timeout_ms from now. */
static struct timespec capstore_deadline(int timeout_ms)
{
	return clock_timespec(clock_mono_ns() + (uint64_t)timeout_ms * 1000000u);
}

/* Is t earlier than u? */
static bool capstore_before(const struct timespec *t, const struct timespec *u)
{
	return t->tv_sec < u->tv_sec || (t->tv_sec == u->tv_sec && t->tv_nsec < u->tv_nsec);
}

int capstore_wait_stop(struct capstore *s, uint64_t seq, int timeout_ms, const atomic_bool *stop)
{
	struct timespec deadline = capstore_deadline(timeout_ms), slice;
	bool stopped = false;
	uint64_t wakeups;

	pthread_mutex_lock(&s->lock);
	wakeups = s->wakeups;
	while (timeout_ms > 0 && wakeups == s->wakeups) {
		atomic_store(&s->want_wake, true); /* before the check: a put in between signals */
		if (seq < atomic_load(&s->next))
			break;
		stopped = stop && atomic_load(stop);
		if (stopped)
			break;
		slice = capstore_deadline(CAPSTORE_SLICE_MS);
		if (capstore_before(&deadline, &slice))
			slice = deadline;
		if (pthread_cond_timedwait(&s->cond, &s->lock, &slice) == ETIMEDOUT &&
		    !capstore_before(&slice, &deadline))
			break;
	}
	pthread_mutex_unlock(&s->lock);
	if (seq < atomic_load(&s->next))
		return 0;
	return stopped ? -ECANCELED : -ETIMEDOUT;
}

int capstore_wait(struct capstore *s, uint64_t seq, int timeout_ms)
{
	return capstore_wait_stop(s, seq, timeout_ms, NULL);
}

void capstore_sleep(struct capstore *s, int timeout_ms)
{
	struct timespec deadline = capstore_deadline(timeout_ms);
	uint64_t wakeups;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	wakeups = s->wakeups;
	while (rc == 0 && wakeups == s->wakeups)
		rc = pthread_cond_timedwait(&s->cond, &s->lock, &deadline);
	pthread_mutex_unlock(&s->lock);
}

void capstore_wake(struct capstore *s)
{
	pthread_mutex_lock(&s->lock);
	s->wakeups++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}
