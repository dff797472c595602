/* SPDX-License-Identifier: MIT */
/*
 * test_ctl_impair: the impairment commands through ctl_call() over a running
 * dataplane with `pair` ports: target parsing, knob validation (every error
 * names its field), update versus replace, the loss model as one knob,
 * tc's defaults for gemodel and state4, seeds, clear and list, schedules, the
 * daemon configuration's "impairments" section, and the CLI's netem words.
 *
 * Requests are JSON with single quotes ('x' for "x") for readability.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "cli.h"
#include "ctl_config.h"
#include "ctl_harness.h"
#include "dp_impair.h"
#include "cli_impair.h"
#include "log.h"
#include "wake.h"

/* Here every error is checked by its message alone. */
#undef ERR
#define ERR(substring, ...) (th_run(__VA_ARGS__), th_last_err(NULL, substring))

#define NPEERS 4

struct fixture {
	struct dp *dp;
	struct ctl *ctl;
	int peer[NPEERS]; /* p0-p2 on br0, p3 on br1 */
};

static struct fixture fx;

/* The knob key of the result r, as a number (0 when absent). */
static double knob(json_t *r, const char *key)
{
	return json_number_value(json_object_get(json_object_get(r, "knobs"), key));
}

static bool has_knob(json_t *r, const char *key)
{
	return json_object_get(json_object_get(r, "knobs"), key) != NULL;
}

static int setup(void **state)
{
	struct dp_config cfg = {.nbufs = 64, .buf_size = 4096, .tx_slots = 256};

	(void)state;
	memset(&fx, 0, sizeof(fx));
	th_open_pairs(&cfg, &fx.dp, &fx.ctl, fx.peer, NPEERS);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	th_close_pairs(fx.dp, fx.ctl, fx.peer, NPEERS);
	return 0;
}

static void test_targets(void **state)
{
	json_t *r;

	(void)state;
	ERR("give one target", "impair/set", "{'loss': 1}");
	ERR("give one target", "impair/set", "{'bridge': 'br0', 'port': 'p0', 'loss': 1}");
	ERR("args.dir: missing", "impair/set", "{'port': 'p0', 'loss': 1}");
	ERR("args.dir: expected \"tx\" or \"rx\"", "impair/set", "{'port': 'p0', 'dir': 'in'}");
	ERR("args.dir: only with port", "impair/set", "{'bridge': 'br0', 'dir': 'tx'}");
	ERR("port \"nope\" not found", "impair/set", "{'port': 'nope', 'dir': 'tx'}");
	ERR("bridge \"nope\" not found", "impair/set", "{'bridge': 'nope'}");
	ERR("args.to: missing", "impair/set", "{'from': 'p0'}");
	ERR("args.to: port \"p3\" is on another bridge", "impair/set",
	    "{'from': 'p0', 'to': 'p3'}");
	ERR("args.to: the same port", "impair/set", "{'from': 'p0', 'to': 'p0'}");
	r = OK("impair/set", "{'from': 'p0', 'to': 'p1', 'delay_ms': 20}");
	assert_string_equal(json_string_value(json_object_get(r, "from")), "p0");
	assert_string_equal(json_string_value(json_object_get(r, "to")), "p1");
	r = OK("impair/set", "{'port': 'p2', 'dir': 'rx', 'loss': 1}");
	assert_string_equal(json_string_value(json_object_get(r, "dir")), "rx");
	r = OK("impair/set", "{'bridge': 'br1', 'corrupt': 0.5}");
	assert_string_equal(json_string_value(json_object_get(r, "bridge")), "br1");
}

static void test_knob_validation(void **state)
{
	(void)state;
	ERR("args.loss: expected a number from 0 to 100", "impair/set",
	    "{'bridge': 'br0', 'loss': 100.5}");
	ERR("args.loss: expected a number from 0 to 100", "impair/set",
	    "{'bridge': 'br0', 'loss': '10%%'}");
	ERR("args.delay_ms: expected a number from 0", "impair/set",
	    "{'bridge': 'br0', 'delay_ms': -1}");
	ERR("args.distribution: expected \"uniform\"", "impair/set",
	    "{'bridge': 'br0', 'distribution': 'cauchy'}");
	ERR("args.keep_order: expected a boolean", "impair/set",
	    "{'bridge': 'br0', 'keep_order': 1}");
	ERR("args.reorder_gap: expected an integer", "impair/set",
	    "{'bridge': 'br0', 'reorder_gap': 1.5}");
	ERR("args.rate_overhead: expected an integer from -65536 to 65536", "impair/set",
	    "{'bridge': 'br0', 'rate_overhead': 70000}");
	ERR("args.seed: expected an integer from 1", "impair/set", "{'bridge': 'br0', 'seed': 0}");
	ERR("args.jitter: unknown argument", "impair/set", "{'bridge': 'br0', 'jitter': 1}");
	ERR("args.gemodel: expected an object {p", "impair/set", "{'bridge': 'br0', 'gemodel': 5}");
	ERR("args.gemodel.x: unknown knob", "impair/set",
	    "{'bridge': 'br0', 'gemodel': {'p': 1, 'x': 2}}");
	ERR("args.gemodel.r: expected a number", "impair/set",
	    "{'bridge': 'br0', 'gemodel': {'p': 1, 'r': 200}}");
	ERR("args.state4: p13 + p14", "impair/set",
	    "{'bridge': 'br0', 'state4': {'p13': 60, 'p14': 50}}");
	ERR("give one loss model", "impair/set",
	    "{'bridge': 'br0', 'loss': 1, 'gemodel': {'p': 1}}");
	ERR("args.reorder: reordering needs a delay", "impair/set",
	    "{'bridge': 'br0', 'reorder': 10}");
	ERR("args.reorder_gap: needs reorder", "impair/set",
	    "{'bridge': 'br0', 'delay_ms': 1, 'reorder_gap': 3}");
	ERR("args.mode: expected \"update\" or \"replace\"", "impair/set",
	    "{'bridge': 'br0', 'mode': 'merge'}");
	/* Nothing was set by any of them. */
	assert_int_equal(json_array_size(OK("impair/list", "{}")), 0);
}

static void test_update_and_replace(void **state)
{
	json_t *r;
	json_int_t seed;

	(void)state;
	r = OK("impair/set", "{'from': 'p0', 'to': 'p1', 'delay_ms': 20, 'jitter_ms': 5}");
	seed = json_integer_value(json_object_get(json_object_get(r, "knobs"), "seed"));
	assert_true(seed > 0);
	r = OK("impair/set", "{'from': 'p0', 'to': 'p1', 'loss': 10}");
	assert_true(knob(r, "delay_ms") == 20 && knob(r, "jitter_ms") == 5 &&
		    knob(r, "loss") == 10);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "knobs"), "distribution")),
		"uniform");
	r = OK("impair/set", "{'from': 'p0', 'to': 'p1', 'mode': 'replace', 'loss': 5}");
	assert_false(has_knob(r, "delay_ms"));
	assert_true(knob(r, "loss") == 5);
	/* The seed stays unless given. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "knobs"), "seed")),
			 seed);
	r = OK("impair/set", "{'from': 'p0', 'to': 'p1', 'seed': 1234}");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "knobs"), "seed")),
			 1234);
	/* Zero knobs keep a target in place. */
	r = OK("impair/set", "{'from': 'p0', 'to': 'p1', 'loss': 0}");
	assert_false(has_knob(r, "loss"));
	assert_int_equal(json_array_size(OK("impair/list", "{}")), 1);
}

static void test_loss_models(void **state)
{
	json_t *r, *ge, *s4;

	(void)state;
	r = OK("impair/set", "{'port': 'p0', 'dir': 'tx', 'gemodel': {'p': 1}}");
	ge = json_object_get(json_object_get(r, "knobs"), "gemodel");
	assert_true(json_number_value(json_object_get(ge, "p")) == 1);
	assert_true(json_number_value(json_object_get(ge, "r")) == 100); /* tc's defaults */
	assert_true(json_number_value(json_object_get(ge, "h")) == 100);
	assert_true(json_number_value(json_object_get(ge, "k")) == 0);
	r = OK("impair/set", "{'port': 'p0', 'dir': 'tx', 'state4': {'p13': 5}}");
	s4 = json_object_get(json_object_get(r, "knobs"), "state4");
	assert_null(json_object_get(json_object_get(r, "knobs"), "gemodel"));
	assert_true(json_number_value(json_object_get(s4, "p31")) == 95);
	assert_true(json_number_value(json_object_get(s4, "p23")) == 100);
	r = OK("impair/set", "{'port': 'p0', 'dir': 'tx', 'loss': 3, 'loss_corr': 25}");
	assert_null(json_object_get(json_object_get(r, "knobs"), "state4"));
	assert_true(knob(r, "loss") == 3 && knob(r, "loss_corr") == 25);
}

static void test_get_clear_list(void **state)
{
	json_t *r;

	(void)state;
	r = OK("impair/get", "{'bridge': 'br0'}");
	assert_int_equal(json_object_size(json_object_get(r, "knobs")), 0);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(r, "stats"), "delayed")), 0);
	OK("impair/set", "{'bridge': 'br0', 'delay_ms': 1}");
	OK("impair/set", "{'bridge': 'br1', 'delay_ms': 2}");
	OK("impair/set", "{'port': 'p3', 'dir': 'tx', 'delay_ms': 3}");
	assert_int_equal(json_array_size(OK("impair/list", "{}")), 3);
	assert_int_equal(json_array_size(OK("impair/list", "{'bridge': 'br1'}")), 2);
	r = OK("impair/get", "{'bridge': 'br0'}");
	assert_true(knob(r, "delay_ms") == 1);
	assert_non_null(json_object_get(json_object_get(r, "stats"), "queue_depth"));
	OK("impair/clear", "{'bridge': 'br0'}");
	OK("impair/clear", "{'bridge': 'br0'}"); /* clearing nothing is fine */
	OK("impair/clear_all", "{'bridge': 'br1'}");
	assert_int_equal(json_array_size(OK("impair/list", "{}")), 0);
	ERR("bridge \"x\" not found", "impair/clear_all", "{'bridge': 'x'}");
}

static void test_schedule(void **state)
{
	json_t *r;

	(void)state;
	ERR("args.steps: expected an array of 1 to", "impair/schedule",
	    "{'bridge': 'br0', 'steps': []}");
	ERR("args.steps[0].at_ms: expected a number", "impair/schedule",
	    "{'bridge': 'br0', 'steps': [{'loss': 1}]}");
	ERR("args.steps[1].at_ms: not after", "impair/schedule",
	    "{'bridge': 'br0', 'steps': [{'at_ms': 5}, {'at_ms': 5}]}");
	ERR("args.steps[1].loss: expected a number from 0 to 100", "impair/schedule",
	    "{'bridge': 'br0', 'steps': [{'at_ms': 0}, {'at_ms': 5, 'loss': 900}]}");
	ERR("args.steps[0].bogus: unknown knob", "impair/schedule",
	    "{'bridge': 'br0', 'steps': [{'at_ms': 0, 'bogus': 1}]}");
	ERR("args.period_ms: missing", "impair/schedule",
	    "{'bridge': 'br0', 'steps': [{'at_ms': 0}], 'repeat': true}");
	ERR("args.period_ms: must exceed", "impair/schedule",
	    "{'bridge': 'br0', 'steps': [{'at_ms': 0}, {'at_ms': 50}], 'repeat': true, "
	    "'period_ms': 50}");
	ERR("args.period_ms: only with repeat", "impair/schedule",
	    "{'bridge': 'br0', 'steps': [{'at_ms': 0}], 'period_ms': 50}");
	OK("impair/set", "{'bridge': 'br0', 'delay_ms': 7}");
	/* Steps update from the knobs in force: step 0 keeps the delay and adds loss. */
	r = OK("impair/schedule", "{'bridge': 'br0', 'steps': [{'at_ms': 0, 'loss': 0.5}, "
				  "{'at_ms': 60000, 'loss': 30}], 'repeat': true, "
				  "'period_ms': 120000}");
	assert_int_equal(json_integer_value(json_object_get(r, "steps")), 2);
	assert_true(knob(r, "delay_ms") == 7 && knob(r, "loss") == 0.5);
	r = json_array_get(OK("impair/list", "{'bridge': 'br0'}"), 0);
	assert_true(json_is_true(json_object_get(r, "scheduled")));
	/* A set stops the schedule. */
	OK("impair/set", "{'bridge': 'br0', 'loss': 1}");
	r = json_array_get(OK("impair/list", "{'bridge': 'br0'}"), 0);
	assert_false(json_is_true(json_object_get(r, "scheduled")));
}

static json_t *parse(const char *fmt, ...)
{
	va_list ap;
	json_t *v;

	va_start(ap, fmt);
	v = th_vjson(fmt, ap);
	va_end(ap);
	return v;
}

static void test_config_section(void **state)
{
	struct ctl_err e = {0};
	json_t *cfg;

	(void)state;
	cfg = parse("{'impairments': [{'from': 'p0', 'to': 'p1', 'delay_ms': 5}, "
		    "{'port': 'p2', 'dir': 'rx', 'steps': [{'at_ms': 0, 'loss': 2}]}]}");
	assert_int_equal(ctl_config_apply(fx.ctl, cfg, &e), 0);
	json_decref(cfg);
	assert_int_equal(json_array_size(OK("impair/list", "{}")), 2);
	cfg = parse("{'impairments': [{'bridge': 'br0', 'loss': 'lots'}]}");
	assert_int_not_equal(ctl_config_apply(fx.ctl, cfg, &e), 0);
	assert_non_null(strstr(e.msg, "impairments[0]"));
	assert_non_null(strstr(e.msg, "args.loss"));
	json_decref(cfg);
}

/* The words of line (split at spaces) as arguments, by parser fn, which must return expect_rc. */
static json_t *cli_parse(int (*fn)(char **words, int n, json_t *args), int expect_rc,
			 const char *line)
{
	char buf[512], *words[64];
	int n = 0;
	json_t *args = json_object();

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *w = strtok(buf, " "); w && n < 64; w = strtok(NULL, " "))
		words[n++] = w;
	assert_int_equal(fn(words, n, args), expect_rc);
	return args;
}

/* The CLI words of `impair set`, `impair schedule` and `impair timer`, as arguments. */
#define cli_args(rc, line) cli_parse(cli_impair_args, rc, line)
#define schedule_args(rc, line) cli_parse(cli_impair_schedule, rc, line)
#define timer_args(rc, line) cli_parse(cli_impair_timer, rc, line)

static void test_cli_words(void **state)
{
	json_t *a, *want;

	(void)state;
	a = cli_args(CTL_EXIT_OK, "--from p0 --to p1 delay 20ms 5ms 25% distribution normal "
				  "loss 10% 25% duplicate 1 corrupt 0.1% reorder 25% gap 5 "
				  "rate 100mbit 24 limit 1000 limit-bytes 64kb seed 42 keep-order "
				  "--replace");
	want = parse(
		"{'from': 'p0', 'to': 'p1', 'delay_ms': 20.0, 'jitter_ms': 5.0, "
		"'delay_corr': 25.0, 'distribution': 'normal', 'loss': 10.0, 'loss_corr': 25.0, "
		"'duplicate': 1.0, 'corrupt': 0.1, 'reorder': 25.0, 'reorder_gap': 5, "
		"'rate_bps': 100000000, 'rate_overhead': 24, 'limit_packets': 1000, "
		"'limit_bytes': 65536, 'seed': 42, 'keep_order': true, 'mode': 'replace'}");
	assert_true(json_equal(a, want));
	json_decref(a);
	json_decref(want);
	a = cli_args(CTL_EXIT_OK, "--port=p0 --dir tx loss gemodel 1 20 loss state 5 delay 1.5s");
	want = parse("{'port': 'p0', 'dir': 'tx', 'gemodel': {'p': 1.0, 'r': 20.0}, "
		     "'state4': {'p13': 5.0}, 'delay_ms': 1500.0}");
	assert_true(json_equal(a, want));
	json_decref(a);
	json_decref(want);
	json_decref(cli_args(CTL_EXIT_USAGE, "--bridge br0 delay soon"));
	json_decref(cli_args(CTL_EXIT_USAGE, "--bridge br0 frobnicate"));
	json_decref(cli_args(CTL_EXIT_USAGE, "--bridge"));
	json_decref(cli_args(CTL_EXIT_USAGE, "--bridge br0 rate 1.5bit"));
}

static void test_cli_schedule(void **state)
{
	json_t *a, *want, *r;

	(void)state;
	a = schedule_args(CTL_EXIT_OK, "--from p0 --to p1 --replace at 0 loss 0 at 2s loss 30% "
				       "delay 5ms at 3s loss 0 --period 5s");
	want = parse("{'from': 'p0', 'to': 'p1', 'mode': 'replace', 'repeat': true, "
		     "'period_ms': 5000.0, 'steps': [{'at_ms': 0.0, 'loss': 0.0}, "
		     "{'at_ms': 2000.0, 'loss': 30.0, 'delay_ms': 5.0}, "
		     "{'at_ms': 3000.0, 'loss': 0.0}]}");
	assert_true(json_equal(a, want));
	json_decref(want);
	th_call("impair/schedule", a); /* a is stolen */
	th_last_ok();
	r = OK("impair/list", "{}");
	assert_true(json_is_true(json_object_get(json_array_get(r, 0), "scheduled")));
	r = OK("impair/get", "{'from': 'p0', 'to': 'p1'}");
	assert_false(has_knob(r, "delay_ms")); /* step 0 is in force, step 1 not yet */
	json_decref(schedule_args(CTL_EXIT_USAGE, "--from p0 --to p1"));
	json_decref(schedule_args(CTL_EXIT_USAGE, "--from p0 --to p1 loss 5"));
	json_decref(schedule_args(CTL_EXIT_USAGE, "--from p0 --to p1 at 0 loss 5 --to p2"));
	json_decref(schedule_args(CTL_EXIT_USAGE, "--from p0 --to p1 at soon loss 5"));
	json_decref(schedule_args(CTL_EXIT_USAGE, "--from p0 --to p1 at"));
	json_decref(schedule_args(CTL_EXIT_USAGE, "--from p0 --to p1 at 0 loss 5 --period"));
}

static void test_timer(void **state)
{
	json_t *r, *a;

	(void)state;
	r = OK("impair/timer", "{}"); /* the default: learned, from WAKE_SPIN_START_NS */
	assert_true(json_is_true(json_object_get(r, "auto")));
	assert_int_equal(json_integer_value(json_object_get(r, "spin_us")),
			 WAKE_SPIN_START_NS / 1000);
	assert_int_equal(json_integer_value(json_object_get(r, "sent")), 0);
	assert_int_equal(json_array_size(json_object_get(r, "histogram")), DP_IMPAIR_LATE_BUCKETS);
	r = OK("impair/timer", "{'spin_us': 0}");
	assert_int_equal(json_integer_value(json_object_get(r, "spin_us")), 0);
	assert_true(json_is_false(json_object_get(r, "auto")));
	r = OK("impair/timer", "{'auto': true}");
	assert_true(json_is_true(json_object_get(r, "auto")));
	ERR("args: give spin_us or auto, not both", "impair/timer", "{'auto': true, 'spin_us': 5}");
	r = OK("impair/timer", "{'spin_us': 100}");
	assert_int_equal(json_integer_value(json_object_get(r, "spin_us")), 100);
	assert_true(json_is_false(json_object_get(r, "auto")));
	r = OK("impair/timer", "{}"); /* reading keeps it */
	assert_int_equal(json_integer_value(json_object_get(r, "spin_us")), 100);
	ERR("args.spin_us: expected an integer from 0 to 1000", "impair/timer", "{'spin_us': 1001}");
	ERR("args.spin_us: expected an integer from 0 to 1000", "impair/timer", "{'spin_us': -1}");
	ERR("args.spin_us: expected an integer", "impair/timer", "{'spin_us': '100us'}");
	ERR("args.spin: unknown argument", "impair/timer", "{'spin': 100}");
	r = OK("impair/timer", "{}"); /* a refused change changes nothing */
	assert_int_equal(json_integer_value(json_object_get(r, "spin_us")), 100);
	a = timer_args(CTL_EXIT_OK, "250us");
	assert_int_equal(json_integer_value(json_object_get(a, "spin_us")), 250);
	json_decref(a);
	a = timer_args(CTL_EXIT_OK, "0.5ms");
	assert_int_equal(json_integer_value(json_object_get(a, "spin_us")), 500);
	json_decref(a);
	a = timer_args(CTL_EXIT_OK, "auto");
	assert_true(json_is_true(json_object_get(a, "auto")));
	json_decref(a);
	a = timer_args(CTL_EXIT_OK, "");
	assert_int_equal(json_object_size(a), 0);
	json_decref(a);
	json_decref(timer_args(CTL_EXIT_USAGE, "1.5us"));
	json_decref(timer_args(CTL_EXIT_USAGE, "soon"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_targets),	T(test_knob_validation), T(test_update_and_replace),
		T(test_loss_models),	T(test_get_clear_list),	 T(test_schedule),
		T(test_config_section), T(test_cli_words),	 T(test_cli_schedule), T(test_timer),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
