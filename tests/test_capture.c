/* SPDX-License-Identifier: MIT */
/*
 * test_capture: captures through the control vocabulary (capture/start,
 * read, stop, list, save) over a real running loop with `pair` ports, so
 * without root: the fallback path (mode "loop"). Checks the exact frames a
 * NIC capture and a bridge capture see, their directions from the guest's
 * view, their decoded fields and bytes, frames the switch dropped (partition,
 * link down) marked with their reason, the pcapng written as frames come and
 * by capture/save, and the bounded store (capstore) letting the oldest go
 * and counting them.
 *
 * No timeouts decide anything: reads wait (wait_ms) until the expected number
 * of frames is there, and the absence of a frame is shown by a marker frame
 * captured after it.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "capstore.h"
#include "ctl.h"
#include "ctl_harness.h"
#include "log.h"
#include "pcapng.h"

#define NPEERS 3

struct fixture {
	struct dp *dp;
	struct ctl *ctl;
	int peer[NPEERS]; /* peers of p0..p2, all on br0 */
	char dir[64];
};

static struct fixture fx;

static void mac_of(int i, uint8_t *mac)
{
	const uint8_t m[6] = {0x02, 0, 0, 0, 0, (uint8_t)(0x10 + i)};

	memcpy(mac, m, 6);
}

/*
 * An ICMP echo from peer i to peer j (tag in the identifier), 98 bytes like
 * ping's: Ethernet, IPv4 10.0.0.(i+1) > 10.0.0.(j+1), ICMP type 8 or 0.
 */
static size_t icmp_frame(int i, int j, bool reply, uint8_t tag, uint8_t *f)
{
	memset(f, 0, 98);
	mac_of(j, f);
	mac_of(i, f + 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 84; /* total length */
	f[22] = 64; /* ttl */
	f[23] = 1; /* ICMP */
	f[26] = 10, f[29] = (uint8_t)(i + 1);
	f[30] = 10, f[33] = (uint8_t)(j + 1);
	f[34] = reply ? 0 : 8;
	f[39] = tag;
	for (int k = 42; k < 98; k++)
		f[k] = (uint8_t)k;
	return 98;
}

static void send_icmp(int i, int j, bool reply, uint8_t tag)
{
	uint8_t f[98];

	icmp_frame(i, j, reply, tag, f);
	assert_int_equal(send(fx.peer[i], f, sizeof(f), 0), (ssize_t)sizeof(f));
}

/* Receive the next frame at peer i; returns its ICMP tag. */
static int recv_tag(int i)
{
	struct pollfd pfd = {.fd = fx.peer[i], .events = POLLIN};
	uint8_t f[2048];

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_true(recv(fx.peer[i], f, sizeof(f), 0) >= 40);
	return f[39];
}

/* n echo requests from peer i to peer j, tags tag0, tag0 + 1...; each must arrive. */
static void send_icmps(int i, int j, int n, int tag0)
{
	for (int k = 0; k < n; k++) {
		send_icmp(i, j, false, (uint8_t)(tag0 + k));
		assert_int_equal(recv_tag(j), (uint8_t)(tag0 + k));
	}
}

/* Every peer sends a broadcast once so the switch has learned every MAC; drain the floods. */
static void learn_all(void)
{
	uint8_t f[60] = {0};

	for (int i = 0; i < NPEERS; i++) {
		memset(f, 0xff, 6);
		mac_of(i, f + 6);
		f[12] = 0x88;
		f[13] = 0xb5;
		assert_int_equal(send(fx.peer[i], f, sizeof(f), 0), 60);
		for (int j = 0; j < NPEERS; j++) {
			if (j != i)
				recv_tag(j);
		}
	}
}

static int setup(void **state)
{
	struct dp_config cfg = {.nbufs = 64, .buf_size = 4096, .tx_slots = 256};

	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_capture.XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	th_open(&cfg, &fx.dp, &fx.ctl);
	OK("bridge/add", "{'name': 'br0'}");
	th_add_pairs(fx.ctl, fx.peer, NPEERS, NPEERS);
	learn_all();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	th_close(fx.dp, fx.ctl);
	for (int i = 0; i < NPEERS; i++)
		close(fx.peer[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int start(const char *args)
{
	json_t *r = OK("capture/start", "%s", args);

	assert_string_equal(json_string_value(json_object_get(r, "mode")), "loop");
	return (int)json_integer_value(json_object_get(r, "id"));
}

/* Wait until capture id holds frame n - 1, then read all from cursor 0: there must be n. */
static json_t *frames(int id, size_t n)
{
	json_t *r;

	for (int tries = 0; n && tries < 100; tries++) {
		r = OK("capture/read", "{'id': %d, 'cursor': %zu, 'max': 1, 'wait_ms': 100}", id,
		       n - 1);
		if (json_array_size(json_object_get(r, "frames")) == 1)
			break;
	}
	r = json_object_get(OK("capture/read", "{'id': %d, 'max': 100000}", id), "frames");
	if (json_array_size(r) != n) {
		char *s = json_dumps(r, JSON_INDENT(1));

		fail_msg("expected %zu frames, got %zu: %s", n, json_array_size(r), s);
	}
	return r;
}

static const char *fstr(json_t *frames, size_t i, const char *key)
{
	const char *s = json_string_value(json_object_get(json_array_get(frames, i), key));

	return s ? s : "(none)";
}

static json_int_t fint(json_t *frames, size_t i, const char *key)
{
	return json_integer_value(json_object_get(json_array_get(frames, i), key));
}

/* The captured bytes of frame i (base64-decoded into out); returns how many. */
static size_t frame_data(json_t *frames, size_t i, uint8_t *out, size_t size)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *s = fstr(frames, i, "data");
	size_t n = 0;
	uint32_t v = 0;
	int bits = 0;

	for (; *s && *s != '='; s++) {
		const char *p = strchr(abc, *s);

		assert_non_null(p);
		v = v << 6 | (uint32_t)(p - abc);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			assert_true(n < size);
			out[n++] = (uint8_t)(v >> bits);
		}
	}
	return n;
}

/* Frame i of frames: an ICMP echo with tag tag, seen on nic in direction dir. */
static void check_frame(json_t *frames, size_t i, const char *nic, const char *dir, int tag)
{
	uint8_t data[256];

	assert_string_equal(fstr(frames, i, "nic"), nic);
	assert_string_equal(fstr(frames, i, "dir"), dir);
	assert_int_equal(fint(frames, i, "seq"), (json_int_t)i);
	assert_int_equal(fint(frames, i, "len"), 98);
	assert_int_equal(fint(frames, i, "caplen"), 98);
	assert_int_equal(fint(frames, i, "ethertype"), 0x0800);
	assert_string_equal(fstr(frames, i, "proto"), "icmp");
	assert_int_equal(frame_data(frames, i, data, sizeof(data)), 98);
	assert_int_equal(data[39], tag);
}

/* The bytes of frame i are want. */
static void check_bytes(json_t *frames, size_t i, const uint8_t *want, size_t len)
{
	uint8_t out[256];

	assert_int_equal(frame_data(frames, i, out, sizeof(out)), len);
	assert_memory_equal(out, want, len);
}

static void test_nic_capture_sees_both_directions(void **state)
{
	uint8_t want[98];
	json_t *f;
	int id;

	(void)state;
	id = start("{'port': 'p0', 'snaplen': 200}");
	send_icmp(0, 1, false, 1); /* p0's guest pings p1's */
	assert_int_equal(recv_tag(1), 1);
	send_icmp(1, 0, true, 1); /* and gets the reply */
	assert_int_equal(recv_tag(0), 1);
	send_icmp(1, 2, false, 2); /* not p0's business */
	assert_int_equal(recv_tag(2), 2);
	send_icmp(2, 0, false, 3); /* the marker */
	assert_int_equal(recv_tag(0), 3);
	f = frames(id, 3);
	check_frame(f, 0, "p0", "tx", 1);
	check_frame(f, 1, "p0", "rx", 1);
	check_frame(f, 2, "p0", "rx", 3);
	assert_string_equal(fstr(f, 0, "src_ip"), "10.0.0.1");
	assert_string_equal(fstr(f, 0, "dst_ip"), "10.0.0.2");
	assert_int_equal(fint(f, 0, "icmp_type"), 8);
	assert_int_equal(fint(f, 1, "icmp_type"), 0);
	assert_string_equal(fstr(f, 0, "src_mac"), "02:00:00:00:00:10");
	assert_string_equal(fstr(f, 0, "dst_mac"), "02:00:00:00:00:11");
	icmp_frame(0, 1, false, 1, want);
	check_bytes(f, 0, want, 98);
	icmp_frame(1, 0, true, 1, want);
	check_bytes(f, 1, want, 98);
	/* the last read said where to go on */
	assert_int_equal(json_integer_value(json_object_get(th_last_ok(), "next_cursor")), 3);
	OK("capture/read", "{'id': %d, 'cursor': 3}", id);
	assert_int_equal(json_array_size(json_object_get(th_last_ok(), "frames")), 0);
	f = OK("capture/stop", "{'id': %d}", id);
	assert_int_equal(json_integer_value(json_object_get(f, "frames")), 3);
	assert_int_equal(json_integer_value(json_object_get(f, "dropped")), 0);
}

static void test_snaplen_and_cursor(void **state)
{
	json_t *f;
	int id;

	(void)state;
	id = start("{'port': 'p1', 'snaplen': 40}");
	send_icmps(0, 1, 5, 10);
	f = frames(id, 5);
	for (size_t k = 0; k < 5; k++) {
		assert_string_equal(fstr(f, k, "dir"), "rx");
		assert_int_equal(fint(f, k, "len"), 98);
		assert_int_equal(fint(f, k, "caplen"), 40);
	}
	f = json_object_get(OK("capture/read", "{'id': %d, 'cursor': 2, 'max': 2}", id), "frames");
	assert_int_equal(json_array_size(f), 2);
	assert_int_equal(fint(f, 0, "seq"), 2);
	assert_int_equal(json_integer_value(json_object_get(th_last_ok(), "next_cursor")), 4);
	/* without data */
	f = json_object_get(OK("capture/read", "{'id': %d, 'data': false}", id), "frames");
	assert_null(json_object_get(json_array_get(f, 0), "data"));
	OK("capture/stop", "{'id': %d}", id);
}

static void test_bridge_capture_sees_all_nics(void **state)
{
	json_t *f, *r;
	int id;

	(void)state;
	r = OK("capture/start", "{'bridge': 'br0'}");
	id = (int)json_integer_value(json_object_get(r, "id"));
	assert_int_equal(json_array_size(json_object_get(r, "nics")), 3);
	send_icmp(0, 1, false, 1);
	assert_int_equal(recv_tag(1), 1);
	send_icmp(2, 0, false, 2);
	assert_int_equal(recv_tag(0), 2);
	f = frames(id, 4);
	check_frame(f, 0, "p0", "tx", 1);
	check_frame(f, 1, "p1", "rx", 1);
	check_frame(f, 2, "p2", "tx", 2);
	check_frame(f, 3, "p0", "rx", 2);
	r = OK("capture/list", "{'bridge': 'br0'}");
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(r, 0), "target"), "bridge")),
			    "br0");
	assert_true(json_is_true(json_object_get(json_array_get(r, 0), "running")));
	OK("capture/stop", "{'id': %d}", id);
	r = OK("capture/list", "{}");
	assert_true(json_is_false(json_object_get(json_array_get(r, 0), "running")));
	/* a stopped capture can still be read */
	frames(id, 4);
}

static void test_partition_drop_is_marked(void **state)
{
	json_t *f;
	int id;

	(void)state;
	id = start("{'bridge': 'br0'}");
	OK("partition/cut", "{'from': 'p0', 'to': 'p1', 'oneway': true}");
	send_icmp(0, 1, false, 1); /* sent, but the partition drops it */
	send_icmp(0, 2, false, 2); /* the marker */
	assert_int_equal(recv_tag(2), 2);
	f = frames(id, 4);
	check_frame(f, 0, "p0", "tx", 1);
	assert_string_equal(fstr(f, 1, "dir"), "drop");
	assert_string_equal(fstr(f, 1, "nic"), "p0");
	assert_string_equal(fstr(f, 1, "drop_reason"), "drop_partition");
	assert_string_equal(fstr(f, 1, "peer"), "p1");
	assert_string_equal(fstr(f, 1, "dst_ip"), "10.0.0.2");
	check_frame(f, 2, "p0", "tx", 2);
	check_frame(f, 3, "p2", "rx", 2);
	/* no "rx" on p1: the frame never reached it */
	for (size_t k = 0; k < 4; k++)
		assert_false(strcmp(fstr(f, k, "nic"), "p1") == 0);
	OK("partition/heal_all", "{}");
	OK("capture/stop", "{'id': %d}", id);
}

static void test_link_down_drop_is_marked(void **state)
{
	json_t *f;
	int id;

	(void)state;
	id = start("{'port': 'p1'}");
	OK("link/set", "{'port': 'p1', 'up': false}");
	send_icmp(0, 1, false, 1);
	f = frames(id, 1);
	assert_string_equal(fstr(f, 0, "dir"), "drop");
	assert_string_equal(fstr(f, 0, "drop_reason"), "drop_link_down");
	assert_string_equal(fstr(f, 0, "peer"), "p0");
	OK("link/set", "{'port': 'p1', 'up': true}");
	OK("capture/stop", "{'id': %d}", id);
}

/* Read a pcapng file and count its blocks by type; *comments counts drop comments. */
static void count_blocks(const char *path, int *idb, int *epb, int *comments)
{
	uint8_t *b = malloc(1 << 20);
	FILE *f = fopen(path, "rb");
	size_t len, off = 0;
	uint32_t type, total;

	assert_non_null(f);
	len = fread(b, 1, 1 << 20, f);
	fclose(f);
	*idb = *epb = *comments = 0;
	while (off + 12 <= len) {
		memcpy(&type, b + off, 4);
		memcpy(&total, b + off + 4, 4);
		assert_true(total % 4 == 0 && total >= 12 && off + total <= len);
		*idb += type == PCAPNG_IDB;
		*epb += type == PCAPNG_EPB;
		if (type == PCAPNG_EPB && memmem(b + off, total, "dropped: drop_partition", 23))
			(*comments)++;
		off += total;
	}
	assert_int_equal(off, len);
	free(b);
}

static void test_files(void **state)
{
	char live[128], saved[128], cmd[300];
	int id, idb, epb, comments;
	json_t *r;

	(void)state;
	snprintf(live, sizeof(live), "%s/live.pcapng", fx.dir);
	snprintf(saved, sizeof(saved), "%s/saved.pcapng", fx.dir);
	r = OK("capture/start", "{'bridge': 'br0', 'path': '%s'}", live);
	id = (int)json_integer_value(json_object_get(r, "id"));
	OK("partition/cut", "{'from': 'p0', 'to': 'p1', 'oneway': true}");
	send_icmp(0, 1, false, 1);
	send_icmp(0, 2, false, 2);
	assert_int_equal(recv_tag(2), 2);
	frames(id, 4);
	OK("partition/heal_all", "{}");
	r = OK("capture/save", "{'id': %d, 'path': '%s'}", id, saved);
	assert_int_equal(json_integer_value(json_object_get(r, "frames")), 4);
	r = OK("capture/stop", "{'id': %d}", id);
	assert_string_equal(json_string_value(json_object_get(r, "path")), live);
	count_blocks(live, &idb, &epb, &comments);
	assert_int_equal(idb, 3);
	assert_int_equal(epb, 4);
	assert_int_equal(comments, 1);
	count_blocks(saved, &idb, &epb, &comments);
	assert_int_equal(idb, 3);
	assert_int_equal(epb, 4);
	assert_int_equal(comments, 1);
	if (system("command -v tcpdump >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd),
			 "test \"$(tcpdump -nn -r %s 2>/dev/null | grep -c 'ICMP echo request')\" "
			 "= 4",
			 live);
		assert_int_equal(system(cmd), 0);
	} else {
		print_message("tcpdump is not installed: reading the file back is skipped\n");
	}
	ERR("ENOENT", "cannot save capture", "capture/save",
	    "{'id': %d, 'path': '/nonexistent-dir/x.pcapng'}", id);
}

static void test_errors(void **state)
{
	int id;

	(void)state;
	ERR("EINVAL", "give port or bridge", "capture/start", "{}");
	ERR("EINVAL", "give port or bridge", "capture/start", "{'port': 'p0', 'bridge': 'br0'}");
	ERR("ENOENT", "port \"nope\" not found", "capture/start", "{'port': 'nope'}");
	ERR("ENOENT", "bridge \"nope\" not found", "capture/start", "{'bridge': 'nope'}");
	ERR("EINVAL", "args.snaplen", "capture/start", "{'port': 'p0', 'snaplen': 0}");
	ERR("EINVAL", "args.snaplen", "capture/start", "{'port': 'p0', 'snaplen': 65536}");
	ERR("EINVAL", "args.mode", "capture/start", "{'port': 'p0', 'mode': 'fast'}");
	ERR("EOPNOTSUPP", "TAP", "capture/start", "{'port': 'p0', 'mode': 'bpf'}");
	ERR("ENOENT", "capture 99 not found", "capture/stop", "{'id': 99}");
	ERR("ENOENT", "capture 99 not found", "capture/read", "{'id': 99}");
	ERR("EINVAL", "args.id", "capture/read", "{}");
	ERR("ENOENT", "cannot write", "capture/start",
	    "{'port': 'p0', 'path': '/nonexistent-dir/x.pcapng'}");
	/* a failed start leaves nothing behind */
	assert_int_equal(json_array_size(OK("capture/list", "{}")), 0);
	id = start("{'port': 'p0'}");
	ERR("EINVAL", "args.max", "capture/read", "{'id': %d, 'max': 0}", id);
	ERR("EINVAL", "args.wait_ms", "capture/read", "{'id': %d, 'wait_ms': -1}", id);
	ERR("EINVAL", "args.path", "capture/save", "{'id': %d}", id);
	OK("capture/stop", "{'id': %d}", id);
	OK("capture/stop", "{'id': %d}", id); /* stopping twice is harmless */
	assert_int_equal(json_array_size(OK("capture/list", "{}")), 1);
}

/* The store keeps the newest frames within its bounds and counts what it let go. */
static void test_store_bounds(void **state)
{
	struct capstore_rec rec = {.dir = 0}, got;
	uint8_t data[100], buf[100];
	uint64_t first, next;
	struct capstore *s;

	(void)state;
	assert_int_equal(capstore_create(0, 4, &s), -EINVAL);
	assert_int_equal(capstore_create(1000, 8, &s), 0);
	for (int i = 0; i < 30; i++) {
		memset(data, i, sizeof(data));
		rec.len = 100;
		rec.caplen = 100;
		assert_int_equal(capstore_put(s, &rec, data), (uint64_t)i);
	}
	/* 1000 bytes hold 10 frames of 100 bytes; 8 slots hold 8 frames */
	capstore_bounds(s, &first, &next);
	assert_int_equal(next, 30);
	assert_int_equal(first, 22);
	assert_int_equal(capstore_evicted(s), 22);
	assert_int_equal(capstore_get(s, 21, &got, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(capstore_get(s, 30, &got, buf, sizeof(buf)), -EAGAIN);
	for (uint64_t k = first; k < next; k++) {
		assert_int_equal(capstore_get(s, k, &got, buf, sizeof(buf)), 0);
		assert_int_equal(got.caplen, 100);
		memset(data, (int)k, sizeof(data));
		assert_memory_equal(buf, data, 100);
	}
	/* frames of odd sizes wrap around the arena without overlapping */
	for (int i = 0; i < 50; i++) {
		rec.caplen = (uint32_t)(1 + i * 7 % 97);
		memset(data, 0x40 + i, rec.caplen);
		capstore_put(s, &rec, data);
	}
	capstore_bounds(s, &first, &next);
	for (uint64_t k = first; k < next; k++) {
		assert_int_equal(capstore_get(s, k, &got, buf, sizeof(buf)), 0);
		memset(data, (int)(0x40 + (k - 30)), got.caplen);
		assert_memory_equal(buf, data, got.caplen);
	}
	assert_int_equal(capstore_wait(s, next, 0), -ETIMEDOUT);
	assert_int_equal(capstore_wait(s, next - 1, 10), 0);
	capstore_destroy(s);
}

/* What frame seq of test_store_concurrent holds: caplen and byte value. */
static uint32_t conc_caplen(uint64_t seq)
{
	return (uint32_t)(1 + seq * 37 % 200);
}

#define CONC_FRAMES 300000

static void *conc_writer(void *arg)
{
	struct capstore *s = arg;
	uint8_t data[256];

	for (uint64_t seq = 0; seq < CONC_FRAMES; seq++) {
		struct capstore_rec rec = {.len = (uint32_t)seq, .caplen = conc_caplen(seq)};

		memset(data, (int)(seq & 0xff), rec.caplen);
		assert_int_equal(capstore_put(s, &rec, data), seq);
	}
	return NULL;
}

/*
 * A reader racing the writer over a small store (constant eviction) never
 * gets a torn frame: every frame it gets is whole and the right one, and the
 * writer never waits for it.
 */
static void test_store_concurrent(void **state)
{
	uint64_t first, next, got = 0, evicted = 0;
	struct capstore_rec rec;
	struct capstore *s;
	uint8_t buf[256];
	pthread_t t;

	(void)state;
	assert_int_equal(capstore_create(2048, 16, &s), 0);
	assert_int_equal(pthread_create(&t, NULL, conc_writer, s), 0);
	do {
		capstore_bounds(s, &first, &next);
		for (uint64_t seq = first; seq < next; seq++) {
			int err = capstore_get(s, seq, &rec, buf, sizeof(buf));

			if (err == -ENOENT) {
				evicted++;
				continue;
			}
			assert_int_equal(err, 0);
			assert_int_equal(rec.len, (uint32_t)seq);
			assert_int_equal(rec.caplen, conc_caplen(seq));
			for (uint32_t k = 0; k < rec.caplen; k++)
				assert_int_equal(buf[k], (uint8_t)seq);
			got++;
		}
	} while (next < CONC_FRAMES);
	pthread_join(t, NULL);
	print_message("%" PRIu64 " frames read whole, %" PRIu64 " evicted first\n", got, evicted);
	assert_true(got > 0);
	capstore_destroy(s);
}

/* A read that fell behind the store learns how many frames it missed. */
static void test_read_reports_missed(void **state)
{
	json_t *r;
	int id;

	(void)state;
	id = start("{'port': 'p0', 'snaplen': 64}");
	/* more frames than the store keeps (32768) */
	send_icmps(1, 0, 33000, 0);
	for (int tries = 0; tries < 200; tries++) {
		r = OK("capture/list", "{}");
		if (json_integer_value(json_object_get(json_array_get(r, 0), "frames")) == 33000)
			break;
		OK("capture/read", "{'id': %d, 'cursor': 32999, 'wait_ms': 50}", id);
	}
	r = OK("capture/read", "{'id': %d, 'cursor': 0, 'max': 10}", id);
	assert_int_equal(json_integer_value(json_object_get(r, "dropped")), 33000 - 32768);
	assert_int_equal(fint(json_object_get(r, "frames"), 0, "seq"), 33000 - 32768);
	r = OK("capture/stop", "{'id': %d}", id);
	assert_int_equal(json_integer_value(json_object_get(r, "frames")), 33000);
	assert_int_equal(json_integer_value(json_object_get(r, "evicted")), 33000 - 32768);
	assert_int_equal(json_integer_value(json_object_get(r, "dropped")), 0);
}

/* A capture/read that waits, on a thread of its own. */
struct reader {
	int id;
	json_t *reply;
	atomic_bool done;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->reply =
		ctl_call(fx.ctl, "capture/read",
			 json_pack("{s:i, s:i, s:i}", "id", r->id, "cursor", 0, "wait_ms", 60000));
	atomic_store(&r->done, true);
	return NULL;
}

/* A read that replies later waits without the dispatcher's lock: others are answered meanwhile. */
static void test_read_waits_without_the_lock(void **state)
{
	struct reader r = {.id = start("{'port': 'p0'}")};
	pthread_t t;
	json_t *reply;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
	/* Until a frame comes, the reader waits (60 s at most); status must not wait for it. */
	for (int i = 0; i < 20; i++) {
		reply = ctl_call(fx.ctl, "status", NULL);
		assert_int_equal(ctl_reply_error(reply, NULL, NULL), 0);
		json_decref(reply);
		OK("capture/list", "{}");
	}
	assert_false(atomic_load(&r.done));
	send_icmps(1, 0, 1, 7);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(ctl_reply_error(r.reply, NULL, NULL), 0);
	assert_int_equal(
		json_array_size(json_object_get(json_object_get(r.reply, "result"), "frames")), 1);
	json_decref(r.reply);
}

/* Two dispatchers in one process keep their own captures (no process-wide registry). */
static void test_dispatchers_keep_their_own(void **state)
{
	struct dp_config cfg = {.nbufs = 64, .buf_size = 4096, .tx_slots = 256};
	struct dp *dp2;
	struct ctl *ctl2;
	json_t *r;
	int id;

	(void)state;
	id = start("{'port': 'p0'}");
	th_open(&cfg, &dp2, &ctl2); /* th_open makes ctl2 the harness's current dispatcher */
	assert_int_equal(json_array_size(OK("capture/list", "{}")), 0);
	ERR("ENOENT", "not found", "capture/stop", "{'id': %d}", id);
	th_close(dp2, ctl2);
	th_use(fx.ctl);
	r = OK("capture/list", "{}");
	assert_int_equal(json_array_size(r), 1);
	OK("capture/stop", "{'id': %d}", id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nic_capture_sees_both_directions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_snaplen_and_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge_capture_sees_all_nics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partition_drop_is_marked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_down_drop_is_marked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test(test_store_bounds),
		cmocka_unit_test(test_store_concurrent),
		cmocka_unit_test_setup_teardown(test_read_reports_missed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_waits_without_the_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatchers_keep_their_own, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
