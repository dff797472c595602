/* SPDX-License-Identifier: MIT */
/* interrupt: the process's one interrupt flag and its SIGINT/SIGTERM handler. */
#include "interrupt.h"

#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t interrupt_flag;
static volatile sig_atomic_t interrupt_second_exits;

static void interrupt_on_signal(int sig)
{
	(void)sig;
	if (interrupt_flag && interrupt_second_exits)
		_exit(130);
	interrupt_flag = 1;
}

void interrupt_install(bool second_exits)
{
	struct sigaction sa = {.sa_handler = interrupt_on_signal};

	interrupt_second_exits = second_exits;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool interrupt_pending(void)
{
	return interrupt_flag != 0;
}

void interrupt_raise(void)
{
	interrupt_flag = 1;
}
