/* SPDX-License-Identifier: MIT */
/*
 * fuzz_frame: libFuzzer target for the frame views and Ethernet parsing
 * (dataplane/frame.c): frame_eth_parse, frame_be16, frame_tail over any
 * bytes, and mac_parse/mac_format over any string. The input is copied to a
 * buffer of exactly its size, so that AddressSanitizer sees any overread.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse f; every offset it reports stays inside f. */
static void fuzz_eth(const struct frame *f)
{
	struct frame_eth eth;
	uint16_t v;

	if (frame_eth_parse(f, &eth) == 0) {
		assert(eth.l3_off <= f->len);
		assert(eth.dst >= f->data && eth.src + 6 <= f->data + f->len);
		(void)mac_is_multicast(eth.dst);
		(void)mac_is_zero(eth.src);
	}
	for (size_t off = 0; off <= f->len + 2; off += 7)
		if (frame_be16(f, off, &v) == 0)
			assert(off + 2 <= f->len);
	for (size_t off = 0; off <= f->len + 1; off += 13) {
		struct frame t = frame_tail(f, off);

		assert(t.len <= f->len);
	}
}

/* A MAC address from text: what parses formats back to the same bytes. */
static void fuzz_mac(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[18];
	uint8_t mac[6], again[6];

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (mac_parse(s, mac) == 0) {
		mac_format(mac, out);
		assert(mac_parse(out, again) == 0 && memcmp(mac, again, 6) == 0);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct frame f = {copy, size};

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	fuzz_eth(&f);
	free(copy);
	fuzz_mac(data, size < 64 ? size : 64);
	return 0;
}
