/* SPDX-License-Identifier: MIT */
/*
 * daemon: `tapyard daemon`, the standalone switch. Runs the dataplane
 * on its own thread and serves the control socket on the main thread until
 * SIGINT or SIGTERM.
 */
#ifndef TAPYARD_DAEMON_H
#define TAPYARD_DAEMON_H

/*
 * daemon_main() - run `tapyard daemon` in the foreground.
 * @argv: argv[0] is "daemon", the rest as typed
 * Return: the exit code: 0 after a clean stop, 1 when start-up failed, 2 on usage errors.
 */
int daemon_main(int argc, char **argv);

#endif
