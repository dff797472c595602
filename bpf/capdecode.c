/* SPDX-License-Identifier: MIT */
/*
 * capdecode: decode a captured frame (see capdecode.h), through the bounds-
 * checked frame views of the dataplane.
 */
#include "capdecode.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"

/* An address of family af at off in f into buf (left "" when out of bounds). */
static void capdecode_ip(char *buf, int af, const struct frame *f, size_t off)
{
	if (frame_has(f, off, af == AF_INET ? 4 : 16) &&
	    !inet_ntop(af, f->data + off, buf, CAPDECODE_ADDR_MAX))
		buf[0] = '\0';
}

/* The transport header at l4 (NULL: a later fragment): ports, or ICMP type and code. */
static void capdecode_l4(struct capdecode *d, unsigned int proto, const struct frame *l4)
{
	static const struct {
		unsigned int proto;
		const char *name;
	} names[] = {{1, "icmp"}, {6, "tcp"}, {17, "udp"}, {58, "icmpv6"}, {132, "sctp"}};
	uint16_t a, b;

	snprintf(d->proto, sizeof(d->proto), "%u", proto);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].proto == proto)
			snprintf(d->proto, sizeof(d->proto), "%s", names[i].name);
	}
	if (!l4 || !frame_has(l4, 0, 4))
		return;
	frame_be16(l4, 0, &a);
	frame_be16(l4, 2, &b);
	if (proto == 6 || proto == 17 || proto == 132) {
		d->sport = a;
		d->dport = b;
	} else if (proto == 1 || proto == 58) {
		d->icmp_type = a >> 8;
		d->icmp_code = a & 0xff;
	}
}

static void capdecode_ipv4(struct capdecode *d, const struct frame *l3)
{
	struct frame l4;
	uint16_t frag;
	size_t ihl;

	if (!frame_has(l3, 0, 20) || frame_be16(l3, 6, &frag))
		return;
	ihl = (size_t)(l3->data[0] & 0x0f) * 4;
	capdecode_ip(d->src_ip, AF_INET, l3, 12);
	capdecode_ip(d->dst_ip, AF_INET, l3, 16);
	l4 = frame_tail(l3, ihl);
	capdecode_l4(d, l3->data[9], ihl >= 20 && !(frag & 0x1fff) ? &l4 : NULL);
}

static void capdecode_ipv6(struct capdecode *d, const struct frame *l3)
{
	struct frame l4;

	if (!frame_has(l3, 0, 40))
		return;
	capdecode_ip(d->src_ip, AF_INET6, l3, 8);
	capdecode_ip(d->dst_ip, AF_INET6, l3, 24);
	l4 = frame_tail(l3, 40);
	capdecode_l4(d, l3->data[6], &l4);
}

static void capdecode_arp(struct capdecode *d, const struct frame *l3)
{
	uint16_t op;

	snprintf(d->proto, sizeof(d->proto), "arp");
	if (frame_be16(l3, 6, &op))
		return;
	d->arp_op = op;
	capdecode_ip(d->src_ip, AF_INET, l3, 14);
	capdecode_ip(d->dst_ip, AF_INET, l3, 24);
}

void capdecode(const uint8_t *data, size_t len, struct capdecode *d)
{
	struct frame f = {(uint8_t *)data, len}, l3;
	struct frame_eth eth;

	memset(d, 0, sizeof(*d));
	d->arp_op = d->sport = d->dport = d->icmp_type = d->icmp_code = -1;
	if (frame_eth_parse(&f, &eth))
		return;
	d->eth = true;
	mac_format(eth.src, d->src_mac);
	mac_format(eth.dst, d->dst_mac);
	d->ethertype = eth.ethertype;
	d->vlan = eth.vlan;
	l3 = frame_tail(&f, eth.l3_off);
	if (eth.ethertype == 0x0800)
		capdecode_ipv4(d, &l3);
	else if (eth.ethertype == 0x86dd)
		capdecode_ipv6(d, &l3);
	else if (eth.ethertype == 0x0806)
		capdecode_arp(d, &l3);
}
