/* SPDX-License-Identifier: MIT */
/*
 * test_frame: unit tests for dataplane/frame (bounds-checked views, Ethernet
 * and VLAN parsing, MAC strings, virtio-net headers).
 */
#include "frame.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

#include <cmocka.h>

/* The VLAN tag protocol ids the parser skips: 802.1Q and 802.1ad. */
static const uint16_t vlan_tpids[] = {0x8100, 0x88a8};

/* Fill buf with a frame from 02:00:00:00:00:02 to 02:00:00:00:00:01 of the given ethertype. */
static void fill_eth(uint8_t *buf, size_t size, uint16_t type)
{
	static const uint8_t hdr[12] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
					0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

	memset(buf, 0xa5, size);
	memcpy(buf, hdr, sizeof(hdr));
	buf[12] = (uint8_t)(type >> 8);
	buf[13] = (uint8_t)type;
}

/* Put a VLAN tag (tpid, tci) followed by ethertype inner at offset 12 of buf. */
static void put_tag(uint8_t *buf, uint16_t tpid, uint16_t tci, uint16_t inner)
{
	buf[12] = (uint8_t)(tpid >> 8);
	buf[13] = (uint8_t)tpid;
	buf[14] = (uint8_t)(tci >> 8);
	buf[15] = (uint8_t)tci;
	buf[16] = (uint8_t)(inner >> 8);
	buf[17] = (uint8_t)inner;
}

static void test_runts_refused(void **state)
{
	uint8_t buf[64];
	struct frame_eth eth;

	(void)state;
	fill_eth(buf, sizeof(buf), 0x0800);
	for (size_t len = 0; len < FRAME_ETH_HLEN; len++) {
		struct frame f = {.data = buf, .len = len};

		assert_int_equal(frame_eth_parse(&f, &eth), -EINVAL);
	}
}

static void test_exact_header(void **state)
{
	uint8_t buf[FRAME_ETH_HLEN];
	struct frame f = {.data = buf, .len = sizeof(buf)};
	struct frame_eth eth;

	(void)state;
	fill_eth(buf, sizeof(buf), 0x86dd);
	assert_int_equal(frame_eth_parse(&f, &eth), 0);
	assert_ptr_equal(eth.dst, buf);
	assert_ptr_equal(eth.src, buf + 6);
	assert_int_equal(eth.ethertype, 0x86dd);
	assert_int_equal(eth.vlan, 0);
	assert_int_equal(eth.l3_off, FRAME_ETH_HLEN);
}

static void test_vlan_tags(void **state)
{
	uint8_t buf[64];
	struct frame_eth eth;

	(void)state;
	for (size_t i = 0; i < sizeof(vlan_tpids) / sizeof(vlan_tpids[0]); i++) {
		struct frame f = {.data = buf, .len = 18};

		fill_eth(buf, sizeof(buf), 0);
		/* PCP 7, DEI 1, VID 0xabc: only the 12 VID bits are the VLAN. */
		put_tag(buf, vlan_tpids[i], 0xfabc, 0x0806);
		assert_int_equal(frame_eth_parse(&f, &eth), 0);
		assert_int_equal(eth.vlan, 0xabc);
		assert_int_equal(eth.ethertype, 0x0806);
		assert_int_equal(eth.l3_off, 18);
		assert_ptr_equal(eth.src, buf + 6);
		f.len = sizeof(buf);
		put_tag(buf, vlan_tpids[i], 0x0001, 0x0800);
		assert_int_equal(frame_eth_parse(&f, &eth), 0);
		assert_int_equal(eth.vlan, 1);
		assert_int_equal(eth.ethertype, 0x0800);
	}
}

static void test_vlan_truncated(void **state)
{
	uint8_t buf[64];
	struct frame_eth eth;

	(void)state;
	for (size_t i = 0; i < sizeof(vlan_tpids) / sizeof(vlan_tpids[0]); i++) {
		fill_eth(buf, sizeof(buf), 0);
		put_tag(buf, vlan_tpids[i], 5, 0x0800);
		for (size_t len = FRAME_ETH_HLEN; len < 18; len++) {
			struct frame f = {.data = buf, .len = len};

			assert_int_equal(frame_eth_parse(&f, &eth), -EINVAL);
		}
	}
}

static void test_be16_bounds(void **state)
{
	uint8_t buf[] = {0x12, 0x34, 0x56};
	struct frame f = {.data = buf, .len = sizeof(buf)};
	struct frame empty = {.data = buf, .len = 0};
	uint16_t v;

	(void)state;
	assert_int_equal(frame_be16(&f, 0, &v), 0);
	assert_int_equal(v, 0x1234);
	assert_int_equal(frame_be16(&f, 1, &v), 0);
	assert_int_equal(v, 0x3456);
	v = 0xbeef;
	assert_int_equal(frame_be16(&f, 2, &v), -EINVAL);
	assert_int_equal(frame_be16(&f, 3, &v), -EINVAL);
	assert_int_equal(frame_be16(&f, 4, &v), -EINVAL);
	assert_int_equal(frame_be16(&f, SIZE_MAX, &v), -EINVAL);
	assert_int_equal(frame_be16(&f, SIZE_MAX - 1, &v), -EINVAL);
	assert_int_equal(frame_be16(&empty, 0, &v), -EINVAL);
	assert_int_equal(v, 0xbeef);
}

static void test_frame_has(void **state)
{
	uint8_t buf[8];
	struct frame f = {.data = buf, .len = sizeof(buf)};

	(void)state;
	assert_true(frame_has(&f, 0, 8));
	assert_true(frame_has(&f, 8, 0));
	assert_true(frame_has(&f, 7, 1));
	assert_false(frame_has(&f, 0, 9));
	assert_false(frame_has(&f, 7, 2));
	assert_false(frame_has(&f, 9, 0));
	assert_false(frame_has(&f, 1, SIZE_MAX));
	assert_false(frame_has(&f, SIZE_MAX, 2));
}

static void test_tail(void **state)
{
	uint8_t buf[10];
	struct frame f = {.data = buf, .len = sizeof(buf)};
	struct frame t;

	(void)state;
	t = frame_tail(&f, 0);
	assert_ptr_equal(t.data, buf);
	assert_int_equal(t.len, 10);
	t = frame_tail(&f, 3);
	assert_ptr_equal(t.data, buf + 3);
	assert_int_equal(t.len, 7);
	t = frame_tail(&f, 10);
	assert_ptr_equal(t.data, buf + 10);
	assert_int_equal(t.len, 0);
	assert_false(frame_has(&t, 0, 1));
	t = frame_tail(&f, 11);
	assert_int_equal(t.len, 0);
	assert_false(frame_has(&t, 0, 1));
	t = frame_tail(&f, SIZE_MAX);
	assert_int_equal(t.len, 0);
	t = frame_tail(&t, 1);
	assert_int_equal(t.len, 0);
}

static void test_mac_parse_good(void **state)
{
	static const struct {
		const char *s;
		uint8_t mac[6];
	} good[] = {
		{"02:00:5e:10:20:3f", {0x02, 0x00, 0x5e, 0x10, 0x20, 0x3f}},
		{"AA:BB:CC:DD:EE:FF", {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}},
		{"aA:Bb:0c:D0:e9:9F", {0xaa, 0xbb, 0x0c, 0xd0, 0xe9, 0x9f}},
		{"00:00:00:00:00:00", {0}},
		{"ff:ff:ff:ff:ff:ff", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	};
	uint8_t mac[6];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(mac, 0x77, sizeof(mac));
		assert_int_equal(mac_parse(good[i].s, mac), 0);
		assert_memory_equal(mac, good[i].mac, 6);
	}
}

static void test_mac_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"02:00:5e:10:20",
		"02:00:5e:10:20:",
		"02:00:5e:10:20:3",
		"02:00:5e:10:20:3f:",
		"02:00:5e:10:20:3f ",
		"02:00:5e:10:20:3f\n",
		"02:00:5e:10:20:3fx",
		"02:00:5e:10:20:3f0",
		"02:00:5e:10:20:3f:01",
		" 02:00:5e:10:20:3f",
		"02-00-5e-10-20-3f",
		"0200.5e10.203f",
		"g2:00:5e:10:20:3f",
		"02:00:5e:10:20:3g",
		"-1:00:5e:10:20:3f",
		"+1:00:5e:10:20:3f",
		"0x:00:5e:10:20:3f",
		" 1:00:5e:10:20:3f",
		"2:0:5e:10:20:3f",
		"002:00:5e:10:20:3",
		"02::00:5e:10:20:3",
	};
	uint8_t mac[6];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(mac, 0x77, sizeof(mac));
		if (mac_parse(bad[i], mac) != -EINVAL)
			fail_msg("mac_parse accepted \"%s\"", bad[i]);
		for (int j = 0; j < 6; j++)
			assert_int_equal(mac[j], 0x77);
	}
}

static void test_mac_format_round_trip(void **state)
{
	static const uint8_t fixed[6] = {0x0a, 0xb0, 0x00, 0xff, 0x5e, 0x01};
	uint64_t x = 0x243f6a8885a308d3ull;
	uint8_t mac[6], back[6];
	char buf[32];

	(void)state;
	memset(buf, '#', sizeof(buf));
	assert_ptr_equal(mac_format(fixed, buf), buf);
	assert_string_equal(buf, "0a:b0:00:ff:5e:01");
	assert_int_equal(buf[18], '#');
	for (int i = 0; i < 1000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(mac, &x, 6);
		mac_format(mac, buf);
		assert_int_equal(strlen(buf), 17);
		assert_int_equal(mac_parse(buf, back), 0);
		assert_memory_equal(mac, back, 6);
	}
}

static void test_mac_classes(void **state)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t v4mc[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
	static const uint8_t v6mc[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t local_mc[6] = {0x03, 0, 0, 0, 0, 0};
	static const uint8_t ucast[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t ucast_hi[6] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t zero[6];
	uint8_t one[6];

	(void)state;
	assert_true(mac_is_multicast(bcast));
	assert_true(mac_is_multicast(v4mc));
	assert_true(mac_is_multicast(v6mc));
	assert_true(mac_is_multicast(local_mc));
	assert_false(mac_is_multicast(ucast));
	assert_false(mac_is_multicast(ucast_hi));
	assert_false(mac_is_multicast(zero));
	assert_true(mac_is_zero(zero));
	assert_false(mac_is_zero(bcast));
	assert_false(mac_is_zero(ucast));
	for (int i = 0; i < 6; i++) {
		memset(one, 0, sizeof(one));
		one[i] = 0x80;
		assert_false(mac_is_zero(one));
	}
}

static void test_vnet_short(void **state)
{
	uint8_t buf[VNET_HDR_LEN] = {0};
	struct frame f = {.data = buf, .len = VNET_HDR_LEN};
	struct vnet_hdr h;

	(void)state;
	for (size_t len = 0; len < VNET_HDR_LEN; len++) {
		struct frame s = {.data = buf, .len = len};

		assert_int_equal(vnet_hdr_parse(&s, &h), -EINVAL);
	}
	assert_int_equal(vnet_hdr_parse(&f, &h), 0);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.gso_type, VNET_GSO_NONE);
}

/* Parse a header h in front of a body of body_len bytes. */
static int parse_with_body(const struct vnet_hdr *h, size_t body_len)
{
	static uint8_t buf[VNET_HDR_LEN + 256];
	struct frame f = {.data = buf, .len = VNET_HDR_LEN + body_len};
	struct vnet_hdr out;

	assert_true(body_len <= 256);
	memset(buf, 0, sizeof(buf));
	vnet_hdr_write(h, buf);
	return vnet_hdr_parse(&f, &out);
}

static void test_vnet_csum_bounds(void **state)
{
	struct vnet_hdr h = {.flags = VNET_F_NEEDS_CSUM};

	(void)state;
	/* The 2-byte checksum at csum_start + csum_offset must lie inside the body. */
	h.csum_start = 98;
	h.csum_offset = 0;
	assert_int_equal(parse_with_body(&h, 100), 0);
	assert_int_equal(parse_with_body(&h, 99), -EINVAL);
	h.csum_start = 34;
	h.csum_offset = 16;
	assert_int_equal(parse_with_body(&h, 52), 0);
	assert_int_equal(parse_with_body(&h, 51), -EINVAL);
	h.csum_offset = 17;
	assert_int_equal(parse_with_body(&h, 52), -EINVAL);
	h.csum_start = 0;
	h.csum_offset = 0;
	assert_int_equal(parse_with_body(&h, 2), 0);
	assert_int_equal(parse_with_body(&h, 1), -EINVAL);
	assert_int_equal(parse_with_body(&h, 0), -EINVAL);
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	assert_int_equal(parse_with_body(&h, 256), -EINVAL);
	h.csum_start = 0;
	assert_int_equal(parse_with_body(&h, 256), -EINVAL);
	/* Without NEEDS_CSUM the offsets are not used and not checked. */
	h.flags = VNET_F_DATA_VALID;
	assert_int_equal(parse_with_body(&h, 0), 0);
}

static void test_vnet_gso_size_zero(void **state)
{
	static const uint8_t types[] = {VNET_GSO_TCPV4,
					VNET_GSO_UDP,
					VNET_GSO_TCPV6,
					VNET_GSO_UDP_L4,
					VNET_GSO_TCPV4 | VNET_GSO_ECN,
					VNET_GSO_TCPV6 | VNET_GSO_ECN};
	struct vnet_hdr h = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		h.gso_type = types[i];
		h.gso_size = 0;
		assert_int_equal(parse_with_body(&h, 64), -EINVAL);
		h.gso_size = 1448;
		assert_int_equal(parse_with_body(&h, 64), 0);
	}
	/* ECN alone is no GSO type: a zero gso_size is fine. */
	h.gso_type = VNET_GSO_ECN;
	h.gso_size = 0;
	assert_int_equal(parse_with_body(&h, 64), 0);
	h.gso_type = VNET_GSO_NONE;
	assert_int_equal(parse_with_body(&h, 64), 0);
}

static void test_vnet_round_trip(void **state)
{
	const struct vnet_hdr h = {
		.flags = VNET_F_NEEDS_CSUM,
		.gso_type = VNET_GSO_TCPV6,
		.hdr_len = 0x1234,
		.gso_size = 0x05a8,
		.csum_start = 0x0036,
		.csum_offset = 0x0010,
	};
	static const uint8_t raw[VNET_HDR_LEN] = {0x01, 0x04, 0x34, 0x12, 0xa8,
						  0x05, 0x36, 0x00, 0x10, 0x00};
	uint8_t buf[VNET_HDR_LEN + 128];
	struct frame f = {.data = buf, .len = sizeof(buf)};
	struct vnet_hdr out;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	vnet_hdr_write(&h, buf);
	assert_memory_equal(buf, raw, VNET_HDR_LEN);
	assert_int_equal(buf[VNET_HDR_LEN], 0xee);
	memset(&out, 0, sizeof(out));
	assert_int_equal(vnet_hdr_parse(&f, &out), 0);
	assert_int_equal(out.flags, h.flags);
	assert_int_equal(out.gso_type, h.gso_type);
	assert_int_equal(out.hdr_len, h.hdr_len);
	assert_int_equal(out.gso_size, h.gso_size);
	assert_int_equal(out.csum_start, h.csum_start);
	assert_int_equal(out.csum_offset, h.csum_offset);
}

static void test_vnet_parse_raw(void **state)
{
	uint8_t buf[VNET_HDR_LEN + 0x12a] = {0x01, 0x05, 0x42, 0x00, 0xdc,
					     0x05, 0x22, 0x01, 0x06, 0x00};
	struct frame f = {.data = buf, .len = sizeof(buf)};
	struct vnet_hdr h;

	(void)state;
	assert_int_equal(vnet_hdr_parse(&f, &h), 0);
	assert_int_equal(h.flags, VNET_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, VNET_GSO_UDP_L4);
	assert_int_equal(h.hdr_len, 0x0042);
	assert_int_equal(h.gso_size, 0x05dc);
	assert_int_equal(h.csum_start, 0x0122);
	assert_int_equal(h.csum_offset, 0x0006);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runts_refused),
		cmocka_unit_test(test_exact_header),
		cmocka_unit_test(test_vlan_tags),
		cmocka_unit_test(test_vlan_truncated),
		cmocka_unit_test(test_be16_bounds),
		cmocka_unit_test(test_frame_has),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_mac_parse_good),
		cmocka_unit_test(test_mac_parse_bad),
		cmocka_unit_test(test_mac_format_round_trip),
		cmocka_unit_test(test_mac_classes),
		cmocka_unit_test(test_vnet_short),
		cmocka_unit_test(test_vnet_csum_bounds),
		cmocka_unit_test(test_vnet_gso_size_zero),
		cmocka_unit_test(test_vnet_round_trip),
		cmocka_unit_test(test_vnet_parse_raw),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
