/* SPDX-License-Identifier: MIT */
/*
 * fdb: a bridge's MAC learning table.
 *
 * Maps a source MAC address to the port it was last seen on. Bounded: a full
 * table stops learning (frames to unknown addresses are flooded) rather than
 * evicting. Entries not refreshed for the ageing time expire. Used only by
 * the loop thread; no locking.
 */
#ifndef TAPYARD_FDB_H
#define TAPYARD_FDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fdb;

/* One table entry as reported by fdb_dump(). */
struct fdb_info {
	uint8_t mac[6];
	uint16_t port;
	uint64_t idle_ns; /* time since the address was last seen */
};

enum fdb_learn_result {
	FDB_REFRESHED, /* known on this port: timestamp refreshed */
	FDB_LEARNED,   /* new entry */
	FDB_MOVED,     /* known on another port: moved */
	FDB_FULL,      /* table full: not learned */
	FDB_IGNORED,   /* multicast or zero source: never learned */
};

/*
 * fdb_create() - allocate a table.
 * @capacity: most entries held (at least 1)
 * @age_ns: ageing time; entries idle longer expire
 * Return: 0 or -EINVAL/-ENOMEM.
 */
int fdb_create(uint32_t capacity, uint64_t age_ns, struct fdb **out);

/* Free the table. NULL is a no-op. */
void fdb_destroy(struct fdb *fdb);

/* Learn that mac was seen on port at time now (ns). */
enum fdb_learn_result fdb_learn(struct fdb *fdb, const uint8_t *mac, uint16_t port, uint64_t now);

/* The port mac lives on, or -ENOENT when unknown or expired (an expired entry is removed). */
int fdb_lookup(struct fdb *fdb, const uint8_t *mac, uint64_t now);

/* Remove every entry idle longer than the ageing time. Returns how many were removed. */
unsigned int fdb_age(struct fdb *fdb, uint64_t now);

/* Remove the entries on port, or all entries when port < 0. Returns how many were removed. */
unsigned int fdb_flush(struct fdb *fdb, int port);

/* Number of entries held. */
size_t fdb_count(const struct fdb *fdb);

/* Change the ageing time. */
void fdb_set_age(struct fdb *fdb, uint64_t age_ns);

/* Called for each live entry by fdb_foreach(); return false to stop. */
typedef bool (*fdb_visit_fn)(void *ctx, const struct fdb_info *info);

/* Visit every entry that has not expired at now; returns how many were visited. */
size_t fdb_foreach(const struct fdb *fdb, uint64_t now, fdb_visit_fn fn, void *ctx);

/* Copy up to max entries into out; returns how many were copied. */
size_t fdb_dump(const struct fdb *fdb, struct fdb_info *out, size_t max, uint64_t now);

#endif
