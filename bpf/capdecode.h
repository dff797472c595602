/* SPDX-License-Identifier: MIT */
/*
 * capdecode: what a captured frame's bytes show (MACs, ethertype, IPv4/IPv6
 * or ARP addresses, the transport protocol, ports, ICMP type and code), as
 * text where capture/read and the capture filters compare text. The one
 * decoder of captured frames: capture/read reports it, capfilter matches on it.
 */
#ifndef TAPYARD_CAPDECODE_H
#define TAPYARD_CAPDECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAPDECODE_ADDR_MAX 46 /* INET6_ADDRSTRLEN */

struct capdecode {
	bool eth; /* the Ethernet header is there; nothing else is set without it */
	char src_mac[18], dst_mac[18];
	uint16_t ethertype, vlan;
	char src_ip[CAPDECODE_ADDR_MAX], dst_ip[CAPDECODE_ADDR_MAX]; /* "" when absent */
	char proto[8]; /* "icmp", "tcp", "udp", "icmpv6", "sctp", "arp", another number; "" */
	int arp_op; /* -1 when absent */
	int sport, dport; /* -1 when absent */
	int icmp_type, icmp_code; /* -1 when absent */
};

/* Decode len captured bytes at data into d. */
void capdecode(const uint8_t *data, size_t len, struct capdecode *d);

#endif
