/* SPDX-License-Identifier: MIT */
/*
 * fdb: chained hash of MAC addresses over a fixed pool of entries.
 *
 * Buckets hold the index of their first entry; entries chain through next.
 * Free entries form a list through next as well. Nothing is allocated after
 * fdb_create().
 */
#include "fdb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FDB_NIL UINT32_MAX

struct fdb_entry {
	uint8_t mac[6];
	uint16_t port;
	uint32_t next;
	uint64_t seen;
};

struct fdb {
	uint32_t capacity;
	uint32_t mask; /* buckets - 1 */
	uint32_t count;
	uint32_t free;
	uint64_t age_ns;
	uint32_t *buckets;
	struct fdb_entry *entries;
};

static uint32_t fdb_hash(const struct fdb *fdb, const uint8_t *mac)
{
	uint64_t k = 0;

	memcpy(&k, mac, 6);
	k *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(k >> 32) & fdb->mask;
}

int fdb_create(uint32_t capacity, uint64_t age_ns, struct fdb **out)
{
	struct fdb *fdb;
	uint32_t nb = 1;

	if (capacity == 0 || capacity > (1u << 24))
		return -EINVAL;
	while (nb < capacity)
		nb <<= 1;
	fdb = calloc(1, sizeof(*fdb));
	if (!fdb)
		return -ENOMEM;
	fdb->buckets = malloc(nb * sizeof(*fdb->buckets));
	fdb->entries = calloc(capacity, sizeof(*fdb->entries));
	if (!fdb->buckets || !fdb->entries) {
		fdb_destroy(fdb);
		return -ENOMEM;
	}
	fdb->capacity = capacity;
	fdb->mask = nb - 1;
	fdb->age_ns = age_ns;
	fdb_flush(fdb, -1);
	*out = fdb;
	return 0;
}

void fdb_destroy(struct fdb *fdb)
{
	if (!fdb)
		return;
	free(fdb->buckets);
	free(fdb->entries);
	free(fdb);
}

/* Find mac; *prevp receives the link that points at the entry. */
static uint32_t fdb_find(struct fdb *fdb, const uint8_t *mac, uint32_t **prevp)
{
	uint32_t *link = &fdb->buckets[fdb_hash(fdb, mac)];

	while (*link != FDB_NIL) {
		struct fdb_entry *e = &fdb->entries[*link];

		if (memcmp(e->mac, mac, 6) == 0) {
			*prevp = link;
			return *link;
		}
		link = &e->next;
	}
	*prevp = link;
	return FDB_NIL;
}

static void fdb_unlink(struct fdb *fdb, uint32_t *link)
{
	uint32_t i = *link;

	*link = fdb->entries[i].next;
	fdb->entries[i].next = fdb->free;
	fdb->free = i;
	fdb->count--;
}

static int fdb_expired(const struct fdb *fdb, const struct fdb_entry *e, uint64_t now)
{
	return now > e->seen && now - e->seen > fdb->age_ns;
}

enum fdb_learn_result fdb_learn(struct fdb *fdb, const uint8_t *mac, uint16_t port, uint64_t now)
{
	enum fdb_learn_result r;
	uint32_t *link, i;
	struct fdb_entry *e;

	if (mac[0] & 1 || (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0)
		return FDB_IGNORED;
	i = fdb_find(fdb, mac, &link);
	if (i != FDB_NIL) {
		e = &fdb->entries[i];
		/* An expired entry is unknown (as for fdb_lookup): learned anew, not moved. */
		if (fdb_expired(fdb, e, now))
			r = FDB_LEARNED;
		else
			r = e->port == port ? FDB_REFRESHED : FDB_MOVED;
		e->seen = now;
		e->port = port;
		return r;
	}
	if (fdb->free == FDB_NIL) {
		fdb_age(fdb, now);
		if (fdb->free == FDB_NIL)
			return FDB_FULL;
		fdb_find(fdb, mac, &link); /* ageing may have changed the chain */
	}
	i = fdb->free;
	e = &fdb->entries[i];
	fdb->free = e->next;
	memcpy(e->mac, mac, 6);
	e->port = port;
	e->seen = now;
	e->next = FDB_NIL;
	*link = i;
	fdb->count++;
	return FDB_LEARNED;
}

int fdb_lookup(struct fdb *fdb, const uint8_t *mac, uint64_t now)
{
	uint32_t *link;
	uint32_t i = fdb_find(fdb, mac, &link);

	if (i == FDB_NIL)
		return -ENOENT;
	if (fdb_expired(fdb, &fdb->entries[i], now)) {
		fdb_unlink(fdb, link);
		return -ENOENT;
	}
	return fdb->entries[i].port;
}

/* Remove entries for which drop(entry) is true. */
static unsigned int fdb_sweep(struct fdb *fdb, int port, uint64_t now, int by_age)
{
	unsigned int removed = 0;

	for (uint32_t b = 0; b <= fdb->mask; b++) {
		uint32_t *link = &fdb->buckets[b];

		while (*link != FDB_NIL) {
			struct fdb_entry *e = &fdb->entries[*link];
			int drop = by_age ? fdb_expired(fdb, e, now) : (port < 0 || e->port == port);

			if (drop) {
				fdb_unlink(fdb, link);
				removed++;
			} else {
				link = &e->next;
			}
		}
	}
	return removed;
}

unsigned int fdb_age(struct fdb *fdb, uint64_t now)
{
	return fdb_sweep(fdb, 0, now, 1);
}

unsigned int fdb_flush(struct fdb *fdb, int port)
{
	if (port >= 0)
		return fdb_sweep(fdb, port, 0, 0);
	unsigned int n = fdb->count;

	for (uint32_t b = 0; b <= fdb->mask; b++)
		fdb->buckets[b] = FDB_NIL;
	for (uint32_t i = 0; i < fdb->capacity; i++)
		fdb->entries[i].next = i + 1 < fdb->capacity ? i + 1 : FDB_NIL;
	fdb->free = 0;
	fdb->count = 0;
	return n;
}

size_t fdb_count(const struct fdb *fdb)
{
	return fdb->count;
}

void fdb_set_age(struct fdb *fdb, uint64_t age_ns)
{
	fdb->age_ns = age_ns;
}

size_t fdb_foreach(const struct fdb *fdb, uint64_t now, fdb_visit_fn fn, void *ctx)
{
	size_t n = 0;

	for (uint32_t b = 0; b <= fdb->mask; b++) {
		for (uint32_t i = fdb->buckets[b]; i != FDB_NIL; i = fdb->entries[i].next) {
			const struct fdb_entry *e = &fdb->entries[i];
			struct fdb_info info = {.port = e->port,
						.idle_ns = now > e->seen ? now - e->seen : 0};

			if (fdb_expired(fdb, e, now))
				continue;
			memcpy(info.mac, e->mac, 6);
			n++;
			if (!fn(ctx, &info))
				return n;
		}
	}
	return n;
}

struct fdb_dump_ctx {
	struct fdb_info *out;
	size_t n, max;
};

static bool fdb_dump_one(void *ctx, const struct fdb_info *info)
{
	struct fdb_dump_ctx *d = ctx;

	if (d->n < d->max)
		d->out[d->n++] = *info;
	return d->n < d->max;
}

size_t fdb_dump(const struct fdb *fdb, struct fdb_info *out, size_t max, uint64_t now)
{
	struct fdb_dump_ctx d = {.out = out, .max = max};

	if (max)
		fdb_foreach(fdb, now, fdb_dump_one, &d);
	return d.n;
}
