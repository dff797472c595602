/* SPDX-License-Identifier: MIT */
/* netlink: link and address changes over libnl-route, in a chosen network namespace. */
#include "netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>

/* libnl's error codes back to errnos (libnl maps errnos to NLE_* on the way in). */
static int netlink_errno(int nle)
{
	static const struct {
		int nle, err;
	} map[] = {
		{NLE_EXIST, EEXIST},	     {NLE_NODEV, ENODEV},
		{NLE_OBJ_NOTFOUND, ENODEV},  {NLE_PERM, EPERM},
		{NLE_BUSY, EBUSY},	     {NLE_INVAL, EINVAL},
		{NLE_NOMEM, ENOMEM},	     {NLE_RANGE, ERANGE},
		{NLE_AGAIN, EAGAIN},	     {NLE_NOACCESS, EACCES},
		{NLE_OPNOTSUPP, EOPNOTSUPP}, {NLE_AF_NOSUPPORT, EAFNOSUPPORT},
		{NLE_NOADDR, EADDRNOTAVAIL},
	};

	if (nle >= 0)
		return nle;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].nle == -nle)
			return -map[i].err;
	}
	return -EIO;
}

/* Open and connect an rtnetlink socket in the calling thread's namespace. */
static int netlink_connect(struct nl_sock **out)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err < 0) {
		nl_socket_free(sk);
		return netlink_errno(err);
	}
	*out = sk;
	return 0;
}

int netlink_open(int netns_fd, struct nl_sock **out)
{
	int cur, err;

	if (netns_fd < 0)
		return netlink_connect(out);
	/* Namespaces are per thread: enter, open the socket (it stays bound there), come back. */
	cur = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	if (setns(netns_fd, CLONE_NEWNET)) {
		err = -errno;
		close(cur);
		return err;
	}
	err = netlink_connect(out);
	if (setns(cur, CLONE_NEWNET) && !err) {
		err = -errno;
		netlink_close(*out);
	}
	close(cur);
	return err;
}

void netlink_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk);
}

int netlink_ifindex(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *link;
	int err, idx;

	err = rtnl_link_get_kernel(sk, 0, name, &link);
	if (err < 0)
		return netlink_errno(err);
	idx = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return idx > 0 ? idx : -ENODEV;
}

/* Apply the changes in change to link ifindex. */
static int netlink_change(struct nl_sock *sk, int ifindex, struct rtnl_link *change)
{
	struct rtnl_link *orig = rtnl_link_alloc();
	int err;

	if (!orig)
		return -ENOMEM;
	rtnl_link_set_ifindex(orig, ifindex);
	err = rtnl_link_change(sk, orig, change, 0);
	rtnl_link_put(orig);
	return netlink_errno(err);
}

int netlink_link_move(struct nl_sock *sk, int ifindex, int netns_fd, const char *name)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int err;

	if (!change)
		return -ENOMEM;
	rtnl_link_set_ns_fd(change, netns_fd);
	if (name)
		rtnl_link_set_name(change, name);
	err = netlink_change(sk, ifindex, change);
	rtnl_link_put(change);
	return err;
}

int netlink_link_rename(struct nl_sock *sk, int ifindex, const char *name)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int err;

	if (!change)
		return -ENOMEM;
	rtnl_link_set_name(change, name);
	err = netlink_change(sk, ifindex, change);
	rtnl_link_put(change);
	return err;
}

int netlink_link_set_mac(struct nl_sock *sk, int ifindex, const uint8_t *mac)
{
	struct rtnl_link *change = rtnl_link_alloc();
	struct nl_addr *addr = nl_addr_build(AF_LLC, mac, 6);
	int err = -ENOMEM;

	if (change && addr) {
		rtnl_link_set_addr(change, addr);
		err = netlink_change(sk, ifindex, change);
	}
	nl_addr_put(addr);
	if (change)
		rtnl_link_put(change);
	return err;
}

int netlink_link_set_up(struct nl_sock *sk, int ifindex, bool up)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int err;

	if (!change)
		return -ENOMEM;
	if (up)
		rtnl_link_set_flags(change, IFF_UP);
	else
		rtnl_link_unset_flags(change, IFF_UP);
	err = netlink_change(sk, ifindex, change);
	rtnl_link_put(change);
	return err;
}

int netlink_link_flags(struct nl_sock *sk, int ifindex, unsigned int *flags)
{
	struct rtnl_link *link;
	int err;

	err = rtnl_link_get_kernel(sk, ifindex, NULL, &link);
	if (err < 0)
		return netlink_errno(err);
	*flags = rtnl_link_get_flags(link);
	rtnl_link_put(link);
	return 0;
}

int netlink_neigh_forget_unresolved(struct nl_sock *sk, int ifindex)
{
	struct nl_cache *cache;
	struct nl_object *obj;
	int err, n = 0;

	err = rtnl_neigh_alloc_cache(sk, &cache);
	if (err < 0)
		return netlink_errno(err);
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_neigh *ne = (struct rtnl_neigh *)obj;

		if (rtnl_neigh_get_ifindex(ne) != ifindex ||
		    !(rtnl_neigh_get_state(ne) & (NUD_INCOMPLETE | NUD_FAILED)))
			continue;
		err = rtnl_neigh_delete(sk, ne, 0);
		if (err < 0 && err != -NLE_OBJ_NOTFOUND)
			break;
		err = 0;
		n++;
	}
	nl_cache_free(cache);
	return err < 0 ? netlink_errno(err) : n;
}

int netlink_addr_add(struct nl_sock *sk, int ifindex, uint32_t addr, unsigned int prefix)
{
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *local = nl_addr_build(AF_INET, &addr, sizeof(addr));
	int err = -ENOMEM;

	if (!ra || !local)
		goto out;
	nl_addr_set_prefixlen(local, (int)prefix);
	rtnl_addr_set_ifindex(ra, ifindex);
	err = netlink_errno(rtnl_addr_set_local(ra, local));
	if (!err)
		err = netlink_errno(rtnl_addr_add(sk, ra, 0));
out:
	nl_addr_put(local);
	if (ra)
		rtnl_addr_put(ra);
	return err;
}
