/* SPDX-License-Identifier: MIT */
/*
 * port_pair: a port over one end of a SOCK_SEQPACKET socketpair, so the real
 * loop can be tested without root. The frames carry no virtio-net header.
 */
#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "port_impl.h"

static void pair_destroy(struct port *port)
{
	if (port->fd >= 0)
		close(port->fd);
}

static const struct port_class pair_class = {
	.name = "pair",
	.set_carrier = NULL,
	.destroy = pair_destroy,
};

static int pair_open(const char *name, size_t hdr_len, struct port **out, int *peer_fd)
{
	int sv[2], buf = 4 << 20;
	struct port *p;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	p = port_alloc(&pair_class, sv[0], name);
	if (!p) {
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	p->hdr_len = hdr_len;
	*out = p;
	*peer_fd = sv[1];
	return 0;
}

int port_pair_open(const char *name, struct port **out, int *peer_fd)
{
	return pair_open(name, 0, out, peer_fd);
}

int port_pair_open_vnet(const char *name, struct port **out, int *peer_fd)
{
	return pair_open(name, VNET_HDR_LEN, out, peer_fd);
}
