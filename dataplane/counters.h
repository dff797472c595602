/* SPDX-License-Identifier: MIT */
/*
 * counters: per-port counters, named like the kernel's link statistics and
 * seen from the guest's side (what the guest received is rx), plus one
 * counter per drop reason.
 *
 * The loop thread is the only writer; other threads read any time without
 * locks. Each counter is a relaxed 64-bit atomic, so a reader never sees a
 * torn value (a snapshot of several counters may mix adjacent batches).
 */
#ifndef TAPYARD_COUNTERS_H
#define TAPYARD_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

/* X-macro: name, meaning. The order is the order of struct dp_counters. */
#define DP_COUNTERS(X)                                                                             \
	X(rx_packets, "frames the guest received (written to its port)")                          \
	X(rx_bytes, "bytes the guest received")                                                    \
	X(tx_packets, "frames the guest sent (read from its port)")                                \
	X(tx_bytes, "bytes the guest sent")                                                        \
	X(rx_errors, "frames that could not be written to the guest")                              \
	X(tx_errors, "malformed frames the guest sent")                                            \
	X(rx_dropped, "frames for the guest that the switch dropped")                              \
	X(tx_dropped, "frames from the guest that the switch dropped")                             \
	X(multicast, "broadcast and multicast frames the guest sent")                              \
	X(drop_link_down, "dropped: a port's link was down")                                       \
	X(drop_partition, "dropped: a partition cut the path")                                     \
	X(drop_impair_loss, "dropped: impairment loss")                                            \
	X(drop_queue_full, "dropped: a queue was full")                                            \
	X(drop_no_buffer, "dropped: no buffer or write slot was free")                             \
	X(drop_runt, "dropped: shorter than an Ethernet header")                                   \
	X(drop_oversize, "dropped: longer than the largest frame")                                 \
	X(drop_malformed, "dropped: bad virtio-net header")                                        \
	X(drop_tx_error, "dropped: writing to the port failed")                                    \
	X(drop_no_offload, "dropped: GSO frame for a port without offloads")                       \
	X(drop_port_gone, "dropped: the port's netdev disappeared")

#define DP_COUNTER_FIELD(name, doc) uint64_t name;
/* A plain copy of a port's counters. */
struct dp_counters {
	DP_COUNTERS(DP_COUNTER_FIELD)
};
#undef DP_COUNTER_FIELD

#define DP_COUNTER_ATOMIC(name, doc) _Atomic uint64_t name;
/* The live counters, written by the loop only. */
struct dp_counters_live {
	DP_COUNTERS(DP_COUNTER_ATOMIC)
};
#undef DP_COUNTER_ATOMIC

/* Number of counters, and their names and meanings in struct order. */
extern const unsigned int dp_counter_count;
extern const char *const dp_counter_names[];
extern const char *const dp_counter_docs[];

/* Add v to a live counter (single writer: no locked instruction). */
static inline void ctr_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* Copy live counters into out. */
void counters_read(const struct dp_counters_live *live, struct dp_counters *out);

/* Zero live counters (loop thread only). */
void counters_reset(struct dp_counters_live *live);

/* The i-th counter of c, in dp_counter_names order. */
uint64_t counters_get(const struct dp_counters *c, unsigned int i);

#endif
