/* SPDX-License-Identifier: MIT */
/*
 * port_netdev: an existing Ethernet interface (a TAP a hypervisor holds, a
 * veth, a vxlan device, a NIC) switched through an AF_PACKET socket bound to
 * it, as Open vSwitch's system ports are.
 *
 * The socket carries the same virtio-net header as the TAP ports
 * (PACKET_VNET_HDR), so GSO super-frames and partial checksums pass whole; it
 * does not see its own transmissions (PACKET_IGNORE_OUTGOING) and its frames
 * skip the host qdisc (PACKET_QDISC_BYPASS). The loop reads and writes it as
 * it does a TAP fd: one frame per read or write.
 *
 * Directions: on the host side what arrives is what the guest sent, so a
 * frame read is the guest's tx and a frame written its rx, as for a TAP.
 *
 * Opening keeps the host's own stack off the interface (IPv4 addresses
 * removed, IPv6 disabled) and notes what it changed (port_note()). The
 * interface may vanish (a hypervisor restarts, a TAP is deleted and made
 * again): the loop marks the port gone and calls port_revive() once a second,
 * which binds the same socket to the interface of that name when it is back.
 * Every ioctl goes through the port's own socket, so it acts in the
 * namespace the socket was made in whatever thread runs it.
 */
#include "port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "port_impl.h"

#define NETDEV_SOCKBUF (4 << 20)
#define NETDEV_MAX_ADDRS 64 /* IPv4 addresses removed at most, a bound on the loop */

/* ioctl req on interface name through the port's socket fd. */
static int netdev_ioctl(int fd, unsigned long req, const char *name, struct ifreq *ifr)
{
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	if (ioctl(fd, req, ifr))
		return -errno;
	return 0;
}

/* Does /sys/class/net/NAME/LEAF exist? (sysfs shows the daemon's namespace) */
static bool netdev_sysfs_has(const char *name, const char *leaf)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, leaf);
	return access(path, F_OK) == 0;
}

/* The interface exists, is Ethernet and no kernel bridge's port: its index, or a negative errno. */
static int netdev_check(int fd, const char *name)
{
	struct ifreq ifr = {0};
	int err, ifindex;

	err = netdev_ioctl(fd, SIOCGIFINDEX, name, &ifr);
	if (err)
		return err;
	ifindex = ifr.ifr_ifindex;
	err = netdev_ioctl(fd, SIOCGIFHWADDR, name, &ifr);
	if (err)
		return err;
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		return -EPROTOTYPE;
	if (netdev_sysfs_has(name, "bridge"))
		return -EISDIR;
	if (netdev_sysfs_has(name, "brport"))
		return -EXDEV;
	return ifindex;
}

/* Append text to the port's note, comma separated. */
static void netdev_note(struct port *p, const char *text)
{
	size_t n = strlen(p->note);

	snprintf(p->note + n, sizeof(p->note) - n, "%s%s", n ? ", " : "", text);
}

/* Remove every IPv4 address of the interface (setting 0.0.0.0 deletes one). */
static void netdev_strip_ipv4(struct port *p)
{
	struct ifreq ifr = {0};
	int n = 0;
	char text[48];

	while (n < NETDEV_MAX_ADDRS && netdev_ioctl(p->fd, SIOCGIFADDR, p->name, &ifr) == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ifr.ifr_addr;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = INADDR_ANY;
		if (netdev_ioctl(p->fd, SIOCSIFADDR, p->name, &ifr))
			break;
		n++;
	}
	if (n) {
		snprintf(text, sizeof(text), "removed %d IPv4 address%s", n, n > 1 ? "es" : "");
		netdev_note(p, text);
	}
}

/* Turn IPv6 off on the interface (no link-local address, no autoconf). */
static void netdev_no_ipv6(struct port *p)
{
	char path[96], cur = '1';
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", p->name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return; /* no IPv6 in this kernel or namespace */
	if (read(fd, &cur, 1) == 1 && cur == '0' && pwrite(fd, "1\n", 2, 0) == 2)
		netdev_note(p, "disabled IPv6");
	close(fd);
}

/* Set the interface up (noting it) when it is down. */
static int netdev_set_up(struct port *p)
{
	struct ifreq ifr = {0};
	int err = netdev_ioctl(p->fd, SIOCGIFFLAGS, p->name, &ifr);

	if (err || (ifr.ifr_flags & IFF_UP))
		return err;
	ifr.ifr_flags |= IFF_UP;
	err = netdev_ioctl(p->fd, SIOCSIFFLAGS, p->name, &ifr);
	if (!err)
		netdev_note(p, "set it up");
	return err;
}

/* Bind the socket to ifindex for every protocol, in promiscuous mode. */
static int netdev_bind(struct port *p, int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	struct packet_mreq mr = {.mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC};
	int soerr;
	socklen_t len = sizeof(soerr);

	if (bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	if (setsockopt(p->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)))
		return -errno;
	getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &len); /* forget a stale ENETDOWN */
	p->ifindex = ifindex;
	return 0;
}

/* Check, quiet, bring up and bind to the interface of the port's name. */
static int netdev_attach(struct port *p)
{
	int ifindex = netdev_check(p->fd, p->name);
	int err;

	if (ifindex < 0)
		return ifindex;
	p->note[0] = '\0';
	netdev_strip_ipv4(p);
	netdev_no_ipv6(p);
	err = netdev_set_up(p);
	if (err)
		return err;
	return netdev_bind(p, ifindex);
}

static int netdev_revive(struct port *p)
{
	struct ifreq ifr = {0};
	int err;

	err = netdev_ioctl(p->fd, SIOCGIFINDEX, p->name, &ifr);
	if (err)
		return err;
	if (ifr.ifr_ifindex != p->ifindex)
		return netdev_attach(p); /* a new interface of the same name */
	/* The same interface, set down meanwhile: back when someone sets it up. */
	err = netdev_ioctl(p->fd, SIOCGIFFLAGS, p->name, &ifr);
	if (err)
		return err;
	if (!(ifr.ifr_flags & IFF_UP))
		return -ENETDOWN;
	return netdev_bind(p, p->ifindex);
}

static void netdev_destroy(struct port *p)
{
	if (p->fd >= 0)
		close(p->fd); /* the promiscuous membership goes with the socket */
}

static const struct port_class netdev_class = {
	.name = "netdev",
	.set_carrier = NULL,
	.netdev = NULL,
	.revive = netdev_revive,
	.destroy = netdev_destroy,
};

/* A packet socket with the vnet header, outgoing frames ignored, qdisc bypassed. */
static int netdev_socket(void)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1, buf = NETDEV_SOCKBUF;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return fd;
}

int port_netdev_open(const char *ifname, struct port **out)
{
	struct port *p;
	int fd, err;

	err = port_name_check(ifname);
	if (err)
		return err;
	fd = netdev_socket();
	if (fd < 0)
		return fd;
	p = port_alloc(&netdev_class, fd, ifname);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	p->hdr_len = VNET_HDR_LEN;
	err = netdev_attach(p);
	if (err) {
		port_destroy(p);
		return err;
	}
	*out = p;
	return 0;
}
