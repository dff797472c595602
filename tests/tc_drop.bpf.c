/* SPDX-License-Identifier: MIT */
/*
 * tc_drop.bpf: a tc program that drops every frame, for tests/e2e_capture.sh:
 * put at a later priority than a capture's tap, it must still see (and drop)
 * every frame while the capture runs. (No tc action module is available on
 * some test machines, so a u32 filter could neither drop nor count.)
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_drop(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
