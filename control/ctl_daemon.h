/* SPDX-License-Identifier: MIT */
/*
 * ctl_daemon: `tapyard daemon`, the standalone switch. Runs the dataplane
 * on its own thread and serves the control socket on the main thread until
 * SIGINT or SIGTERM. Also `tapyard cleanup`, for after a daemon was killed.
 */
#ifndef TAPYARD_CTL_DAEMON_H
#define TAPYARD_CTL_DAEMON_H

/*
 * ctl_daemon_main() - run `tapyard daemon` in the foreground.
 * @argv: argv[0] is "daemon", the rest as typed
 * Return: the exit code: 0 after a clean stop, 1 when start-up failed, 2 on usage errors.
 */
int ctl_daemon_main(int argc, char **argv);

/*
 * ctl_daemon_cleanup_main() - run `tapyard cleanup`: remove what a daemon that
 * died left behind, as its record lists it (see ctl_record.h).
 * @argv: argv[0] is "cleanup", the rest as typed
 * Return: 0 cleaned up (or nothing to do), 1 the daemon still runs or something
 * could not be removed, 2 on usage errors.
 */
int ctl_daemon_cleanup_main(int argc, char **argv);

#endif
