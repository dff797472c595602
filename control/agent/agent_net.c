/* SPDX-License-Identifier: MIT */
/*
 * agent_net: NIC, carrier, hosts and hostname inside a QEMU guest (see
 * agent_net.h). One AF_INET datagram socket per call carries the ioctls.
 */
#include "agent_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

/* An ifreq for name. */
static struct ifreq agent_ifr(const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	return ifr;
}

/* The name of the link whose MAC is mac, into name[IF_NAMESIZE]. */
static int agent_find_mac(int s, const uint8_t mac[6], char *name)
{
	struct if_nameindex *all = if_nameindex(), *i;
	int err = -ENODEV;

	if (!all)
		return -errno;
	for (i = all; i->if_index; i++) {
		struct ifreq ifr = agent_ifr(i->if_name);

		if (ioctl(s, SIOCGIFHWADDR, &ifr) == 0 &&
		    ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER &&
		    memcmp(ifr.ifr_hwaddr.sa_data, mac, 6) == 0) {
			snprintf(name, IF_NAMESIZE, "%s", i->if_name);
			err = 0;
			break;
		}
	}
	if_freenameindex(all);
	return err;
}

/* Set or clear IFF_UP. */
static int agent_set_up(int s, const char *name, bool up)
{
	struct ifreq ifr = agent_ifr(name);

	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		return -errno;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) ? -errno : 0;
}

/* Rename from to to (the link goes down: a running link cannot be renamed). */
static int agent_rename(int s, const char *from, const char *to)
{
	struct ifreq ifr = agent_ifr(from);
	int err = agent_set_up(s, from, false);

	if (err)
		return err;
	snprintf(ifr.ifr_newname, sizeof(ifr.ifr_newname), "%s", to);
	return ioctl(s, SIOCSIFNAME, &ifr) ? -errno : 0;
}

/* Give the link the name want; a different link that has it becomes "tyagN". */
static int agent_take_name(int s, const char *cur, const char *want)
{
	char aside[IF_NAMESIZE];
	unsigned int idx = if_nametoindex(want);
	int err;

	if (strcmp(cur, want) == 0)
		return 0;
	if (idx) {
		snprintf(aside, sizeof(aside), "tyag%u", idx);
		err = agent_rename(s, want, aside);
		if (err)
			return err;
	}
	return agent_rename(s, cur, want);
}

/* One IPv4 address ioctl (SIOCSIFADDR, SIOCSIFNETMASK) with value a. */
static int agent_set_in(int s, const char *name, unsigned long req, uint32_t a)
{
	struct ifreq ifr = agent_ifr(name);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = a};

	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	return ioctl(s, req, &ifr) ? -errno : 0;
}

/* Address, netmask and MTU of the (renamed) link. */
static int agent_nic_set(int s, const struct agent_nic *nic)
{
	uint32_t mask = nic->prefix ? htonl(~0u << (32 - nic->prefix)) : 0;
	struct ifreq ifr = agent_ifr(nic->name);
	int err = 0;

	if (nic->mtu) {
		ifr.ifr_mtu = (int)nic->mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr))
			return -errno;
	}
	if (nic->addr) {
		err = agent_set_in(s, nic->name, SIOCSIFADDR, nic->addr);
		if (!err)
			err = agent_set_in(s, nic->name, SIOCSIFNETMASK, mask);
	}
	if (!err)
		err = agent_set_up(s, nic->name, nic->up);
	return err;
}

int agent_net_nic(const struct agent_nic *nic, json_t **result, struct agent_err *e)
{
	char cur[IF_NAMESIZE];
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	if (s < 0)
		return agent_fail(e, -errno, "socket: %s", strerror(errno));
	err = agent_find_mac(s, nic->mac, cur);
	if (err) {
		agent_fail(e, err, "no link has MAC %02x:%02x:%02x:%02x:%02x:%02x", nic->mac[0],
			   nic->mac[1], nic->mac[2], nic->mac[3], nic->mac[4], nic->mac[5]);
		goto out;
	}
	err = agent_take_name(s, cur, nic->name);
	if (err) {
		agent_fail(e, err, "cannot rename %s to %s: %s", cur, nic->name, strerror(-err));
		goto out;
	}
	err = agent_nic_set(s, nic);
	if (err) {
		agent_fail(e, err, "%s: cannot configure: %s", nic->name, strerror(-err));
		goto out;
	}
	*result = json_pack("{s:s, s:i}", "name", nic->name, "ifindex",
			    (int)if_nametoindex(nic->name));
out:
	close(s);
	return err;
}

/* Read a small /sys file of link name into buf; 0 or -errno (-EINVAL: the link is down). */
static int agent_sys_read(const char *name, const char *file, char *buf, size_t size)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The link's carrier now: 1, 0 (also when the link is down), or -errno. */
static int agent_carrier_now(const char *name, bool *admin_up)
{
	char buf[32];
	unsigned long flags;
	int err = agent_sys_read(name, "flags", buf, sizeof(buf));

	if (err)
		return err;
	flags = strtoul(buf, NULL, 0);
	*admin_up = flags & IFF_UP;
	err = agent_sys_read(name, "carrier", buf, sizeof(buf));
	if (err == -EINVAL)
		return 0;
	return err ? err : buf[0] == '1';
}

int agent_net_carrier(const struct agent_carrier *c, json_t **result, struct agent_err *e)
{
	uint64_t start = clock_mono_ms();
	struct timespec slice = {.tv_nsec = 10 * 1000000L};
	bool up = false;
	int carrier;

	for (;;) {
		carrier = agent_carrier_now(c->name, &up);
		if (carrier < 0)
			return agent_fail(e, carrier, "%s: cannot read its carrier: %s", c->name,
					  strerror(-carrier));
		if (c->want < 0 || carrier == c->want)
			break;
		if (clock_mono_ms() - start >= c->timeout_ms)
			return agent_fail(e, -ETIMEDOUT, "%s: carrier still %d after %llu ms",
					  c->name, carrier, (unsigned long long)c->timeout_ms);
		nanosleep(&slice, NULL);
	}
	*result = json_pack("{s:s, s:b, s:b, s:I}", "name", c->name, "carrier", carrier, "up", up,
			    "waited_ms", (json_int_t)(clock_mono_ms() - start));
	return 0;
}

int agent_net_hosts(const char *path, const char *text, size_t len, struct agent_err *e)
{
	char tmp[256];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tapyard-agent", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return agent_fail(e, -errno, "%s: %s", tmp, strerror(errno));
	for (size_t off = 0; off < len && !err;) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno != EINTR)
			err = -errno;
		off += n > 0 ? (size_t)n : 0;
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return agent_fail(e, err, "%s: %s", path, strerror(-err));
	}
	return 0;
}

int agent_net_hostname(const char *name, struct agent_err *e)
{
	if (sethostname(name, strlen(name)))
		return agent_fail(e, -errno, "sethostname: %s", strerror(errno));
	return 0;
}
