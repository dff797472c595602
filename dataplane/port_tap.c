/* SPDX-License-Identifier: MIT */
/*
 * port_tap: TAP netdevs. tapyard creates the TAP (non-persistent, so closing
 * the fd deletes it) or opens an existing persistent one by name. Frames carry
 * a virtio-net header and the TAP is told the switch accepts checksum and TSO
 * offloads, so GSO super-frames pass through untouched.
 */
#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "port_impl.h"

static int tap_set_carrier(struct port *port, bool up)
{
	int on = up;

	if (ioctl(port->fd, TUNSETCARRIER, &on))
		return -errno;
	return 0;
}

static int tap_netdev(struct port *port, int *netns_fd, char *ifname, int *ifindex)
{
	struct ifreq ifr = {0};
	int fd, cur, err = 0;

	if (ioctl(port->fd, TUNGETIFF, &ifr))
		return -errno;
	fd = ioctl(port->fd, TUNGETDEVNETNS);
	if (fd < 0)
		return -errno;
	snprintf(ifname, PORT_NAME_MAX, "%s", ifr.ifr_name);
	/* The index is per namespace: look it up inside the device's namespace. */
	cur = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (cur < 0 || setns(fd, CLONE_NEWNET)) {
		err = -errno;
	} else {
		*ifindex = (int)if_nametoindex(ifname);
		if (!*ifindex)
			err = -errno;
		if (setns(cur, CLONE_NEWNET))
			err = -errno;
	}
	if (cur >= 0)
		close(cur);
	if (err) {
		close(fd);
		return err;
	}
	*netns_fd = fd;
	return 0;
}

static void tap_destroy(struct port *port)
{
	if (port->fd >= 0)
		close(port->fd);
}

static const struct port_class tap_class = {
	.name = "tap",
	.set_carrier = tap_set_carrier,
	.netdev = tap_netdev,
	.destroy = tap_destroy,
};

/* Run ioctl req on ifr through a throwaway socket. */
static int tap_sock_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr))
		err = -errno;
	close(s);
	return err;
}

/*
 * 0 when ifname does not exist, 1 when it is a TAP, -EEXIST when it exists and
 * is something else.
 */
static int tap_probe(const char *ifname)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr = {0};
	int err;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	err = tap_sock_ioctl(SIOCGIFINDEX, &ifr);
	if (err == -ENODEV)
		return 0;
	if (err)
		return err;
	ifr.ifr_data = (char *)&info;
	if (tap_sock_ioctl(SIOCETHTOOL, &ifr))
		return -EEXIST;
	if (strcmp(info.driver, "tun") != 0 || strcmp(info.bus_info, "tap") != 0)
		return -EEXIST;
	return 1;
}

static int tap_set_up(const char *ifname)
{
	struct ifreq ifr = {0};
	int err;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	err = tap_sock_ioctl(SIOCGIFFLAGS, &ifr);
	if (err)
		return err;
	ifr.ifr_flags |= IFF_UP;
	return tap_sock_ioctl(SIOCSIFFLAGS, &ifr);
}

/* TUNSETIFF fd to ifname with offloads unless no_offload. */
static int tap_attach(int fd, const char *ifname, bool no_offload)
{
	unsigned int offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	struct ifreq ifr = {0};
	int hdr = VNET_HDR_LEN;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (no_offload ? 0 : IFF_VNET_HDR);
	if (ioctl(fd, TUNSETIFF, &ifr))
		return errno == EINVAL ? -EMLINK : -errno; /* the name was checked: multi-queue */
	if (no_offload)
		return 0;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr))
		return -errno;
	if (ioctl(fd, TUNSETOFFLOAD, offloads)) {
		log_warn("%s: TSO offloads refused (%s); using checksum offload only", ifname,
			 strerror(errno));
		if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM))
			return -errno;
	}
	return 0;
}

int port_tap_open(const char *ifname, const struct port_tap_opts *opts, struct port **out)
{
	struct port *p;
	int exists, fd, err;

	err = port_name_check(ifname);
	if (err)
		return err;
	exists = tap_probe(ifname);
	if (exists < 0)
		return exists;
	if (exists && opts->must_create)
		return -EEXIST;
	if (!exists && opts->must_exist)
		return -ENODEV;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	err = tap_attach(fd, ifname, opts->no_offload);
	if (err)
		goto fail;
	if (opts->up) {
		err = tap_set_up(ifname);
		if (err)
			goto fail;
	}
	p = port_alloc(&tap_class, fd, ifname);
	if (!p) {
		err = -ENOMEM;
		goto fail;
	}
	p->hdr_len = opts->no_offload ? 0 : VNET_HDR_LEN;
	p->created = !exists;
	*out = p;
	return 0;
fail:
	close(fd);
	return err;
}
