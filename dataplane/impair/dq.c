/* SPDX-License-Identifier: MIT */
/* dq: the delay queue, a binary min-heap on (send time, sequence number). */
#include "dq.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

struct dq {
	size_t n, cap;
	uint64_t next_seq;
	struct dq_item items[];
};

int dq_create(size_t capacity, struct dq **out)
{
	struct dq *q;

	if (capacity == 0)
		return -EINVAL;
	q = calloc(1, sizeof(*q) + capacity * sizeof(q->items[0]));
	if (!q)
		return -ENOMEM;
	q->cap = capacity;
	*out = q;
	return 0;
}

void dq_destroy(struct dq *q)
{
	free(q);
}

static bool dq_before(const struct dq_item *a, const struct dq_item *b)
{
	return a->send_ns < b->send_ns || (a->send_ns == b->send_ns && a->seq < b->seq);
}

static void dq_swap(struct dq *q, size_t i, size_t j)
{
	struct dq_item t = q->items[i];

	q->items[i] = q->items[j];
	q->items[j] = t;
}

static void dq_sift_up(struct dq *q, size_t i)
{
	while (i > 0 && dq_before(&q->items[i], &q->items[(i - 1) / 2])) {
		dq_swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void dq_sift_down(struct dq *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < q->n && dq_before(&q->items[l], &q->items[m]))
			m = l;
		if (r < q->n && dq_before(&q->items[r], &q->items[m]))
			m = r;
		if (m == i)
			return;
		dq_swap(q, i, m);
		i = m;
	}
}

int dq_push(struct dq *q, const struct dq_item *item)
{
	if (q->n == q->cap)
		return -ENOSPC;
	q->items[q->n] = *item;
	q->items[q->n].seq = q->next_seq++;
	dq_sift_up(q, q->n++);
	return 0;
}

const struct dq_item *dq_peek(const struct dq *q)
{
	return q->n ? &q->items[0] : NULL;
}

int dq_pop(struct dq *q, struct dq_item *out)
{
	if (!q->n)
		return -ENOENT;
	*out = q->items[0];
	q->items[0] = q->items[--q->n];
	dq_sift_down(q, 0);
	return 0;
}

size_t dq_remove_port(struct dq *q, uint32_t port, void (*fn)(void *ctx, const struct dq_item *),
		      void *ctx)
{
	size_t kept = 0, removed;

	for (size_t i = 0; i < q->n; i++) {
		if (q->items[i].port != port) {
			q->items[kept++] = q->items[i];
			continue;
		}
		if (fn)
			fn(ctx, &q->items[i]);
	}
	removed = q->n - kept;
	q->n = kept;
	for (size_t i = q->n / 2; i-- > 0;)
		dq_sift_down(q, i);
	return removed;
}

size_t dq_count(const struct dq *q)
{
	return q->n;
}

size_t dq_capacity(const struct dq *q)
{
	return q->cap;
}
