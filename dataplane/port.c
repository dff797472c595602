/* SPDX-License-Identifier: MIT */
/* port: what every port class shares: allocation, accessors, error text. */
#include "port.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "port_impl.h"

struct port *port_alloc(const struct port_class *cls, int fd, const char *name)
{
	struct port *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cls = cls;
	p->fd = fd;
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

int port_name_check(const char *ifname)
{
	size_t n = strlen(ifname);

	if (n == 0 || strchr(ifname, '/') || strchr(ifname, ' ') || strchr(ifname, ':'))
		return -EINVAL;
	if (n >= IFNAMSIZ)
		return -ENAMETOOLONG;
	return 0;
}

void port_destroy(struct port *port)
{
	if (!port)
		return;
	port->cls->destroy(port);
	free(port);
}

const char *port_name(const struct port *port)
{
	return port->name;
}

const char *port_kind(const struct port *port)
{
	return port->cls->name;
}

bool port_created(const struct port *port)
{
	return port->created;
}

bool port_offloads(const struct port *port)
{
	return port->hdr_len != 0;
}

int port_set_carrier(struct port *port, bool up)
{
	if (!port->cls->set_carrier)
		return -EOPNOTSUPP;
	return port->cls->set_carrier(port, up);
}

int port_netdev(struct port *port, int *netns_fd, char *ifname, int *ifindex)
{
	if (!port->cls->netdev)
		return -EOPNOTSUPP;
	return port->cls->netdev(port, netns_fd, ifname, ifindex);
}

int port_revive(struct port *port)
{
	if (!port->cls->revive)
		return -EOPNOTSUPP;
	return port->cls->revive(port);
}

const char *port_note(const struct port *port)
{
	return port->note;
}

int port_fd(const struct port *port)
{
	return port->fd;
}

size_t port_hdr_len(const struct port *port)
{
	return port->hdr_len;
}

const char *port_strerror(int err)
{
	switch (err) {
	case -ENAMETOOLONG:
		return "interface name too long (at most 15 characters)";
	case -EEXIST:
		return "an interface of that name exists and is not a TAP";
	case -ENODEV:
		return "no such interface";
	case -EPERM:
	case -EACCES:
		return "permission denied (creating TAPs needs root or CAP_NET_ADMIN)";
	case -ENOENT:
		return "/dev/net/tun is missing (no tun/tap support in this kernel?)";
	case -EBUSY:
		return "the TAP is already attached to another program";
	case -EINVAL:
		return "invalid interface name";
	case -EMLINK:
		return "the TAP is multi-queue (switch it as a netdev port)";
	case -EPROTOTYPE:
		return "not an Ethernet interface";
	case -EISDIR:
		return "the interface is a kernel bridge (attach its ports instead)";
	case -EXDEV:
		return "the interface is a kernel bridge's port (release it first with "
		       "ip link set ... nomaster)";
	default:
		return strerror(-err);
	}
}
