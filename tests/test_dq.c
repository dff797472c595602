/* SPDX-License-Identifier: MIT */
/*
 * test_dq: the delay queue. Order by send time with FIFO ties, capacity,
 * removal of one port's items (each handed back once), byte accounting, and
 * a randomised comparison against sorting.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dq.h"

static struct dq_item item(uint64_t t, uint32_t port, uint64_t cookie)
{
	return (struct dq_item){.send_ns = t, .port = port, .len = 100, .cookie = {cookie}};
}

/* The address of a temporary item. */
#define PTR(it) (&(struct dq_item[1]){it}[0])

static void test_order_and_ties(void **state)
{
	struct dq *q;
	struct dq_item it;
	const uint64_t times[] = {50, 10, 30, 10, 20, 10, 50};

	(void)state;
	assert_int_equal(dq_create(16, &q), 0);
	assert_null(dq_peek(q));
	assert_int_equal(dq_pop(q, &it), -ENOENT);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(dq_push(q, PTR(item(times[i], 1, i))), 0);
	assert_int_equal(dq_count(q), 7);
	assert_int_equal(dq_peek(q)->send_ns, 10);
	/* 10 (pushed 1st, 3rd, 5th), 20, 30, 50, 50: ties leave in push order */
	const uint64_t want[] = {1, 3, 5, 4, 2, 0, 6};
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(dq_pop(q, &it), 0);
		assert_int_equal(it.cookie[0], want[i]);
	}
	assert_int_equal(dq_count(q), 0);
	dq_destroy(q);
	dq_destroy(NULL);
}

static void test_capacity(void **state)
{
	struct dq *q;

	(void)state;
	assert_int_equal(dq_create(0, &q), -EINVAL);
	assert_int_equal(dq_create(3, &q), 0);
	assert_int_equal(dq_capacity(q), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dq_push(q, PTR(item(5, 0, 0))), 0);
	assert_int_equal(dq_push(q, PTR(item(1, 0, 0))), -ENOSPC);
	assert_int_equal(dq_count(q), 3);
	dq_destroy(q);
}

struct removed {
	int n;
	uint64_t cookies[64];
};

static void on_removed(void *ctx, const struct dq_item *it)
{
	struct removed *r = ctx;

	assert_int_equal(it->port, 7);
	r->cookies[r->n++] = it->cookie[0];
}

static void test_remove_port(void **state)
{
	struct removed r = {0};
	struct dq_item it;
	uint64_t last = 0;
	struct dq *q;

	(void)state;
	assert_int_equal(dq_create(64, &q), 0);
	for (uint64_t i = 0; i < 60; i++)
		assert_int_equal(dq_push(q, PTR(item((i * 37) % 61, i % 3 ? 5 : 7, i))), 0);
	assert_int_equal(dq_remove_port(q, 7, on_removed, &r), 20);
	assert_int_equal(r.n, 20);
	for (int i = 0; i < r.n; i++)
		assert_int_equal(r.cookies[i] % 3, 0);
	assert_int_equal(dq_count(q), 40);
	assert_int_equal(dq_remove_port(q, 7, on_removed, &r), 0);
	/* What is left still comes out in order. */
	while (dq_pop(q, &it) == 0) {
		assert_int_not_equal(it.port, 7);
		assert_true(it.send_ns >= last);
		last = it.send_ns;
	}
	dq_destroy(q);
}

static int cmp_item(const void *a, const void *b)
{
	const struct dq_item *x = a, *y = b;

	if (x->send_ns != y->send_ns)
		return x->send_ns < y->send_ns ? -1 : 1;
	return x->cookie[0] < y->cookie[0] ? -1 : x->cookie[0] > y->cookie[0];
}

/* Interleaved pushes and pops against a sorted reference. */
static void test_random_against_sort(void **state)
{
	static struct dq_item ref[4096];
	struct dq_item it;
	size_t nref = 0;
	struct dq *q;

	(void)state;
	srand(1);
	assert_int_equal(dq_create(4096, &q), 0);
	for (uint64_t i = 0; i < 20000; i++) {
		if (nref < 4096 && (rand() % 3 != 0 || nref == 0)) {
			ref[nref] = item((uint64_t)(rand() % 100), 0, i);
			assert_int_equal(dq_push(q, &ref[nref]), 0);
			nref++;
			continue;
		}
		qsort(ref, nref, sizeof(ref[0]), cmp_item);
		assert_int_equal(dq_pop(q, &it), 0);
		assert_int_equal(it.cookie[0], ref[0].cookie[0]);
		memmove(ref, ref + 1, --nref * sizeof(ref[0]));
	}
	assert_int_equal(dq_count(q), nref);
	dq_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_ties),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_remove_port),
		cmocka_unit_test(test_random_against_sort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
