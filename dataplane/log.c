/* SPDX-License-Identifier: MIT */
/* log: leveled, optionally rate-limited messages to stderr or syslog. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "clock.h"

static _Atomic int log_level = LOG_LVL_INFO;
static _Atomic bool log_syslog;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level);
}

int log_level_parse(const char *s, enum log_level *level)
{
	for (int i = 0; i <= LOG_LVL_DEBUG; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	return level <= LOG_LVL_DEBUG ? level_names[level] : "?";
}

void log_use_syslog(bool on)
{
	if (on)
		openlog("tapyard", LOG_PID, LOG_DAEMON);
	atomic_store(&log_syslog, on);
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[512];

	if ((int)level > atomic_load(&log_level))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (atomic_load(&log_syslog)) {
		syslog(prio[level], "%s", line);
		return;
	}
	fprintf(stderr, "tapyard: %s%s\n", level == LOG_LVL_ERROR ? "error: "
					   : level == LOG_LVL_WARN ? "warning: "
								   : "",
		line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_ratelimited(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
{
	uint64_t now;
	va_list ap;

	now = clock_mono_ns();
	if (now - rl->window_start_ns > 5000000000ull) {
		if (rl->suppressed)
			log_msg(level, "(%u similar messages suppressed)", rl->suppressed);
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= 10) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
