/* SPDX-License-Identifier: MIT */
/*
 * cli_print: human output of command results for `tapyard ctl`: aligned
 * tables and `ip -s link`-style counter blocks. Input is the "result" of a
 * reply, exactly as it came over the wire.
 */
#ifndef TAPYARD_CLI_PRINT_H
#define TAPYARD_CLI_PRINT_H

#include <stdio.h>

#include <jansson.h>

/* status: version, uptime, object counts and loop statistics. */
void cli_print_status(FILE *f, json_t *result);

/* bridge/list: one row per bridge with its ports. */
void cli_print_bridges(FILE *f, json_t *result);

/* port/list: one row per port. */
void cli_print_ports(FILE *f, json_t *result);

/* One line for a port/add reply: name, bridge, class, and what it changed. */
void cli_print_port_added(FILE *f, json_t *result);

/* partition/list: one "FROM TO" row per cut path. */
void cli_print_partitions(FILE *f, json_t *result);

/* counters/get: a block per port, RX, TX and drop counters in aligned columns. */
void cli_print_counters(FILE *f, json_t *result);

/*
 * cli_print_rates() - counters/get results as one row per port: packets,
 * packets and bits per second received and sent, and drops.
 * @before: the previous sample (NULL: none yet, rates are shown as "-")
 * @seconds: the time between the two samples
 */
void cli_print_rates(FILE *f, json_t *now, json_t *before, double seconds);

/* fdb/show: one row per learned address. */
void cli_print_fdb(FILE *f, json_t *result);

#endif
