/* SPDX-License-Identifier: MIT */
/*
 * frame: bounds-checked views of Ethernet frames and their virtio-net headers.
 *
 * Every access to frame bytes in the dataplane goes through a struct frame
 * view and the helpers here, which check the length before reading.
 */
#ifndef TAPYARD_FRAME_H
#define TAPYARD_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN_ 6
#define FRAME_ETH_HLEN 14
/* Largest frame without GSO: 64 KiB IP datagram plus Ethernet and one VLAN tag. */
#define FRAME_MAX_LEN (65535 + FRAME_ETH_HLEN + 4)
/* Size of struct virtio_net_hdr, the header TAPs with IFF_VNET_HDR prepend. */
#define VNET_HDR_LEN 10

/* A view of len bytes at data. It never owns the memory. */
struct frame {
	uint8_t *data;
	size_t len;
};

/* Parsed Ethernet header (an 802.1Q tag, if any, is skipped). */
struct frame_eth {
	const uint8_t *dst;
	const uint8_t *src;
	uint16_t ethertype; /* host order, after any VLAN tag */
	uint16_t vlan;      /* VLAN id, 0 when untagged */
	size_t l3_off;      /* offset of the L3 header */
};

/* virtio_net_hdr fields in host order. */
struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

#define VNET_F_NEEDS_CSUM 1
#define VNET_F_DATA_VALID 2
#define VNET_GSO_NONE 0
#define VNET_GSO_TCPV4 1
#define VNET_GSO_UDP 3
#define VNET_GSO_TCPV6 4
#define VNET_GSO_UDP_L4 5
#define VNET_GSO_ECN 0x80

/* True when the view holds n bytes at offset off. */
static inline bool frame_has(const struct frame *f, size_t off, size_t n)
{
	return off <= f->len && n <= f->len - off;
}

/* Sub-view of f starting at off; an empty view when off is past the end. */
struct frame frame_tail(const struct frame *f, size_t off);

/* Read big-endian 16 bits at off into *v. Returns 0 or -EINVAL when out of bounds. */
int frame_be16(const struct frame *f, size_t off, uint16_t *v);

/*
 * frame_eth_parse() - parse the Ethernet header of f into *eth.
 * Return: 0, or -EINVAL when the frame is shorter than its header (a runt).
 */
int frame_eth_parse(const struct frame *f, struct frame_eth *eth);

/* True for broadcast and multicast addresses (the I/G bit). */
static inline bool mac_is_multicast(const uint8_t *mac)
{
	return mac[0] & 1;
}

/* True for the all-zero address, which is never learned. */
bool mac_is_zero(const uint8_t *mac);

/* Format mac as "aa:bb:cc:dd:ee:ff" into buf (at least 18 bytes). Returns buf. */
char *mac_format(const uint8_t *mac, char *buf);

/* Parse "aa:bb:cc:dd:ee:ff" into mac. Returns 0 or -EINVAL. */
int mac_parse(const char *s, uint8_t *mac);

/*
 * vnet_hdr_parse() - read the virtio-net header at the start of f.
 * Return: 0, or -EINVAL when f is too short or the header's offsets point
 * outside the frame that follows it.
 */
int vnet_hdr_parse(const struct frame *f, struct vnet_hdr *h);

/* Write h as a little-endian virtio_net_hdr into out (VNET_HDR_LEN bytes). */
void vnet_hdr_write(const struct vnet_hdr *h, uint8_t *out);

#endif
