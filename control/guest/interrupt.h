/* SPDX-License-Identifier: MIT */
/*
 * interrupt: the process's one interrupt flag. `tapyard test`, `tapyard run`
 * and `tapyard ctl watch` install the handler; guest runs, Lua waits and the
 * watch loop read the flag. (The daemon reads SIGINT/SIGTERM through a
 * signalfd instead and never installs this handler.)
 */
#ifndef TAPYARD_INTERRUPT_H
#define TAPYARD_INTERRUPT_H

#include <stdbool.h>

/*
 * interrupt_install() - on SIGINT, SIGTERM, SIGHUP or SIGPIPE (a closed output), set the flag.
 * @second_exits: a second signal (but SIGPIPE) while the flag is set ends the process at
 * once with exit code 130 (for a run that does not stop by itself)
 */
void interrupt_install(bool second_exits);

/* interrupt_pending() - has one of those signals come since interrupt_install()? */
bool interrupt_pending(void);

#endif
