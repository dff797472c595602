/* SPDX-License-Identifier: MIT */
/*
 * capset: the captures of one switch. A capture watches a set of ports (one
 * NIC, or every port of a bridge) and keeps what crossed them in a bounded
 * store (capstore), optionally also writing it to a pcapng file as it comes.
 *
 * Two paths feed a capture, the same frames either way:
 *   bpf   tc taps on the TAP netdevs (cap), drained by the loop from the ring
 *         buffer every tap of the set shares;
 *   loop  the dataplane's per-port hook, from the buffers the loop forwards.
 * Frames the switch drops (partition, link down, impairment loss...) always
 * come from the hook and are kept with their reason, so "sent but dropped by
 * the partition" differs from "never sent".
 *
 * Threads: capset_* functions are called from control threads (never the
 * loop's) and serialise on the set's mutex; the loop only reads immutable
 * subscriber snapshots, swapped and retired through dp_sync(). A slow reader
 * or file never blocks the loop (the store takes no lock on its side): a full
 * ring buffer or a file writer behind loses frames and counts them.
 */
#ifndef TAPYARD_CAPSET_H
#define TAPYARD_CAPSET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cap.h"
#include "capfilter.h"
#include "dp.h"

#define CAPSET_DEFAULT_SNAPLEN 65535
#define CAPSET_STORE_BYTES (8u << 20) /* captured bytes a capture keeps in memory */
#define CAPSET_STORE_FRAMES 32768 /* frames a capture keeps in memory */
#define CAPSET_KEEP_STOPPED 8 /* stopped captures kept for read and save */
#define CAPSET_TARGET_MAX 48
#define CAPSET_PATH_MAX 256
#define CAPSET_IFNAME_MAX 96 /* a pcapng interface name: "netns/bridge" */

enum capset_mode { CAPSET_AUTO, CAPSET_BPF, CAPSET_LOOP };

/* Told of each tap attached (add) or detached, for a cleanup record. */
typedef void (*capset_record_fn)(void *ctx, bool add, const struct cap_link *link);

struct capset;

/* What capset_start() captures. */
struct capset_opts {
	const uint32_t *ports; /* dp port ids */
	size_t nports;
	uint32_t snaplen; /* 1..65535; 0: CAPSET_DEFAULT_SNAPLEN */
	const char *path; /* pcapng file written as frames come (its name), or NULL */
	int fd; /* with path: that file, opened by the caller; owned from the call on */
	enum capset_mode mode;
	const char *target; /* how list shows it, e.g. "port tap0" or "bridge br0" */
	const char *bridge; /* the bridge's name, for pcapng interface names */
	const struct capfilter *filter; /* frames to keep (copied), or NULL: all */
};

/* A capture's state. */
struct capset_info {
	uint32_t id;
	char target[CAPSET_TARGET_MAX];
	char path[CAPSET_PATH_MAX]; /* "" when none */
	enum capset_mode mode; /* CAPSET_BPF or CAPSET_LOOP */
	bool running;
	uint32_t snaplen;
	size_t nics;
	uint64_t frames; /* frames captured (kept, or evicted later) */
	uint64_t dropped; /* frames lost: ring_lost + file_lost */
	uint64_t ring_lost; /* of which the ring buffer had no room for */
	uint64_t file_lost; /* of which evicted before the file writer saw them */
	uint64_t evicted; /* frames the bounded store let go of (oldest first) */
	uint64_t first; /* oldest frame still kept */
	int file_error; /* the file writer's first error (negative errno), or 0 */
};

/* One captured frame, as capset_read() hands it out. */
struct capset_frame {
	uint64_t seq;
	uint64_t ts_ns; /* CLOCK_REALTIME */
	uint32_t len, caplen;
	enum dp_hook_dir dir;
	const char *nic; /* the port's name */
	const char *drop_reason; /* for DP_HOOK_DROP */
	const char *peer; /* a drop's other port, or NULL */
	const uint8_t *data; /* caplen bytes */
};

/* Called per frame by capset_read(): 0 takes it, non-zero stops before it. */
typedef int (*capset_frame_fn)(void *ctx, const struct capset_frame *f);

/*
 * capset_create() - the (empty) capture set of switch dp.
 * @record: told of every tap attached (add) and detached, or NULL
 * Return: 0 with *out set, or -ENOMEM.
 */
int capset_create(struct dp *dp, capset_record_fn record, void *record_ctx, struct capset **out);

/* Stop every capture, detach every tap, free. NULL is a no-op. */
void capset_destroy(struct capset *s);

/*
 * capset_start() - start a capture.
 * @why: receives a message when it fails
 * Return: 0 with *id set, -EINVAL, -ENOENT (a port vanished), -EOPNOTSUPP
 * (mode bpf on a port that is not a TAP, or a build without BPF), -EPERM
 * (mode bpf without privilege), -ENOSPC (too many captures), or -errno.
 */
int capset_start(struct capset *s, const struct capset_opts *o, uint32_t *id, char *why,
		 size_t why_size);

/*
 * capset_stop() - stop a capture; it stays readable while it is among the
 * CAPSET_KEEP_STOPPED last stopped. Stopping a stopped capture is harmless.
 * @info: receives its final state
 * Return: 0 or -ENOENT.
 */
int capset_stop(struct capset *s, uint32_t id, struct capset_info *info);

/*
 * capset_release() - stop a capture and forget it at once, its frames too
 * (no longer listed, read or saved).
 * Return: 0, -ENOENT, or -EBUSY while a capset_wait() waits for it.
 */
int capset_release(struct capset *s, uint32_t id);

/* A capture's state. Returns 0 or -ENOENT. */
int capset_info(struct capset *s, uint32_t id, struct capset_info *info);

/* Ids of the captures, oldest first, at most max; returns how many. */
size_t capset_list(struct capset *s, uint32_t *ids, size_t max);

/* A capture's NIC names (port names). Returns how many, at most max. */
size_t capset_nics(struct capset *s, uint32_t id, const char **names, size_t max);

/*
 * capset_wait() - wait up to timeout_ms for frame cursor of a capture to exist,
 * or until the capture stops or *stop is set (a server shutting down, a
 * client gone).
 * @stop: may be NULL
 * Return: 0 when it does, -ETIMEDOUT, -ECANCELED (*stop), or -ENOENT. Holds no
 * lock while waiting.
 */
int capset_wait(struct capset *s, uint32_t id, uint64_t cursor, int timeout_ms,
		const atomic_bool *stop);

/*
 * capset_read() - hand frames cursor.. (at most max) to fn.
 * @next: receives the cursor to read from next time
 * @missed: receives how many frames from cursor on were evicted before this read
 * Return: frames handed out, or -ENOENT.
 */
int capset_read(struct capset *s, uint32_t id, uint64_t cursor, size_t max, capset_frame_fn fn,
		void *ctx, uint64_t *next, uint64_t *missed);

/*
 * capset_save() - write every frame the capture still keeps to a pcapng file.
 * @fd: the file, opened by the caller; owned from the call on (closed on failure too)
 * @frames: receives how many frames were written
 * Return: 0, -ENOENT, or the file's -errno.
 */
int capset_save(struct capset *s, uint32_t id, int fd, uint64_t *frames);

/* "bpf" or "loop" (or "auto"). */
const char *capset_mode_name(enum capset_mode mode);

#endif
