/* SPDX-License-Identifier: MIT */
/*
 * bridge_helper: `tapyard bridge-helper`, QEMU's bridge helper for tapyard
 * bridges; see bridge_helper.h. Steps, each failure ending the run with exit 1
 * and one line on stderr (the TAP, made non-persistent, goes with the helper
 * when QEMU never got it):
 *   1. the arguments, as qemu-bridge-helper takes them (plus --socket=PATH);
 *   2. the access list, refusing unless it allows the bridge;
 *   3. a new TAP named from the pattern tyq%d ($TAPYARD_BRIDGE_TAP), with the
 *      virtio-net header when --use-vnet asks and the kernel has it;
 *   4. port/add on the daemon (a netdev port: QEMU holds the TAP); a stale
 *      port of that name (a TAP of an exited VM that had it) is deleted first;
 *   5. the fd to QEMU: one byte with SCM_RIGHTS on the socket --fd names.
 */
#include "bridge_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge_acl.h"
#include "cli_client.h"
#include "ctl.h"
#include "ctl_opt.h"

#define BRIDGE_HELPER_TAP "tyq%d"
#define BRIDGE_HELPER_TIMEOUT_MS 30000

struct bridge_helper {
	bool use_vnet;
	const char *bridge;
	int unix_fd; /* QEMU's end of the socketpair */
	const char *socket; /* the daemon's */
	const char *acl;
	const char *tap_pattern;
	char tap[IFNAMSIZ];
};

static const char bridge_helper_usage[] =
	"usage: tapyard bridge-helper [--use-vnet] --br=BRIDGE --fd=UNIXFD [--socket=PATH]\n"
	"\n"
	"QEMU's bridge helper for tapyard bridges (-netdev bridge,br=BRIDGE,\n"
	"helper=\"/usr/bin/tapyard bridge-helper\"): creates a TAP, has the daemon\n"
	"attach it to BRIDGE as a netdev port and passes its fd to QEMU on UNIXFD.\n"
	"Allowed bridges are read from " BRIDGE_ACL_DEFAULT " (qemu-bridge-helper's\n"
	"bridge.conf rules: allow BR, deny BR, allow all, deny all, include FILE);\n"
	"without a rule that allows BRIDGE it refuses.\n"
	"\n"
	"environment: TAPYARD_SOCKET (the daemon's socket, default " CTL_DEFAULT_SOCKET "),\n"
	"TAPYARD_BRIDGE_TAP (TAP name pattern, default " BRIDGE_HELPER_TAP "),\n"
	"TAPYARD_BRIDGE_CONF (the access list; honoured only when run by root)\n";

static int bridge_helper_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bridge_helper_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("tapyard bridge-helper: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* An environment variable, or def when it is unset or empty. */
static const char *bridge_helper_env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

/* The arguments QEMU passes. Returns -1 to go on, or an exit code. */
static int bridge_helper_parse(struct bridge_helper *h, int argc, char **argv)
{
	long long fd;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--use-vnet") == 0) {
			h->use_vnet = true;
		} else if (strncmp(a, "--br=", 5) == 0) {
			h->bridge = a + 5;
		} else if (strncmp(a, "--fd=", 5) == 0 && ctl_opt_int(a + 5, 0, 65535, &fd) == 0) {
			h->unix_fd = (int)fd;
		} else if (strncmp(a, "--socket=", 9) == 0) {
			h->socket = a + 9;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(bridge_helper_usage, stdout);
			return 0;
		} else {
			fputs(bridge_helper_usage, stderr);
			return 1;
		}
	}
	if (!h->bridge || !*h->bridge || h->unix_fd < 0) {
		fputs(bridge_helper_usage, stderr);
		return 1;
	}
	return -1;
}

/* Create the TAP; returns its fd (h->tap set) or a negative errno. */
static int bridge_helper_tap(struct bridge_helper *h)
{
	unsigned int features = 0;
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNGETFEATURES, &features))
		features = 0;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (h->use_vnet && (features & IFF_VNET_HDR))
		ifr.ifr_flags |= IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", h->tap_pattern);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		int err = -errno;

		close(fd);
		return err;
	}
	snprintf(h->tap, sizeof(h->tap), "%s", ifr.ifr_name);
	return fd;
}

/* Call cmd with args (stolen) on c; 0, or -EEXIST, or 1 having said why. */
static int bridge_helper_call(struct cli_client *c, const char *cmd, json_t *args)
{
	json_t *req = json_pack("{s:s, s:o}", "cmd", cmd, "args", args), *reply = NULL;
	const char *code = NULL, *msg = NULL;
	int err = req ? cli_client_call(c, req, &reply) : -ENOMEM;

	json_decref(req);
	if (err)
		return bridge_helper_fail("%s: no reply from the daemon: %s", cmd, strerror(-err));
	err = ctl_reply_error(reply, &code, &msg);
	if (err && code && strcmp(code, "EEXIST") == 0)
		err = -EEXIST;
	else if (err)
		err = bridge_helper_fail("%s", msg ? msg : "malformed reply");
	json_decref(reply);
	return err;
}

/* Have the daemon attach the TAP to the bridge as a netdev port. 0, or 1 having said why. */
static int bridge_helper_attach(struct bridge_helper *h)
{
	struct cli_client *c;
	int err = cli_client_connect(h->socket, BRIDGE_HELPER_TIMEOUT_MS, &c);

	if (err)
		return bridge_helper_fail("cannot reach the daemon at %s: %s", h->socket,
					  strerror(-err));
	for (int tries = 0; tries < 2; tries++) {
		err = bridge_helper_call(c, "port/add",
					 json_pack("{s:s, s:s, s:s}", "bridge", h->bridge, "name",
						   h->tap, "type", "netdev"));
		if (err != -EEXIST)
			break;
		/* A port left by an exited VM whose TAP had this name: ours now. */
		err = bridge_helper_call(c, "port/del", json_pack("{s:s}", "name", h->tap));
		if (err)
			break;
		err = -EEXIST;
	}
	cli_client_close(c);
	if (err == -EEXIST)
		return bridge_helper_fail("port \"%s\" exists and cannot be replaced", h->tap);
	return err;
}

/* Pass fd to QEMU as qemu-bridge-helper does: one zero byte carrying SCM_RIGHTS. */
static int bridge_helper_send_fd(int unix_fd, int fd)
{
	char byte = 0, buf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = buf,
			     .msg_controllen = sizeof(buf)};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(unix_fd, &msg, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int bridge_helper_main(int argc, char **argv)
{
	struct bridge_helper h = {.unix_fd = -1};
	char why[512];
	int rc, fd, err;

	rc = bridge_helper_parse(&h, argc, argv);
	if (rc >= 0)
		return rc;
	if (!h.socket)
		h.socket = bridge_helper_env("TAPYARD_SOCKET", CTL_DEFAULT_SOCKET);
	h.tap_pattern = bridge_helper_env("TAPYARD_BRIDGE_TAP", BRIDGE_HELPER_TAP);
	h.acl = getuid() == 0 && geteuid() == 0
			? bridge_helper_env("TAPYARD_BRIDGE_CONF", BRIDGE_ACL_DEFAULT)
			: BRIDGE_ACL_DEFAULT;
	err = bridge_acl_check(h.acl, h.bridge, why, sizeof(why));
	if (err)
		return bridge_helper_fail("access denied: %s", why);
	fd = bridge_helper_tap(&h);
	if (fd < 0)
		return bridge_helper_fail("cannot create a TAP (%s): %s", h.tap_pattern,
					  strerror(-fd));
	rc = bridge_helper_attach(&h);
	if (!rc) {
		err = bridge_helper_send_fd(h.unix_fd, fd);
		if (err)
			rc = bridge_helper_fail("cannot pass the TAP's fd to QEMU: %s",
						strerror(-err));
	}
	close(fd); /* QEMU holds it now; when it did not get it, the TAP goes */
	return rc;
}
