/* SPDX-License-Identifier: MIT */
/*
 * ctl_capture: the capture commands, over one capture set (capset) per
 * dispatcher, created at the first capture/start.
 *
 *   capture/start {port | bridge, snaplen?, path?, mode?: auto|bpf|loop, filter?}
 *                 filter: {proto, src, dst, host, src_mac, dst_mac, port, dir: tx|rx|drop,
 *                 ethertype, drop_reason, min_len, contains}, all to match (capfilter.h);
 *                 frames it leaves out are never stored
 *                 -> {id, mode, target, nics, snaplen, path}
 *   capture/stop  {id} -> {id, frames, dropped, evicted, path}
 *   capture/release {id}   stop it and forget it and its frames at once
 *   capture/list  {bridge?} -> [{id, target, mode, running, frames, dropped, evicted, path}]
 *   capture/read  {id, cursor?, max?, wait_ms?, data?}
 *                 -> {frames: [{seq, ts, ts_ns, nic, dir, drop_reason?, peer?, len, caplen,
 *                     src_mac, dst_mac, ethertype, src_ip?, dst_ip?, proto?, sport?, dport?,
 *                     icmp_type?, icmp_code?, arp_op?, data}], next_cursor, dropped, running}
 *   capture/save  {id, path} -> {frames, path}
 *
 * dir is the guest's view: "tx" (it sent), "rx" (it received) or "drop" (the
 * switch dropped it; drop_reason names the counter). capture/read's dropped
 * counts frames between cursor and the oldest one still kept that were let go
 * of; the capture's dropped counts frames its ring buffer or file lost.
 * While capture/read waits (wait_ms), other commands run.
 *
 * Taps attached in bpf mode are registered as kind "tc" in the daemon's
 * record (one object per direction), so `tapyard cleanup` removes them after
 * a kill -9.
 */
#ifndef TAPYARD_CTL_CAPTURE_H
#define TAPYARD_CTL_CAPTURE_H

#include "ctl_impl.h"

#define CTL_CAPTURE_NCMDS 6

/* The command table (listed in ctl_tables[] in ctl.c). */
extern const struct ctl_cmd ctl_capture_cmds[CTL_CAPTURE_NCMDS];

/* Stop every capture of ctl, detach its taps and forget its state (ctl_destroy() calls it). */
void ctl_capture_release(struct ctl *ctl);

#endif
