/* SPDX-License-Identifier: MIT */
/*
 * pair_harness: the lab the loop tests run over without root: a running
 * dataplane with one bridge br0 and PH_NPORTS `pair` ports p0.. on it, the
 * test holding the peer end of each, and the MAC address peer i sends from.
 */
#ifndef TAPYARD_TESTS_PAIR_HARNESS_H
#define TAPYARD_TESTS_PAIR_HARNESS_H

#include <stdint.h>

#include "dp.h"

#define PH_NPORTS 3

struct lab {
	struct dp *dp;
	uint32_t br;
	uint32_t id[PH_NPORTS];
	int peer[PH_NPORTS]; /* the test's end of port i; -1 once closed */
	struct port *port[PH_NPORTS]; /* owned by the dataplane */
};

/*
 * ph_mac_of() - the source MAC address of peer i (02:00:00:00:00:1i).
 * @i: the peer
 * @mac: receives 6 bytes
 */
void ph_mac_of(int i, uint8_t *mac);

/*
 * ph_tcp4_frame() - a TCPv4 frame (10.0.0.1 -> 10.0.0.2, PSH|ACK, payload
 * bytes 0, 1, 2...) from MAC 02::20 to dst at f, with payload_len bytes after
 * the headers (54). Returns its length.
 */
size_t ph_tcp4_frame(uint8_t *f, const uint8_t *dst, size_t payload_len);

/*
 * ph_lab_open() - start a dataplane with br0 and pair ports p0..; fails the test on error.
 * @lab: filled in (zeroed first)
 * @cfg: the dataplane configuration
 */
void ph_lab_open(struct lab *lab, const struct dp_config *cfg);

/*
 * ph_port_stuck() - make port i's writes wait while its peer does not read
 * (a blocking socket with a small send buffer), as a guest that stopped
 * taking frames does: its writes stay in flight instead of failing at once.
 * @lab: as filled in by ph_lab_open()
 * @i: the port
 */
void ph_port_stuck(struct lab *lab, int i);

/*
 * ph_lab_close() - destroy the dataplane and close the peers still open.
 * @lab: as filled in by ph_lab_open()
 */
void ph_lab_close(struct lab *lab);

#endif
