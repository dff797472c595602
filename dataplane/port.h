/* SPDX-License-Identifier: MIT */
/*
 * port: the port provider vtable and the port classes.
 *
 * A port is one file descriptor that carries Ethernet frames, one per read
 * and one per write, optionally each behind a virtio-net header:
 *   tap   a TAP netdev tapyard creates (deleted when the port is destroyed)
 *         or an existing TAP it opens by name (left in place);
 *   pair  one end of a SOCK_SEQPACKET socketpair; the test holds the other
 *         end, so the real loop runs without root.
 */
#ifndef TAPYARD_PORT_H
#define TAPYARD_PORT_H

#include <stdbool.h>
#include <stddef.h>

#define PORT_NAME_MAX 16 /* IFNAMSIZ */

struct port;

/* What a port class implements. */
struct port_class {
	const char *name;
	/* Show the link as up or down to the other side (carrier). May be NULL. */
	int (*set_carrier)(struct port *port, bool up);
	/* Where the netdev lives now; see port_netdev(). May be NULL. */
	int (*netdev)(struct port *port, int *netns_fd, char *ifname, int *ifindex);
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
 * -ENOENT (no /dev/net/tun), -EBUSY (already attached elsewhere).
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

/* Close and free a port (a TAP tapyard created is deleted). NULL is a no-op. */
void port_destroy(struct port *port);

/* The port's name (the interface name for TAPs). */
const char *port_name(const struct port *port);

/* The class name: "tap" or "pair". */
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
