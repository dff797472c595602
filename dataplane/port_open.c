/* SPDX-License-Identifier: MIT */
/*
 * port_open: which class an interface is switched with. A TAP tapyard can
 * hold is a tap port; a TAP another program holds, a multi-queue TAP or any
 * other Ethernet interface is a netdev port.
 */
#include "port.h"

#include <errno.h>

int port_open(const char *ifname, enum port_type type, const struct port_tap_opts *opts,
	      struct port **out, enum port_type *tried)
{
	int err;

	*tried = type;
	if (type == PORT_TYPE_NETDEV)
		return port_netdev_open(ifname, out);
	err = port_tap_open(ifname, opts, out);
	if (type == PORT_TYPE_TAP || (err != -EBUSY && err != -EMLINK && err != -EEXIST))
		return err;
	if (opts->must_create)
		return err;
	*tried = PORT_TYPE_NETDEV;
	return port_netdev_open(ifname, out);
}
