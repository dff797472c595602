/* SPDX-License-Identifier: MIT */
/*
 * cli_impair: `tapyard ctl impair ...` words in netem's spelling, turned
 * into the arguments of the impair commands, and the printing of their results.
 *
 *   TARGET := --bridge B | --port P --dir tx|rx | --from A --to B
 *   KNOBS  := delay TIME [JITTER [CORR%]] | jitter TIME | delay-corr PCT
 *             distribution uniform|normal|pareto|paretonormal | keep-order
 *             loss [random] PCT [CORR] | loss gemodel P [R [1-H [1-K]]]
 *             loss state P13 [P31 [P32 [P23 [P14]]]]
 *             duplicate PCT [CORR] | corrupt PCT [CORR] | reorder PCT [CORR] | gap N
 *             rate RATE [OVERHEAD [CELLSIZE]] | limit PACKETS | limit-bytes SIZE
 *             seed N | --replace
 *   TIME: 20ms, 1.5s, 250us (a bare number is ms); PCT: 10% or 10;
 *   RATE: 100mbit, 1gbit, 500kbit, 2mbps (bytes/s) (a bare number is bit/s);
 *   SIZE: 1500, 64kb, 1mb (k = 1024).
 */
#ifndef TAPYARD_CLI_IMPAIR_H
#define TAPYARD_CLI_IMPAIR_H

#include <stdio.h>

#include <jansson.h>

/*
 * cli_impair_args() - add the target and knobs named by words to args.
 * Return: CTL_EXIT_OK, or CTL_EXIT_USAGE after printing what is wrong.
 */
int cli_impair_args(char **words, int n, json_t *args);

/*
 * cli_impair_schedule() - `impair schedule TARGET [--replace] [--period
 * PERIOD] at TIME KNOBS... [at TIME KNOBS...]...` as the arguments of
 * impair/schedule: each `at` starts a step (its at_ms), its knobs follow;
 * --period repeats the steps every PERIOD.
 * Return: CTL_EXIT_OK, or CTL_EXIT_USAGE after printing what is wrong.
 */
int cli_impair_schedule(char **words, int n, json_t *args);

/*
 * cli_impair_timer() - `impair timer [SPIN]`: SPIN, a TIME, as args.spin_us.
 * Return: CTL_EXIT_OK, or CTL_EXIT_USAGE after printing what is wrong.
 */
int cli_impair_timer(char **words, int n, json_t *args);

/* impair/set and impair/get: the target, its knobs and (when present) its counters. */
void cli_impair_print(FILE *f, json_t *result);

/* impair/list: one block per target. */
void cli_impair_print_list(FILE *f, json_t *result);

/* impair/timer: the spin time and how late delayed frames left. */
void cli_impair_print_timer(FILE *f, json_t *result);

#endif
