/* SPDX-License-Identifier: MIT */
/*
 * test_impair: the impairment engine. Every decision deterministically with
 * fixed seeds (same seed, same verdicts), then statistics over tens of
 * thousands of decisions against binomial bounds (5 sigma) or analytic
 * values: loss, duplicate, corrupt and reorder rates, correlation, the
 * Gilbert-Elliott and 4-state burst lengths, delay percentiles of each
 * distribution, rate, queue limits and schedules. Time is passed in; no
 * clock is read.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "impair.h"
#include "stats_harness.h"

#define MS 1000000ull
#define SEED 42

static void assert_near(double got, double want, double tol)
{
	if (fabs(got - want) > tol) {
		print_error("got %f, want %f +- %f\n", got, want, tol);
		fail();
	}
}

/* Run n decisions of len-byte packets, one every gap_ns from t=0; count verdicts. */
struct tally {
	uint64_t pass, lost, queue, dup, corrupt, reordered;
};

static void run(const struct impair_cfg *cfg, struct impair_state *st, int n, uint64_t gap_ns,
		struct tally *t)
{
	struct impair_verdict v;

	memset(t, 0, sizeof(*t));
	for (int i = 0; i < n; i++) {
		impair_decide(cfg, st, (uint64_t)i * gap_ns, 1000, &v);
		t->pass += v.drop == IMPAIR_PASS;
		t->lost += v.drop == IMPAIR_DROP_LOSS;
		t->queue += v.drop == IMPAIR_DROP_QUEUE;
		t->dup += v.copies == 2;
		t->corrupt += v.corrupt;
		t->reordered += v.reordered;
		if (v.copies)
			impair_release(st, 1000 * v.copies, v.copies);
	}
}

/* ---- determinism ---- */

static struct impair_cfg cfg_everything(void)
{
	return (struct impair_cfg){.delay_ns = 10 * MS,
				   .jitter_ns = 3 * MS,
				   .delay_corr = 20,
				   .dist = IMPAIR_DIST_NORMAL,
				   .loss = 10,
				   .loss_corr = 25,
				   .duplicate = 5,
				   .corrupt = 5,
				   .reorder = 20,
				   .reorder_gap = 3,
				   .rate_bps = 100000000,
				   .rate_overhead = 24};
}

static void test_same_seed_same_verdicts(void **state)
{
	struct impair_cfg cfg = cfg_everything();
	struct impair_state a, b, c;
	struct impair_verdict va, vb, vc;
	int differ = 0;

	(void)state;
	impair_state_init(&a, SEED);
	impair_state_init(&b, SEED);
	impair_state_init(&c, SEED + 1);
	for (int i = 0; i < 5000; i++) {
		uint64_t now = (uint64_t)i * 50000;

		impair_decide(&cfg, &a, now, 60 + (size_t)i % 1400, &va);
		impair_decide(&cfg, &b, now, 60 + (size_t)i % 1400, &vb);
		impair_decide(&cfg, &c, now, 60 + (size_t)i % 1400, &vc);
		assert_memory_equal(&va, &vb, sizeof(va));
		differ += memcmp(&va, &vc, sizeof(va)) != 0;
	}
	assert_memory_equal(&a.stats, &b.stats, sizeof(a.stats));
	assert_true(differ > 1000);
}

static void test_rng_reproducible(void **state)
{
	struct impair_state a, b;

	(void)state;
	impair_state_init(&a, 7);
	impair_state_init(&b, 7);
	for (int i = 0; i < 100; i++)
		assert_int_equal(impair_rng_next(&a.rng), impair_rng_next(&b.rng));
	impair_state_init(&b, 8);
	assert_int_not_equal(impair_rng_next(&a.rng), impair_rng_next(&b.rng));
}

/* No knob set: every packet passes at once and no random number is drawn. */
static void test_noop(void **state)
{
	struct impair_cfg cfg = {0};
	struct impair_state st, before;
	struct impair_verdict v;

	(void)state;
	assert_true(impair_cfg_is_noop(&cfg));
	cfg.seed = 99;
	assert_true(impair_cfg_is_noop(&cfg));
	impair_state_init(&st, 1);
	before = st;
	for (int i = 0; i < 100; i++) {
		impair_decide(&cfg, &st, 1000 + (uint64_t)i, 60, &v);
		assert_int_equal(v.drop, IMPAIR_PASS);
		assert_int_equal(v.copies, 1);
		assert_false(v.corrupt);
		assert_int_equal(v.send_ns, 1000 + (uint64_t)i);
		impair_release(&st, 60, 1);
	}
	assert_memory_equal(&st.rng, &before.rng, sizeof(st.rng));
	assert_int_equal(st.stats.delayed, 0);
	assert_int_equal(st.stats.queue_packets, 0);
	cfg.delay_ns = 1;
	assert_false(impair_cfg_is_noop(&cfg));
}

static void test_cfg_check(void **state)
{
	struct impair_cfg cfg = {0};
	const char *field;

	(void)state;
	assert_int_equal(impair_cfg_check(&cfg, &field), 0);
	assert_null(field);
	cfg.loss = 100.5;
	assert_int_equal(impair_cfg_check(&cfg, &field), -EINVAL);
	assert_string_equal(field, "loss");
	cfg = (struct impair_cfg){.reorder = 10};
	assert_int_equal(impair_cfg_check(&cfg, &field), -EINVAL);
	assert_string_equal(field, "reorder");
	cfg.delay_ns = MS;
	assert_int_equal(impair_cfg_check(&cfg, &field), 0);
	cfg = (struct impair_cfg){.loss_model = IMPAIR_LOSS_4STATE, .s4 = {.p13 = 60, .p14 = 50}};
	assert_int_equal(impair_cfg_check(&cfg, &field), -EINVAL);
	assert_string_equal(field, "state4.p14");
	cfg = (struct impair_cfg){.ge = {.k = -1}};
	assert_int_equal(impair_cfg_check(&cfg, &field), -EINVAL);
	assert_string_equal(field, "gemodel.k");
	cfg = (struct impair_cfg){.reorder_gap = 3};
	assert_int_equal(impair_cfg_check(&cfg, &field), -EINVAL);
	assert_string_equal(field, "reorder_gap");
}

/* ---- loss, duplicate, corrupt ---- */

static void test_loss_rate(void **state)
{
	struct impair_cfg cfg = {.loss = 10};
	struct impair_state st;
	struct tally t;

	(void)state;
	impair_state_init(&st, SEED);
	run(&cfg, &st, 50000, 0, &t);
	assert_binomial(t.lost, 50000, 0.10);
	assert_int_equal(t.lost, st.stats.dropped_loss);
	cfg.loss = 0.5;
	run(&cfg, &st, 50000, 0, &t);
	assert_binomial(t.lost, 50000, 0.005);
	cfg.loss = 100;
	run(&cfg, &st, 1000, 0, &t);
	assert_int_equal(t.lost, 1000);
	cfg.loss = 0;
	run(&cfg, &st, 1000, 0, &t);
	assert_int_equal(t.lost, 0);
}

/* Fraction of losses that follow a loss, over n decisions. */
static double loss_after_loss(const struct impair_cfg *cfg, int n, double *rate)
{
	struct impair_state st;
	uint64_t lost = 0, pairs = 0;
	bool prev = false;

	impair_state_init(&st, SEED);
	for (int i = 0; i < n; i++) {
		bool l = impair_loss_event(cfg, &st);

		lost += l;
		pairs += prev && l;
		prev = l;
	}
	*rate = (double)lost / n;
	return lost ? (double)pairs / (double)lost : 0;
}

static void test_loss_correlation(void **state)
{
	struct impair_cfg cfg = {.loss = 20};
	double rate, cond_free, cond_corr;

	(void)state;
	cond_free = loss_after_loss(&cfg, 50000, &rate);
	assert_near(cond_free, rate, 0.02); /* independent: P(loss | loss) = P(loss) */
	cfg.loss_corr = 75;
	cond_corr = loss_after_loss(&cfg, 50000, &rate);
	/* The rate stays 20% (5 sigma, variance inflated by (1 + rho) / (1 - rho) = 7)... */
	assert_near(rate, 0.20, 5 * sqrt(7 * 0.16 / 50000));
	/* ...and a loss follows a loss with p + rho (1 - p) = 0.8. */
	assert_near(cond_corr, 0.8, 0.02);
	assert_true(cond_corr > cond_free + 0.5);
}

static void test_duplicate(void **state)
{
	struct impair_cfg cfg = {.duplicate = 5};
	struct impair_state st;
	struct tally t;

	(void)state;
	impair_state_init(&st, SEED);
	run(&cfg, &st, 50000, 0, &t);
	assert_binomial(t.dup, 50000, 0.05);
	assert_int_equal(st.stats.duplicated, t.dup);
	/* A duplicated packet that is lost still sends one copy, as in netem. */
	cfg = (struct impair_cfg){.duplicate = 100, .loss = 100};
	run(&cfg, &st, 100, 0, &t);
	assert_int_equal(t.pass, 100);
	assert_int_equal(t.dup, 0);
}

static void test_corrupt(void **state)
{
	struct impair_cfg cfg = {.corrupt = 3};
	struct impair_state st;
	struct impair_verdict v;
	uint64_t hits = 0, low = 0;

	(void)state;
	impair_state_init(&st, SEED);
	for (int i = 0; i < 50000; i++) {
		impair_decide(&cfg, &st, 0, 100, &v);
		if (!v.corrupt)
			continue;
		hits++;
		assert_true(v.corrupt_bit < 800);
		low += v.corrupt_bit < 400;
		impair_release(&st, 100, 1);
	}
	assert_binomial(hits, 50000, 0.03);
	assert_binomial(low, hits, 0.5); /* the bit is uniform over the frame */
	assert_int_equal(st.stats.corrupted, hits);
}

/* ---- loss models ---- */

/* Mean length of runs of losses over n decisions; *rate receives the loss rate. */
static double mean_burst(const struct impair_cfg *cfg, int n, double *rate, int *max_run)
{
	struct impair_state st;
	uint64_t lost = 0, bursts = 0;
	int run = 0;

	*max_run = 0;
	impair_state_init(&st, SEED);
	for (int i = 0; i < n; i++) {
		if (impair_loss_event(cfg, &st)) {
			lost++;
			bursts += run++ == 0;
			*max_run = run > *max_run ? run : *max_run;
		} else {
			run = 0;
		}
	}
	*rate = (double)lost / n;
	return bursts ? (double)lost / (double)bursts : 0;
}

/* Simple Gilbert (1-h = 100%, 1-k = 0): bursts average 1/r, loss rate p/(p+r). */
static void test_gilbert_elliott_burst(void **state)
{
	struct impair_cfg cfg = {.loss_model = IMPAIR_LOSS_GE, .ge = {.p = 1, .r = 20, .h = 100}};
	double rate, burst;
	int max_run;

	(void)state;
	burst = mean_burst(&cfg, 200000, &rate, &max_run);
	/* geometric bursts, sd sqrt(1-r)/r = 4.5, about 1900 of them */
	assert_near(burst, 5.0, 5 * 4.5 / sqrt(1900));
	assert_near(rate, 1.0 / 21, 0.006);
	/* Bernoulli case: r = 1 - p and h = 100% make independent losses of rate p. */
	cfg.ge = (struct impair_ge){.p = 10, .r = 90, .h = 100};
	burst = mean_burst(&cfg, 100000, &rate, &max_run);
	assert_near(rate, 0.10, 0.005);
	assert_near(burst, 1 / 0.9, 0.03);
	/* Losses in the good state only (1-k): independent again. */
	cfg.ge = (struct impair_ge){.k = 2};
	burst = mean_burst(&cfg, 100000, &rate, &max_run);
	assert_near(rate, 0.02, 0.003);
}

static void test_4state(void **state)
{
	struct impair_cfg cfg = {.loss_model = IMPAIR_LOSS_4STATE,
				 .s4 = {.p13 = 5, .p31 = 50, .p23 = 100}};
	double rate, burst;
	int max_run;

	(void)state;
	/* From 3, p31 back to 1 else stay: bursts of mean 1/p31; rate p13/(p13+p31). */
	burst = mean_burst(&cfg, 200000, &rate, &max_run);
	assert_near(burst, 2.0, 0.1);
	assert_near(rate, 5.0 / 55, 0.006);
	/* p14 alone: isolated losses, never two in a row, rate p14/(1+p14). */
	cfg.s4 = (struct impair_4state){.p14 = 3, .p31 = 100, .p23 = 100};
	burst = mean_burst(&cfg, 100000, &rate, &max_run);
	assert_int_equal(max_run, 1);
	assert_near(rate, 0.03 / 1.03, 0.003);
	/* p32 leads into good-in-burst (2), from which p23 loses again. */
	cfg.s4 = (struct impair_4state){.p13 = 2, .p31 = 10, .p32 = 90, .p23 = 50};
	burst = mean_burst(&cfg, 100000, &rate, &max_run);
	assert_true(rate > 0.05);
}

/* ---- reorder ---- */

static void test_reorder(void **state)
{
	struct impair_cfg cfg = {.delay_ns = 10 * MS, .reorder = 25};
	struct impair_state st;
	struct impair_verdict v;
	uint64_t re = 0;

	(void)state;
	impair_state_init(&st, SEED);
	for (int i = 0; i < 50000; i++) {
		uint64_t now = (uint64_t)i * 1000;

		impair_decide(&cfg, &st, now, 100, &v);
		re += v.reordered;
		assert_int_equal(v.send_ns, v.reordered ? now : now + 10 * MS);
		impair_release(&st, 100, 1);
	}
	assert_binomial(re, 50000, 0.25);
	assert_int_equal(st.stats.reordered, re);
}

/* reorder 100% gap 5: gap - 1 packets delayed, then one sent at once, again and again. */
static void test_reorder_gap(void **state)
{
	struct impair_cfg cfg = {.delay_ns = 10 * MS, .reorder = 100, .reorder_gap = 5};
	struct impair_state st;
	struct impair_verdict v;

	(void)state;
	impair_state_init(&st, SEED);
	for (int i = 1; i <= 100; i++) {
		impair_decide(&cfg, &st, 0, 100, &v);
		assert_int_equal(v.reordered, i % 5 == 0);
	}
	/* With 50% only packets at or past the gap may go ahead. */
	cfg.reorder = 50;
	impair_state_init(&st, SEED);
	for (int i = 0, since = 0; i < 10000; i++) {
		impair_decide(&cfg, &st, 0, 100, &v);
		since++;
		if (v.reordered) {
			assert_true(since >= 5);
			since = 0;
		}
	}
}

/* ---- delay ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#define NDELAY 20000

/* Delay quantile q (0..1) in ms of n draws of cfg. */
static double delay_quantile(const uint64_t *sorted, double q)
{
	return (double)sorted[(size_t)(q * (NDELAY - 1))] / MS;
}

static void delay_draws(const struct impair_cfg *cfg, uint64_t *d)
{
	struct impair_state st;

	impair_state_init(&st, SEED);
	for (int i = 0; i < NDELAY; i++)
		d[i] = impair_delay_sample(cfg, &st);
	qsort(d, NDELAY, sizeof(d[0]), cmp_u64);
}

/* Percentiles of each distribution with delay 100 ms, jitter 10 ms, against analytic values. */
static void test_delay_distributions(void **state)
{
	static uint64_t d[NDELAY];
	struct impair_cfg cfg = {.delay_ns = 100 * MS, .jitter_ns = 10 * MS};

	(void)state;
	delay_draws(&cfg, d); /* uniform on [90, 110) */
	assert_near(delay_quantile(d, 0.25), 95, 0.5);
	assert_near(delay_quantile(d, 0.5), 100, 0.5);
	assert_near(delay_quantile(d, 0.75), 105, 0.5);
	assert_true(d[0] >= 90 * MS && d[NDELAY - 1] < 110 * MS);
	cfg.dist = IMPAIR_DIST_NORMAL; /* mean 100, sd 10 */
	delay_draws(&cfg, d);
	assert_near(delay_quantile(d, 0.5), 100, 0.5);
	assert_near(delay_quantile(d, 0.1587), 90, 0.6);
	assert_near(delay_quantile(d, 0.8413), 110, 0.6);
	cfg.dist = IMPAIR_DIST_PARETO; /* 100 + 10 * 4/3 * ((1-q)^(-1/3) - 1.5) */
	delay_draws(&cfg, d);
	assert_near(delay_quantile(d, 0.5), 96.80, 0.5);
	assert_near(delay_quantile(d, 0.9), 108.73, 1.0);
	assert_true(d[0] >= 93 * MS); /* floor: 100 - 10 * 2/3 */
	assert_true(d[NDELAY - 1] <= 140 * MS); /* cap: 4 jitters */
	cfg.dist = IMPAIR_DIST_PARETONORMAL; /* (normal + 3 pareto) / 4 */
	delay_draws(&cfg, d);
	assert_near(delay_quantile(d, 0.5), 97.60, 0.5);
	assert_near(delay_quantile(d, 0.9), 100 + 10 * (1.2816 + 3 * 0.8726) / 4, 1.0);
}

static void test_delay_never_negative(void **state)
{
	struct impair_cfg cfg = {.delay_ns = 1 * MS, .jitter_ns = 5 * MS};
	struct impair_state st;
	uint64_t zeros = 0;

	(void)state;
	impair_state_init(&st, SEED);
	for (int i = 0; i < 10000; i++)
		zeros += impair_delay_sample(&cfg, &st) == 0;
	assert_binomial(zeros, 10000, 0.4); /* uniform on [-4, 6) ms: 40% clamp to 0 */
}

/* Mean step between successive delays: correlation makes them smaller. */
static double mean_step(const struct impair_cfg *cfg)
{
	struct impair_state st;
	double sum = 0, prev = 0;

	impair_state_init(&st, SEED);
	for (int i = 0; i < 10000; i++) {
		double d = (double)impair_delay_sample(cfg, &st);

		sum += i ? fabs(d - prev) : 0;
		prev = d;
	}
	return sum / 9999;
}

static void test_delay_correlation(void **state)
{
	struct impair_cfg cfg = {.delay_ns = 50 * MS, .jitter_ns = 10 * MS};
	double free_step, corr_step;

	(void)state;
	free_step = mean_step(&cfg);
	assert_near(free_step / MS, 20.0 / 3, 0.3); /* |U1 - U2| on a 20 ms range */
	cfg.delay_corr = 90;
	corr_step = mean_step(&cfg);
	assert_true(corr_step < free_step / 2);
}

/* Correlated delays keep the configured distribution. */
static void test_delay_correlation_keeps_distribution(void **state)
{
	static uint64_t d[NDELAY];
	struct impair_cfg cfg = {.delay_ns = 100 * MS,
				 .jitter_ns = 10 * MS,
				 .delay_corr = 50,
				 .dist = IMPAIR_DIST_NORMAL};

	(void)state;
	delay_draws(&cfg, d);
	assert_near(delay_quantile(d, 0.5), 100, 0.8);
	assert_near(delay_quantile(d, 0.1587), 90, 1.0);
	assert_near(delay_quantile(d, 0.8413), 110, 1.0);
	cfg.dist = IMPAIR_DIST_UNIFORM;
	delay_draws(&cfg, d);
	assert_near(delay_quantile(d, 0.25), 95, 0.8);
	assert_near(delay_quantile(d, 0.75), 105, 0.8);
}

static void test_keep_order(void **state)
{
	struct impair_cfg cfg = {.delay_ns = 10 * MS, .jitter_ns = 5 * MS};
	struct impair_state st;
	struct impair_verdict v;
	uint64_t last = 0, inversions = 0;

	(void)state;
	impair_state_init(&st, SEED);
	for (int i = 0; i < 1000; i++) {
		impair_decide(&cfg, &st, (uint64_t)i * 100000, 100, &v);
		inversions += v.send_ns < last;
		last = v.send_ns;
	}
	assert_true(inversions > 100); /* jitter reorders, as netem does */
	cfg.keep_order = true;
	impair_state_init(&st, SEED);
	last = 0;
	for (int i = 0; i < 1000; i++) {
		impair_decide(&cfg, &st, (uint64_t)i * 100000, 100, &v);
		assert_true(v.send_ns >= last);
		assert_true(v.send_ns >= (uint64_t)i * 100000 + 5 * MS);
		last = v.send_ns;
	}
}

/* ---- rate and queue ---- */

static void test_wire_len(void **state)
{
	struct impair_cfg cfg = {0};

	(void)state;
	assert_int_equal(impair_wire_len(&cfg, 1514), 1514);
	cfg.rate_overhead = 24;
	assert_int_equal(impair_wire_len(&cfg, 1514), 1538);
	cfg.rate_overhead = -2000;
	assert_int_equal(impair_wire_len(&cfg, 1514), 1);
	cfg.rate_overhead = 10;
	cfg.rate_cell = 48; /* 70 bytes + 10 = 80: two cells */
	assert_int_equal(impair_wire_len(&cfg, 70), 96);
	assert_int_equal(impair_wire_len(&cfg, 86), 96);
	assert_int_equal(impair_wire_len(&cfg, 87), 144);
}

/* 10,000 packets offered at once leave at the configured rate: bits / elapsed within 1%. */
static void assert_rate(uint64_t bps, size_t len, int32_t overhead)
{
	struct impair_cfg cfg = {.rate_bps = bps, .rate_overhead = overhead};
	struct impair_state st;
	struct impair_verdict v;
	uint64_t prev = 0;
	double bits = 0, secs;

	impair_state_init(&st, SEED);
	for (int i = 0; i < 10000; i++) {
		impair_decide(&cfg, &st, (uint64_t)i, len, &v);
		assert_true(v.send_ns > prev);
		prev = v.send_ns;
		bits += 8.0 * (double)(len + (size_t)overhead);
	}
	secs = (double)prev / 1e9;
	assert_near(bits / secs / (double)bps, 1.0, 0.01);
}

static void test_rate(void **state)
{
	struct impair_cfg cfg = {.rate_bps = 100000000, .delay_ns = 5 * MS};
	struct impair_state st;
	struct impair_verdict v;

	(void)state;
	assert_rate(1000000, 1514, 0);
	assert_rate(100000000, 1514, 24);
	assert_rate(5000000000ull, 1514, 24);
	assert_rate(5000000000ull, 64, 0);
	/* An idle link: delay, then the packet's own serialisation time. */
	impair_state_init(&st, SEED);
	impair_decide(&cfg, &st, 0, 1250, &v); /* 10,000 bits at 100 Mbit/s: 100 us */
	assert_int_equal(v.send_ns, 5 * MS + 100000);
	impair_decide(&cfg, &st, 50 * MS, 1250, &v);
	assert_int_equal(v.send_ns, 55 * MS + 100000);
	/* A duplicate takes its own slot on the link. */
	cfg.duplicate = 100;
	impair_decide(&cfg, &st, 100 * MS, 1250, &v);
	assert_int_equal(v.copies, 2);
	assert_int_equal(v.dup_send_ns, v.send_ns + 100000);
}

/* A GSO super-frame kept whole costs the serialisation of all its wire packets. */
static void test_burst(void **state)
{
	struct impair_cfg cfg = {.rate_bps = 1000000000, .rate_overhead = 24, .delay_ns = MS};
	struct impair_state st;
	struct impair_verdict v;

	(void)state;
	assert_false(impair_cfg_per_packet(&cfg));
	impair_state_init(&st, SEED);
	impair_decide_burst(&cfg, &st, 0, 45 * 1514, 45, &v);
	assert_int_equal(v.send_ns, MS + 45ull * 1538 * 8);
	assert_int_equal(st.stats.queue_packets, 45);
	assert_int_equal(st.stats.delayed, 45);
	impair_release(&st, 45 * 1514, 45);
	assert_int_equal(st.stats.queue_packets, 0);
	cfg.loss = 1;
	assert_true(impair_cfg_per_packet(&cfg));
}

static void test_queue_limit(void **state)
{
	struct impair_cfg cfg = {.rate_bps = 1000000, .limit_packets = 10};
	struct impair_state st;
	struct impair_verdict v;
	uint64_t pass = 0;

	(void)state;
	impair_state_init(&st, SEED);
	for (int i = 0; i < 100; i++) {
		impair_decide(&cfg, &st, 0, 1000, &v);
		pass += v.drop == IMPAIR_PASS;
	}
	assert_int_equal(pass, 10);
	assert_int_equal(st.stats.dropped_queue, 90);
	assert_int_equal(st.stats.queue_packets, 10);
	impair_release(&st, 1000, 1);
	impair_decide(&cfg, &st, 0, 1000, &v);
	assert_int_equal(v.drop, IMPAIR_PASS);
	impair_decide(&cfg, &st, 0, 1000, &v);
	assert_int_equal(v.drop, IMPAIR_DROP_QUEUE);
	/* bytes */
	cfg = (struct impair_cfg){.delay_ns = MS, .limit_bytes = 5000};
	impair_state_init(&st, SEED);
	pass = 0;
	for (int i = 0; i < 20; i++) {
		impair_decide(&cfg, &st, 0, 1000, &v);
		pass += v.drop == IMPAIR_PASS;
	}
	assert_int_equal(pass, 5);
	assert_int_equal(st.stats.queue_bytes, 5000);
}

/* ---- schedules ---- */

static void test_schedule(void **state)
{
	struct impair_step steps[3] = {{.at_ns = 0}, {.at_ns = 2000 * MS}, {.at_ns = 3000 * MS}};
	struct impair_schedule s = {steps, 3, 0};

	(void)state;
	assert_int_equal(impair_schedule_check(&s), 0);
	assert_int_equal(impair_schedule_at(&s, 0), 0);
	assert_int_equal(impair_schedule_at(&s, 2500 * MS), 1);
	assert_int_equal(impair_schedule_at(&s, 10000 * MS), 2);
	assert_int_equal(impair_schedule_next(&s, 0), 2000 * MS);
	assert_int_equal(impair_schedule_next(&s, 2500 * MS), 3000 * MS);
	assert_true(impair_schedule_next(&s, 3500 * MS) == UINT64_MAX);
	s.period_ns = 5000 * MS;
	assert_int_equal(impair_schedule_at(&s, 6000 * MS), 0);
	assert_int_equal(impair_schedule_at(&s, 7500 * MS), 1);
	assert_int_equal(impair_schedule_next(&s, 4000 * MS), 5000 * MS);
	assert_int_equal(impair_schedule_next(&s, 5000 * MS), 7000 * MS);
	/* A first step after the start: nothing in force at first, the last step across the wrap.
	 */
	steps[0].at_ns = 1000 * MS;
	assert_int_equal(impair_schedule_at(&s, 500 * MS), -1);
	assert_int_equal(impair_schedule_at(&s, 5500 * MS), 2);
	assert_int_equal(impair_schedule_next(&s, 4000 * MS), 6000 * MS);
	/* Steps must ascend and fit in the period. */
	steps[1].at_ns = 1000 * MS;
	assert_int_equal(impair_schedule_check(&s), -EINVAL);
	steps[1].at_ns = 2000 * MS;
	s.period_ns = 3000 * MS;
	assert_int_equal(impair_schedule_check(&s), -EINVAL);
	s.n = 0;
	assert_int_equal(impair_schedule_check(&s), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_verdicts),
		cmocka_unit_test(test_rng_reproducible),
		cmocka_unit_test(test_noop),
		cmocka_unit_test(test_cfg_check),
		cmocka_unit_test(test_loss_rate),
		cmocka_unit_test(test_loss_correlation),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_gilbert_elliott_burst),
		cmocka_unit_test(test_4state),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_reorder_gap),
		cmocka_unit_test(test_delay_distributions),
		cmocka_unit_test(test_delay_never_negative),
		cmocka_unit_test(test_delay_correlation),
		cmocka_unit_test(test_delay_correlation_keeps_distribution),
		cmocka_unit_test(test_keep_order),
		cmocka_unit_test(test_wire_len),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_queue_limit),
		cmocka_unit_test(test_schedule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
