/* SPDX-License-Identifier: MIT */
/*
 * test_counters: unit tests for dataplane/counters: the name and doc tables
 * against the X-macro and the struct layout, snapshots, reset and lookup by
 * index.
 */
#include "counters.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#define ONE(name, doc) +1
enum { X_COUNT = 0 DP_COUNTERS(ONE) };
#undef ONE

/* Index of a field of struct dp_counters, from its offset. */
#define IDX(field) ((unsigned int)(offsetof(struct dp_counters, field) / sizeof(uint64_t)))

static void test_count(void **state)
{
	(void)state;
	assert_int_equal(dp_counter_count, X_COUNT);
	assert_int_equal(dp_counter_count * sizeof(uint64_t), sizeof(struct dp_counters));
	assert_int_equal(sizeof(struct dp_counters_live), sizeof(struct dp_counters));
	assert_true(X_COUNT > 0);
}

static void test_names_in_struct_order(void **state)
{
	(void)state;
#define CHECK(name, doc)                                          \
	assert_string_equal(dp_counter_names[IDX(name)], #name);  \
	assert_string_equal(dp_counter_docs[IDX(name)], doc);     \
	assert_int_equal(offsetof(struct dp_counters_live, name), \
			 offsetof(struct dp_counters, name));
	DP_COUNTERS(CHECK)
#undef CHECK
	/* A few spelled out, so a renamed or reordered X-macro is noticed too. */
	assert_int_equal(IDX(rx_packets), 0);
	assert_string_equal(dp_counter_names[0], "rx_packets");
	assert_string_equal(dp_counter_names[IDX(tx_bytes)], "tx_bytes");
	assert_string_equal(dp_counter_names[IDX(drop_partition)], "drop_partition");
	assert_string_equal(dp_counter_names[IDX(drop_runt)], "drop_runt");
	assert_int_equal(IDX(drop_port_gone), dp_counter_count - 1);
	assert_string_equal(dp_counter_names[dp_counter_count - 1], "drop_port_gone");
	for (unsigned int i = 0; i < dp_counter_count; i++) {
		assert_non_null(dp_counter_names[i]);
		assert_true(strlen(dp_counter_docs[i]) > 0);
		for (unsigned int j = 0; j < i; j++)
			assert_string_not_equal(dp_counter_names[i], dp_counter_names[j]);
	}
}

static void test_get_by_offset(void **state)
{
	struct dp_counters c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.rx_packets = 11;
	c.tx_bytes = 22;
	c.drop_partition = 33;
	c.drop_port_gone = 44;
	assert_int_equal(counters_get(&c, IDX(rx_packets)), 11);
	assert_int_equal(counters_get(&c, IDX(tx_bytes)), 22);
	assert_int_equal(counters_get(&c, IDX(drop_partition)), 33);
	assert_int_equal(counters_get(&c, IDX(drop_port_gone)), 44);
	assert_int_equal(counters_get(&c, IDX(rx_bytes)), 0);
	/* Out of range reads 0, never past the struct. */
	memset(&c, 0xff, sizeof(c));
	assert_int_equal(counters_get(&c, dp_counter_count - 1), UINT64_MAX);
	assert_int_equal(counters_get(&c, dp_counter_count), 0);
	assert_int_equal(counters_get(&c, dp_counter_count + 1), 0);
	assert_int_equal(counters_get(&c, UINT_MAX), 0);
}

static void test_read_after_add(void **state)
{
	struct dp_counters_live live;
	struct dp_counters out;

	(void)state;
	memset(&live, 0xab, sizeof(live));
	counters_reset(&live);
	ctr_add(&live.rx_bytes, 1500);
	ctr_add(&live.rx_bytes, 1500);
	ctr_add(&live.rx_packets, 1);
	ctr_add(&live.drop_runt, 1);
	ctr_add(&live.drop_port_gone, 7);
	ctr_add(&live.tx_dropped, UINT64_MAX);
	ctr_add(&live.tx_dropped, 2);
	memset(&out, 0xff, sizeof(out));
	counters_read(&live, &out);
	assert_int_equal(out.rx_bytes, 3000);
	assert_int_equal(out.rx_packets, 1);
	assert_int_equal(out.drop_runt, 1);
	assert_int_equal(out.drop_port_gone, 7);
	assert_int_equal(out.tx_dropped, 1); /* wraps like the kernel's u64 stats */
	assert_int_equal(counters_get(&out, IDX(rx_bytes)), 3000);
	for (unsigned int i = 0; i < dp_counter_count; i++) {
		if (i != IDX(rx_bytes) && i != IDX(rx_packets) && i != IDX(drop_runt) &&
		    i != IDX(drop_port_gone) && i != IDX(tx_dropped))
			assert_int_equal(counters_get(&out, i), 0);
	}
}

static void test_read_every_field(void **state)
{
	struct dp_counters_live live;
	struct dp_counters out;
	uint64_t v = 1;

	(void)state;
	counters_reset(&live);
	/* A distinct value per field, added by name, read back by index. */
#define ADD(name, doc) ctr_add(&live.name, 1000 * v++ + 7);
	DP_COUNTERS(ADD)
#undef ADD
	memset(&out, 0, sizeof(out));
	counters_read(&live, &out);
	for (unsigned int i = 0; i < dp_counter_count; i++)
		assert_int_equal(counters_get(&out, i), 1000 * (i + 1) + 7);
	/* The snapshot is a copy: later adds do not change it. */
	ctr_add(&live.rx_packets, 5);
	assert_int_equal(out.rx_packets, 1007);
	counters_read(&live, &out);
	assert_int_equal(out.rx_packets, 1012);
}

static void test_reset(void **state)
{
	struct dp_counters_live live;
	struct dp_counters out;

	(void)state;
	memset(&live, 0x5a, sizeof(live));
	counters_reset(&live);
	memset(&out, 0xff, sizeof(out));
	counters_read(&live, &out);
	for (unsigned int i = 0; i < dp_counter_count; i++)
		assert_int_equal(counters_get(&out, i), 0);
	ctr_add(&live.drop_impair_loss, 3);
	ctr_add(&live.drop_port_gone, 3);
	counters_reset(&live);
	counters_read(&live, &out);
	assert_int_equal(out.drop_impair_loss, 0);
	assert_int_equal(out.drop_port_gone, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_names_in_struct_order),
		cmocka_unit_test(test_get_by_offset),
		cmocka_unit_test(test_read_after_add),
		cmocka_unit_test(test_read_every_field),
		cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests_name("counters", tests, NULL, NULL);
}
