/* SPDX-License-Identifier: MIT */
/* interrupt: the process's one interrupt flag and its SIGINT/SIGTERM/SIGHUP/SIGPIPE handler. */
#include "interrupt.h"

#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t interrupt_flag;

static void interrupt_on_signal(int sig)
{
	(void)sig;
	interrupt_flag = 1;
}

/* The same, but a second signal ends the process at once. */
static void interrupt_on_signal_twice(int sig)
{
	(void)sig;
	if (interrupt_flag)
		_exit(130);
	interrupt_flag = 1;
}

void interrupt_install(bool second_exits)
{
	struct sigaction sa = {.sa_handler = second_exits ? interrupt_on_signal_twice
							  : interrupt_on_signal};
	struct sigaction once = {.sa_handler = interrupt_on_signal};

	sigemptyset(&sa.sa_mask);
	sigemptyset(&once.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* Whoever read our output went away (`tapyard test | head`): stop and clean up as on
	 * Ctrl-C. Every later write raises it again, so it never counts as a second signal. */
	sigaction(SIGPIPE, &once, NULL);
}

bool interrupt_pending(void)
{
	return interrupt_flag != 0;
}
