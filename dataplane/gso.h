/* SPDX-License-Identifier: MIT */
/*
 * gso: turn frames read from an offloading TAP into real wire frames.
 *
 * A TAP opened with IFF_VNET_HDR and TUNSETOFFLOAD hands us frames with a
 * partial checksum (VNET_F_NEEDS_CSUM: the L4 checksum field holds only the
 * pseudo-header sum) or GSO super-frames of up to 64 KiB. A port without
 * offloads needs what a NIC would have put on the wire: this module completes
 * partial checksums and cuts super-frames into MSS-sized packets with their
 * own IP lengths, IPv4 ids and header checksums, TCP sequence numbers, flags
 * and L4 checksums. The impairment code uses gso_wire_count() to count the
 * wire packets a frame stands for.
 *
 * All functions are pure: no allocation, no global state. The frame argument
 * is the Ethernet frame after the virtio-net header. Header lengths are
 * derived from the packet's own IP and TCP/UDP headers, never from the
 * guest's hdr_len or csum_start, and checked against the frame length.
 */
#ifndef TAPYARD_GSO_H
#define TAPYARD_GSO_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/*
 * gso_csum_add() - add n bytes at p to a running Internet checksum sum.
 * The bytes are taken as big-endian 16-bit words, an odd last byte padded
 * with zero, so every chunk but the last must have an even length.
 * Return: the new sum, carries folded into 32 bits.
 */
uint32_t gso_csum_add(uint32_t sum, const uint8_t *p, size_t n);

/*
 * gso_csum_fold() - fold sum to 16 bits and complement it.
 * Return: the value to store in a checksum field (0 when a packet whose
 * checksum field was included in sum verifies).
 */
uint16_t gso_csum_fold(uint32_t sum);

/*
 * gso_wire_count() - number of wire packets frame f with vnet header h is.
 * Return: 1 for a non-GSO frame, ceil(payload / gso_size) for a GSO frame,
 * 0 when the frame is malformed or its gso_type is unsupported.
 */
unsigned int gso_wire_count(const struct frame *f, const struct vnet_hdr *h);

/*
 * gso_wire_bytes() - bytes the wire packets of frame f with vnet header h add
 * up to, each carrying its own copy of the headers (what a rate limit sees).
 * @count: receives gso_wire_count()
 * Return: f->len for a non-GSO frame, 0 when the frame is malformed.
 */
size_t gso_wire_bytes(const struct frame *f, const struct vnet_hdr *h, unsigned int *count);

/*
 * gso_csum_complete() - complete the partial checksum of f in place: sum the
 * bytes from h->csum_start to the end of f, fold, and store the result at
 * csum_start + csum_offset (0 is stored as 0xffff, as UDP requires).
 * Return: 0 (also when h does not ask for a checksum), or -EINVAL when the
 * offsets fall outside f or csum_offset is odd.
 */
int gso_csum_complete(struct frame *f, const struct vnet_hdr *h);

/*
 * gso_segment() - build wire packet idx (0-based, below gso_wire_count())
 * of GSO frame f into out, out_len bytes, with complete IP and L4 checksums.
 * Supports VNET_GSO_TCPV4, VNET_GSO_TCPV6 (each with or without the ECN
 * bit) and VNET_GSO_UDP_L4 over IPv4 or IPv6, after an optional VLAN tag.
 * IPv6 extension headers are not supported.
 * Return: the packet's length, -EINVAL for a malformed frame, an unsupported
 * gso_type or idx out of range, or -ENOSPC when out_len is too small.
 */
int gso_segment(const struct frame *f, const struct vnet_hdr *h, unsigned int idx, uint8_t *out,
		size_t out_len);

#endif
