/* SPDX-License-Identifier: MIT */
/*
 * capstore: records in a power-of-two ring indexed by sequence number; their
 * bytes in an arena used as a ring of absolute positions (a frame never wraps:
 * when it does not fit before the arena's end it starts at the next lap).
 * Frames [first, next) are present; putting a frame first evicts the oldest
 * until the new one fits in both rings.
 */
#include "capstore.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct capstore_slot {
	struct capstore_rec rec;
	uint64_t pos; /* absolute arena position of its bytes */
};

struct capstore {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool want_wake; /* a waiter sleeps: the next put signals */
	uint64_t wakeups; /* capstore_wake() calls */
	struct capstore_slot *slots;
	uint64_t mask; /* slots - 1 */
	uint8_t *arena;
	size_t bytes;
	uint64_t head; /* arena position after the newest frame */
	uint64_t first, next;
	uint64_t evicted;
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

/* Evict the oldest frames until a frame spanning [start, end) fits. */
static void capstore_make_room(struct capstore *s, uint64_t end)
{
	while (s->first < s->next) {
		const struct capstore_slot *old = &s->slots[s->first & s->mask];

		if (end - old->pos <= s->bytes && s->next - s->first <= s->mask)
			break;
		s->first++;
		s->evicted++;
	}
}

uint64_t capstore_put(struct capstore *s, const struct capstore_rec *rec, const uint8_t *data)
{
	size_t caplen = rec->caplen < s->bytes ? rec->caplen : s->bytes;
	struct capstore_slot *slot;
	uint64_t start, seq;
	size_t off;

	pthread_mutex_lock(&s->lock);
	start = s->head;
	off = start % s->bytes;
	if (off + caplen > s->bytes)
		start += s->bytes - off; /* the next lap */
	capstore_make_room(s, start + caplen);
	seq = s->next++;
	slot = &s->slots[seq & s->mask];
	slot->rec = *rec;
	slot->rec.caplen = (uint32_t)caplen;
	slot->pos = start;
	if (caplen)
		memcpy(s->arena + start % s->bytes, data, caplen);
	s->head = start + caplen;
	if (s->want_wake) {
		s->want_wake = false;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return seq;
}

int capstore_get(struct capstore *s, uint64_t seq, struct capstore_rec *rec, uint8_t *buf,
		 size_t size)
{
	const struct capstore_slot *slot;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if (seq >= s->next) {
		err = -EAGAIN;
	} else if (seq < s->first) {
		err = -ENOENT;
	} else {
		slot = &s->slots[seq & s->mask];
		*rec = slot->rec;
		if (size > rec->caplen)
			size = rec->caplen;
		if (size)
			memcpy(buf, s->arena + slot->pos % s->bytes, size);
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

void capstore_bounds(struct capstore *s, uint64_t *first, uint64_t *next)
{
	pthread_mutex_lock(&s->lock);
	*first = s->first;
	*next = s->next;
	pthread_mutex_unlock(&s->lock);
}

uint64_t capstore_evicted(struct capstore *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->evicted;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* The CLOCK_MONOTONIC time timeout_ms from now. */
static struct timespec capstore_deadline(int timeout_ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	return deadline;
}

int capstore_wait(struct capstore *s, uint64_t seq, int timeout_ms)
{
	struct timespec deadline = capstore_deadline(timeout_ms);
	uint64_t wakeups;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	wakeups = s->wakeups;
	while (seq >= s->next && timeout_ms > 0 && rc == 0 && wakeups == s->wakeups) {
		s->want_wake = true;
		rc = pthread_cond_timedwait(&s->cond, &s->lock, &deadline);
	}
	rc = seq < s->next ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&s->lock);
	return rc;
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
