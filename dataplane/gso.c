/* SPDX-License-Identifier: MIT */
/* gso: checksum completion and software segmentation of virtio-net GSO frames. */
#include "gso.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86dd
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IP4_HLEN 20
#define IP6_HLEN 40
#define IP4_FRAG_MASK 0x3fff /* MF and the fragment offset */
#define TCP_HLEN 20
#define UDP_HLEN 8
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

/* Where the headers of a GSO super-frame are, derived from the frame itself. */
struct gso_layout {
	size_t l3_off; /* IP header */
	size_t l4_off; /* TCP or UDP header */
	size_t hdr_len; /* every header: the payload starts here */
	size_t payload; /* payload bytes of the whole super-frame */
	uint16_t mss; /* payload bytes per segment */
	uint8_t proto; /* IPPROTO_TCP_ or IPPROTO_UDP_ */
	bool v6;
};

static uint16_t be16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void be32_put(uint8_t *p, uint32_t v)
{
	be16_put(p, (uint16_t)(v >> 16));
	be16_put(p + 2, (uint16_t)v);
}

uint32_t gso_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t gso_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Set l->proto and l->v6 from gso_type; -EINVAL when unsupported or not matching ethertype. */
static int gso_type_check(const struct vnet_hdr *h, uint16_t ethertype, struct gso_layout *l)
{
	l->proto = IPPROTO_TCP_;
	l->v6 = ethertype == ETH_P_IPV6_;
	switch (h->gso_type) {
	case VNET_GSO_TCPV4:
	case VNET_GSO_TCPV4 | VNET_GSO_ECN:
		return ethertype == ETH_P_IP_ ? 0 : -EINVAL;
	case VNET_GSO_TCPV6:
	case VNET_GSO_TCPV6 | VNET_GSO_ECN:
		return ethertype == ETH_P_IPV6_ ? 0 : -EINVAL;
	case VNET_GSO_UDP_L4:
		l->proto = IPPROTO_UDP_;
		return ethertype == ETH_P_IP_ || ethertype == ETH_P_IPV6_ ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

/* Parse the IPv4 header at l->l3_off; *end is set to where the datagram ends. */
static int gso_parse_ip4(const struct frame *f, struct gso_layout *l, size_t *end)
{
	const uint8_t *ip;
	size_t ihl, tot;

	if (!frame_has(f, l->l3_off, IP4_HLEN))
		return -EINVAL;
	ip = f->data + l->l3_off;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	tot = be16_at(ip + 2);
	if (ip[0] >> 4 != 4 || ihl < IP4_HLEN || tot < ihl || ip[9] != l->proto ||
	    (be16_at(ip + 6) & IP4_FRAG_MASK) || !frame_has(f, l->l3_off, tot))
		return -EINVAL;
	l->l4_off = l->l3_off + ihl;
	*end = l->l3_off + tot;
	return 0;
}

/* Parse the IPv6 header at l->l3_off (no extension headers); *end as above. */
static int gso_parse_ip6(const struct frame *f, struct gso_layout *l, size_t *end)
{
	const uint8_t *ip;
	size_t plen;

	if (!frame_has(f, l->l3_off, IP6_HLEN))
		return -EINVAL;
	ip = f->data + l->l3_off;
	plen = be16_at(ip + 4);
	if (ip[0] >> 4 != 6 || ip[6] != l->proto || !frame_has(f, l->l3_off + IP6_HLEN, plen))
		return -EINVAL;
	l->l4_off = l->l3_off + IP6_HLEN;
	*end = l->l4_off + plen;
	return 0;
}

/* Parse the TCP or UDP header; the datagram ending at end must carry payload. */
static int gso_parse_l4(const struct frame *f, struct gso_layout *l, size_t end)
{
	size_t l4len = UDP_HLEN;

	if (l->proto == IPPROTO_TCP_) {
		if (!frame_has(f, l->l4_off, TCP_HLEN))
			return -EINVAL;
		l4len = (size_t)(f->data[l->l4_off + 12] >> 4) * 4;
		if (l4len < TCP_HLEN)
			return -EINVAL;
	}
	if (l->l4_off + l4len >= end)
		return -EINVAL;
	l->hdr_len = l->l4_off + l4len;
	l->payload = end - l->hdr_len;
	return 0;
}

/* Find the headers and payload of GSO frame f. Returns 0 or -EINVAL. */
static int gso_parse(const struct frame *f, const struct vnet_hdr *h, struct gso_layout *l)
{
	struct frame_eth eth;
	size_t end;
	int ret;

	if (h->gso_size == 0 || frame_eth_parse(f, &eth))
		return -EINVAL;
	ret = gso_type_check(h, eth.ethertype, l);
	if (ret)
		return ret;
	l->l3_off = eth.l3_off;
	l->mss = h->gso_size;
	ret = l->v6 ? gso_parse_ip6(f, l, &end) : gso_parse_ip4(f, l, &end);
	if (ret)
		return ret;
	return gso_parse_l4(f, l, end);
}

static unsigned int gso_count(const struct gso_layout *l)
{
	return (unsigned int)((l->payload + l->mss - 1) / l->mss);
}

/* Check the partial-checksum offsets of h against f (when h asks for one). */
static int gso_csum_check(const struct frame *f, const struct vnet_hdr *h)
{
	if (!(h->flags & VNET_F_NEEDS_CSUM))
		return 0;
	if ((h->csum_offset & 1) || !frame_has(f, (size_t)h->csum_start + h->csum_offset, 2))
		return -EINVAL;
	return 0;
}

unsigned int gso_wire_count(const struct frame *f, const struct vnet_hdr *h)
{
	struct gso_layout l;

	if (h->gso_type == VNET_GSO_NONE)
		return gso_csum_check(f, h) ? 0 : 1;
	if (gso_parse(f, h, &l))
		return 0;
	return gso_count(&l);
}

size_t gso_wire_bytes(const struct frame *f, const struct vnet_hdr *h, unsigned int *count)
{
	struct gso_layout l;

	*count = gso_wire_count(f, h);
	if (*count == 0)
		return 0;
	if (h->gso_type == VNET_GSO_NONE)
		return f->len;
	if (gso_parse(f, h, &l))
		return 0;
	return l.hdr_len * *count + l.payload;
}

int gso_csum_complete(struct frame *f, const struct vnet_hdr *h)
{
	uint16_t csum;
	int ret;

	ret = gso_csum_check(f, h);
	if (ret || !(h->flags & VNET_F_NEEDS_CSUM))
		return ret;
	csum = gso_csum_fold(gso_csum_add(0, f->data + h->csum_start, f->len - h->csum_start));
	be16_put(f->data + h->csum_start + h->csum_offset, csum ? csum : 0xffff);
	return 0;
}

/* Sum of the pseudo-header of the segment at out whose L4 part is l4len bytes. */
static uint32_t gso_pseudo_sum(const struct gso_layout *l, const uint8_t *out, size_t l4len)
{
	const uint8_t *ip = out + l->l3_off;
	uint32_t sum = l->proto + (uint32_t)l4len;

	if (l->v6)
		return gso_csum_add(sum, ip + 8, 32);
	return gso_csum_add(sum, ip + 12, 8);
}

/* Fix the IP header of segment idx carrying seg payload bytes. */
static void gso_fix_ip(const struct gso_layout *l, uint8_t *out, unsigned int idx, size_t seg)
{
	uint8_t *ip = out + l->l3_off;
	size_t len = l->hdr_len - l->l3_off + seg;

	if (l->v6) {
		be16_put(ip + 4, (uint16_t)(len - IP6_HLEN));
		return;
	}
	be16_put(ip + 2, (uint16_t)len);
	be16_put(ip + 4, (uint16_t)(be16_at(ip + 4) + idx));
	be16_put(ip + 10, 0);
	be16_put(ip + 10, gso_csum_fold(gso_csum_add(0, ip, l->l4_off - l->l3_off)));
}

/* Fix the TCP or UDP header of segment idx of count carrying seg payload bytes. */
static void gso_fix_l4(const struct gso_layout *l, uint8_t *out, unsigned int idx,
		       unsigned int count, size_t seg)
{
	uint8_t *l4 = out + l->l4_off;
	size_t l4len = l->hdr_len - l->l4_off + seg;
	uint8_t *field;
	uint16_t csum;

	if (l->proto == IPPROTO_TCP_) {
		be32_put(l4 + 4, be32_at(l4 + 4) + idx * l->mss);
		if (idx + 1 < count)
			l4[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (idx > 0)
			l4[13] &= (uint8_t)~TCP_CWR;
		field = l4 + 16;
	} else {
		be16_put(l4 + 4, (uint16_t)l4len);
		field = l4 + 6;
	}
	be16_put(field, 0);
	csum = gso_csum_fold(gso_csum_add(gso_pseudo_sum(l, out, l4len), l4, l4len));
	if (csum == 0 && l->proto == IPPROTO_UDP_)
		csum = 0xffff;
	be16_put(field, csum);
}

int gso_segment(const struct frame *f, const struct vnet_hdr *h, unsigned int idx, uint8_t *out,
		size_t out_len)
{
	struct gso_layout l;
	unsigned int count;
	size_t off, seg;
	int ret;

	ret = gso_parse(f, h, &l);
	if (ret)
		return ret;
	count = gso_count(&l);
	if (idx >= count)
		return -EINVAL;
	off = (size_t)idx * l.mss;
	seg = l.payload - off < l.mss ? l.payload - off : l.mss;
	if (out_len < l.hdr_len + seg)
		return -ENOSPC;
	memcpy(out, f->data, l.hdr_len);
	memcpy(out + l.hdr_len, f->data + l.hdr_len + off, seg);
	gso_fix_ip(&l, out, idx, seg);
	gso_fix_l4(&l, out, idx, count, seg);
	return (int)(l.hdr_len + seg);
}
