/* SPDX-License-Identifier: MIT */
/*
 * fuzz_loop: libFuzzer target that drives the real io_uring loop: bridge
 * "fz" with four `pair` ports, p0 and p3 plain, p1 and p2 taking a
 * virtio-net header as a TAP does (GSO super-frames, partial checksums),
 * an impairment on p1's receive side and on the pair p0 -> p2 whose knobs
 * the input picks, and a capture hook on every port that stores each frame
 * in a capture store (bpf/capstore.c) a reader then copies out.
 *
 * Input: one byte of knobs, one of link states, then frames as
 * [port][length low][length high][bytes...]. Each frame is written to that
 * port's peer; then the loop is synced, every peer drained and the capture
 * store read. State carries over between inputs, as in a running lab.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capstore.h"
#include "dp.h"
#include "dp_impair.h"
#include "log.h"
#include "port.h"

#define FUZZ_PORTS 4
#define FUZZ_FRAMES 16 /* frames per input at most */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp *fuzz_dp;
static uint32_t fuzz_id[FUZZ_PORTS];
static int fuzz_peer[FUZZ_PORTS];
static struct capstore *fuzz_store;
static uint64_t fuzz_read; /* the next capture record to read */

/* The capture hook (loop thread): every frame, drops too, into the store. */
static void fuzz_hook(void *ctx, const struct dp_hook_frame *f)
{
	struct capstore_rec rec = {.ts_ns = f->ts_ns,
				   .len = (uint32_t)f->len,
				   .caplen = (uint32_t)(f->len < 256 ? f->len : 256),
				   .peer = f->peer,
				   .nic = (uint16_t)(f->port % FUZZ_PORTS),
				   .dir = (uint8_t)f->dir,
				   .reason = f->drop_reason};

	(void)ctx;
	capstore_put(fuzz_store, &rec, f->data);
}

static void fuzz_fail(const char *what, int err)
{
	fprintf(stderr, "fuzz_loop: %s: %s\n", what, strerror(-err));
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct dp_config cfg = {.nbufs = 256};
	uint32_t br;
	int err;

	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERROR);
	if ((err = capstore_create(1 << 20, 4096, &fuzz_store)) || (err = dp_create(&cfg, &fuzz_dp)) ||
	    (err = dp_start(fuzz_dp)) || (err = dp_bridge_add(fuzz_dp, "fz", &br)))
		fuzz_fail("setup", err);
	for (int i = 0; i < FUZZ_PORTS; i++) {
		char name[8];
		struct port *p;

		snprintf(name, sizeof(name), "p%d", i);
		err = i == 1 || i == 2 ? port_pair_open_vnet(name, &p, &fuzz_peer[i])
				       : port_pair_open(name, &p, &fuzz_peer[i]);
		if (err || (err = dp_port_add(fuzz_dp, br, p, &fuzz_id[i])) ||
		    (err = dp_port_set_hook(fuzz_dp, fuzz_id[i], fuzz_hook, NULL)))
			fuzz_fail("port", err);
	}
	return 0;
}

/* Knobs from one byte: each bit turns one on, small enough to run fast. */
static void fuzz_knobs(uint8_t k)
{
	struct impair_cfg cfg = {.seed = 1 + k};
	struct dp_impair_target rx = {DP_IMPAIR_PORT_RX, fuzz_id[1], 0};
	struct dp_impair_target pair = {DP_IMPAIR_PAIR, fuzz_id[0], fuzz_id[2]};

	cfg.loss = k & 1 ? 20 : 0;
	cfg.duplicate = k & 2 ? 20 : 0;
	cfg.corrupt = k & 4 ? 20 : 0;
	cfg.delay_ns = k & 8 ? 200000 : 0;
	cfg.jitter_ns = k & 16 ? 100000 : 0;
	cfg.reorder = k & 8 && k & 32 ? 30 : 0;
	cfg.rate_bps = k & 64 ? 100000000 : 0;
	cfg.limit_packets = k & 128 ? 8 : 0;
	dp_impair_set(fuzz_dp, &rx, &cfg);
	dp_impair_set(fuzz_dp, &pair, k & 0x80 ? NULL : &cfg);
}

/* Read what waits on every peer, and the capture records stored since the last input. */
static void fuzz_drain(void)
{
	static uint8_t buf[70000];
	struct capstore_rec rec;
	uint64_t first, next;

	dp_sync(fuzz_dp);
	for (int i = 0; i < FUZZ_PORTS; i++)
		while (recv(fuzz_peer[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	capstore_bounds(fuzz_store, &first, &next);
	if (fuzz_read < first)
		fuzz_read = first;
	for (; fuzz_read < next; fuzz_read++)
		capstore_get(fuzz_store, fuzz_read, &rec, buf, sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 2;

	if (size < 2)
		return 0;
	fuzz_knobs(data[0]);
	for (int i = 0; i < FUZZ_PORTS; i++)
		dp_port_set_link(fuzz_dp, fuzz_id[i], !(data[1] >> i & 1) || i == 0);
	for (int n = 0; n < FUZZ_FRAMES && off + 3 <= size; n++) {
		int port = data[off] % FUZZ_PORTS;
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;

		off += 3;
		if (len > size - off)
			len = size - off;
		if (!len)
			continue; /* an empty datagram is a pair port's end of file, not a frame */
		if (send(fuzz_peer[port], data + off, len, MSG_DONTWAIT) < 0 && errno != EAGAIN)
			break;
		off += len;
	}
	fuzz_drain();
	return 0;
}
