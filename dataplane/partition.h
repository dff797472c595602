/* SPDX-License-Identifier: MIT */
/*
 * partition: the directional reachability matrix between ports.
 *
 * Bit (from, to) set means frames from port `from` to port `to` are dropped.
 * Consulted for every output of every frame, so a lookup is one bit test.
 */
#ifndef TAPYARD_PARTITION_H
#define TAPYARD_PARTITION_H

#include <stdbool.h>
#include <stdint.h>

#define PARTITION_MAX_PORTS 256

struct partition {
	uint64_t cut[PARTITION_MAX_PORTS][PARTITION_MAX_PORTS / 64];
};

/* Is the path from -> to cut? Out-of-range ports are never cut. */
static inline bool partition_blocked(const struct partition *p, unsigned int from, unsigned int to)
{
	if (from >= PARTITION_MAX_PORTS || to >= PARTITION_MAX_PORTS)
		return false;
	return (p->cut[from][to / 64] >> (to % 64)) & 1;
}

/* Cut (cut=true) or heal the path from -> to. Returns 0 or -EINVAL for a bad port. */
int partition_set(struct partition *p, unsigned int from, unsigned int to, bool cut);

/* Heal every path to and from port (when the port is removed or reused). */
void partition_clear_port(struct partition *p, unsigned int port);

/* Heal everything. */
void partition_clear(struct partition *p);

/* Number of cut paths leaving port. */
unsigned int partition_count_from(const struct partition *p, unsigned int port);

#endif
