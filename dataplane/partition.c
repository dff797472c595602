/* SPDX-License-Identifier: MIT */
/* partition: bit matrix of cut paths between ports. */
#include "partition.h"

#include <errno.h>
#include <string.h>

int partition_set(struct partition *p, unsigned int from, unsigned int to, bool cut)
{
	uint64_t bit;

	if (from >= PARTITION_MAX_PORTS || to >= PARTITION_MAX_PORTS)
		return -EINVAL;
	bit = 1ull << (to % 64);
	if (cut)
		p->cut[from][to / 64] |= bit;
	else
		p->cut[from][to / 64] &= ~bit;
	return 0;
}

void partition_clear_port(struct partition *p, unsigned int port)
{
	if (port >= PARTITION_MAX_PORTS)
		return;
	memset(p->cut[port], 0, sizeof(p->cut[port]));
	for (unsigned int i = 0; i < PARTITION_MAX_PORTS; i++)
		partition_set(p, i, port, false);
}

void partition_clear(struct partition *p)
{
	memset(p, 0, sizeof(*p));
}

unsigned int partition_count_from(const struct partition *p, unsigned int port)
{
	unsigned int n = 0;

	if (port >= PARTITION_MAX_PORTS)
		return 0;
	for (unsigned int w = 0; w < PARTITION_MAX_PORTS / 64; w++)
		n += (unsigned int)__builtin_popcountll(p->cut[port][w]);
	return n;
}
