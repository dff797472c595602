/* SPDX-License-Identifier: MIT */
/*
 * netlink: the few rtnetlink operations guests need, over libnl-route:
 * move a link into another network namespace (renaming it on the way),
 * rename it, set it up or down, add an IPv4 address, read its flags.
 *
 * A socket belongs to the network namespace it was opened in; every call
 * acts there. Errors are negative errnos (libnl's codes are mapped).
 */
#ifndef TAPYARD_NETLINK_H
#define TAPYARD_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

struct nl_sock;

/*
 * netlink_open() - an rtnetlink socket in a network namespace.
 * @netns_fd: the namespace, or -1 for the calling thread's own
 * Return: 0 with *out set, or a negative errno (setns or socket failure).
 */
int netlink_open(int netns_fd, struct nl_sock **out);

/* Close a socket from netlink_open(). NULL is a no-op. */
void netlink_close(struct nl_sock *sk);

/* The index of link name, or a negative errno (-ENODEV when absent). */
int netlink_ifindex(struct nl_sock *sk, const char *name);

/*
 * netlink_link_move() - move link ifindex into netns_fd, renamed to name
 * (NULL keeps the name). The link should be down. Returns 0 or -errno.
 */
int netlink_link_move(struct nl_sock *sk, int ifindex, int netns_fd, const char *name);

/* Rename link ifindex (it must be down). Returns 0 or -errno. */
int netlink_link_rename(struct nl_sock *sk, int ifindex, const char *name);

/* Set the Ethernet address of link ifindex (6 bytes). Returns 0 or -errno. */
int netlink_link_set_mac(struct nl_sock *sk, int ifindex, const uint8_t *mac);

/* Set link ifindex administratively up or down. Returns 0 or -errno. */
int netlink_link_set_up(struct nl_sock *sk, int ifindex, bool up);

/* The IFF_* flags of link ifindex (IFF_UP, IFF_LOWER_UP...), or a negative errno. */
int netlink_link_flags(struct nl_sock *sk, int ifindex, unsigned int *flags);

/*
 * netlink_neigh_forget_unresolved() - delete the neighbour entries of link
 * ifindex still being resolved or failed (INCOMPLETE, FAILED), so that the
 * next packet to them sends a fresh ARP or NDP request at once instead of
 * waiting for a retry timer that started while the link was down.
 * Return: how many were deleted, or a negative errno.
 */
int netlink_neigh_forget_unresolved(struct nl_sock *sk, int ifindex);

/* Add IPv4 address addr/prefix (addr in network byte order) to link ifindex. */
int netlink_addr_add(struct nl_sock *sk, int ifindex, uint32_t addr, unsigned int prefix);

#endif
