/* SPDX-License-Identifier: MIT */
/*
 * test_gso: checksum completion and software segmentation of GSO frames.
 *
 * Super-frames are built by hand the way a guest kernel hands them to a TAP
 * (partial checksum holding the pseudo-header sum, lengths for the whole
 * super-frame), cut by gso_segment(), and every segment is checked field by
 * field with checksums recomputed here by an independent reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "gso.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_ECE 0x40
#define TCP_CWR 0x80
#define TCP_PF (TCP_ACK | TCP_PSH | TCP_FIN)
#define IP4_ID0 0xfffe /* wraps after two segments */
#define TCP_SEQ0 0xfffffc00u /* wraps inside the second segment */
#define TCP_ACK0 0x12345678u

/* What super-frame to build. */
struct spec {
	bool v6, vlan, udp, ecn, nogso;
	size_t ip_opt; /* IPv4 option bytes, a multiple of 4 */
	size_t tcp_opt; /* TCP option bytes, a multiple of 4 */
	uint8_t flags; /* TCP flags */
	uint16_t mss;
	size_t payload;
};

/* A frame (after the vnet header) and where its headers are. */
struct sf {
	uint8_t buf[FRAME_MAX_LEN + 64];
	size_t len, l3, l4, hdr;
	struct vnet_hdr h;
};

static struct sf sf;
static uint8_t out[FRAME_MAX_LEN];

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) << 16 | get16(p + 2);
}

/* Reference one's-complement sum, folded but not complemented, continuing from init. */
static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t init)
{
	uint32_t s = init;

	for (size_t i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Reference pseudo-header sum for the IP header at ip and an L4 part of l4len bytes. */
static uint32_t ref_pseudo(const uint8_t *ip, bool v6, bool udp, size_t l4len)
{
	uint32_t s = (udp ? 17 : 6) + (uint32_t)l4len;

	return v6 ? ref_sum(ip + 8, 32, s) : ref_sum(ip + 12, 8, s);
}

static void build_ip(const struct spec *s, struct sf *f)
{
	uint8_t *ip = f->buf + f->l3;
	size_t dlen = f->len - f->l3;

	if (s->v6) {
		static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8};

		put32(ip, 0x60012345);
		put16(ip + 4, (uint32_t)(dlen - 40));
		ip[6] = s->udp ? 17 : 6;
		ip[7] = 64;
		memcpy(ip + 8, a6, 16);
		memcpy(ip + 24, a6, 16);
		ip[23] = 1;
		ip[39] = 2;
		return;
	}
	ip[0] = (uint8_t)(0x40 | (20 + s->ip_opt) / 4);
	ip[1] = 0x02;
	put16(ip + 2, (uint32_t)dlen);
	put16(ip + 4, IP4_ID0);
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = s->udp ? 17 : 6;
	put32(ip + 12, 0x0a000001);
	put32(ip + 16, 0x0a000002);
	memset(ip + 20, 1, s->ip_opt);
	put16(ip + 10, ~ref_sum(ip, 20 + s->ip_opt, 0) & 0xffff);
}

static void build_l4(const struct spec *s, struct sf *f)
{
	uint8_t *l4 = f->buf + f->l4;
	size_t l4len = f->len - f->l4;

	put16(l4, 40000);
	put16(l4 + 2, 5201);
	if (s->udp) {
		put16(l4 + 4, (uint32_t)l4len & 0xffff);
		put16(l4 + 6, ref_pseudo(f->buf + f->l3, s->v6, true, l4len));
		return;
	}
	put32(l4 + 4, TCP_SEQ0);
	put32(l4 + 8, TCP_ACK0);
	l4[12] = (uint8_t)((20 + s->tcp_opt) / 4 << 4);
	l4[13] = s->flags;
	put16(l4 + 14, 0xfaf0);
	put16(l4 + 16, ref_pseudo(f->buf + f->l3, s->v6, false, l4len));
	memset(l4 + 20, 1, s->tcp_opt);
	if (s->tcp_opt >= 12) {
		put32(l4 + 22, 0x080a0102);
		put32(l4 + 26, 0x03040506);
	}
}

/* Build the frame s describes into f, vnet header included. */
static void build(const struct spec *s, struct sf *f)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};

	memset(f->buf, 0, 256);
	f->h = (struct vnet_hdr){0};
	memcpy(f->buf, macs, 12);
	f->l3 = 14;
	if (s->vlan) {
		put16(f->buf + 12, 0x8100);
		put16(f->buf + 14, 100);
		f->l3 = 18;
	}
	put16(f->buf + f->l3 - 2, s->v6 ? 0x86dd : 0x0800);
	f->l4 = f->l3 + (s->v6 ? 40 : 20 + s->ip_opt);
	f->hdr = f->l4 + (s->udp ? 8 : 20 + s->tcp_opt);
	f->len = f->hdr + s->payload;
	for (size_t i = 0; i < s->payload; i++)
		f->buf[f->hdr + i] = (uint8_t)(i * 131 + 17);
	build_ip(s, f);
	build_l4(s, f);
	f->h.flags = VNET_F_NEEDS_CSUM;
	f->h.gso_type = s->udp ? VNET_GSO_UDP_L4 : s->v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
	if (s->ecn)
		f->h.gso_type |= VNET_GSO_ECN;
	if (s->nogso)
		f->h.gso_type = VNET_GSO_NONE;
	f->h.gso_size = s->nogso ? 0 : s->mss;
	f->h.hdr_len = (uint16_t)f->hdr;
	f->h.csum_start = (uint16_t)f->l4;
	f->h.csum_offset = s->udp ? 6 : 16;
}

static struct frame view(struct sf *f)
{
	return (struct frame){.data = f->buf, .len = f->len};
}

static unsigned int expected_count(const struct spec *s)
{
	return (unsigned int)((s->payload + s->mss - 1) / s->mss);
}

/* Check the IP header of segment idx (n bytes) against the super-frame's. */
static void check_ip(const struct spec *s, const uint8_t *seg, size_t n, unsigned int idx)
{
	const uint8_t *ip = seg + sf.l3, *ip0 = sf.buf + sf.l3;
	size_t ihl = sf.l4 - sf.l3;

	if (s->v6) {
		assert_int_equal(get16(ip + 4), n - sf.l3 - 40);
		assert_memory_equal(ip, ip0, 4);
		assert_memory_equal(ip + 6, ip0 + 6, 34);
		return;
	}
	assert_int_equal(get16(ip + 2), n - sf.l3);
	assert_int_equal(get16(ip + 4), (IP4_ID0 + idx) & 0xffff);
	assert_memory_equal(ip, ip0, 2);
	assert_memory_equal(ip + 6, ip0 + 6, 4);
	assert_memory_equal(ip + 12, ip0 + 12, ihl - 12);
	assert_int_equal(ref_sum(ip, ihl, 0), 0xffff);
}

/* Check the TCP or UDP header and checksum of segment idx of count. */
static void check_l4(const struct spec *s, const uint8_t *seg, size_t n, unsigned int idx,
		     unsigned int count)
{
	const uint8_t *l4 = seg + sf.l4, *l40 = sf.buf + sf.l4;
	size_t l4len = n - sf.l4;
	uint8_t flags = s->flags;

	assert_memory_equal(l4, l40, 4);
	assert_int_equal(ref_sum(l4, l4len, ref_pseudo(seg + sf.l3, s->v6, s->udp, l4len)), 0xffff);
	if (s->udp) {
		assert_int_equal(get16(l4 + 4), l4len);
		assert_int_not_equal(get16(l4 + 6), 0);
		return;
	}
	if (idx + 1 < count)
		flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
	if (idx > 0)
		flags &= (uint8_t)~TCP_CWR;
	assert_int_equal(get32(l4 + 4), (uint32_t)(TCP_SEQ0 + idx * s->mss));
	assert_int_equal(get32(l4 + 8), TCP_ACK0);
	assert_int_equal(l4[12], l40[12]);
	assert_int_equal(l4[13], flags);
	assert_memory_equal(l4 + 14, l40 + 14, 2);
	assert_memory_equal(l4 + 18, l40 + 18, sf.hdr - sf.l4 - 18);
}

/* Build s, segment it and check every segment; the super-frame must not change. */
static void check_segments(const struct spec *s)
{
	struct frame f;
	unsigned int count;
	uint8_t *copy;

	build(s, &sf);
	f = view(&sf);
	copy = malloc(sf.len);
	assert_non_null(copy);
	memcpy(copy, sf.buf, sf.len);
	count = gso_wire_count(&f, &sf.h);
	assert_int_equal(count, expected_count(s));
	for (unsigned int idx = 0; idx < count; idx++) {
		size_t pay =
			s->payload - idx * s->mss < s->mss ? s->payload - idx * s->mss : s->mss;
		int n = gso_segment(&f, &sf.h, idx, out, sizeof(out));

		assert_int_equal(n, sf.hdr + pay);
		assert_memory_equal(out, sf.buf, sf.l3);
		assert_memory_equal(out + sf.hdr, sf.buf + sf.hdr + idx * s->mss, pay);
		check_ip(s, out, (size_t)n, idx);
		check_l4(s, out, (size_t)n, idx, count);
	}
	assert_int_equal(gso_segment(&f, &sf.h, count, out, sizeof(out)), -EINVAL);
	assert_memory_equal(copy, sf.buf, sf.len);
	free(copy);
}

static void test_csum_helpers(void **state)
{
	/* RFC 1071, section 3: the sum of these words is 0xddf2. */
	static const uint8_t rfc[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	static const uint8_t odd[1] = {0xab};

	(void)state;
	assert_int_equal(gso_csum_fold(gso_csum_add(0, rfc, 8)), 0x220d);
	assert_int_equal(gso_csum_fold(gso_csum_add(gso_csum_add(0, rfc, 4), rfc + 4, 4)), 0x220d);
	assert_int_equal(gso_csum_add(0, odd, 1), 0xab00);
	assert_int_equal(gso_csum_fold(0), 0xffff);
	assert_int_equal(gso_csum_fold(0xffff), 0);
	assert_int_equal(gso_csum_fold(0xffffffff), 0);
}

/* TCP super-frames: options, VLAN tags, exact multiples, 64 KiB, one segment, ECN. */
static void test_tcp_segments(void **state)
{
	static const struct {
		struct spec s;
		unsigned int count;
	} cases[] = {
		{{.ip_opt = 4, .tcp_opt = 12, .flags = TCP_PF, .mss = 1000, .payload = 3321}, 4},
		{{.vlan = true, .flags = TCP_PF, .mss = 1448, .payload = 3 * 1448}, 3},
		{{.tcp_opt = 12, .flags = TCP_ACK | TCP_PSH, .mss = 1448, .payload = 65535 - 52},
		 46},
		{{.flags = TCP_ACK | TCP_FIN, .mss = 1460, .payload = 77}, 1},
		{{.v6 = true, .tcp_opt = 12, .flags = TCP_PF, .mss = 1000, .payload = 3321}, 4},
		{{.v6 = true,
		  .vlan = true,
		  .ecn = true,
		  .flags = TCP_CWR | TCP_ECE | TCP_PF,
		  .mss = 1200,
		  .payload = 3 * 1200 + 1},
		 4},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(expected_count(&cases[i].s), cases[i].count);
		check_segments(&cases[i].s);
	}
}

static void test_udp_segments(void **state)
{
	struct spec s4 = {.udp = true, .mss = 1000, .payload = 3 * 1000 + 321};
	struct spec s6 = {.udp = true, .v6 = true, .vlan = true, .mss = 1400, .payload = 4 * 1400};

	(void)state;
	check_segments(&s4);
	check_segments(&s6);
}

/* Ethernet padding after the IP datagram is not payload. */
static void test_padding_ignored(void **state)
{
	struct spec s = {.flags = TCP_ACK, .mss = 1000, .payload = 2500};
	struct frame f;

	(void)state;
	build(&s, &sf);
	memset(sf.buf + sf.len, 0xee, 6);
	sf.len += 6;
	f = view(&sf);
	assert_int_equal(gso_wire_count(&f, &sf.h), 3);
	assert_int_equal(gso_segment(&f, &sf.h, 2, out, sizeof(out)), sf.hdr + 500);
}

static void test_wire_count(void **state)
{
	struct spec s = {.flags = TCP_ACK, .mss = 1000, .payload = 2000, .nogso = true};
	struct frame f;

	(void)state;
	build(&s, &sf);
	f = view(&sf);
	assert_int_equal(gso_wire_count(&f, &sf.h), 1);
	sf.h.flags = 0;
	sf.h.csum_offset = 0xffff;
	assert_int_equal(gso_wire_count(&f, &sf.h), 1);
	sf.h.flags = VNET_F_NEEDS_CSUM;
	assert_int_equal(gso_wire_count(&f, &sf.h), 0);
	sf.h.csum_offset = 16;
	sf.h.gso_type = VNET_GSO_TCPV4;
	sf.h.gso_size = 1000;
	assert_int_equal(gso_wire_count(&f, &sf.h), 2);
	sf.h.gso_size = 999;
	assert_int_equal(gso_wire_count(&f, &sf.h), 3);
	sf.h.gso_size = 0;
	assert_int_equal(gso_wire_count(&f, &sf.h), 0);
	sf.h.gso_size = 1000;
	sf.h.gso_type = VNET_GSO_UDP;
	assert_int_equal(gso_wire_count(&f, &sf.h), 0);
}

/* Complete the partial checksum of the non-GSO frame s and verify it. */
static void check_complete(const struct spec *s)
{
	struct frame f;
	size_t l4len;

	build(s, &sf);
	f = view(&sf);
	l4len = sf.len - sf.l4;
	assert_int_not_equal(
		ref_sum(sf.buf + sf.l4, l4len, ref_pseudo(sf.buf + sf.l3, s->v6, s->udp, l4len)),
		0xffff);
	assert_int_equal(gso_wire_count(&f, &sf.h), 1);
	assert_int_equal(gso_csum_complete(&f, &sf.h), 0);
	assert_int_equal(
		ref_sum(sf.buf + sf.l4, l4len, ref_pseudo(sf.buf + sf.l3, s->v6, s->udp, l4len)),
		0xffff);
}

static void test_csum_complete(void **state)
{
	struct spec udp4 = {.udp = true, .vlan = true, .payload = 333, .nogso = true};
	struct spec udp6 = {.udp = true, .v6 = true, .payload = 1000, .nogso = true};
	struct spec tcp4 = {
		.tcp_opt = 12, .flags = TCP_ACK | TCP_PSH, .payload = 1448, .nogso = true};
	struct spec tcp6 = {.v6 = true, .flags = TCP_SYN, .payload = 777, .nogso = true};

	(void)state;
	check_complete(&udp4);
	check_complete(&udp6);
	check_complete(&tcp4);
	check_complete(&tcp6);
}

/* A UDP checksum that computes to 0 is sent as 0xffff (0 means "none"). */
static void test_csum_complete_udp_zero(void **state)
{
	struct spec s = {.udp = true, .payload = 64, .nogso = true};
	struct frame f;
	uint32_t s0;

	(void)state;
	build(&s, &sf);
	put16(sf.buf + sf.hdr, 0);
	s0 = ref_sum(sf.buf + sf.l4, sf.len - sf.l4, 0);
	put16(sf.buf + sf.hdr, 0xffff - s0);
	f = view(&sf);
	assert_int_equal(gso_csum_complete(&f, &sf.h), 0);
	assert_int_equal(get16(sf.buf + sf.l4 + 6), 0xffff);
	assert_int_equal(ref_sum(sf.buf + sf.l4, sf.len - sf.l4,
				 ref_pseudo(sf.buf + sf.l3, false, true, sf.len - sf.l4)),
			 0xffff);
}

/* The same for a UDP GSO segment: its checksum 0 is sent as 0xffff. */
static void test_udp_segment_zero(void **state)
{
	struct spec s = {.udp = true, .mss = 500, .payload = 1100};
	struct frame f;
	uint32_t s0;
	size_t n;

	(void)state;
	build(&s, &sf);
	f = view(&sf);
	put16(sf.buf + sf.hdr + 500, 0);
	n = (size_t)gso_segment(&f, &sf.h, 1, out, sizeof(out));
	put16(out + sf.l4 + 6, 0);
	s0 = ref_sum(out + sf.l4, n - sf.l4, ref_pseudo(out + sf.l3, false, true, n - sf.l4));
	put16(sf.buf + sf.hdr + 500, 0xffff - s0);
	assert_int_equal(gso_segment(&f, &sf.h, 1, out, sizeof(out)), n);
	assert_int_equal(get16(out + sf.l4 + 6), 0xffff);
	assert_int_equal(
		ref_sum(out + sf.l4, n - sf.l4, ref_pseudo(out + sf.l3, false, true, n - sf.l4)),
		0xffff);
}

static void test_csum_complete_bad(void **state)
{
	struct spec s = {.udp = true, .payload = 100, .nogso = true};
	struct frame f;

	(void)state;
	build(&s, &sf);
	f = view(&sf);
	sf.h.csum_offset = (uint16_t)(sf.len - sf.l4 - 1);
	assert_int_equal(gso_csum_complete(&f, &sf.h), -EINVAL);
	sf.h.csum_offset = (uint16_t)(sf.len - sf.l4);
	assert_int_equal(gso_csum_complete(&f, &sf.h), -EINVAL);
	sf.h.csum_offset = 0xffff;
	sf.h.csum_start = 0xffff;
	assert_int_equal(gso_csum_complete(&f, &sf.h), -EINVAL);
	sf.h.csum_start = (uint16_t)sf.l4;
	sf.h.csum_offset = 7;
	assert_int_equal(gso_csum_complete(&f, &sf.h), -EINVAL);
	/* Nothing asked, nothing done. */
	sf.h.flags = 0;
	sf.h.csum_offset = 0xffff;
	assert_int_equal(gso_csum_complete(&f, &sf.h), 0);
	assert_int_equal(get16(sf.buf + sf.l4 + 6), ref_pseudo(sf.buf + sf.l3, false, true, 108));
}

/* Every truncation of a valid frame is refused; the copy is exactly len bytes for ASan. */
static void check_truncations(const struct spec *s)
{
	struct sf *full = malloc(sizeof(*full));

	assert_non_null(full);
	build(s, full);
	for (size_t len = 0; len < full->len; len++) {
		uint8_t *buf = malloc(len ? len : 1);
		struct frame f = {.data = buf, .len = len};
		struct vnet_hdr h = full->h;
		int want = len >= (size_t)h.csum_start + h.csum_offset + 2 ? 0 : -EINVAL;

		assert_non_null(buf);
		memcpy(buf, full->buf, len);
		assert_int_equal(gso_wire_count(&f, &h), 0);
		assert_int_equal(gso_segment(&f, &h, 0, out, sizeof(out)), -EINVAL);
		assert_int_equal(gso_csum_complete(&f, &h), want);
		free(buf);
	}
	free(full);
}

static void test_truncated(void **state)
{
	struct spec tcp4 = {
		.ip_opt = 8, .tcp_opt = 12, .flags = TCP_ACK, .mss = 500, .payload = 1100};
	struct spec tcp6 = {
		.v6 = true, .vlan = true, .flags = TCP_ACK, .mss = 500, .payload = 1100};
	struct spec udp4 = {.udp = true, .mss = 500, .payload = 1100};

	(void)state;
	check_truncations(&tcp4);
	check_truncations(&tcp6);
	check_truncations(&udp4);
}

/* Build s with its headers mangled by fn, expect it refused. */
static void expect_bad(const struct spec *s, void (*fn)(struct sf *f, int arg), int arg)
{
	struct frame f;

	build(s, &sf);
	fn(&sf, arg);
	f = view(&sf);
	assert_int_equal(gso_wire_count(&f, &sf.h), 0);
	assert_int_equal(gso_segment(&f, &sf.h, 0, out, sizeof(out)), -EINVAL);
}

static void set_ihl(struct sf *f, int ihl)
{
	f->buf[f->l3] = (uint8_t)(0x40 | ihl);
}

static void set_version(struct sf *f, int v)
{
	f->buf[f->l3] = (uint8_t)(v << 4 | (f->buf[f->l3] & 0x0f));
}

static void set_tot_len(struct sf *f, int len)
{
	put16(f->buf + f->l3 + 2, (uint32_t)len);
}

static void set_frag(struct sf *f, int frag)
{
	put16(f->buf + f->l3 + 6, (uint32_t)frag);
}

static void set_proto(struct sf *f, int proto)
{
	f->buf[f->l3 + 9] = (uint8_t)proto;
}

static void set_next_header(struct sf *f, int nh)
{
	f->buf[f->l3 + 6] = (uint8_t)nh;
}

static void set_doff(struct sf *f, int doff)
{
	f->buf[f->l4 + 12] = (uint8_t)(doff << 4);
}

static void set_gso(struct sf *f, int type_size)
{
	f->h.gso_type = (uint8_t)(type_size >> 16);
	f->h.gso_size = (uint16_t)type_size;
}

static void set_len(struct sf *f, int len)
{
	f->len = (size_t)len;
}

static void set_ethertype(struct sf *f, int type)
{
	put16(f->buf + f->l3 - 2, (uint32_t)type);
}

static void test_bad_headers(void **state)
{
	struct spec s = {.flags = TCP_ACK, .mss = 500, .payload = 1100};
	struct spec s6 = {.v6 = true, .flags = TCP_ACK, .mss = 500, .payload = 1100};
	struct spec small = {.flags = TCP_ACK, .mss = 10, .payload = 30};
	int hdrs = 20 + 20;

	(void)state;
	for (int ihl = 0; ihl < 5; ihl++)
		expect_bad(&s, set_ihl, ihl);
	expect_bad(&small, set_ihl, 15);
	expect_bad(&s, set_version, 6);
	expect_bad(&s6, set_version, 4);
	expect_bad(&s, set_tot_len, hdrs);
	expect_bad(&s, set_tot_len, hdrs - 1);
	expect_bad(&s, set_tot_len, 19);
	expect_bad(&s, set_tot_len, hdrs + 1100 + 1);
	expect_bad(&s, set_frag, 0x2000);
	expect_bad(&s, set_frag, 0x0001);
	expect_bad(&s, set_proto, 17);
	for (int doff = 0; doff < 5; doff++)
		expect_bad(&s, set_doff, doff);
	expect_bad(&small, set_doff, 15);
	expect_bad(&s, set_gso, VNET_GSO_TCPV4 << 16);
	expect_bad(&s, set_gso, VNET_GSO_TCPV6 << 16 | 500);
	expect_bad(&s6, set_gso, VNET_GSO_TCPV4 << 16 | 500);
	expect_bad(&s, set_gso, VNET_GSO_UDP << 16 | 500);
	expect_bad(&s, set_gso, (VNET_GSO_UDP_L4 | VNET_GSO_ECN) << 16 | 500);
	expect_bad(&s, set_gso, 2 << 16 | 500);
	expect_bad(&s, set_gso, VNET_GSO_ECN << 16 | 500);
	expect_bad(&s6, set_next_header, 0); /* a hop-by-hop extension header */
	expect_bad(&s6, set_next_header, 17);
	expect_bad(&s, set_len, 14 + hdrs + 1100 - 1);
	expect_bad(&s, set_len, 13);
	expect_bad(&s, set_ethertype, 0x0806);
	expect_bad(&s, set_ethertype, 0x8100);
}

static void test_out_of_range(void **state)
{
	struct spec s = {.flags = TCP_ACK, .mss = 500, .payload = 1100};
	struct frame f;

	(void)state;
	build(&s, &sf);
	f = view(&sf);
	assert_int_equal(gso_segment(&f, &sf.h, 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(gso_segment(&f, &sf.h, 0xffffffffu, out, sizeof(out)), -EINVAL);
	assert_int_equal(gso_segment(&f, &sf.h, 0, out, sf.hdr + 499), -ENOSPC);
	assert_int_equal(gso_segment(&f, &sf.h, 0, out, sf.hdr + 500), sf.hdr + 500);
	assert_int_equal(gso_segment(&f, &sf.h, 2, out, sf.hdr + 99), -ENOSPC);
	assert_int_equal(gso_segment(&f, &sf.h, 2, out, sf.hdr + 100), sf.hdr + 100);
	assert_int_equal(gso_segment(&f, &sf.h, 0, out, 0), -ENOSPC);
}

static uint32_t xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Random header damage never reads or writes out of bounds (run under ASan/valgrind). */
static void test_random_damage(void **state)
{
	struct spec specs[3] = {
		{.ip_opt = 4,
		 .tcp_opt = 12,
		 .flags = TCP_ACK | TCP_FIN,
		 .mss = 300,
		 .payload = 700},
		{.v6 = true, .vlan = true, .flags = TCP_ACK, .mss = 300, .payload = 700},
		{.udp = true, .mss = 300, .payload = 700},
	};
	uint32_t rng = 0x9e3779b9;

	(void)state;
	for (int i = 0; i < 30000; i++) {
		uint32_t r = xorshift(&rng);
		size_t len, out_len = xorshift(&rng) % 1200;
		struct frame f;
		uint8_t *buf;
		unsigned int count;

		build(&specs[r % 3], &sf);
		for (int k = 0; k < (int)(r >> 8 & 3) + 1; k++)
			sf.buf[xorshift(&rng) % (sf.hdr + 4)] = (uint8_t)xorshift(&rng);
		if (r & 0x1000)
			sf.h.gso_size = (uint16_t)(xorshift(&rng) % 800);
		if (r & 0x2000)
			sf.h.csum_offset = (uint16_t)(xorshift(&rng) % 1000);
		len = r & 0x4000 ? xorshift(&rng) % (sf.len + 1) : sf.len;
		buf = malloc(len ? len : 1);
		assert_non_null(buf);
		memcpy(buf, sf.buf, len);
		f = (struct frame){.data = buf, .len = len};
		count = gso_wire_count(&f, &sf.h);
		for (unsigned int idx = 0; idx < count && idx < 4; idx++) {
			uint8_t *o = malloc(out_len ? out_len : 1);
			int n;

			assert_non_null(o);
			n = gso_segment(&f, &sf.h, idx, o, out_len);
			assert_true(n == -ENOSPC || (n > 0 && (size_t)n <= out_len));
			free(o);
		}
		(void)gso_csum_complete(&f, &sf.h);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_helpers),
		cmocka_unit_test(test_tcp_segments),
		cmocka_unit_test(test_udp_segments),
		cmocka_unit_test(test_padding_ignored),
		cmocka_unit_test(test_wire_count),
		cmocka_unit_test(test_csum_complete),
		cmocka_unit_test(test_csum_complete_udp_zero),
		cmocka_unit_test(test_udp_segment_zero),
		cmocka_unit_test(test_csum_complete_bad),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_random_damage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
