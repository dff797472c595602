/* SPDX-License-Identifier: MIT */
/* openas: open a file in a child process that has taken another user's rights. */
#include "openas.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
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

/* The child: become cred, open, send the result, exit. Only system calls from here on. */
static void openas_child(int sock, const struct openas_cred *cred, const char *path, int flags,
			 mode_t mode)
{
	int fd;

	if (setgroups(cred->ngroups, cred->groups) < 0 ||
	    setresgid(cred->gid, cred->gid, cred->gid) < 0 ||
	    setresuid(cred->uid, cred->uid, cred->uid) < 0) {
		openas_send(sock, -errno, -1);
		_exit(1);
	}
	fd = open(path, flags, mode);
	openas_send(sock, fd < 0 ? -errno : 0, fd);
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

int openas_open(const struct openas_cred *cred, const char *path, int flags, mode_t mode)
{
	int sv[2], fd, status;
	pid_t pid;

	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (!cred) {
		fd = open(path, flags, mode);
		return fd < 0 ? -errno : fd;
	}
	if (cred->ngroups > OPENAS_GROUPS)
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		openas_child(sv[1], cred, path, flags, mode);
	}
	close(sv[1]);
	fd = pid < 0 ? -errno : openas_recv(sv[0]);
	close(sv[0]);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return fd;
}
