/* SPDX-License-Identifier: MIT */
/*
 * test_partition: unit tests for dataplane/partition, the directional
 * port x port reachability matrix. Every test checks the whole matrix, so a
 * stray bit anywhere fails it.
 */
#include "partition.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#define N PARTITION_MAX_PORTS

static int setup(void **state)
{
	struct partition *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Number of blocked (from, to) pairs in the whole matrix. */
static unsigned int count_blocked(const struct partition *p)
{
	unsigned int n = 0;

	for (unsigned int from = 0; from < N; from++)
		for (unsigned int to = 0; to < N; to++)
			n += partition_blocked(p, from, to);
	return n;
}

/* Sum of partition_count_from() over every port; must equal count_blocked(). */
static unsigned int count_from_all(const struct partition *p)
{
	unsigned int n = 0;

	for (unsigned int port = 0; port < N; port++)
		n += partition_count_from(p, port);
	return n;
}

static void test_one_way(void **state)
{
	struct partition *p = *state;

	assert_int_equal(partition_set(p, 1, 2, true), 0);
	assert_true(partition_blocked(p, 1, 2));
	assert_false(partition_blocked(p, 2, 1));
	assert_int_equal(count_blocked(p), 1);
	assert_int_equal(partition_count_from(p, 1), 1);
	assert_int_equal(partition_count_from(p, 2), 0);
	/* Cutting twice is one cut. */
	assert_int_equal(partition_set(p, 1, 2, true), 0);
	assert_int_equal(count_blocked(p), 1);
	/* Healing the other direction, which is not cut, changes nothing. */
	assert_int_equal(partition_set(p, 2, 1, false), 0);
	assert_true(partition_blocked(p, 1, 2));
	assert_int_equal(partition_set(p, 2, 1, true), 0);
	assert_int_equal(count_blocked(p), 2);
	assert_int_equal(partition_set(p, 1, 2, false), 0);
	assert_false(partition_blocked(p, 1, 2));
	assert_true(partition_blocked(p, 2, 1));
	assert_int_equal(count_blocked(p), 1);
	/* A port may be cut from itself. */
	assert_int_equal(partition_set(p, 9, 9, true), 0);
	assert_true(partition_blocked(p, 9, 9));
	assert_int_equal(count_blocked(p), 2);
	assert_int_equal(count_from_all(p), 2);
}

static void test_out_of_range(void **state)
{
	static const unsigned int bad[] = {N, N + 1, 1000, UINT_MAX};
	struct partition *p = *state;

	assert_int_equal(partition_set(p, 0, N - 1, true), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(partition_set(p, bad[i], 0, true), -EINVAL);
		assert_int_equal(partition_set(p, 0, bad[i], true), -EINVAL);
		assert_int_equal(partition_set(p, bad[i], bad[i], true), -EINVAL);
		assert_int_equal(partition_set(p, 0, bad[i], false), -EINVAL);
		assert_false(partition_blocked(p, bad[i], 0));
		assert_false(partition_blocked(p, 0, bad[i]));
		assert_int_equal(partition_count_from(p, bad[i]), 0);
		partition_clear_port(p, bad[i]);
	}
	/* Nothing above touched the one valid cut, nor made another. */
	assert_true(partition_blocked(p, 0, N - 1));
	assert_int_equal(count_blocked(p), 1);
}

static void test_clear_port(void **state)
{
	static const unsigned int cuts[][2] = {
		{3, 4},	  {4, 3},   {4, 5}, {5, 4}, {4, 4},
		{200, 4}, {4, 200}, {3, 5}, {5, 3}, {200, 5},
	};
	struct partition *p = *state;

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		assert_int_equal(partition_set(p, cuts[i][0], cuts[i][1], true), 0);
	assert_int_equal(count_blocked(p), 10);
	partition_clear_port(p, 4);
	assert_int_equal(count_blocked(p), 3);
	assert_true(partition_blocked(p, 3, 5));
	assert_true(partition_blocked(p, 5, 3));
	assert_true(partition_blocked(p, 200, 5));
	assert_int_equal(partition_count_from(p, 4), 0);
	assert_int_equal(partition_count_from(p, 3), 1);
	assert_int_equal(partition_count_from(p, 200), 1);
	/* Clearing a port with no cuts changes nothing. */
	partition_clear_port(p, 4);
	partition_clear_port(p, 100);
	assert_int_equal(count_blocked(p), 3);
}

static void test_clear_port_edges(void **state)
{
	static const unsigned int ports[] = {0, 63, 64, 255};
	struct partition *p = *state;

	/* Cut every path between the edge ports and port 100, both ways. */
	for (size_t i = 0; i < 4; i++) {
		partition_set(p, ports[i], 100, true);
		partition_set(p, 100, ports[i], true);
	}
	assert_int_equal(count_blocked(p), 8);
	for (size_t i = 0; i < 4; i++) {
		partition_clear_port(p, ports[i]);
		assert_int_equal(count_blocked(p), 8 - 2 * (i + 1));
		assert_false(partition_blocked(p, ports[i], 100));
		assert_false(partition_blocked(p, 100, ports[i]));
	}
}

static void test_count_from(void **state)
{
	static const unsigned int to[] = {0, 1, 63, 64, 127, 128, 191, 192, 254, 255};
	struct partition *p = *state;

	for (size_t i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
		assert_int_equal(partition_set(p, 7, to[i], true), 0);
		assert_int_equal(partition_count_from(p, 7), i + 1);
	}
	assert_int_equal(partition_set(p, 8, 7, true), 0);
	assert_int_equal(partition_set(p, 6, 0, true), 0);
	assert_int_equal(partition_count_from(p, 7), 10);
	assert_int_equal(partition_count_from(p, 8), 1);
	assert_int_equal(partition_count_from(p, 0), 0);
	/* Every path out of one port. */
	for (unsigned int t = 0; t < N; t++)
		partition_set(p, 255, t, true);
	assert_int_equal(partition_count_from(p, 255), N);
	assert_int_equal(count_from_all(p), count_blocked(p));
	assert_int_equal(count_blocked(p), 12 + N);
}

static void test_clear_all(void **state)
{
	struct partition *p = *state;

	for (unsigned int i = 0; i < N; i++)
		partition_set(p, i, (i * 37 + 11) % N, true);
	assert_int_equal(count_blocked(p), N);
	partition_clear(p);
	assert_int_equal(count_blocked(p), 0);
	assert_int_equal(count_from_all(p), 0);
}

static void test_word_boundaries(void **state)
{
	static const unsigned int edge[] = {0, 1, 62, 63, 64, 65, 127, 128, 191, 192, 254, 255};
	const size_t ne = sizeof(edge) / sizeof(edge[0]);
	struct partition *p = *state;

	for (size_t i = 0; i < ne; i++) {
		for (size_t j = 0; j < ne; j++) {
			unsigned int from = edge[i], to = edge[j];

			assert_int_equal(partition_set(p, from, to, true), 0);
			assert_true(partition_blocked(p, from, to));
			if (to > 0)
				assert_false(partition_blocked(p, from, to - 1));
			if (to + 1 < N)
				assert_false(partition_blocked(p, from, to + 1));
			assert_int_equal(partition_count_from(p, from), 1);
			assert_int_equal(count_blocked(p), 1);
			assert_int_equal(partition_set(p, from, to, false), 0);
			assert_int_equal(count_blocked(p), 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear_port_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_from, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_word_boundaries, setup, teardown),
	};

	return cmocka_run_group_tests_name("partition", tests, NULL, NULL);
}
