/* SPDX-License-Identifier: MIT */
/*
 * dq: the delay queue, frames waiting for their send time.
 *
 * A binary min-heap over a fixed array allocated by dq_create(), ordered by
 * send time, ties broken by push order (a sequence number), so frames given
 * the same send time leave first in, first out. Pushing and popping never
 * allocate. The queue knows nothing of buffers: each item carries 32 bytes
 * of the caller's (buffer id, impairment targets...) and the caller frees
 * what items refer to when it pops or removes them.
 */
#ifndef TAPYARD_DQ_H
#define TAPYARD_DQ_H

#include <stddef.h>
#include <stdint.h>

struct dq;

/* One queued frame. */
struct dq_item {
	uint64_t send_ns; /* when it is due */
	uint64_t seq; /* set by dq_push() */
	uint32_t port; /* destination, for dq_remove_port() */
	uint32_t len; /* bytes of the frame */
	uint64_t cookie[4]; /* the caller's */
};

/* A queue of at most capacity items. Returns 0 with *out set, -EINVAL or -ENOMEM. */
int dq_create(size_t capacity, struct dq **out);

/* Free the queue (items still in it are forgotten). NULL is a no-op. */
void dq_destroy(struct dq *q);

/* Queue a copy of *item (its seq is assigned). Returns 0 or -ENOSPC when full. */
int dq_push(struct dq *q, const struct dq_item *item);

/* The earliest item, or NULL when empty. Valid until the next change. */
const struct dq_item *dq_peek(const struct dq *q);

/* Remove the earliest item into *out. Returns 0 or -ENOENT when empty. */
int dq_pop(struct dq *q, struct dq_item *out);

/*
 * dq_remove_port() - remove every item for port, calling fn(ctx, item) for
 * each so the caller can free what it refers to.
 * Return: how many were removed.
 */
size_t dq_remove_port(struct dq *q, uint32_t port, void (*fn)(void *ctx, const struct dq_item *),
		      void *ctx);

/* Items queued. */
size_t dq_count(const struct dq *q);

/* Most items the queue holds. */
size_t dq_capacity(const struct dq *q);

#endif
