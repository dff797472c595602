/* SPDX-License-Identifier: MIT */
/*
 * pair_harness: setting up and tearing down the loop tests' lab of `pair`
 * ports; see pair_harness.h.
 */
#include "pair_harness.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

void ph_mac_of(int i, uint8_t *mac)
{
	const uint8_t m[6] = {0x02, 0, 0, 0, 0, (uint8_t)(0x10 + i)};

	memcpy(mac, m, 6);
}

void ph_lab_open(struct lab *lab, const struct dp_config *cfg)
{
	char name[16];

	memset(lab, 0, sizeof(*lab));
	assert_int_equal(dp_create(cfg, &lab->dp), 0);
	assert_int_equal(dp_start(lab->dp), 0);
	assert_int_equal(dp_bridge_add(lab->dp, "br0", &lab->br), 0);
	for (int i = 0; i < PH_NPORTS; i++) {
		struct port *p;

		snprintf(name, sizeof(name), "p%d", i);
		assert_int_equal(port_pair_open(name, &p, &lab->peer[i]), 0);
		lab->port[i] = p;
		assert_int_equal(dp_port_add(lab->dp, lab->br, p, &lab->id[i]), 0);
	}
}

void ph_port_stuck(struct lab *lab, int i)
{
	int fd = port_fd(lab->port[i]), small = 4096;

	assert_int_equal(fcntl(fd, F_SETFL, 0), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
}

void ph_lab_close(struct lab *lab)
{
	dp_destroy(lab->dp);
	for (int i = 0; i < PH_NPORTS; i++)
		if (lab->peer[i] >= 0)
			close(lab->peer[i]);
}

size_t ph_tcp4_frame(uint8_t *f, const uint8_t *dst, size_t payload_len)
{
	size_t ip_len = 20 + 20 + payload_len;

	memset(f, 0, 54 + payload_len);
	memcpy(f, dst, 6);
	memcpy(f + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 0x20}, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)(ip_len >> 8);
	f[17] = (uint8_t)ip_len;
	f[22] = 64;
	f[23] = 6; /* TCP */
	memcpy(f + 26, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
	f[34 + 12] = 5 << 4; /* doff */
	f[34 + 13] = 0x18; /* PSH|ACK */
	for (size_t i = 0; i < payload_len; i++)
		f[54 + i] = (uint8_t)i;
	return 54 + payload_len;
}
