/* SPDX-License-Identifier: MIT */
/*
 * ctl_link: link state, and how it reaches the guest.
 *
 *   link/set {port, up}                      -> the port (as port/list shows it)
 *   link/qmp {port, qmp?, qmp_netdev?}       -> the port; without qmp: forget the socket
 *
 * A port may carry a QMP socket and a netdev id (port/add's args qmp and
 * qmp_netdev, or link/qmp later): link/set then sends QEMU set_link, so that
 * the VM's guest sees its carrier change, before the switch stops or starts
 * forwarding. When QMP fails the reply is an error naming the socket and
 * QEMU's answer, and nothing changed: the port forwards as before. Without
 * QMP, a TAP tapyard holds has its carrier set (TUNSETCARRIER); any other
 * port is only cut by the switch. port/list says which ("link_via":
 * "qmp", "carrier" or "switch").
 *
 * Trust: connecting to a unix socket is opening a file. The socket is
 * connected to with the rights of whoever gave its path: a --group member's
 * by a child process that has the member's uid and groups (openas.h), never
 * through a symbolic link at its last component; root's and the daemon
 * user's with the daemon's. So a member cannot make the daemon talk to a
 * socket the member could not talk to, whoever runs link/set later.
 *
 * The QMP exchange runs without the dispatcher's lock (link/set replies
 * later) and waits QMP_TIMEOUT_MS at most for each answer.
 */
#ifndef TAPYARD_CTL_LINK_H
#define TAPYARD_CTL_LINK_H

#include "ctl_impl.h"

#define CTL_LINK_NCMDS 2

/* The command table (listed in ctl_tables[] in ctl.c). */
extern const struct ctl_cmd ctl_link_cmds[CTL_LINK_NCMDS];

/* A port's QMP socket as a request names it (borrowed strings; path NULL: none). */
struct ctl_link_qmp {
	const char *path;
	const char *netdev;
};

/*
 * ctl_link_qmp_args() - read args qmp and qmp_netdev (both or neither; the
 * path absolute) into q.
 * Return: 0 or -EINVAL with e naming the bad argument.
 */
int ctl_link_qmp_args(json_t *args, struct ctl_link_qmp *q, struct ctl_err *e);

/*
 * ctl_link_qmp_set() - give port (which exists) the QMP socket of q, with
 * the rights of the request's caller, or forget its socket (q->path NULL).
 * Return: 0 or -ENOMEM.
 */
int ctl_link_qmp_set(struct ctl *ctl, const char *port, const struct ctl_link_qmp *q);

/* Add how link state reaches the guest of port pi to its JSON object obj. */
void ctl_link_describe(struct ctl *ctl, const struct dp_port_info *pi, json_t *obj);

/* Forget every port's QMP socket (ctl_destroy() calls it). */
void ctl_link_release(struct ctl *ctl);

#endif
