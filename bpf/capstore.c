/* SPDX-License-Identifier: MIT */
/*
 * capstore: records in a power-of-two ring indexed by sequence number; their
 * bytes in an arena used as a ring of absolute positions (a frame never wraps:
 * when it does not fit before the arena's end it starts at the next lap).
 * Frames [first, next) are present; putting a frame first evicts the oldest
 * until the new one fits in both rings.
 *
 * The writer (the switch's loop) takes no lock, so no reader can ever hold it
 * up, as a seqlock written with C11 atomics only (no fences, no plain data
 * shared), so that ThreadSanitizer follows it: the writer publishes the new
 * first before it overwrites an evicted frame's slot and bytes, which it
 * stores as 64-bit words with release order each, and the new next after the
 * frame is in place. A reader copies a frame with acquire loads of the same
 * words, then checks that first has not passed it meanwhile: a word of a
 * newer frame carries the newer first with it. If first passed, the copy may
 * be torn and the
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

#define CAPSTORE_REC_WORDS ((sizeof(struct capstore_rec) + 7) / 8)

/* A record and the absolute arena position of its bytes, as words. */
struct capstore_slot {
	_Atomic uint64_t rec[CAPSTORE_REC_WORDS];
	_Atomic uint64_t pos;
};

struct capstore {
	struct capstore_slot *slots;
	uint64_t mask; /* slots - 1 */
	_Atomic uint64_t *arena; /* frames start on a word */
	size_t bytes; /* a multiple of 8 */
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
	bytes = (bytes + 7) & ~(size_t)7;
	s->slots = calloc(n, sizeof(*s->slots));
	s->arena = calloc(bytes / 8, 8);
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

/* Store len bytes of src into the words at dst, each with release order. */
static void capstore_words_put(_Atomic uint64_t *dst, const void *src, size_t len)
{
	const uint8_t *p = src;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = 0;

		memcpy(&v, p + i, len - i < 8 ? len - i : 8);
		atomic_store_explicit(&dst[i / 8], v, memory_order_release);
	}
}

/* Load len bytes from the words at src into dst, each with acquire order. */
static void capstore_words_get(void *dst, _Atomic uint64_t *src, size_t len)
{
	uint8_t *p = dst;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = atomic_load_explicit(&src[i / 8], memory_order_acquire);

		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
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
		uint64_t pos = atomic_load_explicit(&s->slots[first & s->mask].pos,
						    memory_order_relaxed);

		if (end - pos <= s->bytes && next - first <= s->mask)
			break;
		first++;
	}
	if (first == old)
		return;
	/* Out before the overwrites: each of their release stores carries it. */
	atomic_store_explicit(&s->first, first, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->evicted, first - old, memory_order_relaxed);
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
	struct capstore_rec r = *rec;

	if (off + caplen > s->bytes)
		start += s->bytes - off; /* the next lap */
	capstore_make_room(s, start + caplen);
	slot = &s->slots[seq & s->mask];
	r.caplen = (uint32_t)caplen;
	capstore_words_put(slot->rec, &r, sizeof(r));
	atomic_store_explicit(&slot->pos, start, memory_order_release);
	capstore_words_put(s->arena + start % s->bytes / 8, data, caplen);
	s->head = (start + caplen + 7) & ~(uint64_t)7; /* the next frame starts on a word */
	atomic_store_explicit(&s->next, seq + 1, memory_order_seq_cst); /* published */
	capstore_signal(s);
	return seq;
}

int capstore_get(struct capstore *s, uint64_t seq, struct capstore_rec *rec, uint8_t *buf,
		 size_t size)
{
	struct capstore_slot *slot = &s->slots[seq & s->mask];
	size_t off;

	if (seq >= atomic_load_explicit(&s->next, memory_order_acquire))
		return -EAGAIN;
	if (seq < atomic_load_explicit(&s->first, memory_order_acquire))
		return -ENOENT;
	capstore_words_get(rec, slot->rec, sizeof(*rec));
	off = (size_t)(atomic_load_explicit(&slot->pos, memory_order_acquire) % s->bytes);
	if (size > rec->caplen)
		size = rec->caplen;
	if (rec->caplen > s->bytes - off || off % 8)
		return -ENOENT; /* torn by an overwrite: a frame never crosses the arena's end */
	capstore_words_get(buf, s->arena + off / 8, size);
	/* A word of a newer frame copied above carries its first: no fence needed. */
	if (seq < atomic_load_explicit(&s->first, memory_order_acquire))
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
