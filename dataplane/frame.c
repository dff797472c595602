/* SPDX-License-Identifier: MIT */
/* frame: bounds-checked frame views, Ethernet and virtio-net header parsing. */
#include "frame.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88a8

struct frame frame_tail(const struct frame *f, size_t off)
{
	struct frame t = {.data = f->data, .len = 0};

	if (off <= f->len) {
		t.data = f->data + off;
		t.len = f->len - off;
	}
	return t;
}

int frame_be16(const struct frame *f, size_t off, uint16_t *v)
{
	if (!frame_has(f, off, 2))
		return -EINVAL;
	*v = (uint16_t)(f->data[off] << 8 | f->data[off + 1]);
	return 0;
}

int frame_eth_parse(const struct frame *f, struct frame_eth *eth)
{
	uint16_t type, tci;

	if (frame_be16(f, 12, &type))
		return -EINVAL;
	eth->dst = f->data;
	eth->src = f->data + ETH_ALEN_;
	eth->vlan = 0;
	eth->l3_off = FRAME_ETH_HLEN;
	if (type == ETH_P_8021Q_ || type == ETH_P_8021AD_) {
		if (frame_be16(f, 14, &tci) || frame_be16(f, 16, &type))
			return -EINVAL;
		eth->vlan = tci & 0x0fff;
		eth->l3_off = FRAME_ETH_HLEN + 4;
	}
	eth->ethertype = type;
	return 0;
}

bool mac_is_zero(const uint8_t *mac)
{
	static const uint8_t zero[ETH_ALEN_];

	return memcmp(mac, zero, ETH_ALEN_) == 0;
}

char *mac_format(const uint8_t *mac, char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return buf;
}

int mac_parse(const char *s, uint8_t *mac)
{
	unsigned int b[ETH_ALEN_];

	/* Exactly "xx:xx:xx:xx:xx:xx": sscanf alone takes signs, spaces, "0x" and one digit. */
	if (strlen(s) != 3 * ETH_ALEN_ - 1)
		return -EINVAL;
	for (int i = 0; i < 3 * ETH_ALEN_ - 1; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return -EINVAL;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) !=
	    ETH_ALEN_)
		return -EINVAL;
	for (int i = 0; i < ETH_ALEN_; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)(v >> 8);
}

int vnet_hdr_parse(const struct frame *f, struct vnet_hdr *h)
{
	size_t body;

	if (!frame_has(f, 0, VNET_HDR_LEN))
		return -EINVAL;
	h->flags = f->data[0];
	h->gso_type = f->data[1];
	h->hdr_len = le16_at(f->data + 2);
	h->gso_size = le16_at(f->data + 4);
	h->csum_start = le16_at(f->data + 6);
	h->csum_offset = le16_at(f->data + 8);
	body = f->len - VNET_HDR_LEN;
	if ((h->flags & VNET_F_NEEDS_CSUM) &&
	    ((size_t)h->csum_start + h->csum_offset + 2 > body))
		return -EINVAL;
	if ((h->gso_type & ~VNET_GSO_ECN) != VNET_GSO_NONE && h->gso_size == 0)
		return -EINVAL;
	return 0;
}

void vnet_hdr_write(const struct vnet_hdr *h, uint8_t *out)
{
	out[0] = h->flags;
	out[1] = h->gso_type;
	le16_put(out + 2, h->hdr_len);
	le16_put(out + 4, h->gso_size);
	le16_put(out + 6, h->csum_start);
	le16_put(out + 8, h->csum_offset);
}
