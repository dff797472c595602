/* SPDX-License-Identifier: MIT */
/*
 * guest: network-namespace guests. A guest is an anonymous network namespace
 * (held by an fd, so nothing outlives the process except processes still
 * running inside it, which guest_destroy() kills), its loopback up. NICs are
 * links moved into it (renamed, addressed, up). Commands run inside it in a
 * fresh mount and UTS namespace, with /sys showing the guest's links, a hosts
 * file of the caller's choice bind-mounted over /etc/hosts (as `ip netns
 * exec` does with /etc/netns/NAME/hosts), a clean environment and captured
 * output. No JSON here: ctl_guest.c maps the commands onto this.
 */
#ifndef TAPYARD_GUEST_H
#define TAPYARD_GUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest_run.h"

struct guest;

/* Options for guest_create(). */
struct guest_opts {
	bool ipv6; /* keep IPv6 on (off by default: no router solicitations or MLD noise) */
};

/*
 * guest_create() - a new network namespace with lo up.
 * Return: 0 with *out set, or a negative errno (-EPERM without CAP_SYS_ADMIN).
 */
int guest_create(const struct guest_opts *opts, struct guest **out);

/* Kill every process inside the guest, close its namespace and free it. NULL is a no-op. */
void guest_destroy(struct guest *g);

/* The guest's network namespace fd (owned by the guest). */
int guest_netns_fd(const struct guest *g);

/*
 * guest_kill_all() - SIGKILL every process whose network namespace is the
 * guest's, until none is left. Return: how many were killed.
 */
int guest_kill_all(struct guest *g);

/* How a link moved into a guest is set up (guest_link_adopt()). */
struct guest_link {
	const char *ifname; /* its name inside */
	const uint8_t *mac; /* its Ethernet address, or NULL to keep it */
	uint32_t addr; /* IPv4 address, network byte order; 0 for none */
	unsigned int prefix;
};

/*
 * guest_link_adopt() - move link ifindex from namespace src_netns_fd into the
 * guest, named, addressed and up as l says, and wait (up to 2 s) until it is
 * running. Return: 0 or a negative errno.
 */
int guest_link_adopt(struct guest *g, int src_netns_fd, int ifindex, const struct guest_link *l);

/*
 * guest_link_rename() - rename the guest's link from to to; the link is taken
 * down for the rename and brought up again (its addresses stay).
 */
int guest_link_rename(struct guest *g, const char *from, const char *to);

/*
 * guest_link_wait() - wait up to timeout_ms until link ifname inside the guest
 * has (lower_up true) or lacks carrier. With carrier back, the neighbours the
 * guest failed to resolve meanwhile are forgotten, so that its next packet
 * to them asks again at once (a plugged cable's first ping works).
 * Return: 0, -ETIMEDOUT or -errno.
 */
int guest_link_wait(struct guest *g, const char *ifname, bool lower_up, unsigned int timeout_ms);

/*
 * guest_run_start() - fork a child that enters the guest and executes req
 * (guest_run.h; req->hosts and req->hostname apply). Cheap; the caller may
 * release its locks before guest_run_wait().
 * Return: 0 with *out set, or a negative errno.
 */
int guest_run_start(struct guest *g, const struct guest_run_req *req, struct guest_proc **out);

/* Parse "10.1.0.0/24" (or an address without prefix: /32). Returns 0 or -EINVAL. */
int guest_parse_cidr(const char *s, uint32_t *addr, unsigned int *prefix);

#endif
