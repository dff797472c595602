/* SPDX-License-Identifier: MIT */
/*
 * tylua_watchdog: the runner's watchdog thread (see tylua_watchdog.h): one
 * armed deadline at a time, two graces after it, and the kill of every
 * process the runner started.
 */
#include "tylua_watchdog.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_guest.h"

#define WD_MAX_PROCS 8192
#define WD_MAX_NETNS 256

struct tylua_watchdog {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	uint64_t deadline_ns; /* 0: disarmed */
	bool killed; /* the first grace passed: processes were killed */
	uint64_t gen; /* arms so far */
	const char *file; /* the running file */
	char test[256]; /* the armed test */
	int pass, fail, skip; /* the run's totals */
};

/* ---- processes ---- */

struct wd_proc {
	pid_t pid, ppid;
	unsigned long netns;
	bool mark;
};

/* The network namespace inode of /proc/<pid>/ns/net, or 0. */
static unsigned long wd_netns_of(const char *pid)
{
	char path[300], link[64];
	unsigned long ino = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	return sscanf(link, "net:[%lu]", &ino) == 1 ? ino : 0;
}

/* The namespaces held by this process's fds, other than its own. */
static size_t wd_held_netns(unsigned long *ns, size_t max)
{
	unsigned long self = wd_netns_of("self");
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d)) && n < max) {
		char path[PATH_MAX], link[64];
		unsigned long ino;
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "net:[%lu]", &ino) == 1 && ino != self)
			ns[n++] = ino;
	}
	if (d)
		closedir(d);
	return n;
}

/* Read /proc/<name>/stat: false for a zombie, a thread-less entry or an unreadable one. */
static bool wd_read_proc(const char *name, struct wd_proc *p)
{
	char path[300], buf[512], *close_paren, state;
	FILE *f;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%s/stat", name);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	close_paren = strrchr(buf, ')'); /* the command name may hold anything */
	if (!close_paren || sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2 || state == 'Z')
		return false;
	p->pid = (pid_t)strtol(name, NULL, 10);
	p->ppid = ppid;
	p->netns = wd_netns_of(name);
	p->mark = false;
	return true;
}

/* Every live process now. Returns how many (up to max). */
static size_t wd_snapshot(struct wd_proc *procs, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d)) && n < max)
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9' && wd_read_proc(de->d_name, &procs[n]))
			n++;
	if (d)
		closedir(d);
	return n;
}

/* Mark the processes in a held namespace and the descendants of self and of marked ones. */
static void wd_mark(struct wd_proc *procs, size_t n, const unsigned long *ns, size_t nns)
{
	pid_t self = getpid();
	bool grew = true;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < nns && !procs[i].mark; j++)
			procs[i].mark = procs[i].netns == ns[j];
	while (grew) {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			if (procs[i].mark || procs[i].pid == self)
				continue;
			for (size_t j = 0; j < n && !procs[i].mark; j++)
				procs[i].mark = procs[i].ppid == procs[j].pid &&
						(procs[j].mark || procs[j].pid == self);
			grew |= procs[i].mark;
		}
	}
}

int tylua_watchdog_kill_started(void)
{
	struct wd_proc *procs = calloc(WD_MAX_PROCS, sizeof(*procs));
	unsigned long ns[WD_MAX_NETNS];
	size_t n, nns = wd_held_netns(ns, WD_MAX_NETNS);
	int killed = 0;

	if (!procs)
		return 0;
	n = wd_snapshot(procs, WD_MAX_PROCS);
	wd_mark(procs, n, ns, nns);
	for (size_t i = 0; i < n; i++)
		if (procs[i].mark && procs[i].pid != getpid() && kill(procs[i].pid, SIGKILL) == 0)
			killed++;
	free(procs);
	return killed;
}

/* Kill rounds (processes may fork while we look) until one finds nobody or test gen is over. */
static int wd_kill_rounds(struct tylua_watchdog *wd, uint64_t gen)
{
	int total = 0, n = 1;

	for (int round = 0; round < 50 && n; round++) {
		n = tylua_watchdog_kill_started();
		total += n;
		if (n)
			usleep(10000);
		if (wd && __atomic_load_n(&wd->gen, __ATOMIC_RELAXED) != gen)
			break; /* the test is over: the next one's processes are its own */
	}
	return total;
}

/* ---- the thread ---- */

/* Write s to fd 1 or 2 whole, without stdio (the stuck thread may hold its lock). */
static void wd_say(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t w = write(fd, s, len);

		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

/* The second grace passed: report, clean up what can be, end the process. */
static void wd_last_words(struct tylua_watchdog *wd)
{
	char line[1024];

	if (ftrylockfile(stdout) == 0) { /* what the runner printed so far comes first */
		fflush(stdout);
		funlockfile(stdout);
	}
	snprintf(line, sizeof(line),
		 "FAIL %s: %s: test timeout exceeded, and still held in C code %.0f s after it: "
		 "the watchdog ends the run\n",
		 wd->file, wd->test, (double)TYLUA_WATCHDOG_EXIT_NS / 1e9);
	wd_say(1, line);
	snprintf(line, sizeof(line), "%d passed, %d failed, %d skipped\n", wd->pass, wd->fail + 1,
		 wd->skip);
	wd_say(1, line);
	wd_kill_rounds(NULL, 0);
	ctl_guest_dirs_remove(getpid());
	_exit(1);
}

/* The first grace passed: end what the test started, so that the C call it waits in returns. */
static void wd_first_grace(struct tylua_watchdog *wd)
{
	uint64_t gen = wd->gen;
	char line[700];
	int n;

	wd->killed = true;
	snprintf(line, sizeof(line), "tapyard test: watchdog: %s: %s is held in C code past its "
		 "deadline: ", wd->file, wd->test);
	pthread_mutex_unlock(&wd->lock);
	n = wd_kill_rounds(wd, gen);
	snprintf(line + strlen(line), sizeof(line) - strlen(line),
		 "%d process(es) the runner started killed\n", n);
	wd_say(2, line);
	pthread_mutex_lock(&wd->lock);
}

static void *wd_main(void *arg)
{
	struct tylua_watchdog *wd = arg;

	pthread_mutex_lock(&wd->lock);
	while (!wd->stop) {
		uint64_t due, now = clock_mono_ns();
		struct timespec ts;

		if (!wd->deadline_ns) {
			pthread_cond_wait(&wd->cond, &wd->lock);
			continue;
		}
		due = wd->deadline_ns + (wd->killed ? TYLUA_WATCHDOG_EXIT_NS : TYLUA_WATCHDOG_KILL_NS);
		if (now < due) {
			ts.tv_sec = (time_t)(due / 1000000000u);
			ts.tv_nsec = (long)(due % 1000000000u);
			pthread_cond_timedwait(&wd->cond, &wd->lock, &ts);
		} else if (!wd->killed) {
			wd_first_grace(wd);
		} else {
			wd_last_words(wd);
		}
	}
	pthread_mutex_unlock(&wd->lock);
	return NULL;
}

int tylua_watchdog_start(struct tylua_watchdog **out)
{
	struct tylua_watchdog *wd = calloc(1, sizeof(*wd));
	pthread_condattr_t ca;
	int err;

	if (!wd)
		return -ENOMEM;
	pthread_mutex_init(&wd->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd->cond, &ca);
	pthread_condattr_destroy(&ca);
	err = pthread_create(&wd->thread, NULL, wd_main, wd);
	if (err) {
		pthread_cond_destroy(&wd->cond);
		pthread_mutex_destroy(&wd->lock);
		free(wd);
		return -err;
	}
	*out = wd;
	return 0;
}

void tylua_watchdog_stop(struct tylua_watchdog *wd)
{
	if (!wd)
		return;
	pthread_mutex_lock(&wd->lock);
	wd->stop = true;
	pthread_cond_signal(&wd->cond);
	pthread_mutex_unlock(&wd->lock);
	pthread_join(wd->thread, NULL);
	pthread_cond_destroy(&wd->cond);
	pthread_mutex_destroy(&wd->lock);
	free(wd);
}

void tylua_watchdog_file(struct tylua_watchdog *wd, const char *path, int pass, int fail,
			 int skip)
{
	if (!wd)
		return;
	pthread_mutex_lock(&wd->lock);
	wd->file = path;
	wd->pass = pass;
	wd->fail = fail;
	wd->skip = skip;
	pthread_mutex_unlock(&wd->lock);
}

void tylua_watchdog_count(struct tylua_watchdog *wd, int pass, int fail, int skip)
{
	if (!wd)
		return;
	pthread_mutex_lock(&wd->lock);
	wd->pass += pass;
	wd->fail += fail;
	wd->skip += skip;
	pthread_mutex_unlock(&wd->lock);
}

void tylua_watchdog_arm(struct tylua_watchdog *wd, uint64_t deadline_ns, const char *test)
{
	if (!wd)
		return;
	pthread_mutex_lock(&wd->lock);
	wd->deadline_ns = deadline_ns;
	wd->killed = false;
	__atomic_store_n(&wd->gen, wd->gen + 1, __ATOMIC_RELAXED);
	snprintf(wd->test, sizeof(wd->test), "%s", test ? test : "");
	pthread_cond_signal(&wd->cond);
	pthread_mutex_unlock(&wd->lock);
}

void tylua_watchdog_disarm(struct tylua_watchdog *wd)
{
	tylua_watchdog_arm(wd, 0, NULL);
}
