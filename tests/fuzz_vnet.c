/* SPDX-License-Identifier: MIT */
/*
 * fuzz_vnet: libFuzzer target for virtio-net header handling: the input is
 * a frame as a TAP with IFF_VNET_HDR hands it over (header, then Ethernet).
 * vnet_hdr_parse must accept only headers whose offsets fall inside the
 * frame, and what it accepts must write back to the same header; the GSO
 * wire count and byte count of what it accepts are computed without a read
 * outside the frame (the copy is exactly the input's size, for ASan).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "gso.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1), out[VNET_HDR_LEN];
	struct frame all = {copy, size}, eth;
	struct vnet_hdr h;
	unsigned int count;
	size_t bytes;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (vnet_hdr_parse(&all, &h) == 0) {
		vnet_hdr_write(&h, out);
		assert(memcmp(out, copy, VNET_HDR_LEN) == 0); /* nothing lost or changed */
		assert(!(h.flags & VNET_F_NEEDS_CSUM) ||
		       (size_t)h.csum_start + h.csum_offset + 2 <= size - VNET_HDR_LEN);
		eth = frame_tail(&all, VNET_HDR_LEN);
		bytes = gso_wire_bytes(&eth, &h, &count);
		assert(count <= 65536);
		assert(count || bytes == 0);
	}
	free(copy);
	return 0;
}
