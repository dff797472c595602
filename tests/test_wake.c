/* SPDX-License-Identifier: MIT */
/*
 * test_wake: the wake-up lateness learner. Its start, when it estimates, the
 * spin it picks for a tail (one in a hundred late wake-ups counts, one in
 * 128 does not), its bounds, and that it forgets an old tail. Latenesses are
 * given as numbers: nothing here reads a clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "wake.h"

#define US 1000u

/* Observe n wake-ups late by late_ns each; returns how many updated the estimates. */
static unsigned int feed(struct wake *w, unsigned int n, uint64_t late_ns)
{
	unsigned int updates = 0;

	for (unsigned int i = 0; i < n; i++)
		updates += wake_observe(w, late_ns);
	return updates;
}

static void test_start_and_window(void **state)
{
	struct wake w;

	(void)state;
	wake_init(&w);
	assert_int_equal(wake_spin(&w), WAKE_SPIN_START_NS);
	assert_int_equal(wake_typical(&w), 0);
	assert_int_equal(feed(&w, WAKE_WINDOW - 1, 20 * US), 0);
	assert_int_equal(wake_spin(&w), WAKE_SPIN_START_NS); /* not yet estimated */
	assert_true(wake_observe(&w, 20 * US));
	/* 20 us falls in the bucket [20, 22) us: spin its upper edge plus the margin */
	assert_int_equal(wake_spin(&w), 22 * US + WAKE_MARGIN_NS);
	assert_int_equal(wake_typical(&w), 21 * US);
	assert_int_equal(feed(&w, WAKE_WINDOW, 20 * US), 1);
}

static void test_tail(void **state)
{
	struct wake w;

	(void)state;
	wake_init(&w); /* 2 late in 128: beyond the 99th percentile's share, the spin covers them */
	feed(&w, WAKE_WINDOW - 2, 10 * US);
	feed(&w, 2, 500 * US);
	assert_int_equal(wake_spin(&w), 502 * US + WAKE_MARGIN_NS);
	assert_int_equal(wake_typical(&w), 11 * US);
	wake_init(&w); /* 1 late in 128: within the 1% the spin may miss */
	feed(&w, WAKE_WINDOW - 1, 10 * US);
	feed(&w, 1, 500 * US);
	assert_int_equal(wake_spin(&w), 12 * US + WAKE_MARGIN_NS);
}

static void test_bounds(void **state)
{
	struct wake w;

	(void)state;
	wake_init(&w);
	feed(&w, WAKE_WINDOW, 0);
	assert_true(wake_spin(&w) >= WAKE_SPIN_MIN_NS);
	assert_int_equal(wake_spin(&w), 2 * US + WAKE_MARGIN_NS);
	wake_init(&w);
	feed(&w, WAKE_WINDOW, 50 * 1000 * US); /* 50 ms: beyond the histogram */
	assert_int_equal(wake_spin(&w), WAKE_SPIN_MAX_NS);
}

static void test_forgets(void **state)
{
	struct wake w;
	unsigned int windows = 0;

	(void)state;
	wake_init(&w);
	feed(&w, WAKE_WINDOW, 300 * US); /* a busy spell */
	assert_int_equal(wake_spin(&w), 302 * US + WAKE_MARGIN_NS);
	while (wake_spin(&w) > 20 * US && windows < 20) {
		feed(&w, WAKE_WINDOW, 10 * US);
		windows++;
	}
	/* the old tail's weight halves at each estimate: gone under 1% within a few windows */
	assert_in_range(windows, 2, 8);
	assert_int_equal(wake_spin(&w), 12 * US + WAKE_MARGIN_NS);
	assert_int_equal(wake_typical(&w), 11 * US);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_and_window),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_forgets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
