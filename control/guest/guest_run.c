/* SPDX-License-Identifier: MIT */
/*
 * guest_run: one command as a child with captured output and a timeout (see
 * guest_run.h). The child only makes system calls: everything it needs is
 * prepared before fork.
 */
#include "guest_run.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "interrupt.h"

#define GUEST_RUN_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define GUEST_RUN_MAX_OUTPUT (1u << 20)
#define GUEST_RUN_POLL_SLICE_MS 100
#define GUEST_RUN_KILL_GRACE_MS 2000 /* after a timeout's own signal, until SIGKILL */

/* Everything the child needs, prepared before fork (the child only makes system calls). */
struct guest_run_child {
	int in, out, err; /* the child's ends */
	const char *path; /* executable */
	char **argv, **envp;
	const struct guest_run_req *req;
	guest_run_enter_fn *enter;
	void *ctx;
};

struct guest_proc {
	pid_t pid;
	int pidfd;
	int in, out, err; /* our ends, or -1 */
	const char *stdin_data; /* borrowed from the request */
	size_t stdin_len, stdin_off;
	uint64_t deadline_ms; /* 0: none */
	size_t max_output;
	int kill_signal; /* at the deadline */
	char **argv, **envp; /* freed with the proc */
	bool reaped; /* a detached process that exited, its status in wstatus */
	int wstatus;
};

/* Async-signal-safe enough. */
void guest_run_child_fail(const char *what)
{
	const char *why = strerrordesc_np(errno);
	const char *parts[] = {"tapyard: guest: ", what, ": ", why ? why : "error", "\n"};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (write(2, parts[i], strlen(parts[i])) < 0)
			break;
	}
	_exit(127);
}

/* Take the pipes, run the enter hook, then exec. Never returns. */
_Noreturn static void guest_run_child(const struct guest_run_child *c)
{
	static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD};
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;

	/* Signals were blocked across fork: a signal sent now finds default handlers. */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (dup2(c->in, 0) < 0 || dup2(c->out, 1) < 0 || dup2(c->err, 2) < 0)
		_exit(127);
	if (c->enter)
		c->enter(c->req, c->ctx);
	if (chdir(c->req->cwd ? c->req->cwd : "/"))
		guest_run_child_fail("chdir");
	close_range(3, ~0u, 0);
	execve(c->path, c->argv, c->envp);
	guest_run_child_fail(c->path);
}

/* A NULL-terminated copy of a string list, or NULL when out of memory. */
static char **guest_run_strv(const char *const *v, size_t extra)
{
	size_t n = 0;
	char **out;

	while (v && v[n])
		n++;
	out = calloc(n + extra + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = (char *)v[i];
	return out;
}

/* Does env (NULL-terminated "K=V") set the variable of def ("K=...")? */
static bool guest_run_env_has(char **env, size_t n, const char *def)
{
	size_t klen = strcspn(def, "=");

	for (size_t i = 0; i < n; i++) {
		if (strncmp(env[i], def, klen) == 0 && env[i][klen] == '=')
			return true;
	}
	return false;
}

/* The clean environment: the caller's extras first, then defaults they did not set. */
static char **guest_run_envp(const struct guest_run_req *req)
{
	static const char *const defaults[] = {
		"PATH=" GUEST_RUN_PATH, "HOME=/root", "USER=root",    "LOGNAME=root",
		"SHELL=/bin/sh",	"TERM=dumb",  "LANG=C.UTF-8", NULL};
	char **env = guest_run_strv(req->env, sizeof(defaults) / sizeof(defaults[0]));
	size_t n = 0;

	if (!env)
		return NULL;
	while (env[n])
		n++;
	for (size_t i = 0; defaults[i]; i++) {
		if (!guest_run_env_has(env, n, defaults[i]))
			env[n++] = (char *)defaults[i];
	}
	env[n] = NULL;
	return env;
}

/* Find file in the clean PATH; *out receives a malloc'ed path. */
static int guest_run_which(const char *file, char **out)
{
	char path[4096];
	const char *dir = GUEST_RUN_PATH;

	if (strchr(file, '/')) {
		*out = strdup(file);
		return *out ? 0 : -ENOMEM;
	}
	while (*dir) {
		size_t n = strcspn(dir, ":");

		snprintf(path, sizeof(path), "%.*s/%s", (int)n, dir, file);
		if (access(path, X_OK) == 0) {
			*out = strdup(path);
			return *out ? 0 : -ENOMEM;
		}
		dir += n + (dir[n] == ':');
	}
	return -ENOENT;
}

static void guest_run_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void guest_run_proc_free(struct guest_proc *p)
{
	if (!p)
		return;
	guest_run_close(&p->in);
	guest_run_close(&p->out);
	guest_run_close(&p->err);
	guest_run_close(&p->pidfd);
	if (p->argv)
		free(p->argv[0]);
	free(p->argv);
	free(p->envp);
	free(p);
}

/* argv for the request: /bin/sh -c cmd, or req->argv with argv[0] resolved. */
static int guest_run_argv(const struct guest_run_req *req, struct guest_proc *p)
{
	const char *sh[] = {"/bin/sh", "-c", req->cmd, NULL};
	const char *const *src = req->argv ? req->argv : sh;
	int err;

	if (!req->argv && !req->cmd)
		return -EINVAL;
	if (!src[0])
		return -EINVAL;
	p->argv = guest_run_strv(src, 0);
	if (!p->argv)
		return -ENOMEM;
	/* argv[0] keeps its name for the program; the resolved path goes first, freed later. */
	err = guest_run_which(src[0], &p->argv[0]);
	if (err) {
		p->argv[0] = NULL;
		return err;
	}
	return 0;
}

/* A memory file for an output stream of a detached process: the child's fd in *child, ours in *own.
 */
static int guest_run_memfile(const char *name, int *child, int *own)
{
	*child = memfd_create(name, MFD_CLOEXEC);
	if (*child < 0)
		return -errno;
	*own = fcntl(*child, F_DUPFD_CLOEXEC, 3);
	return *own < 0 ? -errno : 0;
}

/* stdin a pipe, stdout and stderr memory files: for a detached process. */
static int guest_run_files(struct guest_run_child *c, struct guest_proc *p)
{
	int in[2], err;

	if (pipe2(in, O_CLOEXEC))
		return -errno;
	c->in = in[0];
	p->in = in[1];
	fcntl(p->in, F_SETFL, O_NONBLOCK);
	err = guest_run_memfile("tapyard-stdout", &c->out, &p->out);
	return err ? err : guest_run_memfile("tapyard-stderr", &c->err, &p->err);
}

/* Pipes for stdin/stdout/stderr: child ends in c, ours in p (non-blocking). */
static int guest_run_pipes(const struct guest_run_req *req, struct guest_run_child *c,
			   struct guest_proc *p)
{
	int in[2] = {-1, -1}, out[2], err[2];

	if (req->detach)
		return guest_run_files(c, p);

	if (req->stdin_data) {
		if (pipe2(in, O_CLOEXEC))
			return -errno;
	} else {
		in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in[0] < 0)
			return -errno;
	}
	c->in = in[0];
	p->in = in[1];
	if (pipe2(out, O_CLOEXEC))
		return -errno;
	c->out = out[1];
	p->out = out[0];
	if (pipe2(err, O_CLOEXEC))
		return -errno;
	c->err = err[1];
	p->err = err[0];
	fcntl(p->out, F_SETFL, O_NONBLOCK);
	fcntl(p->err, F_SETFL, O_NONBLOCK);
	if (p->in >= 0)
		fcntl(p->in, F_SETFL, O_NONBLOCK);
	return 0;
}

int guest_run_spawn(const struct guest_run_req *req, guest_run_enter_fn *enter, void *ctx,
		    struct guest_proc **out)
{
	struct guest_run_child c = {
		.in = -1, .out = -1, .err = -1, .req = req, .enter = enter, .ctx = ctx};
	struct guest_proc *p = calloc(1, sizeof(*p));
	sigset_t all, old;
	int err;

	if (!p)
		return -ENOMEM;
	p->in = p->out = p->err = p->pidfd = -1;
	err = guest_run_argv(req, p);
	if (!err) {
		p->envp = guest_run_envp(req);
		err = p->envp ? guest_run_pipes(req, &c, p) : -ENOMEM;
	}
	if (err)
		goto out;
	c.path = p->argv[0];
	c.argv = p->argv;
	c.envp = p->envp;
	p->stdin_data = req->detach ? NULL : req->stdin_data;
	p->stdin_len = req->detach ? 0 : req->stdin_len;
	p->max_output = req->max_output ? req->max_output : GUEST_RUN_MAX_OUTPUT;
	p->deadline_ms = req->timeout_ms && !req->detach ? clock_mono_ms() + req->timeout_ms : 0;
	p->kill_signal =
		req->kill_signal > 0 && req->kill_signal < NSIG ? req->kill_signal : SIGKILL;
	/* Until the child has reset its handlers, a signal must not run the parent's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	p->pid = fork();
	if (p->pid == 0)
		guest_run_child(&c);
	err = p->pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto out;
	p->pidfd = (int)pidfd_open(p->pid, 0);
	if (p->pidfd < 0) {
		err = -errno;
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
out:
	guest_run_close(&c.in);
	guest_run_close(&c.out);
	guest_run_close(&c.err);
	if (err) {
		guest_run_proc_free(p);
		return err;
	}
	*out = p;
	return 0;
}

/* One output stream being collected. */
struct guest_run_buf {
	char *data;
	size_t len, cap;
	bool truncated;
};

/* Read what fd has now into b (beyond max: counted as truncated). Closes fd at EOF. */
static void guest_run_collect(int *fd, struct guest_run_buf *b, size_t max)
{
	char chunk[16384];
	ssize_t n;

	while (*fd >= 0) {
		n = read(*fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			guest_run_close(fd);
			return;
		}
		size_t keep = max - b->len < (size_t)n ? max - b->len : (size_t)n;

		b->truncated |= keep < (size_t)n;
		if (!keep)
			continue;
		if (b->len + keep + 1 > b->cap) {
			size_t cap = 2 * (b->len + keep + 1);
			char *grown;

			cap = cap > max + 1 ? max + 1 : cap;
			grown = realloc(b->data, cap);
			if (!grown) {
				b->truncated = true;
				continue;
			}
			b->data = grown;
			b->cap = cap;
		}
		memcpy(b->data + b->len, chunk, keep);
		b->len += keep;
	}
}

/* Write what stdin can take now; close it when everything is written or the reader left. */
static void guest_run_feed(struct guest_proc *p)
{
	while (p->in >= 0 && p->stdin_off < p->stdin_len) {
		ssize_t n = write(p->in, p->stdin_data + p->stdin_off, p->stdin_len - p->stdin_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0)
			break;
		p->stdin_off += (size_t)n;
	}
	guest_run_close(&p->in);
}

static void guest_run_kill(struct guest_proc *p, int sig)
{
	kill(-p->pid, sig);
	kill(p->pid, sig);
}

/* Fill res from the wait status st. */
static void guest_run_status(int st, struct guest_run_result *res)
{
	if (res->status == GUEST_RUN_TIMED_OUT) {
		res->exit_code = -2;
		res->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	} else if (WIFSIGNALED(st)) {
		res->status = GUEST_RUN_SIGNALLED;
		res->exit_code = -1;
		res->signal = WTERMSIG(st);
	} else {
		res->status = GUEST_RUN_EXITED;
		res->exit_code = WEXITSTATUS(st);
	}
}

/* Move a collected buffer into the result as a NUL-terminated string. */
static int guest_run_take(struct guest_run_buf *b, char **s, size_t *len, bool *truncated)
{
	if (!b->data) {
		b->data = malloc(1);
		if (!b->data)
			return -ENOMEM;
	}
	b->data[b->len] = '\0';
	*s = b->data;
	*len = b->len;
	*truncated = b->truncated;
	return 0;
}

/* The wait loop's kill decision: signal to send now (0: none), and the poll wait, shortened. */
static int guest_run_due(struct guest_proc *p, const atomic_bool *stop,
			 struct guest_run_result *res, uint64_t *kill_at, int *wait)
{
	uint64_t now = clock_mono_ms();

	if (*kill_at) {
		/* Signalled at the timeout: what outlives the grace is SIGKILLed. */
		if (now >= *kill_at) {
			*kill_at = UINT64_MAX;
			return SIGKILL;
		}
		return 0;
	}
	if (interrupt_pending() || (stop && atomic_load(stop))) {
		res->interrupted = true;
		res->status = GUEST_RUN_TIMED_OUT;
		*kill_at = UINT64_MAX;
		return SIGKILL;
	}
	if (p->deadline_ms && now >= p->deadline_ms) {
		res->status = GUEST_RUN_TIMED_OUT;
		*kill_at = p->kill_signal == SIGKILL ? UINT64_MAX : now + GUEST_RUN_KILL_GRACE_MS;
		return p->kill_signal;
	}
	if (p->deadline_ms && p->deadline_ms - now < (uint64_t)*wait)
		*wait = (int)(p->deadline_ms - now);
	return 0;
}

/* Poll the pipes and the child until it exits; kills it at the deadline or on interrupt. */
static int guest_run_wait_loop(struct guest_proc *p, const atomic_bool *stop,
			       struct guest_run_buf *o, struct guest_run_buf *e,
			       struct guest_run_result *res)
{
	uint64_t kill_at = 0;

	for (;;) {
		struct pollfd fds[4] = {{.fd = p->pidfd, .events = POLLIN},
					{.fd = p->out, .events = POLLIN},
					{.fd = p->err, .events = POLLIN},
					{.fd = p->in, .events = POLLOUT}};
		int wait = GUEST_RUN_POLL_SLICE_MS;
		int sig = guest_run_due(p, stop, res, &kill_at, &wait);

		if (sig)
			guest_run_kill(p, sig);
		if (poll(fds, 4, wait) < 0 && errno != EINTR)
			return -errno;
		guest_run_collect(&p->out, o, p->max_output);
		guest_run_collect(&p->err, e, p->max_output);
		guest_run_feed(p);
		if (fds[0].revents & POLLIN)
			return 0;
	}
}

int guest_run_wait(struct guest_proc *p, const atomic_bool *stop, struct guest_run_result *res)
{
	struct guest_run_buf o = {0}, e = {0};
	int st = 0, err;

	memset(res, 0, sizeof(*res));
	res->status = GUEST_RUN_EXITED;
	err = guest_run_wait_loop(p, stop, &o, &e, res);
	if (err)
		guest_run_kill(p, SIGKILL);
	/* ECHILD: whoever set SIGCHLD to SIG_IGN reaped it; the status is lost. */
	if (waitpid(p->pid, &st, 0) < 0 && errno != ECHILD && !err)
		err = -errno;
	/* Whatever the child wrote before exiting is in the pipes now; grandchildren are not waited
	 * for. */
	guest_run_collect(&p->out, &o, p->max_output);
	guest_run_collect(&p->err, &e, p->max_output);
	guest_run_status(st, res);
	if (!err)
		err = guest_run_take(&o, &res->out, &res->out_len, &res->out_truncated);
	if (!err)
		err = guest_run_take(&e, &res->err, &res->err_len, &res->err_truncated);
	guest_run_proc_free(p);
	if (err) {
		free(o.data);
		free(e.data);
		memset(res, 0, sizeof(*res));
	}
	return err;
}

/* ---- background processes ---- */

int guest_proc_wait(struct guest_proc *p, int64_t timeout_ms, const atomic_bool *stop)
{
	uint64_t end = timeout_ms < 0 ? UINT64_MAX : clock_mono_ms() + (uint64_t)timeout_ms;

	for (;;) {
		struct pollfd fd = {.fd = p->pidfd, .events = POLLIN};
		uint64_t now = clock_mono_ms();
		int wait = GUEST_RUN_POLL_SLICE_MS;

		if (p->reaped)
			return 0;
		if (interrupt_pending() || (stop && atomic_load(stop)))
			return -ECANCELED;
		if (now >= end)
			return -ETIMEDOUT;
		if (end - now < (uint64_t)wait)
			wait = (int)(end - now);
		if (poll(&fd, 1, wait) > 0 && (fd.revents & POLLIN))
			return 0;
	}
}

int guest_proc_signal(struct guest_proc *p, int sig)
{
	if (p->reaped)
		return -ESRCH;
	if (kill(-p->pid, sig) && kill(p->pid, sig))
		return -errno;
	return 0;
}

pid_t guest_proc_pid(const struct guest_proc *p)
{
	return p->pid;
}

/* Reap the process if it exited. Returns whether it has. */
static bool guest_proc_reap(struct guest_proc *p)
{
	pid_t r;

	if (p->reaped)
		return true;
	r = waitpid(p->pid, &p->wstatus, WNOHANG);
	if (r == p->pid || (r < 0 && errno == ECHILD))
		p->reaped = true;
	return p->reaped;
}

/* Read up to max bytes of memory file fd (from its start) into b. */
static int guest_proc_read(int fd, size_t max, struct guest_run_buf *b)
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st))
		return -errno;
	b->truncated = (size_t)st.st_size > max;
	b->cap = ((size_t)st.st_size < max ? (size_t)st.st_size : max) + 1;
	b->data = malloc(b->cap);
	if (!b->data)
		return -ENOMEM;
	n = pread(fd, b->data, b->cap - 1, 0);
	b->len = n > 0 ? (size_t)n : 0;
	return 0;
}

int guest_proc_result(struct guest_proc *p, bool timed_out, struct guest_run_result *res)
{
	struct guest_run_buf o = {0}, e = {0};
	bool done = guest_proc_reap(p);
	int err;

	memset(res, 0, sizeof(*res));
	err = guest_proc_read(p->out, p->max_output, &o);
	if (!err)
		err = guest_proc_read(p->err, p->max_output, &e);
	if (!err)
		err = guest_run_take(&o, &res->out, &res->out_len, &res->out_truncated);
	if (!err)
		err = guest_run_take(&e, &res->err, &res->err_len, &res->err_truncated);
	if (err) {
		free(o.data);
		free(e.data);
		memset(res, 0, sizeof(*res));
		return err;
	}
	res->status = timed_out ? GUEST_RUN_TIMED_OUT : GUEST_RUN_EXITED;
	if (done)
		guest_run_status(p->wstatus, res);
	return done;
}

ssize_t guest_proc_write(struct guest_proc *p, const char *data, size_t len)
{
	size_t off = 0;
	uint64_t end = clock_mono_ms() + 1000;

	while (p->in >= 0 && off < len && clock_mono_ms() < end) {
		struct pollfd fd = {.fd = p->in, .events = POLLOUT};
		ssize_t n = write(p->in, data + off, len - off);

		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno == EAGAIN)
			poll(&fd, 1, GUEST_RUN_POLL_SLICE_MS);
		else if (n < 0 && errno != EINTR)
			return off ? (ssize_t)off : -EPIPE;
	}
	if (p->in < 0)
		return -EPIPE;
	return off ? (ssize_t)off : -EAGAIN;
}

void guest_proc_close_stdin(struct guest_proc *p)
{
	guest_run_close(&p->in);
}

void guest_proc_destroy(struct guest_proc *p)
{
	if (!p)
		return;
	if (!p->reaped) {
		guest_run_kill(p, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	guest_run_proc_free(p);
}

void guest_run_result_free(struct guest_run_result *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

json_t *guest_run_result_json(const struct guest_run_result *r, guest_run_bytes_fn *bytes)
{
	static const char *const status[] = {"exited", "signalled", "timed_out"};

	return json_pack("{s:i, s:s, s:o, s:b, s:o, s:o, s:b, s:b, s:b}", "exit_code", r->exit_code,
			 "status", status[r->status], "signal",
			 r->signal ? json_integer(r->signal) : json_null(), "timed_out",
			 r->status == GUEST_RUN_TIMED_OUT, "stdout", bytes(r->out, r->out_len),
			 "stderr", bytes(r->err, r->err_len), "stdout_truncated", r->out_truncated,
			 "stderr_truncated", r->err_truncated, "interrupted", r->interrupted);
}
