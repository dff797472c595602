/* SPDX-License-Identifier: MIT */
/*
 * cli_capture: `tapyard ctl capture ...`, the capture commands of the
 * command line. cli.c finds the command in its table (rows flagged
 * CLI_RAW) and hands the words after it here: these commands parse their own
 * options, and follow keeps reading until the capture stops.
 *
 *   capture start PORT|--bridge B [--snaplen N] [--write FILE] [--mode M]   prints the id
 *   capture stop ID | list | save ID FILE | read ID [--cursor N] [--max N]
 *   capture follow ID [--cursor N]  (or capture --follow ID)   one line per frame, like tcpdump
 */
#ifndef TAPYARD_CLI_CAPTURE_H
#define TAPYARD_CLI_CAPTURE_H

#include <stdbool.h>

/*
 * cli_capture() - run one capture command against the daemon at socket.
 * @cmd: the wire command ("capture/start"...), or "capture/follow"
 * @json: print the daemon's JSON replies (follow: one frame object per line)
 * @argc, @argv: the words after the command's words, options included
 * Return: an exit code of enum ctl_exit.
 */
int cli_capture(const char *socket, bool json, const char *cmd, int argc, char **argv);

#endif
