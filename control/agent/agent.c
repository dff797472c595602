/* SPDX-License-Identifier: MIT */
/*
 * tapyard-agent: the guest agent of tapyard's QEMU guests, a static program
 * the image's init starts. It reads requests from the virtio-serial port
 * named org.tapyard.agent (one JSON object per line, agent_proto.h) and
 * answers each on the same port, tagged with the request's id. Commands that
 * wait (run, carrier with wait_for, proc_wait) get a thread each, so a long
 * run does not hold up a carrier query; the others are answered at once. It uses no
 * network, so it keeps working while the guest's NICs are down.
 *
 * Usage: tapyard-agent [--port PATH | --stdio]
 *   --port PATH  the port's device (default: found by name in /sys)
 *   --stdio      requests on stdin, replies on stdout (tests; EOF ends it)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent_net.h"
#include "agent_proc.h"
#include "agent_proto.h"

#ifndef TAPYARD_VERSION
#define TAPYARD_VERSION "unknown"
#endif

#define AGENT_MAX_JOBS 64 /* requests waiting in threads at once */
#define AGENT_HOSTNAME_MAX 64

struct agent {
	int in, out; /* the port (the same fd twice), or stdin and stdout */
	bool stdio;
	pthread_mutex_t wlock; /* one reply line at a time */
	atomic_int jobs; /* requests in threads */
	struct agent_procs *procs; /* background processes (agent_proc.h) */
	char kernel[65]; /* uname -r */
	char *buf; /* the request line being read */
	size_t len;
	bool discarding; /* the current line was too long: skip to its end */
};

static void agent_sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Write line whole (the port may be full or the host away: wait for it); frees line. */
static void agent_send(struct agent *a, char *line)
{
	size_t len = line ? strlen(line) : 0, off = 0;

	pthread_mutex_lock(&a->wlock);
	while (off < len) {
		ssize_t n = write(a->out, line + off, len - off);
		struct pollfd p = {.fd = a->out, .events = POLLOUT};

		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			poll(&p, 1, 1000);
		} else if (n < 0 && errno != EINTR) {
			break; /* the host is gone: this reply is for nobody */
		}
	}
	pthread_mutex_unlock(&a->wlock);
	free(line);
}

/* run: the command through the same runner namespace guests use. */
static int agent_do_run(json_t *args, json_t **result, struct agent_err *e)
{
	struct guest_run_result res;
	struct agent_run run;
	struct guest_proc *proc;
	int err = agent_run_args(args, &run, e);

	if (!err) {
		err = guest_run_spawn(&run.req, NULL, NULL, &proc);
		if (err)
			agent_fail(e, err, "cannot run: %s", strerror(-err));
	}
	if (!err) {
		err = guest_run_wait(proc, NULL, &res);
		if (err)
			agent_fail(e, err, "run: %s", strerror(-err));
	}
	if (!err) {
		*result = agent_run_result(&res);
		guest_run_result_free(&res);
	}
	agent_run_free(&run);
	return err;
}

/* hosts and hostname. */
static int agent_do_text(const struct agent_req *req, struct agent_err *e)
{
	const char *text;
	size_t len;
	int err;

	if (req->cmd == AGENT_HOSTS) {
		err = agent_text_arg(req->args, "text", AGENT_TEXT_MAX, &text, &len, e);
		return err ? err : agent_net_hosts("/etc/hosts", text, len, e);
	}
	err = agent_text_arg(req->args, "name", AGENT_HOSTNAME_MAX, &text, &len, e);
	if (!err && (!len || strlen(text) != len))
		err = agent_fail(e, -EINVAL, "args.name: expected a hostname");
	return err ? err : agent_net_hostname(text, e);
}

/* Carry out one request: 0 with *result (may stay NULL for {}), or -errno with e filled. */
static int agent_exec(struct agent *a, const struct agent_req *req, json_t **result,
		      struct agent_err *e)
{
	struct agent_carrier c;
	struct agent_nic nic;
	int err;

	switch (req->cmd) {
	case AGENT_HELLO:
		*result = agent_hello(TAPYARD_VERSION, a->kernel);
		return 0;
	case AGENT_RUN:
		return agent_do_run(req->args, result, e);
	case AGENT_NIC:
		err = agent_nic_args(req->args, &nic, e);
		return err ? err : agent_net_nic(&nic, result, e);
	case AGENT_CARRIER:
		err = agent_carrier_args(req->args, &c, e);
		return err ? err : agent_net_carrier(&c, result, e);
	case AGENT_HOSTS:
	case AGENT_HOSTNAME:
		return agent_do_text(req, e);
	case AGENT_POWEROFF:
		return a->stdio ? agent_fail(e, -EPERM, "poweroff: not in a guest (--stdio)") : 0;
	case AGENT_PROC_START:
	case AGENT_PROC_WAIT:
	case AGENT_PROC_INFO:
	case AGENT_PROC_SIGNAL:
	case AGENT_PROC_WRITE:
	case AGENT_PROC_CLOSE_STDIN:
	case AGENT_PROC_RELEASE:
		return agent_proc_exec(a->procs, req, result, e);
	}
	return agent_fail(e, -ENOSYS, "unknown command");
}

/* Carry out req and send its reply; frees req. */
static void agent_answer(struct agent *a, struct agent_req *req)
{
	struct agent_err e = {0};
	json_t *result = NULL;
	int err = agent_exec(a, req, &result, &e);

	agent_send(a, err ? agent_reply_err(req->id, &e) : agent_reply_ok(req->id, result));
	if (!err && req->cmd == AGENT_POWEROFF) {
		sync();
		reboot(RB_POWER_OFF);
	}
	agent_req_free(req);
}

/* A request that waits, in a thread of its own. */
struct agent_job {
	struct agent *a;
	struct agent_req req;
};

static void *agent_job_main(void *arg)
{
	struct agent_job *job = arg;
	struct agent *a = job->a;

	agent_answer(a, &job->req);
	free(job);
	atomic_fetch_sub(&a->jobs, 1);
	return NULL;
}

/* Does the request wait (and so get a thread)? */
static bool agent_waits(const struct agent_req *req)
{
	return req->cmd == AGENT_RUN || req->cmd == AGENT_PROC_WAIT ||
	       (req->cmd == AGENT_CARRIER && json_object_get(req->args, "wait_for"));
}

/* Hand req to a new thread; on failure, e says why and req is still the caller's. */
static int agent_spawn(struct agent *a, struct agent_req *req, struct agent_err *e)
{
	struct agent_job *job;
	pthread_attr_t attr;
	pthread_t t;
	int err;

	if (atomic_load(&a->jobs) >= AGENT_MAX_JOBS)
		return agent_fail(e, -EBUSY, "%d requests already running", AGENT_MAX_JOBS);
	job = malloc(sizeof(*job));
	if (!job)
		return agent_fail(e, -ENOMEM, "out of memory");
	job->a = a;
	job->req = *req;
	atomic_fetch_add(&a->jobs, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, agent_job_main, job);
	pthread_attr_destroy(&attr);
	if (err) {
		atomic_fetch_sub(&a->jobs, 1);
		free(job);
		return agent_fail(e, -err, "cannot start a thread: %s", strerror(err));
	}
	return 0;
}

/* One request line: parse, then answer now or in a thread. */
static void agent_line(struct agent *a, const char *line, size_t len)
{
	struct agent_err e = {0};
	struct agent_req req;
	int err = agent_req_parse(line, len, &req, &e);

	if (!err && agent_waits(&req))
		err = agent_spawn(a, &req, &e);
	else if (!err)
		agent_answer(a, &req);
	if (err) {
		agent_send(a, agent_reply_err(req.id, &e));
		agent_req_free(&req);
	}
}

/* Hand over each complete line of the buffer; keep the rest. */
static void agent_lines(struct agent *a)
{
	char *start = a->buf, *nl;

	while ((nl = memchr(start, '\n', a->len - (size_t)(start - a->buf)))) {
		size_t n = (size_t)(nl - start);

		if (a->discarding)
			a->discarding = false;
		else if (n && !(n == 1 && start[0] == '\r'))
			agent_line(a, start, n);
		start = nl + 1;
	}
	a->len -= (size_t)(start - a->buf);
	memmove(a->buf, start, a->len);
	if (a->len == AGENT_LINE_MAX) {
		struct agent_err e;

		agent_fail(&e, -E2BIG, "request line longer than %u bytes", AGENT_LINE_MAX);
		agent_send(a, agent_reply_err(NULL, &e));
		a->len = 0;
		a->discarding = true;
	}
}

/* Read requests until EOF on stdin (--stdio); a port's EOF means the host is away. */
static int agent_loop(struct agent *a)
{
	for (;;) {
		ssize_t n = read(a->in, a->buf + a->len, AGENT_LINE_MAX - a->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			a->len += (size_t)n;
			agent_lines(a);
		} else if (a->stdio) {
			break;
		} else {
			/* No host on the port (it reads as EOF): the partial line died with it. */
			a->len = 0;
			a->discarding = false;
			agent_sleep_ms(n < 0 ? 1000 : 100);
		}
	}
	while (atomic_load(&a->jobs) > 0)
		agent_sleep_ms(10);
	return 0;
}

/* /dev/vportNpM of the port named AGENT_PORT_NAME, into path; waits up to 10 s for it. */
static int agent_find_port(char *path, size_t size)
{
	for (int tries = 0; tries < 100; tries++) {
		DIR *d = opendir("/sys/class/virtio-ports");
		struct dirent *de;

		while (d && (de = readdir(d))) {
			char name_path[512], name[128] = "";
			FILE *f;

			snprintf(name_path, sizeof(name_path), "/sys/class/virtio-ports/%s/name",
				 de->d_name);
			f = fopen(name_path, "re");
			if (f && fgets(name, sizeof(name), f))
				name[strcspn(name, "\n")] = '\0';
			if (f)
				fclose(f);
			if (strcmp(name, AGENT_PORT_NAME) == 0) {
				snprintf(path, size, "/dev/%s", de->d_name);
				closedir(d);
				return 0;
			}
		}
		if (d)
			closedir(d);
		agent_sleep_ms(100);
	}
	return -ENOENT;
}

/* Open the port (or take stdio) as argv says. */
static int agent_open(struct agent *a, int argc, char **argv)
{
	char path[300];

	if (argc == 2 && strcmp(argv[1], "--stdio") == 0) {
		a->stdio = true;
		a->in = 0;
		a->out = 1;
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--port") == 0)
		snprintf(path, sizeof(path), "%s", argv[2]);
	else if (argc != 1 || agent_find_port(path, sizeof(path)))
		return argc != 1 ? -EINVAL : -ENOENT;
	a->in = a->out = open(path, O_RDWR | O_CLOEXEC);
	if (a->in < 0) {
		fprintf(stderr, "tapyard-agent: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct agent a = {.wlock = PTHREAD_MUTEX_INITIALIZER};
	struct utsname u;
	int err;

	signal(SIGPIPE, SIG_IGN);
	err = agent_open(&a, argc, argv);
	if (err == -EINVAL)
		fprintf(stderr, "usage: tapyard-agent [--port PATH | --stdio]\n");
	else if (err == -ENOENT)
		fprintf(stderr, "tapyard-agent: no virtio-serial port named %s\n", AGENT_PORT_NAME);
	if (err)
		return 1;
	a.buf = malloc(AGENT_LINE_MAX);
	a.procs = agent_procs_new();
	if (!a.buf || !a.procs)
		return 1;
	if (uname(&u) == 0)
		snprintf(a.kernel, sizeof(a.kernel), "%s", u.release);
	agent_send(&a, agent_event_ready(TAPYARD_VERSION, a.kernel));
	err = agent_loop(&a);
	agent_procs_destroy(a.procs);
	free(a.buf);
	return err ? 1 : 0;
}
