/* SPDX-License-Identifier: MIT */
/*
 * cli: `tapyard ctl`, the command-line front end of the control socket.
 * Turns words into one request, sends it to the daemon and prints the reply
 * for humans (or as JSON with --json).
 */
#ifndef TAPYARD_CLI_H
#define TAPYARD_CLI_H

/*
 * cli_main() - run `tapyard ctl`.
 * @argv: argv[0] is "ctl", the rest as typed
 * Return: an exit code from enum ctl_exit (ctl.h).
 */
int cli_main(int argc, char **argv);

#endif
