/* SPDX-License-Identifier: MIT */
/*
 * tylua_watchdog: the runner's watchdog thread, which ends a test that C
 * code holds past its deadline, where the Lua hook cannot reach.
 *
 * The Lua hook raises the timeout in Lua code. Past the deadline by the
 * first grace (1 s), the test is taken to be held in C: the watchdog kills
 * the processes the runner started (its descendants, and every process in a
 * network namespace the runner holds, that is its guests), which ends
 * os.execute(), io.popen() and vm:run(); the hook then fails the test and
 * its lab is torn down as usual. Past the second grace (5 s), the test is
 * held by C code that no kill ends (a catastrophic string.find): the
 * watchdog reports the test as timed out, prints the summary of the run,
 * kills those processes again and ends the process, which takes its TAPs,
 * namespaces and captures with it.
 */
#ifndef TAPYARD_LUA_TYLUA_WATCHDOG_H
#define TAPYARD_LUA_TYLUA_WATCHDOG_H

#include <stdint.h>

struct tylua_watchdog;

/* The graces after a deadline: processes killed, then the process ends. */
#define TYLUA_WATCHDOG_KILL_NS 1000000000ull
#define TYLUA_WATCHDOG_EXIT_NS 5000000000ull

/*
 * tylua_watchdog_start() - start the watchdog thread, disarmed.
 * @out: receives the watchdog
 * Return: 0 or a negative errno.
 */
int tylua_watchdog_start(struct tylua_watchdog **out);

/* tylua_watchdog_stop() - stop the thread and free. NULL is a no-op. */
void tylua_watchdog_stop(struct tylua_watchdog *wd);

/*
 * tylua_watchdog_file() - a test file starts. NULL is a no-op.
 * @path: the file (borrowed until the next call)
 * @pass, @fail, @skip: the run's totals before it, for the last words
 */
void tylua_watchdog_file(struct tylua_watchdog *wd, const char *path, int pass, int fail,
			 int skip);

/* tylua_watchdog_count() - a test of the file ended (each argument 0 or 1). NULL is a no-op. */
void tylua_watchdog_count(struct tylua_watchdog *wd, int pass, int fail, int skip);

/*
 * tylua_watchdog_arm() - watch the test now running. NULL is a no-op.
 * @deadline_ns: its deadline on the monotonic clock (0: none, disarms)
 * @test: its name (copied, for the messages)
 */
void tylua_watchdog_arm(struct tylua_watchdog *wd, uint64_t deadline_ns, const char *test);

/* tylua_watchdog_disarm() - the test is over (its teardown runs unwatched). NULL is a no-op. */
void tylua_watchdog_disarm(struct tylua_watchdog *wd);

/*
 * tylua_watchdog_kill_started() - kill (SIGKILL) every process this process
 * started and every process in a network namespace it holds an fd of.
 * Return: how many were signalled.
 */
int tylua_watchdog_kill_started(void);

#endif
