/* SPDX-License-Identifier: MIT */
/*
 * ctl_cli: `tapyard ctl`, the command-line front end of the control socket.
 * Turns words into one request, sends it to the daemon and prints the reply
 * for humans (or as JSON with --json).
 */
#ifndef TAPYARD_CTL_CLI_H
#define TAPYARD_CTL_CLI_H

/* Exit codes of `tapyard ctl`. */
enum ctl_cli_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_ERROR = 1, /* the daemon refused the command */
	CTL_EXIT_USAGE = 2, /* bad words or options */
	CTL_EXIT_UNREACHABLE = 3, /* cannot reach the daemon */
};

/*
 * ctl_cli_main() - run `tapyard ctl`.
 * @argv: argv[0] is "ctl", the rest as typed
 * Return: an exit code from enum ctl_cli_exit.
 */
int ctl_cli_main(int argc, char **argv);

#endif
