/* SPDX-License-Identifier: MIT */
/*
 * fuzz_csum: libFuzzer target for checksum completion (gso_csum_complete,
 * what the switch does for a frame that asks for it and goes to a port
 * without offloads). The input is a virtio-net header and a frame; the
 * header's offsets are used as they come (not validated first), so that
 * the completion's own bounds checks are what is fuzzed. A completed
 * checksum verifies: with the field's old value (the pseudo-header's sum)
 * added, the sum from csum_start to the end folds to zero.
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
	struct vnet_hdr h;
	struct frame f;
	uint8_t *copy, seed[2] = {0, 0};

	if (size < VNET_HDR_LEN)
		return 0;
	h = (struct vnet_hdr){.flags = data[0],
			      .gso_type = data[1],
			      .hdr_len = (uint16_t)(data[2] | data[3] << 8),
			      .gso_size = (uint16_t)(data[4] | data[5] << 8),
			      .csum_start = (uint16_t)(data[6] | data[7] << 8),
			      .csum_offset = (uint16_t)(data[8] | data[9] << 8)};
	copy = malloc(size - VNET_HDR_LEN ? size - VNET_HDR_LEN : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + VNET_HDR_LEN, size - VNET_HDR_LEN);
	f = (struct frame){copy, size - VNET_HDR_LEN};
	if ((size_t)h.csum_start + h.csum_offset + 2 <= f.len)
		memcpy(seed, f.data + h.csum_start + h.csum_offset, 2);
	if (gso_csum_complete(&f, &h) == 0 && (h.flags & VNET_F_NEEDS_CSUM)) {
		/* The field held the pseudo-header's sum, which a receiver adds itself. */
		uint32_t sum = gso_csum_add(0, seed, 2);

		sum = gso_csum_add(sum, f.data + h.csum_start, f.len - h.csum_start);
		assert(gso_csum_fold(sum) == 0);
	}
	free(copy);
	return 0;
}
