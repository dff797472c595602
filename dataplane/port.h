/* SPDX-License-Identifier: MIT */
/*
 * port: the port provider vtable and the port classes.
 *
 * A port is one file descriptor that carries Ethernet frames, one per read
 * and one per write, optionally each behind a virtio-net header:
 *   tap   a TAP netdev tapyard creates (deleted when the port is destroyed)
 *         or an existing TAP it opens by name (left in place);
 *   pair  one end of a SOCK_SEQPACKET socketpair; the test holds the other
 *         end, so the real loop runs without root;
 *   netdev an AF_PACKET socket bound to an existing interface someone else
 *         owns (a TAP a hypervisor holds, a veth, a vxlan device, a NIC).
 */
#ifndef TAPYARD_PORT_H
#define TAPYARD_PORT_H

#include <stdbool.h>
#include <stddef.h>

#define PORT_NAME_MAX 16 /* IFNAMSIZ */
#define PORT_NOTE_MAX 96 /* port_note() */

struct port;

/* What a port class implements. */
struct port_class {
	const char *name;
	/* Show the link as up or down to the other side (carrier). May be NULL. */
	int (*set_carrier)(struct port *port, bool up);
	/* Where the netdev lives now; see port_netdev(). May be NULL. */
	int (*netdev)(struct port *port, int *netns_fd, char *ifname, int *ifindex);
	/* Make a gone port usable again; see port_revive(). May be NULL. */
	int (*revive)(struct port *port);
	/* Release the class's resources (closes the fd). */
	void (*destroy)(struct port *port);
};

/* Options for port_tap_open(). */
struct port_tap_opts {
	bool must_create; /* fail with -EEXIST if the interface exists */
	bool must_exist;  /* fail with -ENODEV if it does not */
	bool no_offload;  /* open without IFF_VNET_HDR and offloads */
	bool up;          /* set the interface up after opening */
};

/*
 * port_tap_open() - create the TAP ifname, or open it when it exists.
 * Return: 0 with *out set, or a negative errno: -ENAMETOOLONG, -EEXIST (exists
 * and is not a TAP, or must_create), -ENODEV, -EPERM/-EACCES (privileges),
 * -ENOENT (no /dev/net/tun), -EBUSY (already attached elsewhere), -EMLINK (a
 * multi-queue TAP: only the netdev class switches those).
 */
int port_tap_open(const char *ifname, const struct port_tap_opts *opts, struct port **out);

/*
 * port_pair_open() - a port over a SOCK_SEQPACKET socketpair.
 * @name: the port's name (truncated to PORT_NAME_MAX - 1)
 * @peer_fd: receives the other end; the caller owns and closes it
 * Return: 0 or a negative errno.
 */
int port_pair_open(const char *name, struct port **out, int *peer_fd);

/*
 * port_pair_open_vnet() - like port_pair_open(), but frames carry a virtio-net
 * header and may be GSO super-frames, as on a TAP (tests use it without root).
 */
int port_pair_open_vnet(const char *name, struct port **out, int *peer_fd);

/*
 * port_netdev_open() - switch the existing Ethernet interface ifname through
 * an AF_PACKET socket with the virtio-net header. The interface is set up, its
 * IPv4 addresses are removed and IPv6 is disabled on it (port_note() says
 * which of these it did); it is left in place when the port is destroyed.
 * Return: 0 with *out set, or a negative errno: -ENODEV (no such interface),
 * -EPROTOTYPE (not Ethernet), -EISDIR (a kernel bridge), -EXDEV (a kernel
 * bridge's port), -EPERM (needs CAP_NET_RAW and CAP_NET_ADMIN), -EINVAL,
 * -ENAMETOOLONG (bad name).
 */
int port_netdev_open(const char *ifname, struct port **out);

/* Which class port_open() uses. */
enum port_type {
	PORT_TYPE_AUTO, /* tap for a TAP that is free or does not exist, netdev otherwise */
	PORT_TYPE_TAP,
	PORT_TYPE_NETDEV,
};

/*
 * port_open() - open ifname as a port of class type. PORT_TYPE_AUTO picks
 * tap for a TAP tapyard can hold (creating it when it does not exist and
 * opts allow), and netdev for a TAP another program holds (-EBUSY), a
 * multi-queue TAP (-EMLINK) or an interface that is no TAP (-EEXIST).
 * @opts: for the tap class (up and must_exist apply to both)
 * @tried: receives the class whose error is returned (or that opened it)
 * Return: 0 with *out set, or the negative errno of port_tap_open() or
 * port_netdev_open().
 */
int port_open(const char *ifname, enum port_type type, const struct port_tap_opts *opts,
	      struct port **out, enum port_type *tried);

/*
 * port_revive() - after the port's interface went away or down, try to use it
 * again: a netdev port binds to the interface now called by its name.
 * Return: 0 when usable again, -EOPNOTSUPP for classes that cannot, or a
 * negative errno saying why not yet (-ENODEV, -ENETDOWN, ...).
 */
int port_revive(struct port *port);

/* What opening (or the last revive) changed on the interface, "" for nothing. */
const char *port_note(const struct port *port);

/* Close and free a port (a TAP tapyard created is deleted). NULL is a no-op. */
void port_destroy(struct port *port);

/* The port's name (the interface name for TAPs). */
const char *port_name(const struct port *port);

/* The class name: "tap", "pair" or "netdev". */
const char *port_kind(const struct port *port);

/* True when tapyard created the port's netdev (and destroying deletes it). */
bool port_created(const struct port *port);

/* True when frames carry a virtio-net header (GSO and partial checksums pass). */
bool port_offloads(const struct port *port);

/* Show carrier up or down to the guest. Returns 0, or -EOPNOTSUPP for classes without carrier. */
int port_set_carrier(struct port *port, bool up);

/* The port's file descriptor, owned by the port (for the loop). */
int port_fd(const struct port *port);

/* Bytes of virtio-net header before each frame: 0 or VNET_HDR_LEN. */
size_t port_hdr_len(const struct port *port);

/*
 * port_netdev() - a TAP's current namespace (new fd), name and index, which
 * a guest may have changed by moving and renaming it. -EOPNOTSUPP for pairs.
 */
int port_netdev(struct port *port, int *netns_fd, char *ifname, int *ifindex);

/* Human text for a port_*_open() error, naming the interface's problem. */
const char *port_strerror(int err);

#endif
