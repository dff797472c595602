/* SPDX-License-Identifier: MIT */
/* openas: open a file or connect a socket in a child process that took another user's rights. */
#include "openas.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* Send err (0 with fd, or a negative errno) over sock. Async-signal-safe. */
static void openas_send(int sock, int err, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = &err, .iov_len = sizeof(err)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;

	if (!err) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	(void)!sendmsg(sock, &msg, MSG_NOSIGNAL);
}

/* What a child does once it has taken cred: an fd or a negative errno, by system calls only. */
typedef int (*openas_fn)(const void *arg);

/* The child: become cred, run fn, send the result, exit. Only system calls from here on. */
static void openas_child(int sock, const struct openas_cred *cred, openas_fn fn, const void *arg)
{
	int fd;

	if (setgroups(cred->ngroups, cred->groups) < 0 ||
	    setresgid(cred->gid, cred->gid, cred->gid) < 0 ||
	    setresuid(cred->uid, cred->uid, cred->uid) < 0) {
		openas_send(sock, -errno, -1);
		_exit(1);
	}
	fd = fn(arg);
	openas_send(sock, fd < 0 ? fd : 0, fd);
	_exit(0);
}

/* Receive the child's answer: the fd, or a negative errno. */
static int openas_recv(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	int err = -EIO, fd = -1;
	struct iovec iov = {.iov_base = &err, .iov_len = sizeof(err)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(err))
		return -EIO;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (err && fd >= 0)
		close(fd);
	if (!err && fd < 0)
		return -EIO;
	return err ? err : fd;
}

/* Run fn(arg) with cred's rights (NULL: in this process) and return its fd or error. */
static int openas_run(const struct openas_cred *cred, openas_fn fn, const void *arg)
{
	int sv[2], fd, status;
	pid_t pid;

	if (!cred)
		return fn(arg);
	if (cred->ngroups > OPENAS_GROUPS)
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		openas_child(sv[1], cred, fn, arg);
	}
	close(sv[1]);
	fd = pid < 0 ? -errno : openas_recv(sv[0]);
	close(sv[0]);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return fd;
}

/* What openas_open() opens. */
struct openas_file {
	const char *path;
	int flags;
	mode_t mode;
};

static int openas_do_open(const void *arg)
{
	const struct openas_file *f = arg;
	int fd = open(f->path, f->flags, f->mode);

	return fd < 0 ? -errno : fd;
}

int openas_open(const struct openas_cred *cred, const char *path, int flags, mode_t mode)
{
	struct openas_file f = {path, flags | O_NOFOLLOW | O_CLOEXEC, mode};

	return openas_run(cred, openas_do_open, &f);
}

/* "/proc/self/fd/N" into out (OPENAS_PROC_FD_MAX bytes), without stdio (a child calls it). */
#define OPENAS_PROC_FD_MAX 32
static void openas_proc_fd(int fd, char *out)
{
	static const char prefix[] = "/proc/self/fd/";
	char digits[12];
	int n = 0;

	memcpy(out, prefix, sizeof(prefix) - 1);
	do {
		digits[n++] = (char)('0' + fd % 10);
		fd /= 10;
	} while (fd && n < (int)sizeof(digits));
	for (int i = 0; i < n; i++)
		out[sizeof(prefix) - 1 + i] = digits[n - 1 - i];
	out[sizeof(prefix) - 1 + n] = '\0';
}

/* Connect a stream socket to the socket inode that fd (O_PATH) names. */
static int openas_connect_inode(int pfd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int s;

	if (fstat(pfd, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	_Static_assert(OPENAS_PROC_FD_MAX <= sizeof(sa.sun_path), "sun_path holds /proc/self/fd/N");
	openas_proc_fd(pfd, sa.sun_path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(s);
		return err;
	}
	return s;
}

static int openas_do_connect(const void *arg)
{
	int pfd = open(arg, O_PATH | O_NOFOLLOW | O_CLOEXEC), s;

	if (pfd < 0)
		return -errno;
	s = openas_connect_inode(pfd);
	close(pfd);
	return s;
}

int openas_connect(const struct openas_cred *cred, const char *path)
{
	return openas_run(cred, openas_do_connect, path);
}
