/* SPDX-License-Identifier: MIT */
/*
 * test_port_netdev: the netdev port class over veth pairs (tynd* names): it
 * opens, quiets and brings up the interface, carries frames with the
 * virtio-net header both ways, refuses bridges and their ports, is picked by
 * port_open() for held, multi-queue and non-TAP interfaces, and, in the
 * real loop, forwards between two netdev ports, counts from the guest's side
 * and rebinds when its interface is deleted and made again. Needs root
 * (exit 77 without it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dp.h"
#include "frame.h"
#include "port.h"

#define TEST_ETHERTYPE 0x88b5 /* local experimental: no host stack sends it */

static void sh(const char *cmd)
{
	assert_int_equal(system(cmd), 0);
}

/* A raw packet socket on ifname (the "guest" side of a veth), without vnet header. */
static int raw_open(const char *ifname)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(TEST_ETHERTYPE),
				  .sll_ifindex = (int)if_nametoindex(ifname)};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(TEST_ETHERTYPE));

	assert_true(fd >= 0);
	assert_int_not_equal(sll.sll_ifindex, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

/* A broadcast test frame from source MAC 02::src, its payload byte tag; returns its length. */
static size_t frame_make(uint8_t *f, uint8_t src, uint8_t tag)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, (uint8_t[]){2, 0, 0, 0, 0, src}, 6);
	f[12] = TEST_ETHERTYPE >> 8;
	f[13] = TEST_ETHERTYPE & 0xff;
	memset(f + 14, tag, 50);
	return 64;
}

/* Read one test frame of ethertype TEST_ETHERTYPE from fd within ms; its length or -1. */
static ssize_t recv_test(int fd, uint8_t *buf, size_t len, size_t hdr, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	while (poll(&pfd, 1, ms) == 1) {
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

		if (n >= (ssize_t)(hdr + 14) && buf[hdr + 12] == (TEST_ETHERTYPE >> 8) &&
		    buf[hdr + 13] == (TEST_ETHERTYPE & 0xff))
			return n;
	}
	return -1;
}

static int setup_veths(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	system("ip link del tynd-u0 2>/dev/null; ip link del tynd-u1 2>/dev/null");
	sh("ip link add tynd-u0 type veth peer name tynd-g0");
	sh("ip link add tynd-u1 type veth peer name tynd-g1");
	sh("ip link set tynd-g0 up && ip link set tynd-g1 up");
	return 0;
}

static int teardown_veths(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	system("ip link del tynd-u0 2>/dev/null; ip link del tynd-u1 2>/dev/null;"
	       "ip link del tynd-br 2>/dev/null; ip link del tynd-t0 2>/dev/null;"
	       "ip link del tynd-t1 2>/dev/null");
	return 0;
}

static void test_open_quiets_and_carries(void **state)
{
	uint8_t f[128], buf[256];
	struct port *p;
	int g, fd;
	size_t n;

	(void)state;
	sh("ip addr add 192.0.2.1/24 dev tynd-u0");
	assert_int_equal(port_netdev_open("tynd-u0", &p), 0);
	assert_string_equal(port_kind(p), "netdev");
	assert_int_equal(port_hdr_len(p), VNET_HDR_LEN);
	assert_true(port_offloads(p));
	assert_false(port_created(p));
	assert_int_equal(port_set_carrier(p, false), -EOPNOTSUPP);
	assert_non_null(strstr(port_note(p), "removed 1 IPv4 address"));
	assert_non_null(strstr(port_note(p), "disabled IPv6"));
	assert_non_null(strstr(port_note(p), "set it up"));
	sh("ip -o addr show dev tynd-u0 | (! grep -q inet)");

	/* guest -> port: what arrives is what the guest sent, behind a vnet header */
	g = raw_open("tynd-g0");
	fd = port_fd(p);
	n = frame_make(f, 1, 0xa1);
	assert_int_equal(send(g, f, n, 0), (ssize_t)n);
	assert_int_equal(recv_test(fd, buf, sizeof(buf), VNET_HDR_LEN, 2000),
			 (ssize_t)(n + VNET_HDR_LEN));
	assert_memory_equal(buf + VNET_HDR_LEN, f, n);

	/* port -> guest */
	memset(buf, 0, VNET_HDR_LEN);
	n = frame_make(buf + VNET_HDR_LEN, 2, 0xb2);
	assert_int_equal(write(fd, buf, n + VNET_HDR_LEN), (ssize_t)(n + VNET_HDR_LEN));
	assert_int_equal(recv_test(g, f, sizeof(f), 0, 2000), (ssize_t)n);
	assert_int_equal(f[14], 0xb2);
	close(g);
	port_destroy(p);
	assert_int_not_equal(if_nametoindex("tynd-u0"), 0); /* not ours: left in place */
}

static void test_refusals(void **state)
{
	struct port *p;

	(void)state;
	assert_int_equal(port_netdev_open("tynd-none", &p), -ENODEV);
	assert_int_equal(port_netdev_open("lo", &p), -EPROTOTYPE);
	assert_int_equal(port_netdev_open("a/b", &p), -EINVAL);
	assert_int_equal(port_netdev_open("tynd-much-too-long", &p), -ENAMETOOLONG);
	sh("ip link add tynd-br type bridge && ip link set tynd-u1 master tynd-br");
	assert_int_equal(port_netdev_open("tynd-u1", &p), -EXDEV);
	assert_int_equal(port_netdev_open("tynd-br", &p), -EISDIR);
	assert_non_null(strstr(port_strerror(-EXDEV), "kernel bridge's port"));
	sh("ip link del tynd-br");
	assert_int_equal(port_netdev_open("tynd-u1", &p), 0);
	port_destroy(p);
}

static void test_revive_by_name(void **state)
{
	uint8_t f[128], buf[256];
	struct port *p;
	int g;
	size_t n;

	(void)state;
	assert_int_equal(port_netdev_open("tynd-u0", &p), 0);
	assert_int_equal(port_revive(p), 0); /* still there: a no-op */
	sh("ip link del tynd-u0");
	assert_int_equal(port_revive(p), -ENODEV);
	sh("ip link add tynd-u0 type veth peer name tynd-g0 && ip link set tynd-g0 up");
	assert_int_equal(port_revive(p), 0);
	assert_non_null(strstr(port_note(p), "set it up"));
	sh("ip link show tynd-u0 | grep -q ',UP'");
	g = raw_open("tynd-g0");
	n = frame_make(f, 3, 0xc3);
	assert_int_equal(send(g, f, n, 0), (ssize_t)n);
	assert_true(recv_test(port_fd(p), buf, sizeof(buf), VNET_HDR_LEN, 2000) > 0);
	close(g);
	sh("ip link set tynd-u0 down");
	assert_int_equal(port_revive(p), -ENETDOWN); /* set down by someone: wait for them */
	port_destroy(p);
}

/* Hold TAP ifname as a hypervisor would (flags: IFF_MULTI_QUEUE or 0); returns the fd. */
static int hold_tap(const char *ifname, short flags)
{
	struct ifreq ifr = {.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | flags)};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	return fd;
}

/* port_open(AUTO) picks kind for ifname. */
static void expect_kind(const char *ifname, const char *kind)
{
	struct port_tap_opts o = {.must_exist = true};
	enum port_type tried;
	struct port *p;

	assert_int_equal(port_open(ifname, PORT_TYPE_AUTO, &o, &p, &tried), 0);
	assert_string_equal(port_kind(p), kind);
	port_destroy(p);
}

static void test_open_picks_class(void **state)
{
	struct port_tap_opts o = {.must_exist = true};
	enum port_type tried;
	struct port *p;
	int held, mq;

	(void)state;
	if (access("/dev/net/tun", R_OK | W_OK))
		skip();
	sh("ip tuntap add dev tynd-t0 mode tap && ip tuntap add dev tynd-t1 mode tap multi_queue");
	expect_kind("tynd-t0", "tap"); /* free */
	expect_kind("tynd-u0", "netdev"); /* no TAP */
	held = hold_tap("tynd-t0", 0);
	expect_kind("tynd-t0", "netdev"); /* held by another program */
	assert_int_equal(port_open("tynd-t0", PORT_TYPE_TAP, &o, &p, &tried), -EBUSY);
	assert_int_equal(tried, PORT_TYPE_TAP);
	mq = hold_tap("tynd-t1", IFF_MULTI_QUEUE);
	assert_int_equal(port_open("tynd-t1", PORT_TYPE_TAP, &o, &p, &tried), -EMLINK);
	expect_kind("tynd-t1", "netdev"); /* multi-queue */
	assert_int_equal(port_open("tynd-none", PORT_TYPE_AUTO, &o, &p, &tried), -ENODEV);
	close(held);
	close(mq);
}

/* Wait up to ms for port id's gone flag to become want. */
static bool wait_gone(struct dp *dp, uint32_t id, bool want, int ms)
{
	struct dp_port_info pi;

	for (int i = 0; i < ms / 50; i++) {
		if (dp_port_info(dp, id, &pi) == 0 && pi.gone == want)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* Wait up to 3 s for the counter at offset off of port id to be non-zero. */
static bool wait_count(struct dp *dp, uint32_t id, size_t off)
{
	struct dp_counters c;
	uint64_t v;

	for (int i = 0; i < 60; i++) {
		assert_int_equal(dp_port_counters(dp, id, &c), 0);
		memcpy(&v, (const char *)&c + off, sizeof(v));
		if (v)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/*
 * Send a frame from g0 and expect it on g1, sending again for up to 5 s: just
 * after a link comes up the veth's carrier may lag and drop the first.
 */
static void expect_through(int g0, int g1, uint8_t tag)
{
	uint8_t f[128], buf[256];
	size_t n = frame_make(f, 4, tag);
	ssize_t got = -1;

	for (int i = 0; i < 5 && got < 0; i++) {
		assert_int_equal(send(g0, f, n, 0), (ssize_t)n);
		got = recv_test(g1, buf, sizeof(buf), 0, 1000);
	}
	assert_int_equal(got, (ssize_t)n);
	assert_int_equal(buf[14], tag);
}

static void test_loop_forwards_and_rebinds(void **state)
{
	uint32_t br, id0, id1;
	struct port *p0, *p1;
	struct dp *dp;
	int g0, g1;

	(void)state;
	assert_int_equal(dp_create(NULL, &dp), 0);
	assert_int_equal(dp_bridge_add(dp, "br", &br), 0);
	assert_int_equal(port_netdev_open("tynd-u0", &p0), 0);
	assert_int_equal(port_netdev_open("tynd-u1", &p1), 0);
	assert_int_equal(dp_port_add(dp, br, p0, &id0), 0);
	assert_int_equal(dp_port_add(dp, br, p1, &id1), 0);
	assert_int_equal(dp_start(dp), 0);
	g0 = raw_open("tynd-g0");
	g1 = raw_open("tynd-g1");
	expect_through(g0, g1, 0x11);
	/* The write's completion may come after the frame arrived: wait for the count. */
	assert_true(wait_count(dp, id0, offsetof(struct dp_counters, tx_packets))); /* g0 sent */
	assert_true(wait_count(dp, id1, offsetof(struct dp_counters, rx_packets))); /* g1 got */

	/* The interface is deleted and made again by name: gone, then back. */
	close(g0);
	sh("ip link del tynd-u0");
	assert_true(wait_gone(dp, id0, true, 3000));
	assert_true(wait_count(dp, id0, offsetof(struct dp_counters, drop_port_gone)));
	sh("ip link add tynd-u0 type veth peer name tynd-g0 && ip link set tynd-g0 up");
	assert_true(wait_gone(dp, id0, false, 5000));
	g0 = raw_open("tynd-g0");
	expect_through(g0, g1, 0x22);
	expect_through(g1, g0, 0x33);

	/* Set down by someone: gone until they set it up again. */
	sh("ip link set tynd-u1 down");
	assert_true(wait_gone(dp, id1, true, 3000));
	sh("ip link set tynd-u1 up");
	assert_true(wait_gone(dp, id1, false, 5000));
	expect_through(g0, g1, 0x44);
	close(g0);
	close(g1);
	dp_destroy(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_quiets_and_carries, setup_veths,
						teardown_veths),
		cmocka_unit_test_setup_teardown(test_refusals, setup_veths, teardown_veths),
		cmocka_unit_test_setup_teardown(test_open_picks_class, setup_veths, teardown_veths),
		cmocka_unit_test_setup_teardown(test_revive_by_name, setup_veths, teardown_veths),
		cmocka_unit_test_setup_teardown(test_loop_forwards_and_rebinds, setup_veths,
						teardown_veths),
	};

	if (geteuid() != 0) {
		printf("skip: the netdev port tests need root (veth pairs, packet sockets)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
