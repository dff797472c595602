/* SPDX-License-Identifier: MIT */
/* fwd: forwarding a frame read from a port (loop thread only). */
#ifndef TAPYARD_FWD_H
#define TAPYARD_FWD_H

#include <stddef.h>
#include <stdint.h>

#include "dp_internal.h"

/*
 * fwd_frame() - forward the len bytes read from port slot into receive buffer
 * bid: check, learn, look up (or flood) and send to each output; the buffer
 * is recycled once the last write or queue entry using it is done.
 */
void fwd_frame(struct dp *dp, unsigned int slot, uint16_t bid, size_t len);

#endif
