/* SPDX-License-Identifier: MIT */
/*
 * capstore: one capture's bounded frame store. The loop thread puts frames
 * (metadata plus the captured bytes); readers take them by sequence number.
 * Memory is allocated once: a ring of records and a byte arena. When either is
 * full the oldest frames go (counted as evicted), so the writer never waits
 * for a reader, and a reader that fell behind learns how many it missed.
 *
 * Threads: one writer (the loop) and any number of readers. The writer takes
 * no lock (readers check their copy against concurrent eviction, as with a
 * seqlock), so a reader, however slow or preempted, never holds it up.
 */
#ifndef TAPYARD_CAPSTORE_H
#define TAPYARD_CAPSTORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A frame's metadata. */
struct capstore_rec {
	uint64_t ts_ns; /* CLOCK_REALTIME nanoseconds */
	uint32_t len; /* original length */
	uint32_t caplen; /* bytes stored */
	uint32_t peer; /* dp port id of a drop's other port, or UINT32_MAX */
	uint16_t nic; /* the NIC's index in its capture */
	uint8_t dir; /* enum dp_hook_dir */
	const char *reason; /* a drop's reason: a string that outlives the store, or NULL */
};

struct capstore;

/*
 * capstore_create() - a store of at most frames frames and bytes bytes of data.
 * @frames: rounded up to a power of two
 * Return: 0 with *out set, -EINVAL (zero sizes) or -ENOMEM.
 */
int capstore_create(size_t bytes, uint32_t frames, struct capstore **out);

/* Free the store; nobody may use it any more. NULL is a no-op. */
void capstore_destroy(struct capstore *s);

/*
 * capstore_put() - append a frame, evicting the oldest ones if needed; never
 * waits for a reader (writer thread only).
 * @data: rec->caplen bytes (capped at the arena's size)
 * Return: the frame's sequence number (0 for the first frame).
 */
uint64_t capstore_put(struct capstore *s, const struct capstore_rec *rec, const uint8_t *data);

/*
 * capstore_get() - copy frame seq out.
 * @buf: receives min(rec->caplen, size) bytes (rec->caplen is what was stored)
 * Return: 0, -EAGAIN (not captured yet) or -ENOENT (evicted).
 */
int capstore_get(struct capstore *s, uint64_t seq, struct capstore_rec *rec, uint8_t *buf,
		 size_t size);

/* Sequence numbers of the oldest frame kept and of the next frame to come. */
void capstore_bounds(struct capstore *s, uint64_t *first, uint64_t *next);

/* Frames evicted so far. */
uint64_t capstore_evicted(struct capstore *s);

/*
 * capstore_wait() - wait until frame seq exists, capstore_wake() is called or
 * timeout_ms passes (0: do not wait).
 * Return: 0 when frame seq exists or existed, -ETIMEDOUT otherwise.
 */
int capstore_wait(struct capstore *s, uint64_t seq, int timeout_ms);

/*
 * capstore_wait_stop() - capstore_wait() that also ends once *stop is set
 * (seen within a few milliseconds; nobody needs to wake the store).
 * @stop: may be NULL (never set)
 * Return: 0 when frame seq exists or existed, -ECANCELED when *stop ended
 * the wait, -ETIMEDOUT otherwise.
 */
int capstore_wait_stop(struct capstore *s, uint64_t seq, int timeout_ms, const atomic_bool *stop);

/*
 * capstore_sleep() - wait timeout_ms or until capstore_wake(), whichever
 * comes first; puts do not wake it (a reader that polls at its own pace
 * costs the writer nothing).
 */
void capstore_sleep(struct capstore *s, int timeout_ms);

/* Wake every waiter (a capture stopping). */
void capstore_wake(struct capstore *s);

#endif
