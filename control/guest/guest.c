/* SPDX-License-Identifier: MIT */
/*
 * guest: network-namespace guests: the namespace, its links, and commands
 * run inside it. See guest.h for what a run sees.
 */
#include "guest.h"
#include "clock.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "interrupt.h"
#include "netlink.h"

/* <linux/if.h> has it but clashes with <net/if.h>. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

#define GUEST_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define GUEST_MAX_OUTPUT_DEFAULT (1u << 20)
#define GUEST_POLL_SLICE_MS 100

struct guest {
	int netns; /* the namespace */
	dev_t ns_dev; /* its identity, to find the processes inside */
	ino_t ns_ino;
	struct nl_sock *nl; /* rtnetlink inside the guest */
};

static void guest_sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Write a short string to a /proc/sys file of the calling thread's namespace (best effort). */
static void guest_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, value, strlen(value)) < 0) {
		/* a kernel without IPv6 has nothing to turn off */
	}
	close(fd);
}

/* Create a namespace from the calling thread and come back; *fd receives it. */
static int guest_unshare(const struct guest_opts *opts, int *fd)
{
	int cur, err = 0;

	cur = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		goto out;
	}
	*fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		err = -errno;
	if (!err) {
		/* A NIC coming up announces itself (gratuitous ARP), so peers' caches follow a
		 * re-attach. */
		guest_sysctl("/proc/sys/net/ipv4/conf/all/arp_notify", "1");
		guest_sysctl("/proc/sys/net/ipv4/conf/default/arp_notify", "1");
	}
	if (!err && !opts->ipv6) {
		guest_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
		guest_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	}
	if (setns(cur, CLONE_NEWNET)) {
		/* The thread would stay in the guest: nothing sane is left to do. */
		perror("tapyard: guest: cannot return to the original network namespace");
		abort();
	}
out:
	close(cur);
	return err;
}

int guest_create(const struct guest_opts *opts, struct guest **out)
{
	static const struct guest_opts defaults;
	struct guest *g = calloc(1, sizeof(*g));
	struct stat st;
	int err, lo;

	if (!g)
		return -ENOMEM;
	g->netns = -1;
	err = guest_unshare(opts ? opts : &defaults, &g->netns);
	if (!err && fstat(g->netns, &st))
		err = -errno;
	if (err)
		goto fail;
	g->ns_dev = st.st_dev;
	g->ns_ino = st.st_ino;
	err = netlink_open(g->netns, &g->nl);
	if (err)
		goto fail;
	lo = netlink_ifindex(g->nl, "lo");
	err = lo < 0 ? lo : netlink_link_set_up(g->nl, lo, true);
	if (err)
		goto fail;
	*out = g;
	return 0;
fail:
	guest_destroy(g);
	return err;
}

int guest_netns_fd(const struct guest *g)
{
	return g->netns;
}

/* Is process pid inside the guest's network namespace? */
static bool guest_owns_pid(const struct guest *g, const char *pid)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	if (stat(path, &st))
		return false; /* gone, or a zombie */
	return st.st_dev == g->ns_dev && st.st_ino == g->ns_ino;
}

/* One pass over /proc; returns how many processes were signalled. */
static int guest_kill_pass(struct guest *g)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self || !guest_owns_pid(g, de->d_name))
			continue;
		if (kill((pid_t)pid, SIGKILL) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int guest_kill_all(struct guest *g)
{
	int total = 0, n;

	/* Processes may fork while we look; repeat until a pass finds nobody. */
	for (int round = 0; round < 100; round++) {
		n = guest_kill_pass(g);
		if (!n)
			break;
		total += n;
		guest_sleep_ms(round < 10 ? 1 : 10);
	}
	return total;
}

void guest_destroy(struct guest *g)
{
	if (!g)
		return;
	if (g->netns >= 0) {
		guest_kill_all(g);
		close(g->netns);
	}
	netlink_close(g->nl);
	free(g);
}

int guest_link_wait(struct guest *g, const char *ifname, bool lower_up, unsigned int timeout_ms)
{
	uint64_t deadline = clock_mono_ms() + timeout_ms;
	unsigned int flags;
	int idx, err;

	idx = netlink_ifindex(g->nl, ifname);
	if (idx < 0)
		return idx;
	for (;;) {
		err = netlink_link_flags(g->nl, idx, &flags);
		if (err)
			return err;
		/* LOWER_UP follows carrier at once; RUNNING once the kernel's link watch ran. */
		if (lower_up &&
		    (flags & (IFF_LOWER_UP | IFF_RUNNING)) == (IFF_LOWER_UP | IFF_RUNNING))
			break;
		if (!lower_up && !(flags & (IFF_LOWER_UP | IFF_RUNNING)))
			return 0;
		if (clock_mono_ms() >= deadline)
			return -ETIMEDOUT;
		guest_sleep_ms(2);
	}
	/* Up again: what the guest tried to resolve meanwhile is retried at once, not in 1 s. */
	err = netlink_neigh_forget_unresolved(g->nl, idx);
	return err < 0 ? err : 0;
}

int guest_link_adopt(struct guest *g, int src_netns_fd, int ifindex, const struct guest_link *l)
{
	struct nl_sock *src;
	int err, idx;

	err = netlink_open(src_netns_fd, &src);
	if (err)
		return err;
	/* A link must be down to be renamed. */
	err = netlink_link_set_up(src, ifindex, false);
	if (!err)
		err = netlink_link_move(src, ifindex, g->netns, l->ifname);
	netlink_close(src);
	if (err)
		return err;
	idx = netlink_ifindex(g->nl, l->ifname);
	if (idx < 0)
		return idx;
	if (l->mac)
		err = netlink_link_set_mac(g->nl, idx, l->mac);
	if (!err && l->addr)
		err = netlink_addr_add(g->nl, idx, l->addr, l->prefix);
	if (!err)
		err = netlink_link_set_up(g->nl, idx, true);
	if (!err && guest_link_wait(g, l->ifname, true, 2000) == -ETIMEDOUT) {
		/* Carrier may be off on purpose (link down before attach): not an error. */
	}
	return err;
}

int guest_link_rename(struct guest *g, const char *from, const char *to)
{
	int idx = netlink_ifindex(g->nl, from);
	int err;

	if (idx < 0)
		return idx;
	err = netlink_link_set_up(g->nl, idx, false);
	if (!err)
		err = netlink_link_rename(g->nl, idx, to);
	if (!err)
		err = netlink_link_set_up(g->nl, idx, true);
	return err;
}

int guest_parse_cidr(const char *s, uint32_t *addr, unsigned int *prefix)
{
	char buf[INET_ADDRSTRLEN + 4];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long p = 32;
	char *end;

	if (n == 0 || n >= INET_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, addr) != 1)
		return -EINVAL;
	if (slash) {
		errno = 0;
		p = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || p > 32)
			return -EINVAL;
	}
	*prefix = (unsigned int)p;
	return 0;
}

/* ---- running commands ---- */

/* Everything the child needs, prepared before fork (the child only makes system calls). */
struct guest_child {
	int netns;
	int in, out, err; /* the child's ends */
	const char *path; /* executable */
	char **argv, **envp;
	const char *hosts, *hostname, *cwd;
};

struct guest_proc {
	pid_t pid;
	int pidfd;
	int in, out, err; /* our ends, or -1 */
	const char *stdin_data; /* borrowed from the request */
	size_t stdin_len, stdin_off;
	uint64_t deadline_ms; /* 0: none */
	size_t max_output;
	char **argv, **envp; /* freed with the proc */
	bool reaped; /* a detached process that exited, its status in wstatus */
	int wstatus;
};

/* Report a failed setup step on the child's stderr and exit 127. Async-signal-safe enough. */
static void guest_child_fail(const char *what)
{
	const char *why = strerrordesc_np(errno);
	const char *parts[] = {"tapyard: guest: ", what, ": ", why ? why : "error", "\n"};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (write(2, parts[i], strlen(parts[i])) < 0)
			break;
	}
	_exit(127);
}

/* Enter the guest's namespaces, mounts and files, then exec. Never returns. */
static void guest_child_run(const struct guest_child *c)
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
	if (setns(c->netns, CLONE_NEWNET))
		guest_child_fail("setns");
	if (unshare(CLONE_NEWNS | CLONE_NEWUTS))
		guest_child_fail("unshare");
	if (mount("", "/", NULL, MS_SLAVE | MS_REC, NULL))
		guest_child_fail("mount --make-rslave /");
	/* A fresh sysfs shows the guest's own links, as `ip netns exec` does. */
	umount2("/sys", MNT_DETACH);
	if (mount("sysfs", "/sys", "sysfs", 0, NULL))
		guest_child_fail("mount /sys");
	if (c->hosts && mount(c->hosts, "/etc/hosts", NULL, MS_BIND, NULL))
		guest_child_fail("bind-mount /etc/hosts");
	if (c->hostname && sethostname(c->hostname, strlen(c->hostname)))
		guest_child_fail("sethostname");
	if (chdir(c->cwd ? c->cwd : "/"))
		guest_child_fail("chdir");
	close_range(3, ~0u, 0);
	execve(c->path, c->argv, c->envp);
	guest_child_fail(c->path);
}

/* A NULL-terminated copy of a string list, or NULL when out of memory. */
static char **guest_strv(const char *const *v, size_t extra)
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
static bool guest_env_has(char **env, size_t n, const char *def)
{
	size_t klen = strcspn(def, "=");

	for (size_t i = 0; i < n; i++) {
		if (strncmp(env[i], def, klen) == 0 && env[i][klen] == '=')
			return true;
	}
	return false;
}

/* The clean environment: the caller's extras first, then defaults they did not set. */
static char **guest_envp(const struct guest_run_req *req)
{
	static const char *const defaults[] = {
		"PATH=" GUEST_PATH, "HOME=/root", "USER=root",	  "LOGNAME=root",
		"SHELL=/bin/sh",    "TERM=dumb",  "LANG=C.UTF-8", NULL};
	char **env = guest_strv(req->env, sizeof(defaults) / sizeof(defaults[0]));
	size_t n = 0;

	if (!env)
		return NULL;
	while (env[n])
		n++;
	for (size_t i = 0; defaults[i]; i++) {
		if (!guest_env_has(env, n, defaults[i]))
			env[n++] = (char *)defaults[i];
	}
	env[n] = NULL;
	return env;
}

/* Find file in the clean PATH; *out receives a malloc'ed path. */
static int guest_which(const char *file, char **out)
{
	char path[4096];
	const char *dir = GUEST_PATH;

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

static void guest_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void guest_proc_free(struct guest_proc *p)
{
	if (!p)
		return;
	guest_close(&p->in);
	guest_close(&p->out);
	guest_close(&p->err);
	guest_close(&p->pidfd);
	if (p->argv)
		free(p->argv[0]);
	free(p->argv);
	free(p->envp);
	free(p);
}

/* argv for the request: /bin/sh -c cmd, or req->argv with argv[0] resolved. */
static int guest_argv(const struct guest_run_req *req, struct guest_proc *p)
{
	const char *sh[] = {"/bin/sh", "-c", req->cmd, NULL};
	const char *const *src = req->argv ? req->argv : sh;
	int err;

	if (!req->argv && !req->cmd)
		return -EINVAL;
	if (!src[0])
		return -EINVAL;
	p->argv = guest_strv(src, 0);
	if (!p->argv)
		return -ENOMEM;
	/* argv[0] keeps its name for the program; the resolved path goes first, freed later. */
	err = guest_which(src[0], &p->argv[0]);
	if (err) {
		p->argv[0] = NULL;
		return err;
	}
	return 0;
}

/* A memory file for an output stream of a detached process: the child's fd in *child, ours in *own.
 */
static int guest_memfile(const char *name, int *child, int *own)
{
	*child = memfd_create(name, MFD_CLOEXEC);
	if (*child < 0)
		return -errno;
	*own = fcntl(*child, F_DUPFD_CLOEXEC, 3);
	return *own < 0 ? -errno : 0;
}

/* stdin a pipe, stdout and stderr memory files: for a detached process. */
static int guest_files(struct guest_child *c, struct guest_proc *p)
{
	int in[2], err;

	if (pipe2(in, O_CLOEXEC))
		return -errno;
	c->in = in[0];
	p->in = in[1];
	fcntl(p->in, F_SETFL, O_NONBLOCK);
	err = guest_memfile("tapyard-stdout", &c->out, &p->out);
	return err ? err : guest_memfile("tapyard-stderr", &c->err, &p->err);
}

/* Pipes for stdin/stdout/stderr: child ends in c, ours in p (non-blocking). */
static int guest_pipes(const struct guest_run_req *req, struct guest_child *c, struct guest_proc *p)
{
	int in[2] = {-1, -1}, out[2], err[2];

	if (req->detach)
		return guest_files(c, p);
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

int guest_run_start(struct guest *g, const struct guest_run_req *req, struct guest_proc **out)
{
	struct guest_child c = {.netns = g->netns,
				.in = -1,
				.out = -1,
				.err = -1,
				.hosts = req->hosts,
				.hostname = req->hostname,
				.cwd = req->cwd};
	struct guest_proc *p = calloc(1, sizeof(*p));
	sigset_t all, old;
	int err;

	if (!p)
		return -ENOMEM;
	p->in = p->out = p->err = p->pidfd = -1;
	err = guest_argv(req, p);
	if (!err) {
		p->envp = guest_envp(req);
		err = p->envp ? guest_pipes(req, &c, p) : -ENOMEM;
	}
	if (err)
		goto out;
	c.path = p->argv[0];
	c.argv = p->argv;
	c.envp = p->envp;
	p->stdin_data = req->detach ? NULL : req->stdin_data;
	p->stdin_len = req->detach ? 0 : req->stdin_len;
	p->max_output = req->max_output ? req->max_output : GUEST_MAX_OUTPUT_DEFAULT;
	p->deadline_ms = req->timeout_ms && !req->detach ? clock_mono_ms() + req->timeout_ms : 0;
	/* Until the child has reset its handlers, a signal must not run the parent's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	p->pid = fork();
	if (p->pid == 0)
		guest_child_run(&c);
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
	guest_close(&c.in);
	guest_close(&c.out);
	guest_close(&c.err);
	if (err) {
		guest_proc_free(p);
		return err;
	}
	*out = p;
	return 0;
}

/* One output stream being collected. */
struct guest_buf {
	char *data;
	size_t len, cap;
	bool truncated;
};

/* Read what fd has now into b (beyond max: counted as truncated). Closes fd at EOF. */
static void guest_collect(int *fd, struct guest_buf *b, size_t max)
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
			guest_close(fd);
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
static void guest_feed(struct guest_proc *p)
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
	guest_close(&p->in);
}

static void guest_kill_proc(struct guest_proc *p)
{
	kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
}

/* Fill res from the wait status st. */
static void guest_status(int st, struct guest_run_result *res)
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
static int guest_take(struct guest_buf *b, char **s, size_t *len, bool *truncated)
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

/* Poll the pipes and the child until it exits; kills it at the deadline or on interrupt. */
static int guest_wait_loop(struct guest_proc *p, const atomic_bool *stop, struct guest_buf *o,
			   struct guest_buf *e, struct guest_run_result *res)
{
	bool killed = false;

	for (;;) {
		struct pollfd fds[4] = {{.fd = p->pidfd, .events = POLLIN},
					{.fd = p->out, .events = POLLIN},
					{.fd = p->err, .events = POLLIN},
					{.fd = p->in, .events = POLLOUT}};
		uint64_t now = clock_mono_ms();
		int wait = GUEST_POLL_SLICE_MS;

		if (!killed && (interrupt_pending() || (stop && atomic_load(stop)))) {
			res->interrupted = true;
			res->status = GUEST_RUN_TIMED_OUT;
			guest_kill_proc(p);
			killed = true;
		} else if (!killed && p->deadline_ms && now >= p->deadline_ms) {
			res->status = GUEST_RUN_TIMED_OUT;
			guest_kill_proc(p);
			killed = true;
		} else if (!killed && p->deadline_ms && p->deadline_ms - now < (uint64_t)wait) {
			wait = (int)(p->deadline_ms - now);
		}
		if (poll(fds, 4, wait) < 0 && errno != EINTR)
			return -errno;
		guest_collect(&p->out, o, p->max_output);
		guest_collect(&p->err, e, p->max_output);
		guest_feed(p);
		if (fds[0].revents & POLLIN)
			return 0;
	}
}

int guest_run_wait(struct guest_proc *p, const atomic_bool *stop, struct guest_run_result *res)
{
	struct guest_buf o = {0}, e = {0};
	int st = 0, err;

	memset(res, 0, sizeof(*res));
	res->status = GUEST_RUN_EXITED;
	err = guest_wait_loop(p, stop, &o, &e, res);
	if (err)
		guest_kill_proc(p);
	/* ECHILD: whoever set SIGCHLD to SIG_IGN reaped it; the status is lost. */
	if (waitpid(p->pid, &st, 0) < 0 && errno != ECHILD && !err)
		err = -errno;
	/* Whatever the child wrote before exiting is in the pipes now; grandchildren are not waited
	 * for. */
	guest_collect(&p->out, &o, p->max_output);
	guest_collect(&p->err, &e, p->max_output);
	guest_status(st, res);
	if (!err)
		err = guest_take(&o, &res->out, &res->out_len, &res->out_truncated);
	if (!err)
		err = guest_take(&e, &res->err, &res->err_len, &res->err_truncated);
	guest_proc_free(p);
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
		int wait = GUEST_POLL_SLICE_MS;

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
static int guest_proc_read(int fd, size_t max, struct guest_buf *b)
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
	struct guest_buf o = {0}, e = {0};
	bool done = guest_proc_reap(p);
	int err;

	memset(res, 0, sizeof(*res));
	err = guest_proc_read(p->out, p->max_output, &o);
	if (!err)
		err = guest_proc_read(p->err, p->max_output, &e);
	if (!err)
		err = guest_take(&o, &res->out, &res->out_len, &res->out_truncated);
	if (!err)
		err = guest_take(&e, &res->err, &res->err_len, &res->err_truncated);
	if (err) {
		free(o.data);
		free(e.data);
		memset(res, 0, sizeof(*res));
		return err;
	}
	res->status = timed_out ? GUEST_RUN_TIMED_OUT : GUEST_RUN_EXITED;
	if (done)
		guest_status(p->wstatus, res);
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
			poll(&fd, 1, GUEST_POLL_SLICE_MS);
		else if (n < 0 && errno != EINTR)
			return off ? (ssize_t)off : -EPIPE;
	}
	if (p->in < 0)
		return -EPIPE;
	return off ? (ssize_t)off : -EAGAIN;
}

void guest_proc_close_stdin(struct guest_proc *p)
{
	guest_close(&p->in);
}

void guest_proc_destroy(struct guest_proc *p)
{
	if (!p)
		return;
	if (!p->reaped) {
		guest_kill_proc(p);
		waitpid(p->pid, NULL, 0);
	}
	guest_proc_free(p);
}

void guest_run_result_free(struct guest_run_result *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}
