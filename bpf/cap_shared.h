/* SPDX-License-Identifier: MIT */
/*
 * cap_shared: what the capture program (cap.bpf.c) and its loader (cap.c)
 * share: the ring buffer's event layout and the NIC table's value.
 * Included by BPF and userspace code alike, so only <linux/types.h> types.
 */
#ifndef TAPYARD_CAP_SHARED_H
#define TAPYARD_CAP_SHARED_H

#include <linux/types.h>

#define CAP_MAX_NICS 256 /* NIC slots of a capture set (the nics array) */
#define CAP_SNAP_MAX 65536 /* the largest snaplen the program copies */
#define CAP_RING_BYTES (16u << 20) /* the ring buffer shared by every tap */
#define CAP_WAKE_BYTES (CAP_RING_BYTES / 8) /* unread bytes that wake the reader at once */

/* Direction, from the guest's view: tc egress on its TAP is what it sends. */
enum cap_dir {
	CAP_DIR_TX = 0, /* guest sent: tc egress on the TAP netdev */
	CAP_DIR_RX = 1, /* guest received: tc ingress on the TAP netdev */
};

/* One captured frame in the ring buffer, followed by caplen bytes of it. */
struct cap_event {
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 nic; /* the tag the loader gave the NIC's program instance */
	__u32 len; /* the frame's length on the wire (a GSO frame's whole length) */
	__u32 caplen; /* bytes that follow */
	__u32 dir; /* enum cap_dir */
	__u8 data[];
};

/* What the program does for a NIC (the nics array, indexed by slot); set at run time. */
struct cap_nic_val {
	__u32 snaplen; /* bytes to copy at most (1..CAP_SNAP_MAX); 0: pass frames untouched */
	__u32 pad;
	__u64 lost; /* frames the ring buffer had no room for (the program counts) */
};

#endif
