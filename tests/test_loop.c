/* SPDX-License-Identifier: MIT */
/*
 * test_loop: the real io_uring loop over `pair` ports, without root:
 * flooding, learning, unicast, no hairpin, link down, partitions, drop
 * reasons, port removal and a peer that goes away. Every test runs with
 * multishot reads and again with the single-shot fallback.
 *
 * Absence is proven without timeouts: after the frame that must not arrive,
 * a marker frame is sent that must arrive, and it has to be the first one.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dp.h"
#include "frame.h"
#include "pair_harness.h"

#define NPORTS PH_NPORTS

static bool no_multishot;

static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static int lab_setup(void **state)
{
	static struct lab lab;
	struct dp_config cfg = {.nbufs = 64, .buf_size = 4096, .no_multishot = no_multishot};

	ph_lab_open(&lab, &cfg);
	*state = &lab;
	return 0;
}

static int lab_teardown(void **state)
{
	ph_lab_close(*state);
	return 0;
}

/* Send a frame from peer i to dst with a one-byte tag and len bytes in all. */
static void send_frame(struct lab *lab, int i, const uint8_t *dst, uint8_t tag, size_t len)
{
	uint8_t f[4096] = {0};

	assert_true(len >= 15 && len <= sizeof(f));
	memcpy(f, dst, 6);
	ph_mac_of(i, f + 6);
	f[12] = 0x88;
	f[13] = 0xb5; /* local experimental ethertype */
	f[14] = tag;
	assert_int_equal(write(lab->peer[i], f, len), (ssize_t)len);
}

static void send_to(struct lab *lab, int from, int to, uint8_t tag)
{
	uint8_t dst[6];

	ph_mac_of(to, dst);
	send_frame(lab, from, dst, tag, 60);
}

/* Receive the next frame on peer i (waits up to 5 s); returns its tag or -1. */
static int recv_tag(struct lab *lab, int i)
{
	struct pollfd pfd = {.fd = lab->peer[i], .events = POLLIN};
	uint8_t f[4096];
	ssize_t n;

	if (poll(&pfd, 1, 5000) != 1)
		return -1;
	n = read(lab->peer[i], f, sizeof(f));
	if (n < 15)
		return -1;
	return f[14];
}

/* Assert that peer i has nothing queued before a marker broadcast from `from`. */
static void assert_nothing_before_marker(struct lab *lab, int i, int from)
{
	send_frame(lab, from, mac_bcast, 0xee, 60);
	assert_int_equal(recv_tag(lab, i), 0xee);
}

static uint64_t ctr(struct lab *lab, int i, size_t off)
{
	struct dp_counters c;

	assert_int_equal(dp_port_counters(lab->dp, lab->id[i], &c), 0);
	return *(uint64_t *)((char *)&c + off);
}
#define CTR(lab, i, name) ctr(lab, i, offsetof(struct dp_counters, name))

/* Wait (up to 5 s) until a counter reaches want; frames on other ports are not ordered. */
static uint64_t wait_ctr(struct lab *lab, int i, size_t off, uint64_t want)
{
	uint64_t v = 0;

	for (int n = 0; n < 500 && (v = ctr(lab, i, off)) < want; n++)
		usleep(10000);
	return v;
}
#define WAIT_CTR(lab, i, name, want) wait_ctr(lab, i, offsetof(struct dp_counters, name), want)

/* Wait until the loop has run every command posted so far. */
static void sync_all(struct lab *lab)
{
	assert_int_equal(dp_sync(lab->dp), 0);
}

static void test_flood_broadcast(void **state)
{
	struct lab *lab = *state;

	send_frame(lab, 0, mac_bcast, 1, 60);
	assert_int_equal(recv_tag(lab, 1), 1);
	assert_int_equal(recv_tag(lab, 2), 1);
	/* No hairpin: port 0 never gets its own frame back. */
	assert_nothing_before_marker(lab, 0, 1);
	assert_int_equal(CTR(lab, 0, tx_packets), 1);
	assert_int_equal(CTR(lab, 0, multicast), 1);
}

static void test_learn_then_unicast(void **state)
{
	struct lab *lab = *state;

	send_to(lab, 0, 1, 2); /* 1 unknown: flooded */
	assert_int_equal(recv_tag(lab, 1), 2);
	assert_int_equal(recv_tag(lab, 2), 2);
	send_to(lab, 1, 0, 3); /* 0 was learned: unicast */
	assert_int_equal(recv_tag(lab, 0), 3);
	assert_nothing_before_marker(lab, 2, 1);
	send_to(lab, 0, 1, 4); /* 1 learned now */
	assert_int_equal(recv_tag(lab, 1), 4);
	assert_nothing_before_marker(lab, 2, 0);
	/* Port 1 received the flood, the unicast, and port 0's marker broadcast. */
	sync_all(lab);
	assert_int_equal(CTR(lab, 1, rx_packets), 3);
	assert_int_equal(CTR(lab, 1, rx_bytes), 3 * 60);
	assert_int_equal(CTR(lab, 0, tx_bytes), 2 * 60 + 60);
}

static void test_fdb_dump_and_flush(void **state)
{
	struct lab *lab = *state;
	struct dp_fdb_entry e[8];
	size_t n;

	send_to(lab, 0, 1, 5);
	send_to(lab, 1, 0, 6);
	assert_int_equal(recv_tag(lab, 0), 6);
	assert_int_equal(dp_fdb_dump(lab->dp, lab->br, e, 8, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		uint8_t m[6];
		int who = e[i].port == lab->id[0] ? 0 : 1;

		ph_mac_of(who, m);
		assert_memory_equal(e[i].mac, m, 6);
	}
	assert_int_equal(dp_fdb_flush(lab->dp, lab->br, lab->id[0]), 0);
	assert_int_equal(dp_fdb_dump(lab->dp, lab->br, e, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].port, lab->id[1]);
	assert_int_equal(dp_fdb_flush(lab->dp, lab->br, DP_ALL), 0);
	assert_int_equal(dp_fdb_dump(lab->dp, lab->br, e, 8, &n), 0);
	assert_int_equal(n, 0);
}

static void test_fdb_dump_many(void **state)
{
	struct lab *lab = *state;
	static struct dp_fdb_entry e[1024];
	uint8_t f[60] = {0};
	size_t n;

	/* 300 source addresses behind port 0: more than any fixed-size copy in between. */
	memset(f, 0xff, 6);
	f[6] = 0x02;
	f[12] = 0x88;
	f[13] = 0xb5;
	for (int i = 0; i < 300; i++) {
		f[10] = (uint8_t)(i >> 8);
		f[11] = (uint8_t)i;
		assert_int_equal(write(lab->peer[0], f, sizeof(f)), sizeof(f));
		assert_int_equal(recv_tag(lab, 1), 0);
	}
	assert_int_equal(dp_fdb_dump(lab->dp, lab->br, e, 1024, &n), 0);
	assert_int_equal(n, 300);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(e[i].port, lab->id[0]);
	assert_int_equal(dp_fdb_dump(lab->dp, lab->br, e, 10, &n), 0);
	assert_int_equal(n, 10);
}

static void test_link_down(void **state)
{
	struct lab *lab = *state;

	send_to(lab, 1, 0, 7);
	assert_int_equal(recv_tag(lab, 0), 7); /* learn 1 */
	assert_int_equal(dp_port_set_link(lab->dp, lab->id[1], false), 0);
	send_to(lab, 0, 1, 8); /* to a down port: dropped */
	send_frame(lab, 1, mac_bcast, 9, 60); /* from a down port: dropped */
	assert_int_equal(WAIT_CTR(lab, 1, drop_link_down, 2), 2);
	assert_nothing_before_marker(lab, 0, 2);
	assert_int_equal(WAIT_CTR(lab, 1, drop_link_down, 3), 3); /* the marker's flood to 1 */
	assert_int_equal(dp_port_set_link(lab->dp, lab->id[1], true), 0);
	send_to(lab, 0, 1, 10);
	assert_int_equal(recv_tag(lab, 1), 10);
}

static void test_partition_one_way(void **state)
{
	struct lab *lab = *state;

	send_to(lab, 0, 1, 11);
	assert_int_equal(recv_tag(lab, 1), 11);
	send_to(lab, 1, 0, 12);
	assert_int_equal(recv_tag(lab, 0), 12);
	assert_int_equal(dp_partition_set(lab->dp, lab->id[0], lab->id[1], true), 0);
	assert_int_equal(dp_partition_get(lab->dp, lab->id[0], lab->id[1]), 1);
	assert_int_equal(dp_partition_get(lab->dp, lab->id[1], lab->id[0]), 0);
	send_to(lab, 0, 1, 13); /* cut */
	send_to(lab, 1, 0, 14); /* the other way passes */
	assert_int_equal(recv_tag(lab, 0), 14);
	assert_int_equal(WAIT_CTR(lab, 0, drop_partition, 1), 1);
	assert_nothing_before_marker(lab, 1, 2);
	assert_int_equal(dp_partition_heal_all(lab->dp, lab->br), 0);
	send_to(lab, 0, 1, 15);
	assert_int_equal(recv_tag(lab, 1), 15);
}

static void test_runt_and_oversize(void **state)
{
	struct lab *lab = *state;
	static uint8_t big[5000];

	assert_int_equal(write(lab->peer[0], big, 10), 10);
	memset(big, 0xff, 12);
	assert_int_equal(write(lab->peer[0], big, sizeof(big)), (ssize_t)sizeof(big));
	assert_nothing_before_marker(lab, 1, 0);
	assert_int_equal(CTR(lab, 0, drop_runt), 1);
	assert_int_equal(CTR(lab, 0, drop_oversize), 1);
	assert_int_equal(CTR(lab, 0, tx_errors), 2);
	/* The loop still forwards. */
	send_frame(lab, 0, mac_bcast, 16, 60);
	assert_int_equal(recv_tag(lab, 2), 0xee);
	assert_int_equal(recv_tag(lab, 2), 16);
}

static void test_port_delete_and_stale_id(void **state)
{
	struct lab *lab = *state;
	struct dp_counters c;
	uint32_t id;

	send_to(lab, 1, 0, 17); /* flooded: 0 is not learned yet */
	assert_int_equal(recv_tag(lab, 0), 17);
	assert_int_equal(recv_tag(lab, 2), 17);
	assert_int_equal(dp_port_del(lab->dp, lab->id[1]), 0);
	assert_int_equal(dp_port_counters(lab->dp, lab->id[1], &c), -ENOENT);
	assert_int_equal(dp_port_del(lab->dp, lab->id[1]), -ENOENT);
	assert_int_equal(dp_port_find(lab->dp, "p1", &id), -ENOENT);
	/* The learned address went with the port: flooded to the survivors. */
	send_to(lab, 0, 1, 18);
	assert_int_equal(recv_tag(lab, 2), 18);
	/* A new port reuses the slot under a new id. */
	{
		struct port *p;
		int peer;

		assert_int_equal(port_pair_open("p1", &p, &peer), 0);
		assert_int_equal(dp_port_add(lab->dp, lab->br, p, &id), 0);
		assert_int_not_equal(id, lab->id[1]);
		close(lab->peer[1]);
		lab->peer[1] = peer;
		lab->id[1] = id;
	}
	send_frame(lab, 0, mac_bcast, 19, 60);
	assert_int_equal(recv_tag(lab, 1), 19);
}

static void test_peer_gone(void **state)
{
	struct lab *lab = *state;
	struct dp_port_info info;

	close(lab->peer[2]);
	lab->peer[2] = -1;
	sync_all(lab);
	/* Wait until the loop has seen the end of file. */
	for (int i = 0; i < 500; i++) {
		assert_int_equal(dp_port_info(lab->dp, lab->id[2], &info), 0);
		if (info.gone)
			break;
		usleep(10000);
	}
	assert_true(info.gone);
	send_frame(lab, 0, mac_bcast, 20, 60);
	assert_int_equal(recv_tag(lab, 1), 20);
	send_to(lab, 1, 0, 21);
	assert_int_equal(recv_tag(lab, 0), 21);
}

static void test_duplicate_names_and_bad_ids(void **state)
{
	struct lab *lab = *state;
	struct port *p;
	uint32_t id;
	int peer;

	assert_int_equal(dp_bridge_add(lab->dp, "br0", &id), -EEXIST);
	assert_int_equal(port_pair_open("p0", &p, &peer), 0);
	assert_int_equal(dp_port_add(lab->dp, lab->br, p, &id), -EEXIST);
	close(peer);
	assert_int_equal(dp_port_set_link(lab->dp, 12345, false), -ENOENT);
	assert_int_equal(dp_partition_set(lab->dp, lab->id[0], 999, true), -ENOENT);
	assert_int_equal(dp_counters_reset(lab->dp, 0), -ENOENT);
	assert_int_equal(dp_fdb_flush(lab->dp, 77, DP_ALL), -ENOENT);
}

static void test_bridge_delete(void **state)
{
	struct lab *lab = *state;
	struct dp_stats st;
	uint32_t ids[8];

	assert_int_equal(dp_bridge_del(lab->dp, lab->br), 0);
	assert_int_equal(dp_port_list(lab->dp, DP_ALL, ids, 8), 0);
	dp_get_stats(lab->dp, &st);
	assert_int_equal(st.ports, 0);
	assert_int_equal(st.bridges, 0);
	assert_true(st.running);
	/* Peers see end of file once their port is closed. */
	{
		uint8_t b[16];

		assert_int_equal(read(lab->peer[0], b, sizeof(b)), 0);
	}
}

/*
 * n broadcasts from port 0: port 1 gets every one, port 2 (whose peer never
 * reads) loses some, and every frame for port 2 was written, dropped, or is
 * one of the <= nbufs/2 writes pending.
 */
static void flood_past_port_2(struct lab *lab, int n)
{
	for (int i = 0; i < n; i++) {
		send_frame(lab, 0, mac_bcast, (uint8_t)i, 200);
		assert_int_equal(recv_tag(lab, 1), (uint8_t)i);
	}
	assert_int_equal(WAIT_CTR(lab, 1, rx_packets, (uint64_t)n), n);
	assert_int_equal(CTR(lab, 1, rx_dropped), 0);
	assert_true(CTR(lab, 2, drop_queue_full) > 0);
	assert_in_range(CTR(lab, 2, rx_packets) + CTR(lab, 2, rx_dropped), n - 64 / 2, n);
}

/* Port 2's peer never reads: its socket fills, its writes fail; port 1 loses nothing. */
static void test_stuck_reader_costs_only_its_own_frames(void **state)
{
	flood_past_port_2(*state, 20000);
}

/*
 * A port whose writes stay in flight (its guest stopped reading) holds at
 * most half the receive buffers: the others keep every frame.
 */
static void test_stuck_port_holds_half_the_buffers(void **state)
{
	struct lab *lab = *state;
	struct dp_stats st;

	ph_port_stuck(lab, 2);
	flood_past_port_2(lab, 5000);
	sync_all(lab);
	dp_get_stats(lab->dp, &st);
	assert_in_range(st.bufs_free, 64 / 2, 64 - 1); /* its writes wait, holding half at most */
}

/* Port 1's peer reads whatever comes, as fast as it can: an idle receiver. */
struct counting_reader {
	int fd;
	pthread_t th;
	atomic_bool stop;
	atomic_int n;
};

static void *counting_reader_main(void *arg)
{
	struct counting_reader *r = arg;
	uint8_t f[4096];

	while (!atomic_load(&r->stop)) {
		struct pollfd pfd = {.fd = r->fd, .events = POLLIN};

		if (poll(&pfd, 1, 20) == 1 && read(r->fd, f, sizeof(f)) > 0)
			atomic_fetch_add(&r->n, 1);
	}
	return NULL;
}

/*
 * A burst far above the receive buffers (64 here) to one port whose reader
 * keeps up: every frame arrives. The writes of one batch complete at once,
 * so they must not count against the cap meant for a port that never takes
 * its frames (test_stuck_reader_costs_only_its_own_frames keeps that one).
 */
static void test_burst_to_idle_receiver(void **state)
{
	static const int bursts[] = {1024, 2048, 4096};
	struct lab *lab = *state;
	static struct counting_reader r;
	uint8_t dst[6];
	int total = 0;

	ph_mac_of(1, dst);
	send_frame(lab, 1, mac_bcast, 0, 60); /* port 1 is learned: the burst is unicast */
	assert_int_equal(recv_tag(lab, 0), 0);
	assert_int_equal(recv_tag(lab, 2), 0);
	assert_int_equal(dp_counters_reset(lab->dp, DP_ALL), 0);
	r.fd = lab->peer[1];
	atomic_store(&r.stop, false);
	atomic_store(&r.n, 0);
	assert_int_equal(pthread_create(&r.th, NULL, counting_reader_main, &r), 0);
	for (size_t b = 0; b < sizeof(bursts) / sizeof(bursts[0]) && atomic_load(&r.n) == total;
	     b++) {
		for (int i = 0; i < bursts[b]; i++)
			send_frame(lab, 0, dst, (uint8_t)i, 60);
		total += bursts[b];
		WAIT_CTR(lab, 1, rx_packets, (uint64_t)total);
		for (int n = 0; n < 500 && atomic_load(&r.n) < total; n++)
			usleep(10000);
		if (atomic_load(&r.n) != total)
			print_error("burst of %d: %d of %d arrived in all, %llu dropped as queue full\n",
				    bursts[b], atomic_load(&r.n), total,
				    (unsigned long long)CTR(lab, 1, drop_queue_full));
	}
	atomic_store(&r.stop, true);
	pthread_join(r.th, NULL);
	assert_int_equal(atomic_load(&r.n), total);
	assert_int_equal(CTR(lab, 1, rx_packets), total);
	assert_int_equal(CTR(lab, 1, rx_dropped), 0);
}

/* ---- hooks and watched fds ---- */

struct seen {
	pthread_mutex_t lock;
	int n;
	struct {
		uint32_t port, peer;
		enum dp_hook_dir dir;
		char reason[32];
		uint8_t tag;
	} f[64];
};

static void on_hook(void *ctx, const struct dp_hook_frame *f)
{
	struct seen *s = ctx;

	pthread_mutex_lock(&s->lock);
	if (s->n < 64) {
		s->f[s->n].port = f->port;
		s->f[s->n].peer = f->peer;
		s->f[s->n].dir = f->dir;
		snprintf(s->f[s->n].reason, sizeof(s->f[0].reason), "%s",
			 f->drop_reason ? f->drop_reason : "");
		s->f[s->n].tag = f->len > 14 ? f->data[14] : 0;
		s->n++;
	}
	pthread_mutex_unlock(&s->lock);
}

static int seen_count(struct seen *s, int want)
{
	int n = 0;

	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&s->lock);
		n = s->n;
		pthread_mutex_unlock(&s->lock);
		if (n >= want)
			break;
		usleep(10000);
	}
	return n;
}

static void test_hooks_see_tx_rx_and_drops(void **state)
{
	struct lab *lab = *state;
	static struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};

	s.n = 0;
	assert_int_equal(dp_port_set_hook(lab->dp, lab->id[0], on_hook, &s), 0);
	assert_int_equal(dp_port_set_hook(lab->dp, lab->id[1], on_hook, &s), 0);
	assert_int_equal(dp_port_set_hook(lab->dp, 4242, on_hook, &s), -ENOENT);
	send_to(lab, 0, 1, 50); /* flooded: 0 tx, 1 rx (and 2, not hooked) */
	assert_int_equal(recv_tag(lab, 1), 50);
	assert_int_equal(seen_count(&s, 2), 2);
	for (int i = 0; i < 2; i++) {
		bool tx = s.f[i].port == lab->id[0];

		assert_int_equal(s.f[i].dir, tx ? DP_HOOK_GUEST_TX : DP_HOOK_GUEST_RX);
		assert_int_equal(s.f[i].tag, 50);
	}
	assert_int_equal(dp_partition_set(lab->dp, lab->id[0], lab->id[1], true), 0);
	send_to(lab, 0, 1, 51);
	assert_int_equal(recv_tag(lab, 2), 50);
	assert_int_equal(recv_tag(lab, 2), 51); /* still flooded to 2 */
	assert_int_equal(seen_count(&s, 4), 4);
	assert_int_equal(s.f[2].dir, DP_HOOK_GUEST_TX);
	assert_int_equal(s.f[3].dir, DP_HOOK_DROP);
	assert_string_equal(s.f[3].reason, "drop_partition");
	assert_int_equal(s.f[3].port, lab->id[0]);
	assert_int_equal(s.f[3].peer, lab->id[1]);
	assert_int_equal(s.f[3].tag, 51);
	/* Removed: no more calls. */
	assert_int_equal(dp_port_set_hook(lab->dp, lab->id[0], NULL, NULL), 0);
	assert_int_equal(dp_port_set_hook(lab->dp, lab->id[1], NULL, NULL), 0);
	send_to(lab, 0, 2, 52);
	assert_int_equal(recv_tag(lab, 2), 52);
	assert_int_equal(dp_sync(lab->dp), 0);
	assert_int_equal(seen_count(&s, 0), 4);
}

static _Atomic int watch_calls;

static void on_watch(void *ctx)
{
	uint64_t v;

	if (read(*(int *)ctx, &v, sizeof(v)) == sizeof(v))
		watch_calls++;
}

static void test_watch_fd(void **state)
{
	struct lab *lab = *state;
	static int efd;
	uint64_t one = 1;

	watch_calls = 0;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_equal(dp_watch_fd(lab->dp, efd, on_watch, &efd), 0);
	assert_int_equal(dp_watch_fd(lab->dp, efd, on_watch, &efd), -EEXIST);
	assert_int_equal(dp_watch_fd(lab->dp, -1, on_watch, &efd), -EINVAL);
	for (int round = 1; round <= 3; round++) {
		assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
		for (int i = 0; i < 500 && watch_calls < round; i++)
			usleep(10000);
		assert_int_equal(watch_calls, round);
	}
	assert_int_equal(dp_unwatch_fd(lab->dp, efd), 0);
	assert_int_equal(dp_unwatch_fd(lab->dp, efd), -ENOENT);
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(dp_sync(lab->dp), 0);
	usleep(50000);
	assert_int_equal(dp_sync(lab->dp), 0);
	assert_int_equal(watch_calls, 3);
	close(efd);
}

/* ---- virtio-net headers between offloading and plain ports ---- */

/* Frames from a vnet port (v) to a plain port (the lab's port 0) and back. */
struct vlab {
	struct lab *lab;
	uint32_t vid;
	int vpeer;
};

static void vlab_open(struct lab *lab, struct vlab *v)
{
	struct port *p;

	v->lab = lab;
	assert_int_equal(port_pair_open_vnet("v0", &p, &v->vpeer), 0);
	assert_int_equal(dp_port_add(lab->dp, lab->br, p, &v->vid), 0);
}

/* A TCPv4 frame from MAC 02::20 to port 0's MAC with payload_len bytes after the headers. */
static size_t build_tcp4(uint8_t *f, size_t payload_len)
{
	uint8_t dst[6];

	ph_mac_of(0, dst);
	return ph_tcp4_frame(f, dst, payload_len);
}

static uint16_t csum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* True when the TCPv4 checksum of frame f verifies. */
static bool tcp4_csum_ok(const uint8_t *f, size_t len)
{
	size_t tcp_len = len - 34;
	uint32_t sum = 0;

	sum += csum16(f + 26, 8, 0);
	sum += 6 + (uint32_t)tcp_len;
	return csum16(f + 34, tcp_len, sum) == 0xffff;
}

static void test_vnet_gso_to_plain_port(void **state)
{
	struct lab *lab = *state;
	uint8_t buf[4096], got[4096];
	struct vlab v;
	size_t len;

	vlab_open(lab, &v);
	/* A GSO super-frame of three 100-byte segments plus one of 50 bytes. */
	memset(buf, 0, VNET_HDR_LEN);
	len = build_tcp4(buf + VNET_HDR_LEN, 350);
	vnet_hdr_write(&(struct vnet_hdr){.flags = VNET_F_NEEDS_CSUM, .gso_type = VNET_GSO_TCPV4,
					  .hdr_len = 54, .gso_size = 100, .csum_start = 34,
					  .csum_offset = 16},
		       buf);
	assert_int_equal(write(v.vpeer, buf, VNET_HDR_LEN + len), (ssize_t)(VNET_HDR_LEN + len));
	for (int i = 0; i < 4; i++) {
		struct pollfd pfd = {.fd = lab->peer[0], .events = POLLIN};
		ssize_t n;

		assert_int_equal(poll(&pfd, 1, 5000), 1);
		n = read(lab->peer[0], got, sizeof(got));
		assert_int_equal(n, 54 + (i < 3 ? 100 : 50));
		assert_int_equal(got[54], (uint8_t)(i * 100)); /* payload in order */
		assert_true(tcp4_csum_ok(got, (size_t)n));
	}
	assert_int_equal(WAIT_CTR(lab, 0, rx_packets, 4), 4);
	/* Port 1 and 2 (plain too) got the same four wire packets by flooding. */
	assert_int_equal(WAIT_CTR(lab, 1, rx_packets, 4), 4);
}

static void test_vnet_partial_csum_to_plain_port(void **state)
{
	struct lab *lab = *state;
	uint8_t buf[4096], got[4096];
	struct vlab v;
	size_t len;

	vlab_open(lab, &v);
	memset(buf, 0, VNET_HDR_LEN);
	len = build_tcp4(buf + VNET_HDR_LEN, 33);
	{
		/* NEEDS_CSUM: the field holds the pseudo-header sum, as a guest kernel leaves it. */
		uint8_t *f = buf + VNET_HDR_LEN;
		uint16_t ph = csum16(f + 26, 8, 6 + (uint32_t)(len - 34));

		f[34 + 16] = (uint8_t)(ph >> 8);
		f[34 + 17] = (uint8_t)ph;
	}
	vnet_hdr_write(&(struct vnet_hdr){.flags = VNET_F_NEEDS_CSUM, .csum_start = 34,
					  .csum_offset = 16},
		       buf);
	assert_int_equal(write(v.vpeer, buf, VNET_HDR_LEN + len), (ssize_t)(VNET_HDR_LEN + len));
	assert_int_equal(read(lab->peer[0], got, sizeof(got)), (ssize_t)len);
	assert_true(tcp4_csum_ok(got, len));
}

static void test_plain_to_vnet_gets_header(void **state)
{
	struct lab *lab = *state;
	uint8_t got[4096];
	static const uint8_t zero[VNET_HDR_LEN];
	struct vlab v;

	vlab_open(lab, &v);
	send_frame(lab, 0, mac_bcast, 42, 60);
	assert_int_equal(read(v.vpeer, got, sizeof(got)), VNET_HDR_LEN + 60);
	assert_memory_equal(got, zero, VNET_HDR_LEN);
	assert_int_equal(got[VNET_HDR_LEN + 14], 42);
}

static void test_vnet_to_vnet_passes_gso_whole(void **state)
{
	struct lab *lab = *state;
	uint8_t buf[4096], got[4096];
	struct vlab v;
	struct port *p;
	uint32_t id;
	int peer;
	size_t len;

	vlab_open(lab, &v);
	assert_int_equal(port_pair_open_vnet("v1", &p, &peer), 0);
	assert_int_equal(dp_port_add(lab->dp, lab->br, p, &id), 0);
	memset(buf, 0, VNET_HDR_LEN);
	len = build_tcp4(buf + VNET_HDR_LEN, 300);
	vnet_hdr_write(&(struct vnet_hdr){.flags = VNET_F_NEEDS_CSUM, .gso_type = VNET_GSO_TCPV4,
					  .hdr_len = 54, .gso_size = 100, .csum_start = 34,
					  .csum_offset = 16},
		       buf);
	assert_int_equal(write(v.vpeer, buf, VNET_HDR_LEN + len), (ssize_t)(VNET_HDR_LEN + len));
	assert_int_equal(read(peer, got, sizeof(got)), (ssize_t)(VNET_HDR_LEN + len));
	assert_memory_equal(got, buf, VNET_HDR_LEN + len); /* untouched, header included */
	close(peer);
}

static void test_vnet_malformed_header(void **state)
{
	struct lab *lab = *state;
	uint8_t buf[128] = {0};
	struct vlab v;
	struct dp_counters c;

	vlab_open(lab, &v);
	build_tcp4(buf + VNET_HDR_LEN, 10);
	/* csum_start past the frame */
	vnet_hdr_write(&(struct vnet_hdr){.flags = VNET_F_NEEDS_CSUM, .csum_start = 200}, buf);
	assert_int_equal(write(v.vpeer, buf, VNET_HDR_LEN + 64), VNET_HDR_LEN + 64);
	assert_int_equal(write(v.vpeer, buf, 6), 6); /* shorter than the header */
	for (int i = 0; i < 500; i++) {
		assert_int_equal(dp_port_counters(lab->dp, v.vid, &c), 0);
		if (c.drop_malformed >= 2)
			break;
		usleep(10000);
	}
	assert_int_equal(c.drop_malformed, 2);
	assert_int_equal(c.tx_errors, 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, lab_setup, lab_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_flood_broadcast),   T(test_learn_then_unicast),
		T(test_fdb_dump_and_flush), T(test_fdb_dump_many), T(test_link_down),
		T(test_partition_one_way), T(test_runt_and_oversize),
		T(test_port_delete_and_stale_id), T(test_peer_gone),
		T(test_duplicate_names_and_bad_ids), T(test_bridge_delete),
		T(test_vnet_gso_to_plain_port), T(test_vnet_partial_csum_to_plain_port),
		T(test_plain_to_vnet_gets_header), T(test_vnet_to_vnet_passes_gso_whole),
		T(test_vnet_malformed_header), T(test_stuck_reader_costs_only_its_own_frames),
		T(test_stuck_port_holds_half_the_buffers), T(test_burst_to_idle_receiver),
		T(test_hooks_see_tx_rx_and_drops), T(test_watch_fd),
	};
	int fails = cmocka_run_group_tests_name("loop (multishot)", tests, NULL, NULL);

	no_multishot = true;
	fails += cmocka_run_group_tests_name("loop (single-shot fallback)", tests, NULL, NULL);
	return fails;
}
