/* SPDX-License-Identifier: MIT */
/*
 * test_pcapng: the pcapng writer, byte by byte. A file with two interfaces
 * and frames of every padding remainder is parsed back here: block types,
 * lengths (leading equals trailing, multiples of four), zero padding, the
 * options (if_name, if_tsresol, epb_flags, opt_comment) and the frames'
 * bytes. When tcpdump is installed it must read the file without a warning
 * and show every frame; otherwise that part is skipped (and says so).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pcapng.h"

#define NFRAMES 6

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_pcapng.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* A whole file in memory. */
struct buf {
	uint8_t *data;
	size_t len;
};

static struct buf slurp(const char *p)
{
	struct buf b = {malloc(1 << 20), 0};
	FILE *f = fopen(p, "rb");

	assert_non_null(f);
	assert_non_null(b.data);
	b.len = fread(b.data, 1, 1 << 20, f);
	fclose(f);
	return b;
}

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* Frame i: 60 + i bytes (so every padding remainder occurs), byte j = i + j. */
static void frame_bytes(int i, uint8_t *out, uint32_t *len)
{
	*len = 60 + (uint32_t)i;
	for (uint32_t j = 0; j < *len; j++)
		out[j] = (uint8_t)(i + j);
	memset(out, 0xff, 6); /* broadcast destination */
	out[12] = 0x88; /* local experimental ethertype */
	out[13] = 0xb5;
}

static void write_sample(void)
{
	struct pcapng *p;
	uint8_t data[128];
	uint32_t len;

	assert_int_equal(pcapng_open(path, "tapyard test", &p), 0);
	assert_int_equal(pcapng_add_if(p, "vm1/br0", "port tap1 on bridge br0", 65535), 0);
	assert_int_equal(pcapng_add_if(p, "tap2", NULL, 65535), 0);
	for (int i = 0; i < NFRAMES; i++) {
		frame_bytes(i, data, &len);
		struct pcapng_pkt pkt = {
			.if_id = (uint32_t)(i & 1),
			.ts_ns = 1700000000123456789ull + (uint64_t)i * 1000,
			.data = data,
			.caplen = len,
			.len = len + (i == 5 ? 1000 : 0), /* one truncated frame */
			.dir = i == 4  ? PCAPNG_DIR_UNKNOWN
			       : i & 1 ? PCAPNG_DIR_INBOUND
				       : PCAPNG_DIR_OUTBOUND,
			.comment = i == 4 ? "dropped: drop_partition peer tap2" : NULL,
		};
		assert_int_equal(pcapng_write(p, &pkt), 0);
	}
	/* An interface that was never described is refused. */
	struct pcapng_pkt bad = {.if_id = 2, .data = data, .caplen = 60, .len = 60};
	assert_int_equal(pcapng_write(p, &bad), -EINVAL);
	assert_int_equal(pcapng_close(p), 0);
}

/* Walk the options at p (end at end); check padding; return the value of code or NULL. */
static const uint8_t *find_opt(const uint8_t *p, const uint8_t *end, uint16_t code, uint16_t *len)
{
	const uint8_t *found = NULL;
	bool saw_end = false;

	while (p < end) {
		uint16_t c = u16(p), l = u16(p + 2);
		uint16_t padded = (uint16_t)((l + 3) & ~3);

		assert_true(p + 4 + padded <= end);
		for (uint16_t k = l; k < padded; k++)
			assert_int_equal(p[4 + k], 0);
		if (c == 0) {
			assert_int_equal(l, 0);
			saw_end = true;
			assert_ptr_equal(p + 4, end); /* opt_endofopt is last */
			break;
		}
		if (c == code) {
			found = p + 4;
			*len = l;
		}
		p += 4 + padded;
	}
	assert_true(saw_end);
	return found;
}

static void check_shb(const uint8_t *b, uint32_t total)
{
	uint16_t len;
	const uint8_t *v;

	assert_int_equal(u32(b + 8), PCAPNG_BYTE_ORDER_MAGIC);
	assert_int_equal(u16(b + 12), 1);
	assert_int_equal(u16(b + 14), 0);
	assert_true(u32(b + 16) == UINT32_MAX && u32(b + 20) == UINT32_MAX);
	v = find_opt(b + 24, b + total - 4, 4, &len);
	assert_non_null(v);
	assert_int_equal(len, strlen("tapyard test"));
	assert_memory_equal(v, "tapyard test", len);
}

static void check_idb(const uint8_t *b, uint32_t total, int idx)
{
	const char *name = idx == 0 ? "vm1/br0" : "tap2";
	const uint8_t *v;
	uint16_t len;

	assert_int_equal(u16(b + 8), PCAPNG_LINKTYPE_ETHERNET);
	assert_int_equal(u16(b + 10), 0);
	assert_int_equal(u32(b + 12), 65535);
	v = find_opt(b + 16, b + total - 4, 2, &len);
	assert_non_null(v);
	assert_int_equal(len, strlen(name));
	assert_memory_equal(v, name, len);
	v = find_opt(b + 16, b + total - 4, 9, &len);
	assert_non_null(v);
	assert_int_equal(len, 1);
	assert_int_equal(v[0], 9);
	v = find_opt(b + 16, b + total - 4, 3, &len);
	assert_true(idx == 0 ? v != NULL : v == NULL);
}

static void check_epb(const uint8_t *b, uint32_t total, int i)
{
	uint64_t ts = 1700000000123456789ull + (uint64_t)i * 1000;
	uint8_t want[128];
	const uint8_t *v, *opts;
	uint32_t len, caplen;
	uint16_t olen;

	frame_bytes(i, want, &len);
	assert_int_equal(u32(b + 8), (uint32_t)(i & 1));
	assert_int_equal(u32(b + 12), (uint32_t)(ts >> 32));
	assert_int_equal(u32(b + 16), (uint32_t)ts);
	caplen = u32(b + 20);
	assert_int_equal(caplen, len);
	assert_int_equal(u32(b + 24), len + (i == 5 ? 1000 : 0));
	assert_memory_equal(b + 28, want, len);
	for (uint32_t k = len; k < ((len + 3) & ~3u); k++)
		assert_int_equal(b[28 + k], 0);
	opts = b + 28 + ((len + 3) & ~3u);
	v = find_opt(opts, b + total - 4, 2, &olen);
	if (i == 4) {
		assert_null(v);
	} else {
		assert_non_null(v);
		assert_int_equal(olen, 4);
		assert_int_equal(u32(v), i & 1 ? 1u : 2u);
	}
	v = find_opt(opts, b + total - 4, 1, &olen);
	if (i == 4) {
		assert_non_null(v);
		assert_memory_equal(v, "dropped: drop_partition peer tap2", olen);
	} else {
		assert_null(v);
	}
}

static void test_blocks(void **state)
{
	static const uint32_t types[] = {PCAPNG_SHB, PCAPNG_IDB, PCAPNG_IDB};
	struct buf b;
	size_t off = 0;
	int n = 0;

	(void)state;
	write_sample();
	b = slurp(path);
	while (off < b.len) {
		const uint8_t *blk = b.data + off;
		uint32_t total;

		assert_true(off + 12 <= b.len);
		total = u32(blk + 4);
		assert_int_equal(total % 4, 0);
		assert_true(total >= 12 && off + total <= b.len);
		assert_int_equal(u32(blk + total - 4), total); /* trailing length */
		assert_int_equal(u32(blk), n < 3 ? types[n] : PCAPNG_EPB);
		if (n == 0)
			check_shb(blk, total);
		else if (n < 3)
			check_idb(blk, total, n - 1);
		else
			check_epb(blk, total, n - 3);
		off += total;
		n++;
	}
	assert_int_equal(off, b.len);
	assert_int_equal(n, 3 + NFRAMES);
	free(b.data);
}

static void test_open_fails(void **state)
{
	struct pcapng *p = NULL;

	(void)state;
	assert_int_equal(pcapng_open("/nonexistent-dir/x.pcapng", NULL, &p), -ENOENT);
	assert_null(p);
	assert_int_equal(pcapng_close(NULL), 0);
}

/* Run cmd, collecting stdout and stderr into out; returns its exit status. */
static int run_cmd(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	return pclose(f);
}

static void test_tcpdump_reads(void **state)
{
	char cmd[256], out[16384];
	int frames = 0;

	(void)state;
	if (system("command -v tcpdump >/dev/null 2>&1") != 0) {
		print_message("SKIP part: tcpdump is not installed\n");
		skip();
	}
	write_sample();
	snprintf(cmd, sizeof(cmd), "tcpdump -nn -e -r %s 2>&1", path);
	assert_int_equal(run_cmd(cmd, out, sizeof(out)), 0);
	for (char *l = out; (l = strstr(l, "ethertype Unknown (0x88b5)")); l++)
		frames++;
	if (strstr(out, "warning") || strstr(out, "WARNING") || frames != NFRAMES) {
		print_error("tcpdump said:\n%s", out);
		fail();
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcpdump_reads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
