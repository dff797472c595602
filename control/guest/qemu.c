/* SPDX-License-Identifier: MIT */
/*
 * qemu: the QEMU child of one guest (see qemu.h). The command line is built
 * by a pure function; the start forks with everything prepared, hands the
 * NICs' fds over by number, then waits for the agent while watching the
 * child, so that a guest that panics (QEMU runs with -no-reboot) fails at
 * once instead of at the timeout.
 *
 * q35 with the kernel given directly boots fastest here under TCG (about a
 * second less than pc; microvm cannot boot an ELF vmlinux with these devices).
 * QEMU_ROOT_PORTS empty pcie-root-ports (rp0, rp1...) take NICs hot-plugged
 * through QMP (qemu_nic.c).
 */
#include "qemu.h"
#include "clock.h"
#include "interrupt.h"
#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QEMU_DEFAULT_BINARY "qemu-system-x86_64"
#define QEMU_BOOT_TIMEOUT_MS 60000
#define QEMU_STOP_GRACE_MS 2000
#define QEMU_ARGS_MAX (40 + 4 * QEMU_NICS_MAX + 2 * QEMU_ROOT_PORTS)

struct qemu {
	char name[64];
	char dir[512];
	pid_t pid;
	struct agent_client *agent;
	uint64_t start_ms, deadline_ms, boot_ms;
	unsigned long long start_ticks; /* the child's start time (/proc/PID/stat field 22) */
};

enum qemu_accel qemu_accel_pick(enum qemu_accel want, char *why, size_t size)
{
	const char *env = getenv("TAPYARD_QEMU_ACCEL");
	char dummy[8];
	int fd;

	why = why ? why : dummy;
	size = why == dummy ? sizeof(dummy) : size;
	if (want == QEMU_ACCEL_AUTO && env && strcmp(env, "kvm") == 0)
		want = QEMU_ACCEL_KVM;
	if (want == QEMU_ACCEL_AUTO && env && strcmp(env, "tcg") == 0)
		want = QEMU_ACCEL_TCG;
	if (want != QEMU_ACCEL_AUTO) {
		snprintf(why, size, "QEMU runs with %s, as asked",
			 want == QEMU_ACCEL_KVM ? "KVM" : "TCG");
		return want;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, size, "QEMU runs with TCG: /dev/kvm: %s", strerror(errno));
		return QEMU_ACCEL_TCG;
	}
	close(fd);
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		snprintf(why, size,
			 "QEMU runs with TCG: this host's KVM is nested PVM, where "
			 "guests hang in early boot (TAPYARD_QEMU_ACCEL=kvm to try)");
		return QEMU_ACCEL_TCG;
	}
	snprintf(why, size, "QEMU runs with KVM");
	return QEMU_ACCEL_KVM;
}

/* A QEMU option value: commas doubled, as QEMU's option syntax wants. */
static char *qemu_escape(const char *s)
{
	size_t n = strlen(s), commas = 0;
	char *out, *o;

	for (size_t i = 0; i < n; i++)
		commas += s[i] == ',';
	out = malloc(n + commas + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = 0; i <= n; i++) {
		*o++ = s[i];
		if (s[i] == ',')
			*o++ = ',';
	}
	return out;
}

/* Append a formatted word; a failure sticks in *err. */
static void qemu_arg(char **argv, int *n, int *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void qemu_arg(char **argv, int *n, int *err, const char *fmt, ...)
{
	va_list ap;

	if (*err)
		return;
	if (*n >= QEMU_ARGS_MAX) {
		*err = -E2BIG;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&argv[*n], fmt, ap) < 0) {
		argv[*n] = NULL;
		*err = -ENOMEM;
	} else {
		(*n)++;
	}
	va_end(ap);
}

/* The machine: accelerator, memory, CPUs, no defaults, no display, console to a file. */
static void qemu_argv_machine(const struct qemu_opts *o, enum qemu_accel accel, const char *dir,
			      char **argv, int *n, int *err)
{
	char *name = qemu_escape(o->name);

	qemu_arg(argv, n, err, "%s", o->binary ? o->binary : QEMU_DEFAULT_BINARY);
	qemu_arg(argv, n, err, "-name");
	qemu_arg(argv, n, err, "tapyard-%s", name ? name : "vm");
	free(name);
	qemu_arg(argv, n, err, "-machine");
	qemu_arg(argv, n, err, "q35,accel=%s", accel == QEMU_ACCEL_KVM ? "kvm" : "tcg");
	if (accel == QEMU_ACCEL_KVM) {
		qemu_arg(argv, n, err, "-cpu");
		qemu_arg(argv, n, err, "host");
	}
	qemu_arg(argv, n, err, "-m");
	qemu_arg(argv, n, err, "%u", o->memory_mb ? o->memory_mb : 256);
	qemu_arg(argv, n, err, "-smp");
	qemu_arg(argv, n, err, "%u", o->cpus ? o->cpus : 1);
	qemu_arg(argv, n, err, "-nodefaults");
	qemu_arg(argv, n, err, "-no-user-config");
	qemu_arg(argv, n, err, "-display");
	qemu_arg(argv, n, err, "none");
	qemu_arg(argv, n, err, "-no-reboot");
	qemu_arg(argv, n, err, "-serial");
	qemu_arg(argv, n, err, "file:%s/console.log", dir);
}

/* Kernel, initramfs, command line; the agent's port; the monitor. */
static void qemu_argv_boot(const struct qemu_opts *o, const char *dir, char **argv, int *n,
			   int *err)
{
	qemu_arg(argv, n, err, "-kernel");
	qemu_arg(argv, n, err, "%s", o->kernel);
	qemu_arg(argv, n, err, "-initrd");
	qemu_arg(argv, n, err, "%s", o->initrd);
	qemu_arg(argv, n, err, "-append");
	qemu_arg(argv, n, err, "console=ttyS0 quiet panic=-1%s%s", o->append ? " " : "",
		 o->append ? o->append : "");
	qemu_arg(argv, n, err, "-chardev");
	qemu_arg(argv, n, err, "socket,id=agent,path=%s/agent.sock,server=on,wait=off", dir);
	qemu_arg(argv, n, err, "-device");
	qemu_arg(argv, n, err, "virtio-serial-pci,id=vser");
	qemu_arg(argv, n, err, "-device");
	qemu_arg(argv, n, err, "virtserialport,chardev=agent,name=org.tapyard.agent");
	qemu_arg(argv, n, err, "-qmp");
	qemu_arg(argv, n, err, "unix:%s/qmp.sock,server=on,wait=off", dir);
	for (int i = 0; i < QEMU_ROOT_PORTS; i++) {
		qemu_arg(argv, n, err, "-device");
		qemu_arg(argv, n, err, "pcie-root-port,id=rp%d,bus=pcie.0,chassis=%d", i, i + 1);
	}
}

/* -netdev tap,fd=N and a virtio-net-pci device per NIC: netdev net<i>, device nic<i>. */
static void qemu_argv_nics(const struct qemu_opts *o, char **argv, int *n, int *err)
{
	for (size_t i = 0; i < o->nnics; i++) {
		const struct qemu_nic *nic = &o->nics[i];
		const uint8_t *m = nic->mac;
		char id[64], bus[24] = "";

		if (nic->id)
			snprintf(id, sizeof(id), "-%s", nic->id);
		else
			snprintf(id, sizeof(id), "%zu", i);
		if (nic->id)
			snprintf(bus, sizeof(bus), ",bus=rp%d", nic->bus);
		qemu_arg(argv, n, err, "-netdev");
		qemu_arg(argv, n, err, "tap,id=net%s,fd=%d", id, nic->fd);
		qemu_arg(argv, n, err, "-device");
		qemu_arg(argv, n, err,
			 "virtio-net-pci,netdev=net%s,id=nic%s,mac=%02x:%02x:%02x:%02x:%02x:%02x%s",
			 id, id, m[0], m[1], m[2], m[3], m[4], m[5], bus);
	}
	if (o->incoming) {
		char *path = qemu_escape(o->incoming);

		qemu_arg(argv, n, err, "-incoming");
		qemu_arg(argv, n, err, "exec:cat '%s'", path ? path : "");
		free(path);
	}
}

int qemu_argv(const struct qemu_opts *o, enum qemu_accel accel, char ***out)
{
	char **argv = calloc(QEMU_ARGS_MAX + 1, sizeof(*argv));
	char *dir = qemu_escape(o->dir);
	int n = 0, err = argv && dir ? 0 : -ENOMEM;

	if (!err && o->nnics > QEMU_NICS_MAX)
		err = -EINVAL;
	if (!err) {
		qemu_argv_machine(o, accel, dir, argv, &n, &err);
		qemu_argv_boot(o, dir, argv, &n, &err);
		qemu_argv_nics(o, argv, &n, &err);
	}
	free(dir);
	if (err) {
		qemu_argv_free(argv);
		return err;
	}
	*out = argv;
	return 0;
}

void qemu_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

void qemu_console_tail(const char *path, unsigned int lines, char *buf, size_t size)
{
	char tail[2049], *start;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	ssize_t n = -1;
	size_t len = 0;

	buf[0] = '\0';
	if (end >= 0)
		n = pread(fd, tail, sizeof(tail) - 1, end > 2048 ? end - 2048 : 0);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
		n--;
	tail[n] = '\0';
	start = tail + n;
	for (unsigned int i = 0; i < lines && start > tail; i++) {
		start--;
		while (start > tail && start[-1] != '\n')
			start--;
	}
	for (char *l = start; l && *l && len + 4 < size; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		len += (size_t)snprintf(buf + len, size - len, "  %.*s\n", (int)strcspn(l, "\r\n"),
					l);
}

/* Fill e: the VM, what happened, then QEMU's own last words and the console's last lines. */
static int qemu_fail(const struct qemu *q, struct qemu_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int qemu_fail(const struct qemu *q, struct qemu_err *e, int err, const char *fmt, ...)
{
	char path[600], tail[2400];
	size_t len;
	va_list ap;

	len = (size_t)snprintf(e->msg, sizeof(e->msg), "vm \"%s\": ", q->name);
	va_start(ap, fmt);
	len += (size_t)vsnprintf(e->msg + len, sizeof(e->msg) - len, fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/qemu.log", q->dir);
	qemu_console_tail(path, 5, tail, sizeof(tail));
	if (tail[0] && len < sizeof(e->msg))
		len += (size_t)snprintf(e->msg + len, sizeof(e->msg) - len, "\nQEMU said:\n%s",
					tail);
	snprintf(path, sizeof(path), "%s/console.log", q->dir);
	qemu_console_tail(path, 20, tail, sizeof(tail));
	if (len < sizeof(e->msg))
		snprintf(e->msg + len, sizeof(e->msg) - len, "\nconsole (%s), last lines:\n%s",
			 path, tail[0] ? tail : "  (empty)\n");
	return err;
}

/* In the child: stdio to /dev/null and qemu.log, the NICs' fds inherited, exec. */
_Noreturn static void qemu_child(char **argv, int null, int log, const struct qemu_opts *o,
				 pid_t parent)
{
	if (o->die_with_parent &&
	    (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)) /* gone before the call */
		_exit(127);
	setsid();
	if (dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
		_exit(127);
	for (size_t i = 0; i < o->nnics; i++)
		fcntl(o->nics[i].fd, F_SETFD, 0);
	execvp(argv[0], argv);
	dprintf(2, "tapyard: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Fork QEMU with argv; its stdout and stderr go to dir/qemu.log. */
static int qemu_spawn(struct qemu *q, const struct qemu_opts *o, char **argv, struct qemu_err *e)
{
	char path[600];
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), log, err = 0;

	snprintf(path, sizeof(path), "%s/qemu.log", q->dir);
	log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (null < 0 || log < 0)
		err = qemu_fail(q, e, -errno, "%s: %s", log < 0 ? path : "/dev/null",
				strerror(errno));
	if (!err) {
		pid_t parent = getpid();

		q->pid = fork();
		if (q->pid == 0)
			qemu_child(argv, null, log, o, parent);
		if (q->pid < 0)
			err = qemu_fail(q, e, -errno, "fork: %s", strerror(errno));
	}
	if (null >= 0)
		close(null);
	if (log >= 0)
		close(log);
	return err;
}

/* Has QEMU exited (reaped, how in why), or is the wait interrupted (Ctrl-C)? */
static bool qemu_exited(struct qemu *q, char *why, size_t size)
{
	int st;

	if (interrupt_pending()) {
		snprintf(why, size, "interrupted during boot");
		return true;
	}
	if (q->pid <= 0 || waitpid(q->pid, &st, WNOHANG) != q->pid)
		return false;
	q->pid = -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		snprintf(why, size, "QEMU could not be run (is qemu-system-x86 installed?)");
	else if (WIFEXITED(st))
		snprintf(why, size, "QEMU exited with code %d during boot", WEXITSTATUS(st));
	else
		snprintf(why, size, "QEMU was killed by signal %d during boot", WTERMSIG(st));
	return true;
}

/* Connect to the agent's socket while watching QEMU, until deadline. */
static int qemu_connect(struct qemu *q, uint64_t deadline, struct qemu_err *e)
{
	char path[600], why[128];
	int err;

	snprintf(path, sizeof(path), "%s/agent.sock", q->dir);
	do {
		if (qemu_exited(q, why, sizeof(why)))
			return qemu_fail(q, e, -ECHILD, "%s", why);
		err = agent_client_connect(path, 100, &q->agent);
	} while (err == -ETIMEDOUT && clock_mono_ms() < deadline);
	if (err)
		return qemu_fail(q, e, err, "cannot connect to the agent's socket %s: %s", path,
				 strerror(-err));
	return 0;
}

/* Ask hello until the agent answers, QEMU exits or deadline passes. */
static int qemu_hello(struct qemu *q, uint64_t start, uint64_t deadline, struct qemu_err *e)
{
	char msg[256], why[128];
	int err;

	struct timespec slice = {.tv_nsec = 20 * 1000000L};

	do {
		err = agent_client_call(q->agent, "hello", NULL, 250, NULL, msg, sizeof(msg));
		if (err == -ECONNRESET)
			err = -EPIPE; /* QEMU is going away: say why once it has */
		if (err != -ETIMEDOUT && err != -EPIPE)
			break;
		if (qemu_exited(q, why, sizeof(why)))
			return qemu_fail(q, e, -ECHILD, "%s", why);
		if (err == -EPIPE)
			nanosleep(&slice, NULL);
	} while (clock_mono_ms() < deadline);
	if (err == -ETIMEDOUT || err == -EPIPE)
		return qemu_fail(q, e, -ETIMEDOUT,
				 "boot timeout: the guest agent did not answer within %.1f s",
				 (double)(deadline - start) / 1000.0);
	if (err)
		return qemu_fail(q, e, err, "the guest agent answered hello with: %s", msg);
	q->boot_ms = clock_mono_ms() - start;
	return 0;
}

/* Check what a start needs before forking. */
static int qemu_check(struct qemu *q, const struct qemu_opts *o, struct qemu_err *e)
{
	if (o->incoming && (strchr(o->incoming, '\'') || access(o->incoming, R_OK)))
		return qemu_fail(q, e, -ENOENT, "saved state %s: %s", o->incoming,
				 strchr(o->incoming, '\'') ? "a path with a quote"
							   : strerror(errno));
	if (access(o->kernel, R_OK) || access(o->initrd, R_OK))
		return qemu_fail(q, e, -ENOENT, "kernel %s or initramfs %s: %s", o->kernel,
				 o->initrd, strerror(errno));
	for (size_t i = 0; i < o->nnics; i++) {
		if (o->nics[i].fd < 3 || fcntl(o->nics[i].fd, F_GETFD) < 0)
			return qemu_fail(q, e, -EBADF, "NIC %zu: fd %d is no TAP fd to hand over",
					 i, o->nics[i].fd);
	}
	return 0;
}

int qemu_launch(const struct qemu_opts *o, struct qemu **out, struct qemu_err *e)
{
	struct qemu *q = calloc(1, sizeof(*q));
	char **argv = NULL, path[600];
	int err;

	if (!q)
		return -ENOMEM;
	q->start_ms = clock_mono_ms();
	q->deadline_ms =
		q->start_ms + (o->boot_timeout_ms ? o->boot_timeout_ms : QEMU_BOOT_TIMEOUT_MS);
	snprintf(q->name, sizeof(q->name), "%s", o->name);
	snprintf(q->dir, sizeof(q->dir), "%s", o->dir);
	/* A previous run's sockets: we would connect to a dead one. */
	snprintf(path, sizeof(path), "%s/agent.sock", q->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/qmp.sock", q->dir);
	unlink(path);
	err = qemu_check(q, o, e);
	if (!err && qemu_argv(o, qemu_accel_pick(o->accel, NULL, 0), &argv))
		err = qemu_fail(q, e, -ENOMEM, "cannot build the command line");
	if (!err)
		err = qemu_spawn(q, o, argv, e);
	qemu_argv_free(argv);
	if (err) {
		qemu_stop(q);
		return err;
	}
	q->start_ticks = qemu_pid_start(q->pid);
	*out = q;
	return 0;
}

int qemu_wait_ready(struct qemu *q, struct qemu_err *e)
{
	int err = 0;

	if (q->boot_ms)
		return 0;
	if (!q->agent)
		err = qemu_connect(q, q->deadline_ms, e);
	if (!err)
		err = qemu_hello(q, q->start_ms, q->deadline_ms, e);
	return err;
}

int qemu_start(const struct qemu_opts *o, struct qemu **out, struct qemu_err *e)
{
	struct qemu *q = NULL;
	int err = qemu_launch(o, &q, e);

	if (!err)
		err = qemu_wait_ready(q, e);
	if (err) {
		qemu_stop(q);
		return err;
	}
	*out = q;
	return 0;
}

unsigned long long qemu_pid_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ticks = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	/* after ")": state is field 3; starttime is field 22, 19 fields further */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		ticks = strtoull(p + 1, NULL, 10);
	return ticks;
}

const char *qemu_dir(const struct qemu *q)
{
	return q->dir;
}

unsigned long long qemu_start_ticks(const struct qemu *q)
{
	return q->start_ticks;
}

/* Connect to the VM's QMP socket (QEMU may not have made it yet) while watching QEMU. */
static int qemu_qmp(struct qemu *q, uint64_t deadline, struct qmp **out, struct qemu_err *e)
{
	struct timespec slice = {.tv_nsec = 20 * 1000000L};
	struct qmp_error qe;
	char path[600], why[128];
	int err;

	snprintf(path, sizeof(path), "%s/qmp.sock", q->dir);
	for (;;) {
		err = qmp_open(path, NULL, QMP_TIMEOUT_MS, out, &qe);
		if (!err)
			return 0;
		if (qemu_exited(q, why, sizeof(why)))
			return qemu_fail(q, e, -ECHILD, "%s", why);
		if ((err != -ENOENT && err != -ECONNREFUSED) || clock_mono_ms() >= deadline)
			return qemu_fail(q, e, err, "%s", qe.msg);
		nanosleep(&slice, NULL);
	}
}

/* Poll cmd's reply until its "status" is none of the busy ones; that status into st. */
static int qemu_poll_status(struct qemu *q, struct qmp *m, const char *cmd, const char *const *busy,
			    uint64_t deadline, char *st, size_t size, struct qemu_err *e)
{
	struct timespec slice = {.tv_nsec = 50 * 1000000L};
	struct qmp_error qe;
	json_t *ret = NULL;
	const char *now;
	bool waiting;
	int err;

	do {
		err = qmp_execute(m, cmd, NULL, &ret, &qe);
		if (err)
			return qemu_fail(q, e, err, "%s", qe.msg);
		now = json_string_value(json_object_get(ret, "status"));
		snprintf(st, size, "%s", now ? now : "");
		json_decref(ret);
		waiting = false;
		for (size_t i = 0; busy[i]; i++)
			waiting |= strcmp(st, busy[i]) == 0;
		if (waiting)
			nanosleep(&slice, NULL);
	} while (waiting && clock_mono_ms() < deadline);
	if (waiting)
		return qemu_fail(q, e, -ETIMEDOUT, "%s still says %s", cmd, st);
	return 0;
}

int qemu_resume(struct qemu *q, struct qemu_err *e)
{
	static const char *const busy[] = {"inmigrate", NULL};
	struct qmp_error qe;
	struct qmp *m = NULL;
	char st[32];
	int err = qemu_qmp(q, q->deadline_ms, &m, e);

	if (!err)
		err = qemu_poll_status(q, m, "query-status", busy, q->deadline_ms, st, sizeof(st),
				       e);
	if (!err && qmp_execute(m, "cont", NULL, NULL, &qe))
		err = qemu_fail(q, e, -EIO, "cannot resume it: %s", qe.msg);
	qmp_close(m);
	return err;
}

int qemu_save(struct qemu *q, const char *path, unsigned int timeout_ms, struct qemu_err *e)
{
	static const char *const busy[] = {"setup", "active", "pre-switchover", "device", NULL};
	uint64_t deadline = clock_mono_ms() + timeout_ms;
	struct qmp_error qe;
	struct qmp *m = NULL;
	char uri[700], st[32];
	int err;

	if (strchr(path, '\''))
		return qemu_fail(q, e, -EINVAL, "%s: a path with a quote", path);
	snprintf(uri, sizeof(uri), "exec:cat > '%s'", path);
	err = qemu_qmp(q, deadline, &m, e);
	/* Paused while it is written: one pass over a memory that holds still (a live
	 * migration under TCG gave restores whose kernel then faulted). */
	if (!err && qmp_execute(m, "stop", NULL, NULL, &qe))
		err = qemu_fail(q, e, -EIO, "cannot pause it for the save: %s", qe.msg);
	if (!err && qmp_execute(m, "migrate", json_pack("{s:s}", "uri", uri), NULL, &qe))
		err = qemu_fail(q, e, -EIO, "cannot save its state: %s", qe.msg);
	if (!err)
		err = qemu_poll_status(q, m, "query-migrate", busy, deadline, st, sizeof(st), e);
	if (!err && strcmp(st, "completed") != 0)
		err = qemu_fail(q, e, -EIO, "saving its state ended as %s", st);
	if (m && qmp_execute(m, "cont", NULL, NULL, &qe) && !err)
		err = qemu_fail(q, e, -EIO, "cannot resume it after the save: %s", qe.msg);
	qmp_close(m);
	return err;
}

struct agent_client *qemu_agent(struct qemu *q)
{
	return q->agent;
}

pid_t qemu_pid(const struct qemu *q)
{
	return q->pid;
}

uint64_t qemu_boot_ms(const struct qemu *q)
{
	return q->boot_ms;
}

/* SIGTERM, then SIGKILL after the grace; reaps. */
static void qemu_kill(struct qemu *q)
{
	struct timespec slice = {.tv_nsec = 10 * 1000000L};
	uint64_t until = clock_mono_ms() + QEMU_STOP_GRACE_MS;

	if (q->pid <= 0)
		return;
	if (!q->boot_ms) { /* nothing to lose yet: no need for a grace */
		kill(q->pid, SIGKILL);
		waitpid(q->pid, NULL, 0);
		q->pid = -1;
		return;
	}
	kill(q->pid, SIGTERM);
	while (waitpid(q->pid, NULL, WNOHANG) == 0) {
		if (clock_mono_ms() >= until) {
			kill(q->pid, SIGKILL);
			waitpid(q->pid, NULL, 0);
			break;
		}
		nanosleep(&slice, NULL);
	}
	q->pid = -1;
}

void qemu_stop(struct qemu *q)
{
	char path[600];

	if (!q)
		return;
	agent_client_close(q->agent);
	qemu_kill(q);
	snprintf(path, sizeof(path), "%s/agent.sock", q->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/qmp.sock", q->dir);
	unlink(path);
	free(q);
}
