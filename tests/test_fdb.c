/* SPDX-License-Identifier: MIT */
/*
 * test_fdb: unit tests for dataplane/fdb, the MAC learning table: learning,
 * moves, capacity, ageing, flushes, dumps, and randomized runs checked
 * against a plain array model.
 */
#include "fdb.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define AGE 1000

/* A unicast, locally administered address numbered n. */
static void mac_of(uint32_t n, uint8_t *mac)
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

static struct fdb *make(uint32_t capacity, uint64_t age)
{
	struct fdb *fdb = NULL;

	assert_int_equal(fdb_create(capacity, age, &fdb), 0);
	assert_non_null(fdb);
	assert_int_equal(fdb_count(fdb), 0);
	return fdb;
}

static void test_create_invalid(void **state)
{
	static char sentinel;
	struct fdb *fdb = (struct fdb *)&sentinel;

	(void)state;
	assert_int_equal(fdb_create(0, AGE, &fdb), -EINVAL);
	assert_int_equal(fdb_create((1u << 24) + 1, AGE, &fdb), -EINVAL);
	assert_int_equal(fdb_create(UINT32_MAX, AGE, &fdb), -EINVAL);
	assert_ptr_equal(fdb, (struct fdb *)&sentinel);
	fdb_destroy(NULL);
	fdb = make(1, AGE);
	fdb_destroy(fdb);
}

static void test_learn_lookup(void **state)
{
	struct fdb *fdb = make(16, AGE);
	uint8_t a[6], b[6];

	(void)state;
	mac_of(1, a);
	mac_of(2, b);
	assert_int_equal(fdb_lookup(fdb, a, 0), -ENOENT);
	assert_int_equal(fdb_learn(fdb, a, 3, 0), FDB_LEARNED);
	assert_int_equal(fdb_lookup(fdb, a, 0), 3);
	assert_int_equal(fdb_lookup(fdb, b, 0), -ENOENT);
	assert_int_equal(fdb_learn(fdb, b, 0, 0), FDB_LEARNED);
	assert_int_equal(fdb_lookup(fdb, b, 0), 0);
	assert_int_equal(fdb_learn(fdb, a, 65535, 0), FDB_MOVED);
	assert_int_equal(fdb_lookup(fdb, a, 0), 65535);
	assert_int_equal(fdb_count(fdb), 2);
	fdb_destroy(fdb);
}

static void test_refresh_and_move(void **state)
{
	struct fdb *fdb = make(4, AGE);
	uint8_t a[6];

	(void)state;
	mac_of(7, a);
	assert_int_equal(fdb_learn(fdb, a, 3, 0), FDB_LEARNED);
	assert_int_equal(fdb_learn(fdb, a, 3, 800), FDB_REFRESHED);
	/* The refresh restarted the idle time: alive at 1700, 900 ns after it. */
	assert_int_equal(fdb_lookup(fdb, a, 1700), 3);
	assert_int_equal(fdb_learn(fdb, a, 5, 1700), FDB_MOVED);
	assert_int_equal(fdb_lookup(fdb, a, 1700), 5);
	assert_int_equal(fdb_learn(fdb, a, 5, 1700), FDB_REFRESHED);
	assert_int_equal(fdb_count(fdb), 1);
	/* The move refreshed too: alive at exactly 1700 + AGE, gone one ns later. */
	assert_int_equal(fdb_lookup(fdb, a, 1700 + AGE), 5);
	assert_int_equal(fdb_lookup(fdb, a, 1700 + AGE + 1), -ENOENT);
	fdb_destroy(fdb);
}

static void test_relearn_expired(void **state)
{
	struct fdb *fdb = make(4, AGE);
	uint8_t a[6], b[6];

	(void)state;
	mac_of(1, a);
	mac_of(2, b);
	assert_int_equal(fdb_learn(fdb, a, 1, 0), FDB_LEARNED);
	assert_int_equal(fdb_learn(fdb, b, 1, 0), FDB_LEARNED);
	/* Expired but not swept yet: unknown, so learning it is not a move or refresh. */
	assert_int_equal(fdb_learn(fdb, a, 2, AGE + 1), FDB_LEARNED);
	assert_int_equal(fdb_learn(fdb, b, 1, AGE + 1), FDB_LEARNED);
	assert_int_equal(fdb_lookup(fdb, a, AGE + 1), 2);
	assert_int_equal(fdb_lookup(fdb, b, AGE + 1), 1);
	assert_int_equal(fdb_count(fdb), 2);
	fdb_destroy(fdb);
}

static void test_ignored_sources(void **state)
{
	static const uint8_t bad[][6] = {
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01},
		{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, {0x03, 0x00, 0x00, 0x00, 0x00, 0x05},
		{0x01, 0x80, 0xc2, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	};
	struct fdb *fdb = make(16, AGE);
	uint8_t one[6];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fdb_learn(fdb, bad[i], 1, 0), FDB_IGNORED);
		assert_int_equal(fdb_lookup(fdb, bad[i], 0), -ENOENT);
	}
	assert_int_equal(fdb_count(fdb), 0);
	/* One non-zero byte anywhere makes a learnable unicast address. */
	for (int i = 0; i < 6; i++) {
		memset(one, 0, sizeof(one));
		one[i] = 0x02;
		assert_int_equal(fdb_learn(fdb, one, (uint16_t)i, 0), FDB_LEARNED);
		assert_int_equal(fdb_lookup(fdb, one, 0), i);
	}
	assert_int_equal(fdb_count(fdb), 6);
	fdb_destroy(fdb);
}

static void test_capacity(void **state)
{
	struct fdb *fdb = make(4, AGE);
	uint8_t m[6];

	(void)state;
	for (uint32_t i = 0; i < 4; i++) {
		mac_of(i, m);
		assert_int_equal(fdb_learn(fdb, m, 1, i * 100), FDB_LEARNED);
	}
	mac_of(100, m);
	assert_int_equal(fdb_learn(fdb, m, 1, 300), FDB_FULL);
	assert_int_equal(fdb_lookup(fdb, m, 300), -ENOENT);
	assert_int_equal(fdb_count(fdb), 4);
	/* Known addresses still refresh and move while the table is full. */
	mac_of(0, m);
	assert_int_equal(fdb_learn(fdb, m, 1, 900), FDB_REFRESHED);
	mac_of(1, m);
	assert_int_equal(fdb_learn(fdb, m, 2, 900), FDB_MOVED);
	/* At 1200 entry 2 (seen 200) is idle exactly AGE: nothing can be aged out. */
	mac_of(100, m);
	assert_int_equal(fdb_learn(fdb, m, 1, 1200), FDB_FULL);
	/* At 1201 entry 2 is expired (idle 1001): ageing frees room. */
	assert_int_equal(fdb_learn(fdb, m, 7, 1201), FDB_LEARNED);
	assert_int_equal(fdb_count(fdb), 4);
	assert_int_equal(fdb_lookup(fdb, m, 1201), 7);
	mac_of(2, m);
	assert_int_equal(fdb_lookup(fdb, m, 1201), -ENOENT);
	mac_of(0, m);
	assert_int_equal(fdb_lookup(fdb, m, 1201), 1);
	mac_of(1, m);
	assert_int_equal(fdb_lookup(fdb, m, 1201), 2);
	mac_of(3, m);
	assert_int_equal(fdb_lookup(fdb, m, 1201), 1);
	mac_of(101, m);
	assert_int_equal(fdb_learn(fdb, m, 1, 1201), FDB_FULL);
	fdb_destroy(fdb);
}

static void test_capacity_one(void **state)
{
	struct fdb *fdb = make(1, AGE);
	uint8_t a[6], b[6];

	(void)state;
	mac_of(1, a);
	mac_of(2, b);
	assert_int_equal(fdb_learn(fdb, a, 1, 0), FDB_LEARNED);
	assert_int_equal(fdb_learn(fdb, b, 2, AGE), FDB_FULL);
	assert_int_equal(fdb_learn(fdb, b, 2, AGE + 1), FDB_LEARNED);
	assert_int_equal(fdb_lookup(fdb, a, AGE + 1), -ENOENT);
	assert_int_equal(fdb_lookup(fdb, b, AGE + 1), 2);
	assert_int_equal(fdb_count(fdb), 1);
	assert_int_equal(fdb_flush(fdb, 2), 1);
	assert_int_equal(fdb_learn(fdb, a, 1, AGE + 1), FDB_LEARNED);
	fdb_destroy(fdb);
}

static void test_age_boundary(void **state)
{
	struct fdb *fdb = make(4, AGE);
	uint8_t a[6];

	(void)state;
	mac_of(1, a);
	assert_int_equal(fdb_learn(fdb, a, 4, 500), FDB_LEARNED);
	/* Idle exactly the ageing time: still alive. */
	assert_int_equal(fdb_age(fdb, 500 + AGE), 0);
	assert_int_equal(fdb_lookup(fdb, a, 500 + AGE), 4);
	assert_int_equal(fdb_count(fdb), 1);
	/* One ns longer: expired, and the lookup removes it. */
	assert_int_equal(fdb_lookup(fdb, a, 500 + AGE + 1), -ENOENT);
	assert_int_equal(fdb_count(fdb), 0);
	assert_int_equal(fdb_lookup(fdb, a, 500), -ENOENT);
	/* A time before the last sighting never expires an entry. */
	assert_int_equal(fdb_learn(fdb, a, 4, 5000), FDB_LEARNED);
	assert_int_equal(fdb_lookup(fdb, a, 0), 4);
	assert_int_equal(fdb_age(fdb, 0), 0);
	fdb_destroy(fdb);
}

static void test_age_count(void **state)
{
	struct fdb *fdb = make(8, 100);
	uint8_t m[6];

	(void)state;
	for (uint32_t i = 0; i < 5; i++) {
		mac_of(i, m);
		assert_int_equal(fdb_learn(fdb, m, 1, i * 10), FDB_LEARNED);
	}
	assert_int_equal(fdb_age(fdb, 100), 0);
	/* At 120: seen 0 and 10 are idle 120 and 110; seen 20 is idle exactly 100. */
	assert_int_equal(fdb_age(fdb, 120), 2);
	assert_int_equal(fdb_count(fdb), 3);
	assert_int_equal(fdb_age(fdb, 120), 0);
	mac_of(2, m);
	assert_int_equal(fdb_lookup(fdb, m, 120), 1);
	mac_of(1, m);
	assert_int_equal(fdb_lookup(fdb, m, 120), -ENOENT);
	assert_int_equal(fdb_age(fdb, 141), 3);
	assert_int_equal(fdb_count(fdb), 0);
	/* A shorter ageing time applies to entries already held. */
	mac_of(9, m);
	assert_int_equal(fdb_learn(fdb, m, 1, 1000), FDB_LEARNED);
	fdb_set_age(fdb, 10);
	assert_int_equal(fdb_lookup(fdb, m, 1010), 1);
	assert_int_equal(fdb_lookup(fdb, m, 1011), -ENOENT);
	fdb_destroy(fdb);
}

static void test_flush(void **state)
{
	static const uint16_t ports[] = {1, 2, 1, 3, 1};
	struct fdb *fdb = make(5, AGE);
	uint8_t m[6];

	(void)state;
	for (uint32_t i = 0; i < 5; i++) {
		mac_of(i, m);
		assert_int_equal(fdb_learn(fdb, m, ports[i], 0), FDB_LEARNED);
	}
	assert_int_equal(fdb_flush(fdb, 9), 0);
	assert_int_equal(fdb_flush(fdb, 1), 3);
	assert_int_equal(fdb_count(fdb), 2);
	for (uint32_t i = 0; i < 5; i++) {
		mac_of(i, m);
		assert_int_equal(fdb_lookup(fdb, m, 0), ports[i] == 1 ? -ENOENT : ports[i]);
	}
	/* The freed slots are reusable. */
	for (uint32_t i = 10; i < 13; i++) {
		mac_of(i, m);
		assert_int_equal(fdb_learn(fdb, m, 4, 0), FDB_LEARNED);
	}
	mac_of(13, m);
	assert_int_equal(fdb_learn(fdb, m, 4, 0), FDB_FULL);
	assert_int_equal(fdb_flush(fdb, -1), 5);
	assert_int_equal(fdb_count(fdb), 0);
	assert_int_equal(fdb_flush(fdb, -1), 0);
	for (uint32_t i = 0; i < 5; i++) {
		mac_of(i, m);
		assert_int_equal(fdb_lookup(fdb, m, 0), -ENOENT);
	}
	for (uint32_t i = 20; i < 25; i++) {
		mac_of(i, m);
		assert_int_equal(fdb_learn(fdb, m, 2, 0), FDB_LEARNED);
	}
	mac_of(25, m);
	assert_int_equal(fdb_learn(fdb, m, 2, 0), FDB_FULL);
	fdb_destroy(fdb);
}

/* Index of mac in out[0..n), or -1. */
static int dump_find(const struct fdb_info *out, size_t n, const uint8_t *mac)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(out[i].mac, mac, 6) == 0)
			return (int)i;
	return -1;
}

static void test_dump(void **state)
{
	struct fdb *fdb = make(8, AGE);
	struct fdb_info out[8];
	uint8_t m[6];
	int k;

	(void)state;
	assert_int_equal(fdb_dump(fdb, out, 8, 0), 0);
	for (uint32_t i = 0; i < 4; i++) {
		mac_of(i, m);
		assert_int_equal(fdb_learn(fdb, m, (uint16_t)(10 + i), 100 * i), FDB_LEARNED);
	}
	memset(out, 0xff, sizeof(out));
	assert_int_equal(fdb_dump(fdb, out, 8, 1000), 4);
	for (uint32_t i = 0; i < 4; i++) {
		mac_of(i, m);
		k = dump_find(out, 4, m);
		assert_true(k >= 0);
		assert_int_equal(out[k].port, 10 + i);
		assert_int_equal(out[k].idle_ns, 1000 - 100 * i);
	}
	assert_int_equal(fdb_dump(fdb, out, 2, 1000), 2);
	assert_int_equal(fdb_dump(fdb, out, 0, 1000), 0);
	/* Expired entries are left out though not yet removed. */
	assert_int_equal(fdb_dump(fdb, out, 8, 1150), 2);
	assert_int_equal(fdb_count(fdb), 4);
	mac_of(0, m);
	assert_int_equal(dump_find(out, 2, m), -1);
	mac_of(3, m);
	k = dump_find(out, 2, m);
	assert_true(k >= 0);
	assert_int_equal(out[k].idle_ns, 850);
	/* A time before the last sighting reports idle 0. */
	assert_int_equal(fdb_dump(fdb, out, 8, 250), 4);
	k = dump_find(out, 4, m);
	assert_true(k >= 0);
	assert_int_equal(out[k].idle_ns, 0);
	fdb_destroy(fdb);
}

/* The reference model: a plain array searched linearly. */
struct model_entry {
	uint8_t mac[6];
	uint16_t port;
	uint64_t seen;
};

struct model {
	struct model_entry *e;
	size_t n, cap;
	uint64_t age;
};

static bool model_expired(const struct model *m, size_t i, uint64_t now)
{
	return now > m->e[i].seen && now - m->e[i].seen > m->age;
}

static int model_find(const struct model *m, const uint8_t *mac)
{
	for (size_t i = 0; i < m->n; i++)
		if (memcmp(m->e[i].mac, mac, 6) == 0)
			return (int)i;
	return -1;
}

static void model_remove(struct model *m, size_t i)
{
	m->e[i] = m->e[--m->n];
}

static unsigned int model_age(struct model *m, uint64_t now)
{
	unsigned int removed = 0;

	for (size_t i = m->n; i-- > 0;) {
		if (model_expired(m, i, now)) {
			model_remove(m, i);
			removed++;
		}
	}
	return removed;
}

static unsigned int model_flush(struct model *m, int port)
{
	unsigned int removed = 0;

	for (size_t i = m->n; i-- > 0;) {
		if (port < 0 || m->e[i].port == port) {
			model_remove(m, i);
			removed++;
		}
	}
	return removed;
}

static enum fdb_learn_result model_learn(struct model *m, const uint8_t *mac, uint16_t port,
					 uint64_t now)
{
	enum fdb_learn_result r;
	int i;

	if ((mac[0] & 1) || (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0)
		return FDB_IGNORED;
	i = model_find(m, mac);
	if (i >= 0) {
		if (model_expired(m, (size_t)i, now))
			r = FDB_LEARNED;
		else
			r = m->e[i].port == port ? FDB_REFRESHED : FDB_MOVED;
		m->e[i].port = port;
		m->e[i].seen = now;
		return r;
	}
	if (m->n == m->cap && model_age(m, now) == 0)
		return FDB_FULL;
	memcpy(m->e[m->n].mac, mac, 6);
	m->e[m->n].port = port;
	m->e[m->n].seen = now;
	m->n++;
	return FDB_LEARNED;
}

static int model_lookup(struct model *m, const uint8_t *mac, uint64_t now)
{
	int i = model_find(m, mac);

	if (i < 0)
		return -ENOENT;
	if (model_expired(m, (size_t)i, now)) {
		model_remove(m, (size_t)i);
		return -ENOENT;
	}
	return m->e[i].port;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Compare fdb_dump() with the model's live entries at now. */
static void check_dump(struct fdb *fdb, const struct model *m, uint64_t now, struct fdb_info *out)
{
	size_t live = 0, n;
	int k;

	n = fdb_dump(fdb, out, m->cap, now);
	for (size_t i = 0; i < m->n; i++) {
		if (model_expired(m, i, now))
			continue;
		live++;
		k = dump_find(out, n, m->e[i].mac);
		assert_true(k >= 0);
		assert_int_equal(out[k].port, m->e[i].port);
		assert_int_equal(out[k].idle_ns, now > m->e[i].seen ? now - m->e[i].seen : 0);
	}
	assert_int_equal(n, live);
}

/* How often each outcome happened in random runs, so a run that exercised nothing fails. */
struct tally {
	unsigned int learn[FDB_IGNORED + 1];
	unsigned int lookup_expired;
	unsigned int aged;
};

/*
 * A random step against both the table and the model; fails on any
 * difference. Flushes come about once per 20 * capacity steps so that they do
 * not empty large tables before they fill.
 */
static void random_step(struct fdb *fdb, struct model *m, const uint8_t (*macs)[6], size_t nmacs,
			uint64_t *rng, uint64_t now, struct tally *t)
{
	uint64_t r = rng_next(rng);
	const uint8_t *mac = macs[(r >> 8) % nmacs];
	uint16_t port = (uint16_t)((r >> 40) % 4);
	unsigned int op = (unsigned int)(r % 100);
	int res, held;

	if ((r >> 16) % (20 * m->cap) == 0) {
		res = op < 25 ? -1 : port;
		assert_int_equal(fdb_flush(fdb, res), model_flush(m, res));
	} else if (op < 70) {
		res = (int)fdb_learn(fdb, mac, port, now);
		assert_int_equal(res, model_learn(m, mac, port, now));
		t->learn[res]++;
	} else if (op < 97) {
		held = model_find(m, mac) >= 0;
		res = fdb_lookup(fdb, mac, now);
		assert_int_equal(res, model_lookup(m, mac, now));
		t->lookup_expired += held && res == -ENOENT;
	} else {
		res = (int)fdb_age(fdb, now);
		assert_int_equal(res, model_age(m, now));
		t->aged += (unsigned int)res;
	}
	assert_int_equal(fdb_count(fdb), m->n);
}

/*
 * Run steps random operations on a table of capacity cap over 2 * cap + 3
 * addresses. Time advances by the ageing time about every 3 * cap steps, so
 * the table both fills up and ages out.
 */
static void random_run(uint32_t cap, uint64_t seed, unsigned int steps, struct tally *t)
{
	uint64_t age = 48 * (uint64_t)cap;
	size_t nmacs = 2 * (size_t)cap + 3;
	uint8_t(*macs)[6] = calloc(nmacs, sizeof(*macs));
	struct fdb_info *out = calloc(cap, sizeof(*out));
	struct model m = {.e = calloc(cap, sizeof(*m.e)), .cap = cap, .age = age};
	struct fdb *fdb = make(cap, age);
	uint64_t rng = seed, now = 0;

	assert_non_null(macs);
	assert_non_null(out);
	assert_non_null(m.e);
	for (size_t i = 0; i < nmacs; i++) {
		uint64_t r = rng_next(&rng);

		memcpy(macs[i], &r, 6);
		/* Mostly unicast; about one address in 16 multicast, the last one zero. */
		if (r >> 61)
			macs[i][0] &= 0xfe;
	}
	memset(macs[nmacs - 1], 0, 6);
	for (unsigned int s = 0; s < steps; s++) {
		now += rng_next(&rng) % 32;
		random_step(fdb, &m, (const uint8_t(*)[6])macs, nmacs, &rng, now, t);
		if (s % 64 == 0)
			check_dump(fdb, &m, now, out);
	}
	check_dump(fdb, &m, now, out);
	fdb_destroy(fdb);
	free(m.e);
	free(out);
	free(macs);
}

static void test_random_vs_model(void **state)
{
	static const uint32_t caps[] = {1, 2, 3, 5, 64, 1000};
	static const uint64_t seeds[] = {0x9e3779b97f4a7c15ull, 0x0123456789abcdefull, 42};

	(void)state;
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct tally t = {0};

		for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++)
			random_run(caps[c], seeds[s], 20000, &t);
		print_message("capacity %u: learned %u refreshed %u moved %u full %u ignored %u "
			      "expired lookups %u aged %u\n",
			      caps[c], t.learn[FDB_LEARNED], t.learn[FDB_REFRESHED],
			      t.learn[FDB_MOVED], t.learn[FDB_FULL], t.learn[FDB_IGNORED],
			      t.lookup_expired, t.aged);
		for (int r = 0; r <= FDB_IGNORED; r++)
			assert_true(t.learn[r] > 0);
		assert_true(t.lookup_expired > 0);
		assert_true(t.aged > 0);
	}
}

/* Fill a table to capacity with random addresses, then look each up and remove half. */
static void test_many_entries(void **state)
{
	const uint32_t cap = 1000;
	uint8_t(*macs)[6] = calloc(cap, sizeof(*macs));
	struct fdb *fdb = make(cap, AGE);
	uint64_t rng = 7;
	uint8_t extra[6];

	(void)state;
	assert_non_null(macs);
	for (uint32_t i = 0; i < cap; i++) {
		uint64_t r = rng_next(&rng);

		memcpy(macs[i], &r, 6);
		macs[i][0] = (uint8_t)((macs[i][0] & 0xfe) | 0x02);
		macs[i][5] = (uint8_t)i; /* the low 16 bits of i keep them distinct */
		macs[i][4] = (uint8_t)(i >> 8);
		assert_int_equal(fdb_learn(fdb, macs[i], (uint16_t)(i % 2), 0), FDB_LEARNED);
	}
	mac_of(0xffffff, extra);
	assert_int_equal(fdb_learn(fdb, extra, 0, 0), FDB_FULL);
	for (uint32_t i = 0; i < cap; i++)
		assert_int_equal(fdb_lookup(fdb, macs[i], 0), (int)(i % 2));
	assert_int_equal(fdb_flush(fdb, 1), cap / 2);
	for (uint32_t i = 0; i < cap; i++)
		assert_int_equal(fdb_lookup(fdb, macs[i], 0), i % 2 ? -ENOENT : 0);
	assert_int_equal(fdb_count(fdb), cap / 2);
	fdb_destroy(fdb);
	free(macs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_learn_lookup),
		cmocka_unit_test(test_refresh_and_move),
		cmocka_unit_test(test_relearn_expired),
		cmocka_unit_test(test_ignored_sources),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_capacity_one),
		cmocka_unit_test(test_age_boundary),
		cmocka_unit_test(test_age_count),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_random_vs_model),
		cmocka_unit_test(test_many_entries),
	};

	return cmocka_run_group_tests_name("fdb", tests, NULL, NULL);
}
