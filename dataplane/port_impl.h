/* SPDX-License-Identifier: MIT */
/* port_impl: the port struct, shared by port.c and the port classes only. */
#ifndef TAPYARD_PORT_IMPL_H
#define TAPYARD_PORT_IMPL_H

#include "port.h"

struct port {
	const struct port_class *cls;
	int fd;
	size_t hdr_len; /* 0 or VNET_HDR_LEN */
	bool created;   /* tapyard created the netdev */
	int ifindex;    /* netdev: the interface the socket is bound to */
	char name[PORT_NAME_MAX];
	char note[PORT_NOTE_MAX]; /* what opening changed on the interface */
};

/* Allocate a port of class cls over fd, named name. Returns NULL when out of memory. */
struct port *port_alloc(const struct port_class *cls, int fd, const char *name);

/* 0 when ifname is a valid interface name, -EINVAL or -ENAMETOOLONG. */
int port_name_check(const char *ifname);

#endif
