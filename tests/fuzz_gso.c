/* SPDX-License-Identifier: MIT */
/*
 * fuzz_gso: libFuzzer target for GSO segmentation (gso_segment), as the
 * switch cuts a super-frame for a port without offloads or for a
 * per-packet impairment. The input: one byte choosing the output buffer's
 * size, then a virtio-net header and the frame. Every wire packet the
 * header announces is built (at most 512 of them); each fits its buffer,
 * and a buffer too small is refused with -ENOSPC, never overrun.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "gso.h"

#define FUZZ_SEG_MAX 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The output buffer: 64 KiB, or a small one chosen by the input. */
static size_t fuzz_out_len(uint8_t pick)
{
	return pick & 0x80 ? (size_t)(pick & 0x7f) * 16 : 65536 + 64;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame all, eth;
	struct vnet_hdr h;
	unsigned int n;
	uint8_t *copy, *out;
	size_t out_len;

	if (size < 1 + VNET_HDR_LEN)
		return 0;
	out_len = fuzz_out_len(data[0]);
	copy = malloc(size - 1);
	out = malloc(out_len ? out_len : 1);
	if (!copy || !out)
		goto done;
	memcpy(copy, data + 1, size - 1);
	all = (struct frame){copy, size - 1};
	if (vnet_hdr_parse(&all, &h))
		goto done;
	eth = frame_tail(&all, VNET_HDR_LEN);
	n = gso_wire_count(&eth, &h);
	for (unsigned int i = 0; i < n && i < FUZZ_SEG_MAX; i++) {
		int len = gso_segment(&eth, &h, i, out, out_len);

		assert(len == -EINVAL || len == -ENOSPC || (len > 0 && (size_t)len <= out_len));
	}
	assert(gso_segment(&eth, &h, n, out, out_len) < 0 || h.gso_type == VNET_GSO_NONE);
done:
	free(copy);
	free(out);
	return 0;
}
