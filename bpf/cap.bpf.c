/* SPDX-License-Identifier: MIT */
/*
 * cap.bpf: the capture tap. Two tc programs (clsact egress and ingress) run
 * on each captured TAP netdev inside its guest's network namespace; while the
 * loader selects the NIC (a snaplen in the nics map), they copy up to snaplen
 * bytes and the frame's metadata into the ring buffer every tap of the
 * capture set shares, and never decide a frame's fate: every path returns
 * TC_ACT_UNSPEC, so the rest of the tc chain (filters at later priorities,
 * further programs) runs as if the tap were not there. TC_ACT_OK would end
 * the chain and skip them. When the ring buffer is full the frame is not
 * captured and the NIC's lost counter says so.
 *
 * The ring space is reserved in power-of-two size classes (the verifier wants
 * a constant size), so a 128-byte snaplen costs 128 bytes per frame, not 64 KiB.
 * Records do not wake the reader (it drains every few milliseconds) unless
 * the ring is filling up: a wakeup per frame would cost the switch's loop
 * more than the copy does.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

#include "cap_shared.h"

/*
 * Set by the loader before load: the NIC this instance is attached to (its
 * slot in nics in the low 16 bits). One instance per netdev: a tc program
 * cannot tell netdevs of different namespaces apart by ifindex, and the
 * netns cookie is not available at ingress.
 */
const volatile __u32 nic_tag = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CAP_RING_BYTES);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CAP_MAX_NICS);
	__type(key, __u32);
	__type(value, struct cap_nic_val);
} nics SEC(".maps");

/* Copy the first caplen bytes of skb into a ring record of size bytes of data. */
static __always_inline int cap_emit(struct __sk_buff *skb, struct cap_nic_val *v, __u32 dir,
				    __u32 caplen, const __u32 size)
{
	struct cap_event *ev;

	ev = bpf_ringbuf_reserve(&ring, sizeof(*ev) + size, 0);
	if (!ev) {
		__sync_fetch_and_add(&v->lost, 1);
		return 0;
	}
	if (caplen > size)
		caplen = size;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->nic = nic_tag;
	ev->len = skb->len;
	ev->dir = dir;
	if (caplen < 1 || bpf_skb_load_bytes(skb, 0, ev->data, caplen) < 0)
		caplen = 0;
	ev->caplen = caplen;
	/* The reader drains on a timer; wake it early only when the ring fills up. */
	bpf_ringbuf_submit(ev, bpf_ringbuf_query(&ring, BPF_RB_AVAIL_DATA) > CAP_WAKE_BYTES
				       ? BPF_RB_FORCE_WAKEUP
				       : BPF_RB_NO_WAKEUP);
	return 0;
}

static __always_inline int cap_frame(struct __sk_buff *skb, __u32 dir)
{
	__u32 slot = nic_tag & 0xffff, caplen;
	struct cap_nic_val *v;

	v = bpf_map_lookup_elem(&nics, &slot);
	if (!v || !v->snaplen)
		return TC_ACT_UNSPEC;
	caplen = skb->len < v->snaplen ? skb->len : v->snaplen;
	if (caplen <= 128)
		cap_emit(skb, v, dir, caplen, 128);
	else if (caplen <= 256)
		cap_emit(skb, v, dir, caplen, 256);
	else if (caplen <= 512)
		cap_emit(skb, v, dir, caplen, 512);
	else if (caplen <= 1024)
		cap_emit(skb, v, dir, caplen, 1024);
	else if (caplen <= 2048)
		cap_emit(skb, v, dir, caplen, 2048);
	else if (caplen <= 4096)
		cap_emit(skb, v, dir, caplen, 4096);
	else if (caplen <= 8192)
		cap_emit(skb, v, dir, caplen, 8192);
	else if (caplen <= 16384)
		cap_emit(skb, v, dir, caplen, 16384);
	else if (caplen <= 32768)
		cap_emit(skb, v, dir, caplen, 32768);
	else
		cap_emit(skb, v, dir, caplen, CAP_SNAP_MAX);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int cap_egress(struct __sk_buff *skb)
{
	return cap_frame(skb, CAP_DIR_TX);
}

SEC("tc")
int cap_ingress(struct __sk_buff *skb)
{
	return cap_frame(skb, CAP_DIR_RX);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
