/* SPDX-License-Identifier: MIT */
/*
 * agent_net: what the guest agent changes in its guest besides running
 * commands: a NIC's name, address, MTU and state (found by its MAC), the
 * carrier of a link, /etc/hosts and the hostname. ioctls and /sys only: the
 * agent needs no network to configure the network.
 */
#ifndef TAPYARD_AGENT_NET_H
#define TAPYARD_AGENT_NET_H

#include <jansson.h>

#include "agent_proto.h"

/*
 * agent_net_nic() - find the link whose MAC is nic->mac, rename it (a link
 * that holds the name already is moved aside), address it, set its MTU and
 * bring it up or down.
 * Return: 0 with *result set ({name, ifindex}), or a negative errno with e filled.
 */
int agent_net_nic(const struct agent_nic *nic, json_t **result, struct agent_err *e);

/*
 * agent_net_carrier() - the carrier of link c->name, once or (c->want >= 0)
 * after waiting up to c->timeout_ms for it to become c->want.
 * Return: 0 with *result set ({name, carrier, up, waited_ms}), -ETIMEDOUT
 * or another negative errno with e filled.
 */
int agent_net_carrier(const struct agent_carrier *c, json_t **result, struct agent_err *e);

/* agent_net_hosts() - replace path (/etc/hosts) with text, atomically. */
int agent_net_hosts(const char *path, const char *text, size_t len, struct agent_err *e);

/* agent_net_hostname() - set the hostname. */
int agent_net_hostname(const char *name, struct agent_err *e);

#endif
