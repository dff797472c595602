/* SPDX-License-Identifier: MIT */
/*
 * test_loop_impair: impairments in the real loop over `pair` ports, without
 * root. Thousands of numbered frames go from port 0 to port 1 while a reader
 * thread records what arrives and when; loss, duplicate and reorder rates
 * must fall within binomial bounds (5 sigma), counters must add up, the same
 * seed must give the same decisions, delays must never be shorter than
 * configured (upper bounds are wide: this is a shared, noisy machine), rate
 * never faster, and queued frames must be dropped and counted, never leaked,
 * when their port goes down or away.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dp.h"
#include "dp_impair.h"
#include "frame.h"
#include "clock.h"
#include "pair_harness.h"
#include "wake.h"
#include "stats_harness.h"

#define NPORTS PH_NPORTS
#define NBUFS 4096
#define MAXF 40000
#define MS 1000000ull

/* What port 1's peer received: sequence numbers, times, and the frames' bytes. */
struct reader {
	int fd;
	pthread_t th;
	atomic_bool stop;
	atomic_size_t n;
	uint32_t seq[2 * MAXF];
	uint64_t ts[2 * MAXF];
	uint8_t first[2048]; /* the first frame, whole */
	size_t first_len;
};

static struct reader rd;
static uint64_t sent_ts[MAXF];

/* Frame seq from port i to port j (broadcast when j < 0), len bytes, seq at offset 14. */
static void send_seq(struct lab *lab, int i, int j, uint32_t seq, size_t len)
{
	uint8_t f[2048] = {0};

	memset(f, 0xff, 6);
	if (j >= 0)
		ph_mac_of(j, f);
	ph_mac_of(i, f + 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	memcpy(f + 14, &seq, sizeof(seq));
	for (size_t k = 18; k < len; k++)
		f[k] = (uint8_t)(k * 7);
	assert_int_equal(write(lab->peer[i], f, len), (ssize_t)len);
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint8_t f[2048];

	while (!atomic_load(&r->stop)) {
		struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
		size_t n = atomic_load(&r->n);
		ssize_t len;

		if (poll(&pfd, 1, 20) != 1)
			continue;
		len = read(r->fd, f, sizeof(f));
		if (len < 18 || n >= 2 * MAXF)
			continue;
		r->ts[n] = clock_mono_ns();
		memcpy(&r->seq[n], f + 14, sizeof(uint32_t));
		if (n == 0) {
			memcpy(r->first, f, (size_t)len);
			r->first_len = (size_t)len;
		}
		atomic_store(&r->n, n + 1);
	}
	return NULL;
}

static void reader_start(struct lab *lab)
{
	rd.fd = lab->peer[1];
	atomic_store(&rd.stop, false);
	atomic_store(&rd.n, 0);
	rd.first_len = 0;
	assert_int_equal(pthread_create(&rd.th, NULL, reader_main, &rd), 0);
}

static void reader_stop(void)
{
	atomic_store(&rd.stop, true);
	pthread_join(rd.th, NULL);
}

/* Read what waits on port i's peer, without blocking. */
static void drain(struct lab *lab, int i)
{
	struct pollfd pfd = {.fd = lab->peer[i], .events = POLLIN};
	uint8_t f[2048];

	while (poll(&pfd, 1, 50) == 1)
		if (read(lab->peer[i], f, sizeof(f)) < 0)
			break;
}

static int lab_setup(void **state)
{
	static struct lab lab;
	struct dp_config cfg = {.nbufs = NBUFS, .buf_size = 4096};

	ph_lab_open(&lab, &cfg);
	/*
	 * The timer sleeps unless a test says otherwise: the learned spin (the
	 * default) polls through deadlines every 60 us, a core's worth, and on a
	 * loaded 2-core machine that stalls the sender past a 10 ms delay.
	 */
	assert_int_equal(dp_impair_timer_set(lab.dp, 0), 0);
	/* Everyone announces itself, so frames to port 1 go to port 1 only. */
	for (int i = 0; i < NPORTS; i++)
		send_seq(&lab, i, -1, 0, 60);
	for (int i = 0; i < NPORTS; i++)
		drain(&lab, i);
	*state = &lab;
	return 0;
}

static int lab_teardown(void **state)
{
	ph_lab_close(*state);
	return 0;
}

static struct dp_impair_target pair01(struct lab *lab)
{
	return (struct dp_impair_target){DP_IMPAIR_PAIR, lab->id[0], lab->id[1]};
}

static struct impair_stats stats01(struct lab *lab)
{
	struct dp_impair_target t = pair01(lab);
	struct impair_stats st;

	assert_int_equal(dp_impair_get(lab->dp, &t, NULL, &st), 0);
	return st;
}

static struct dp_counters ctr(struct lab *lab, int i)
{
	struct dp_counters c;

	assert_int_equal(dp_port_counters(lab->dp, lab->id[i], &c), 0);
	return c;
}

/* Send n frames 0 -> 1 of len bytes, `burst` at a time with a pause between. */
static void send_stream(struct lab *lab, uint32_t n, size_t len, uint32_t burst, useconds_t pause)
{
	for (uint32_t s = 0; s < n; s++) {
		sent_ts[s] = clock_mono_ns();
		send_seq(lab, 0, 1, s, len);
		if ((s + 1) % burst == 0 && pause)
			usleep(pause);
	}
}

/*
 * Wait (up to 30 s) until the pair's queue is empty and the reader saw `want`
 * frames and every frame the switch wrote to port 1 (a loaded machine may
 * hold the reader off long after the switch is done).
 */
static size_t settle(struct lab *lab, size_t want)
{
	for (int i = 0; i < 3000; i++) {
		size_t n = atomic_load(&rd.n);

		if (stats01(lab).queue_packets == 0 && n >= want && n >= ctr(lab, 1).rx_packets)
			break;
		usleep(10000);
	}
	usleep(50000); /* stragglers */
	return atomic_load(&rd.n);
}

/*
 * The pair's frames are all accounted for: received + dropped == sent +
 * duplicated. Beyond the impairment's own drops, a loaded machine may drop
 * at the output (the reader thread lagging fills port 1's socket, or the
 * write slots run out); those count too, but never as impairment loss.
 */
static void assert_accounted(struct lab *lab, uint32_t sent, size_t got)
{
	struct impair_stats st = stats01(lab);
	struct dp_counters c = ctr(lab, 1);

	assert_int_equal(c.rx_packets, got);
	assert_int_equal(got + c.drop_impair_loss + c.drop_queue_full + c.drop_no_buffer,
			 sent + st.duplicated);
	assert_int_equal(c.drop_impair_loss, st.dropped_loss);
	assert_int_equal(st.queue_packets, 0);
}

static void set01(struct lab *lab, const struct impair_cfg *cfg)
{
	struct dp_impair_target t = pair01(lab);

	assert_int_equal(dp_impair_set(lab->dp, &t, cfg), 0);
	assert_int_equal(dp_counters_reset(lab->dp, DP_ALL), 0);
}

/*
 * Set the pair's knobs to cfg, send n frames as send_stream() does while the
 * reader records, and return how many arrived once settle() saw want.
 */
static size_t run01(struct lab *lab, const struct impair_cfg *cfg, uint32_t n, size_t len,
		    uint32_t burst, useconds_t pause, size_t want)
{
	size_t got;

	set01(lab, cfg);
	reader_start(lab);
	send_stream(lab, n, len, burst, pause);
	got = settle(lab, want);
	reader_stop();
	return got;
}

/* ---- rates ---- */

static void test_loss_rate(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.loss = 10, .seed = 1};
	size_t got;

	got = run01(lab, &cfg, 20000, 60, 32, 100, 17000);
	assert_binomial(stats01(lab).dropped_loss, 20000, 0.10);
	assert_accounted(lab, 20000, got);
}

/* Port 1's hook: which sequence numbers the impairment's loss took. */
static bool lost_seq[MAXF];

static void record_loss(void *ctx, const struct dp_hook_frame *f)
{
	uint32_t seq;

	(void)ctx;
	if (f->dir != DP_HOOK_DROP || strcmp(f->drop_reason, "drop_impair_loss") != 0 || f->len < 18)
		return;
	memcpy(&seq, f->data + 14, sizeof(seq));
	if (seq < MAXF)
		lost_seq[seq] = true;
}

/* Simple Gilbert (1-h 100%, 1-k 0) on real frames: bursts of 1/r on average, loss p/(p+r). */
static void test_gilbert_elliott_burst(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.loss_model = IMPAIR_LOSS_GE, .ge = {.p = 2, .r = 20, .h = 100},
				 .seed = 3};
	size_t got, lost = 0, bursts = 0;
	double burst;

	/* The switch says which frames its loss took: other drops on a loaded machine do not count. */
	memset(lost_seq, 0, sizeof(lost_seq));
	assert_int_equal(dp_port_set_hook(lab->dp, lab->id[1], record_loss, NULL), 0);
	got = run01(lab, &cfg, 30000, 60, 32, 100, 25000);
	assert_int_equal(dp_port_set_hook(lab->dp, lab->id[1], NULL, NULL), 0);
	assert_accounted(lab, 30000, got);
	for (uint32_t s = 0; s < 30000; s++) {
		lost += lost_seq[s];
		bursts += lost_seq[s] && (s == 0 || !lost_seq[s - 1]);
	}
	assert_int_equal(lost, stats01(lab).dropped_loss);
	burst = (double)lost / (double)bursts;
	/* about 545 geometric bursts, sd sqrt(1-r)/r = 4.5: 5 sigma of their mean is 0.96 */
	if (fabs(burst - 5.0) > 0.96 || fabs((double)lost / 30000 - 2.0 / 22) > 0.03) {
		print_error("%zu lost in %zu bursts (mean %.2f), expected 5 and %.3f lost\n", lost,
			    bursts, burst, 2.0 / 22);
		fail();
	}
}

static void test_duplicate_rate(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.duplicate = 5, .seed = 2};
	size_t got;

	got = run01(lab, &cfg, 20000, 60, 32, 100, 20000);
	assert_binomial(stats01(lab).duplicated, 20000, 0.05);
	assert_accounted(lab, 20000, got);
}

/* Frames that arrive while an earlier one is still missing: the reordered ones. */
static size_t overtakers(size_t n, uint32_t nsent)
{
	static bool seen[MAXF], arrives[MAXF];
	uint32_t expect = 0;
	size_t over = 0;

	memset(seen, 0, sizeof(seen));
	memset(arrives, 0, sizeof(arrives));
	for (size_t i = 0; i < n; i++)
		if (rd.seq[i] < nsent)
			arrives[rd.seq[i]] = true;
	for (size_t i = 0; i < n; i++) {
		uint32_t s = rd.seq[i];

		if (s >= nsent)
			continue;
		over += s > expect;
		seen[s] = true;
		/* A frame that never comes (dropped at the output) is not waited for. */
		while (expect < nsent && (seen[expect] || !arrives[expect]))
			expect++;
	}
	return over;
}

static void test_reorder_rate(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.delay_ns = 10 * MS, .reorder = 25, .seed = 3};
	struct impair_stats st;
	size_t got, over;

	got = run01(lab, &cfg, 10000, 60, 16, 100, 10000);
	st = stats01(lab);
	over = overtakers(got, 10000);
	/*
	 * The rate is over the frames that reached the decision: when the loop
	 * was held off and then reads thousands at once, the delay queue fills
	 * (half the buffers) and drops the rest before they are decided. Every
	 * decided frame is either reordered or delayed.
	 */
	assert_binomial(st.reordered, st.reordered + st.delayed, 0.25);
	/*
	 * Each reordered frame overtakes the delayed ones still on their way;
	 * none is on its way when the sender stalled for longer than the delay
	 * (a loaded machine), so only a wide lower bound holds.
	 */
	assert_true(over <= st.reordered);
	assert_true(over >= st.reordered / 2);
	assert_accounted(lab, 10000, got);
}

/* ---- time ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_delay(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.delay_ns = 20 * MS};
	static uint64_t d[MAXF];
	size_t got;

	got = run01(lab, &cfg, 1000, 60, 1, 100, 1000);
	assert_int_equal(got, 1000);
	for (size_t i = 0; i < got; i++)
		d[i] = rd.ts[i] - sent_ts[rd.seq[i]];
	qsort(d, got, sizeof(d[0]), cmp_u64);
	assert_true(d[0] >= 20 * MS); /* never early */
	assert_true(d[got / 2] < 20 * MS + 500 * MS); /* wide: a shared machine */
	assert_int_equal(stats01(lab).delayed, 1000);
}

/* Frames the delay queue sent so far, from the lateness histogram. */
static uint64_t timer_sent(struct lab *lab)
{
	struct dp_impair_timer t;
	uint64_t n = 0;

	dp_impair_timer_get(lab->dp, &t);
	for (unsigned int i = 0; i < DP_IMPAIR_LATE_BUCKETS; i++)
		n += t.late[i];
	return n;
}

/*
 * With nothing due, the loop sleeps: over 200 ms it handles a few batches at
 * most (its once-a-second tick), where a loop re-arming a past timer or
 * polling for a stale deadline handles thousands.
 */
static void assert_loop_idle(struct lab *lab)
{
	struct dp_stats a, b;

	dp_get_stats(lab->dp, &a);
	usleep(200000);
	dp_get_stats(lab->dp, &b);
	if (b.batches - a.batches > 20) {
		print_error("%llu batches while idle\n",
			    (unsigned long long)(b.batches - a.batches));
		fail();
	}
}

/* Polling before deadlines: frames still never leave early, all are counted, then it sleeps. */
static void test_delay_spin(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.delay_ns = 5 * MS};
	struct dp_impair_timer t;
	uint64_t before = timer_sent(lab);
	size_t got;

	assert_int_equal(dp_impair_timer_set(lab->dp, DP_IMPAIR_SPIN_MAX_US + 1), -ERANGE);
	assert_int_equal(dp_impair_timer_set(lab->dp, DP_IMPAIR_SPIN_MAX_US), 0);
	dp_impair_timer_get(lab->dp, &t);
	assert_int_equal(t.spin_us, DP_IMPAIR_SPIN_MAX_US);
	got = run01(lab, &cfg, 300, 60, 1, 700, 300);
	assert_int_equal(got, 300);
	for (size_t i = 0; i < got; i++)
		assert_true(rd.ts[i] - sent_ts[rd.seq[i]] >= 5 * MS); /* never early */
	assert_int_equal(timer_sent(lab) - before, 300);
	assert_loop_idle(lab);
	assert_int_equal(dp_impair_timer_set(lab->dp, 0), 0);
}

/* The learned spin: frames never leave early, all are counted, then it sleeps. */
static void test_delay_auto(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.delay_ns = 2 * MS};
	struct dp_impair_timer t;
	uint64_t before = timer_sent(lab);
	size_t got;

	assert_int_equal(dp_impair_timer_set(lab->dp, DP_IMPAIR_SPIN_AUTO), 0);
	got = run01(lab, &cfg, 300, 60, 1, 700, 300);
	assert_int_equal(got, 300);
	for (size_t i = 0; i < got; i++)
		assert_true(rd.ts[i] - sent_ts[rd.seq[i]] >= 2 * MS); /* never early */
	assert_int_equal(timer_sent(lab) - before, 300);
	dp_impair_timer_get(lab->dp, &t);
	assert_true(t.spin_auto);
	assert_in_range(t.spin_us, WAKE_SPIN_MIN_NS / 1000, WAKE_SPIN_MAX_NS / 1000);
	assert_loop_idle(lab);
}

/* A schedule removed while its frames wait: they still leave, and then the loop sleeps. */
static void test_idle_after_schedule_removed(void **state)
{
	struct lab *lab = *state;
	struct dp_impair_target t = pair01(lab);
	struct impair_step steps[2] = {{.at_ns = 0, .cfg = {.delay_ns = 300 * MS}},
				       {.at_ns = 100 * MS}};
	struct dp_impair_timer tm;
	size_t got;

	assert_int_equal(dp_impair_schedule(lab->dp, &t, steps, 2, 0), 0);
	reader_start(lab);
	send_stream(lab, 20, 60, 1, 0);
	/* The schedule goes while its next step is 100 ms away and the frames 300 ms. */
	assert_int_equal(dp_impair_set(lab->dp, &t, &(struct impair_cfg){.delay_ns = 300 * MS}), 0);
	/* No dp_* call meanwhile: its command would wake a loop that forgot its timer. */
	for (int i = 0; i < 500 && atomic_load(&rd.n) < 20; i++)
		usleep(10000);
	got = atomic_load(&rd.n);
	reader_stop();
	assert_int_equal(got, 20);
	/* Not left for the loop's once-a-second tick: none is 2^17 us (131 ms) late or more. */
	dp_impair_timer_get(lab->dp, &tm);
	for (unsigned int i = 18; i < DP_IMPAIR_LATE_BUCKETS; i++)
		assert_int_equal(tm.late[i], 0);
	assert_loop_idle(lab);
}

/* With jitter frames overtake each other, unless keep_order. */
static void test_jitter_keep_order(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.delay_ns = 10 * MS, .jitter_ns = 5 * MS, .keep_order = true};
	size_t got;

	got = run01(lab, &cfg, 2000, 60, 8, 100, 2000);
	assert_int_equal(got, 2000);
	for (size_t i = 0; i < got; i++)
		assert_int_equal(rd.seq[i], i);
	cfg.keep_order = false;
	got = run01(lab, &cfg, 2000, 60, 8, 100, 2000);
	assert_int_equal(got, 2000);
	assert_true(overtakers(got, 2000) > 100);
}

/* A rate-limited link is never faster than its rate (and, loosely, not much slower). */
static void test_rate(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.rate_bps = 10000000};
	double bits, secs, bps;
	size_t got;

	got = run01(lab, &cfg, 500, 1250, 50, 0, 500); /* 10,000 bits each: 1 ms at 10 Mbit/s */
	assert_int_equal(got, 500);
	bits = 499 * 1250 * 8.0;
	secs = (double)(rd.ts[got - 1] - rd.ts[0]) / 1e9;
	bps = bits / secs;
	print_message("rate: configured 10 Mbit/s, achieved %.3f Mbit/s\n", bps / 1e6);
	assert_true(bps < 10e6 * 1.2);
	assert_true(bps > 10e6 * 0.5);
}

static void test_queue_limit(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.rate_bps = 1000000, .limit_packets = 50};
	struct impair_stats st;
	struct dp_counters c;
	size_t got;

	got = run01(lab, &cfg, 200, 125, 200, 0,
		    50); /* 1 ms each on the link: the queue overflows */
	st = stats01(lab);
	c = ctr(lab, 1);
	assert_true(st.dropped_queue > 0);
	assert_true(got >= 50);
	assert_int_equal(c.drop_queue_full, st.dropped_queue);
	assert_accounted(lab, 200, got);
}

/* ---- determinism ---- */

/* How many copies of each of n frames arrived, into count[]. */
static void copies(size_t got, uint8_t *count, uint32_t n)
{
	memset(count, 0, n);
	for (size_t i = 0; i < got; i++)
		if (rd.seq[i] < n)
			count[rd.seq[i]]++;
}

static void test_same_seed_same_decisions(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.loss = 30, .loss_corr = 20, .duplicate = 10, .seed = 77};
	static uint8_t a[MAXF], b[MAXF];
	size_t got;

	for (int run = 0; run < 2; run++) {
		set01(lab, NULL);
		set01(lab, &cfg);
		reader_start(lab);
		send_stream(lab, 3000, 60, 32, 100);
		got = settle(lab, 2000);
		reader_stop();
		copies(got, run ? b : a, 3000);
	}
	assert_memory_equal(a, b, 3000);
	/* Another seed decides otherwise. */
	cfg.seed = 78;
	got = run01(lab, &cfg, 3000, 60, 32, 100, 2000);
	copies(got, b, 3000);
	assert_memory_not_equal(a, b, 3000);
}

/* ---- corruption ---- */

static void test_corrupt_private_copy(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.corrupt = 100};
	uint8_t want[2048] = {0}, other[2048];
	int diff_bits = 0;

	set01(lab, &cfg);
	reader_start(lab);
	/* A broadcast reaches 1 (corrupted) and 2 (through a shared buffer: intact). */
	send_seq(lab, 0, -1, 5, 200);
	settle(lab, 1);
	reader_stop();
	memset(want, 0xff, 6);
	ph_mac_of(0, want + 6);
	want[12] = 0x88;
	want[13] = 0xb5;
	want[14] = 5;
	for (size_t k = 18; k < 200; k++)
		want[k] = (uint8_t)(k * 7);
	assert_int_equal(rd.first_len, 200);
	for (size_t k = 0; k < 200; k++)
		diff_bits += __builtin_popcount(rd.first[k] ^ want[k]);
	assert_int_equal(diff_bits, 1);
	assert_int_equal(read(lab->peer[2], other, sizeof(other)), 200);
	assert_memory_equal(other, want, 200);
	assert_int_equal(stats01(lab).corrupted, 1);
}

/* ---- queued frames when a port goes ---- */

/* Queue n frames 0 -> 1 behind a long delay and wait until they are all queued. */
static void queue_frames(struct lab *lab, uint32_t n)
{
	struct impair_cfg cfg = {.delay_ns = 60000 * MS};

	set01(lab, &cfg);
	for (uint32_t s = 0; s < n; s++)
		send_seq(lab, 0, 1, s, 60);
	for (int i = 0; i < 500 && stats01(lab).queue_packets < n; i++)
		usleep(10000);
	assert_int_equal(stats01(lab).queue_packets, n);
}

static void assert_all_buffers_free(struct lab *lab)
{
	struct dp_stats st;

	dp_sync(lab->dp);
	dp_get_stats(lab->dp, &st);
	assert_int_equal(st.bufs_free, NBUFS);
}

/*
 * A frame the impairment stage sends at once but cannot post (no write slot
 * free) is dropped, and its receive buffer comes back exactly once: all
 * buffers are free afterwards.
 */
static void test_post_failure_returns_buffer_once(void **state)
{
	struct dp_config cfg = {.nbufs = 256, .buf_size = 4096, .tx_slots = 4};
	struct impair_cfg ic = {.loss = 1, .seed = 5};
	struct lab lab;
	struct dp_stats st;

	(void)state;
	ph_lab_open(&lab, &cfg);
	for (int i = 0; i < NPORTS; i++)
		send_seq(&lab, i, -1, 0, 60);
	for (int i = 0; i < NPORTS; i++)
		drain(&lab, i);
	set01(&lab, &ic);
	ph_port_stuck(&lab, 1); /* its writes wait: the 4 slots run out */
	for (uint32_t s = 0; s < 3000; s++) {
		send_seq(&lab, 0, 1, s, 60);
		if (s % 250 == 249)
			drain(&lab, 1);
	}
	drain(&lab, 1);
	assert_true(ctr(&lab, 1).drop_no_buffer > 0); /* posts did fail */
	dp_sync(lab.dp);
	dp_get_stats(lab.dp, &st);
	assert_int_equal(st.bufs_free, 256);
	ph_lab_close(&lab);
}

static void test_link_down_drops_queued(void **state)
{
	struct lab *lab = *state;
	struct impair_stats st;

	queue_frames(lab, 10);
	assert_int_equal(dp_port_set_link(lab->dp, lab->id[1], false), 0);
	st = stats01(lab);
	assert_int_equal(st.queue_packets, 0);
	assert_int_equal(st.dropped_port, 10);
	assert_int_equal(ctr(lab, 1).drop_link_down, 10);
	assert_all_buffers_free(lab);
	assert_int_equal(dp_port_set_link(lab->dp, lab->id[1], true), 0);
	set01(lab, NULL);
}

static void test_port_del_drops_queued(void **state)
{
	struct lab *lab = *state;
	struct dp_impair_entry list[4];
	struct port *p;

	queue_frames(lab, 10);
	assert_int_equal(dp_port_del(lab->dp, lab->id[1]), 0);
	assert_all_buffers_free(lab);
	assert_int_equal(dp_impair_list(lab->dp, DP_ALL, list, 4), 0); /* the pair went too */
	close(lab->peer[1]);
	assert_int_equal(port_pair_open("p1", &p, &lab->peer[1]), 0);
	assert_int_equal(dp_port_add(lab->dp, lab->br, p, &lab->id[1]), 0);
}

/* ---- targets, GSO, schedules ---- */

/* Port 0's rx and port 1's tx do not touch 0 -> 1; port 1's rx does. */
static void test_targets_on_path(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg all = {.loss = 100};
	struct dp_impair_target rx0 = {DP_IMPAIR_PORT_RX, lab->id[0], 0};
	struct dp_impair_target tx1 = {DP_IMPAIR_PORT_TX, lab->id[1], 0};
	struct dp_impair_target rx1 = {DP_IMPAIR_PORT_RX, lab->id[1], 0};
	struct dp_impair_target bad = {DP_IMPAIR_PAIR, lab->id[0], lab->id[0]};

	assert_int_equal(dp_impair_set(lab->dp, &bad, &all), -EINVAL);
	assert_int_equal(dp_impair_set(lab->dp, &rx0, &all), 0);
	assert_int_equal(dp_impair_set(lab->dp, &tx1, &all), 0);
	assert_int_equal(dp_counters_reset(lab->dp, DP_ALL), 0);
	reader_start(lab);
	send_seq(lab, 0, 1, 1, 60);
	for (int i = 0; i < 500 && atomic_load(&rd.n) < 1; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&rd.n), 1);
	assert_int_equal(dp_impair_set(lab->dp, &rx1, &all), 0);
	send_seq(lab, 0, 1, 2, 60);
	for (int i = 0; i < 500 && ctr(lab, 1).drop_impair_loss < 1; i++)
		usleep(10000);
	reader_stop();
	assert_int_equal(ctr(lab, 1).drop_impair_loss, 1);
	assert_int_equal(atomic_load(&rd.n), 1);
	assert_int_equal(dp_impair_clear_all(lab->dp, lab->br), 0);
	assert_int_equal(dp_impair_get(lab->dp, &rx1, NULL, NULL), -ENODATA);
}

static void test_schedule_applied_at_its_time(void **state)
{
	struct lab *lab = *state;
	struct dp_impair_target t = pair01(lab);
	struct impair_step steps[2] = {{.at_ns = 0}, {.at_ns = 200 * MS, .cfg = {.loss = 100}}};
	struct impair_cfg cfg;
	uint64_t start = clock_mono_ns();

	assert_int_equal(dp_impair_schedule(lab->dp, &t, steps, 2, 0), 0);
	do {
		usleep(5000);
		assert_int_equal(dp_impair_get(lab->dp, &t, &cfg, NULL), 0);
	} while (cfg.loss == 0 && clock_mono_ns() - start < 10000 * MS);
	assert_true(cfg.loss == 100);
	assert_true(clock_mono_ns() - start >= 200 * MS); /* not before its time */
	assert_int_equal(dp_counters_reset(lab->dp, DP_ALL), 0);
	for (uint32_t s = 0; s < 20; s++)
		send_seq(lab, 0, 1, s, 60);
	for (int i = 0; i < 500 && ctr(lab, 1).drop_impair_loss < 20; i++)
		usleep(10000);
	assert_int_equal(ctr(lab, 1).drop_impair_loss, 20);
	set01(lab, NULL);
}

/* A TCPv4 GSO frame of nseg segments of 100 bytes from MAC 02::20 to port dst (-1: unknown). */
static size_t build_gso(uint8_t *buf, unsigned int nseg, int dst)
{
	size_t payload = 100 * nseg;
	uint8_t mac[6];

	memset(buf, 0, VNET_HDR_LEN);
	ph_mac_of(dst < 0 ? 0x89 : dst, mac);
	ph_tcp4_frame(buf + VNET_HDR_LEN, mac, payload);
	vnet_hdr_write(&(struct vnet_hdr){.flags = VNET_F_NEEDS_CSUM,
					  .gso_type = VNET_GSO_TCPV4,
					  .hdr_len = 54,
					  .gso_size = 100,
					  .csum_start = 34,
					  .csum_offset = 16},
		       buf);
	return VNET_HDR_LEN + 54 + payload;
}

/*
 * A GSO frame of more wire packets than are decided at once (IMP_MAX_WIRE,
 * 256) is cut and decided packet by packet; it used to be dropped whole.
 */
static void test_gso_many_wire_packets(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.loss = 30, .seed = 11};
	const unsigned int nseg = 300, mss = 10;
	struct dp_impair_target t;
	uint8_t buf[4096], mac[6];
	struct port *p;
	uint32_t vid;
	int vpeer, got = 0;
	size_t len;

	memset(buf, 0, VNET_HDR_LEN);
	ph_mac_of(0, mac);
	len = VNET_HDR_LEN + ph_tcp4_frame(buf + VNET_HDR_LEN, mac, nseg * mss);
	vnet_hdr_write(&(struct vnet_hdr){.flags = VNET_F_NEEDS_CSUM,
					  .gso_type = VNET_GSO_TCPV4,
					  .hdr_len = 54,
					  .gso_size = mss,
					  .csum_start = 34,
					  .csum_offset = 16},
		       buf);
	assert_int_equal(port_pair_open_vnet("v0", &p, &vpeer), 0);
	assert_int_equal(dp_port_add(lab->dp, lab->br, p, &vid), 0);
	t = (struct dp_impair_target){DP_IMPAIR_PAIR, vid, lab->id[0]};
	assert_int_equal(dp_impair_set(lab->dp, &t, &cfg), 0);
	assert_int_equal(dp_counters_reset(lab->dp, DP_ALL), 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(write(vpeer, buf, len), (ssize_t)len);
		for (struct pollfd pfd = {.fd = lab->peer[0], .events = POLLIN};
		     poll(&pfd, 1, 100) == 1;)
			got += read(lab->peer[0], buf + 3500, 512) == 54 + (ssize_t)mss;
	}
	assert_int_equal(ctr(lab, 0).drop_no_offload, 0);
	assert_binomial(3000 - (uint64_t)got, 3000, 0.30);
	assert_int_equal(ctr(lab, 0).drop_impair_loss, 3000 - (uint64_t)got);
	assert_int_equal(dp_port_del(lab->dp, vid), 0);
	close(vpeer);
}

/* Loss on a GSO frame counts wire packets: the frame is cut, lost packets are missing. */
static void test_gso_loss_per_wire_packet(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.loss = 30, .seed = 9};
	struct dp_impair_target t;
	uint8_t buf[4096];
	struct port *p;
	uint32_t vid;
	int vpeer, got = 0;
	size_t len = build_gso(buf, 10, 0);

	assert_int_equal(port_pair_open_vnet("v0", &p, &vpeer), 0);
	assert_int_equal(dp_port_add(lab->dp, lab->br, p, &vid), 0);
	t = (struct dp_impair_target){DP_IMPAIR_PAIR, vid, lab->id[0]};
	assert_int_equal(dp_impair_set(lab->dp, &t, &cfg), 0);
	assert_int_equal(dp_counters_reset(lab->dp, DP_ALL), 0);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(write(vpeer, buf, len), (ssize_t)len);
		for (struct pollfd pfd = {.fd = lab->peer[0], .events = POLLIN};
		     poll(&pfd, 1, 100) == 1;)
			got += read(lab->peer[0], buf + 2048, 2048) == 154;
	}
	assert_binomial(1000 - (uint64_t)got, 1000, 0.30);
	assert_int_equal(ctr(lab, 0).drop_impair_loss, 1000 - (uint64_t)got);
	assert_int_equal(dp_port_del(lab->dp, vid), 0);
	close(vpeer);
}

/* Delay alone keeps a GSO frame whole between offloading ports. */
static void test_gso_delay_keeps_frame_whole(void **state)
{
	struct lab *lab = *state;
	struct impair_cfg cfg = {.delay_ns = 5 * MS};
	struct dp_impair_target t;
	uint8_t buf[4096], got[4096];
	struct port *p;
	uint32_t v0, v1;
	int peer0, peer1;
	size_t len = build_gso(buf, 10, -1);

	assert_int_equal(port_pair_open_vnet("v0", &p, &peer0), 0);
	assert_int_equal(dp_port_add(lab->dp, lab->br, p, &v0), 0);
	assert_int_equal(port_pair_open_vnet("v1", &p, &peer1), 0);
	assert_int_equal(dp_port_add(lab->dp, lab->br, p, &v1), 0);
	t = (struct dp_impair_target){DP_IMPAIR_PORT_RX, v1, 0};
	assert_int_equal(dp_impair_set(lab->dp, &t, &cfg), 0);
	assert_int_equal(write(peer0, buf, len), (ssize_t)len);
	assert_int_equal(read(peer1, got, sizeof(got)), (ssize_t)len);
	assert_memory_equal(got, buf, len);
	assert_int_equal(dp_impair_get(lab->dp, &t, NULL, &(struct impair_stats){0}), 0);
	for (int i = 0; i < NPORTS; i++)
		drain(lab, i);
	assert_int_equal(dp_port_del(lab->dp, v0), 0);
	assert_int_equal(dp_port_del(lab->dp, v1), 0);
	close(peer0);
	close(peer1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, lab_setup, lab_teardown)
	const struct CMUnitTest tests[] = {
		T(test_loss_rate),
		T(test_gilbert_elliott_burst),
		T(test_duplicate_rate),
		T(test_reorder_rate),
		T(test_delay),
		T(test_delay_spin),
		T(test_delay_auto),
		T(test_idle_after_schedule_removed),
		T(test_jitter_keep_order),
		T(test_rate),
		T(test_queue_limit),
		T(test_same_seed_same_decisions),
		T(test_corrupt_private_copy),
		cmocka_unit_test(test_post_failure_returns_buffer_once),
		T(test_link_down_drops_queued),
		T(test_port_del_drops_queued),
		T(test_targets_on_path),
		T(test_schedule_applied_at_its_time),
		T(test_gso_loss_per_wire_packet),
		T(test_gso_many_wire_packets),
		T(test_gso_delay_keeps_frame_whole),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
