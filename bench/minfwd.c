/*
 * minfwd.c - the least a TAP-fd switch can do, as a peer for bench/run.sh.
 *
 * Owns the two TAPs it creates and nothing else. It opens them as tapyard
 * opens its TAPs (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a 10-byte vnet header,
 * TUNSETOFFLOAD CSUM | TSO4 | TSO6 | TSO_ECN), brings them up, then copies
 * every frame read from one to the other through a 64 KiB buffer: no MAC
 * table, no counters, no impairments. That is two copies per frame, the floor
 * of any switch that reads and writes TAP file descriptors on this machine.
 *
 *   minfwd TAP0 TAP1 [THREADS]
 *	THREADS 1 (default): one thread polls both TAPs and drains each with
 *	non-blocking reads, as a one-loop switch would; THREADS 2: one blocking
 *	thread per direction, so the two copies of the two directions may run on
 *	two cores.
 *
 * Runs until SIGTERM or SIGINT; the TAPs go when it exits. Exit status 0 on a
 * signal, 1 on an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MINFWD_BUF (64 * 1024 + 64)
#define MINFWD_VNET_HDR 10

struct minfwd_dir {
	int from, to;
};

/* Create TAP ifname with tapyard's flags and offloads, up; returns its fd or -errno. */
static int minfwd_tap(const char *ifname, int nonblock)
{
	unsigned int offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	struct ifreq ifr = {0};
	int hdr = MINFWD_VNET_HDR, fd, sk, err = 0;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &hdr) ||
	    ioctl(fd, TUNSETOFFLOAD, offloads))
		err = -errno;
	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!err && sk < 0)
		err = -errno;
	if (!err && ioctl(sk, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(sk, SIOCSIFFLAGS, &ifr))
			err = -errno;
	}
	if (sk >= 0)
		close(sk);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Blocking copy from one TAP to the other until an error. */
static void *minfwd_thread(void *arg)
{
	struct minfwd_dir *d = arg;
	static __thread char buf[MINFWD_BUF];
	ssize_t n;

	for (;;) {
		n = read(d->from, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (write(d->to, buf, (size_t)n) < 0 && errno != EIO && errno != EAGAIN)
			break;
	}
	return NULL;
}

/* Read fd until it is empty, writing each frame to the other. Returns 0 or -errno. */
static int minfwd_drain(int from, int to, char *buf)
{
	ssize_t n;

	for (;;) {
		n = read(from, buf, MINFWD_BUF);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0)
			return -EPIPE;
		if (write(to, buf, (size_t)n) < 0 && errno != EIO && errno != EAGAIN)
			return -errno;
	}
}

/* One thread, both directions, until a signal or an error. */
static int minfwd_poll(int fd0, int fd1)
{
	struct pollfd pfd[2] = {{.fd = fd0, .events = POLLIN}, {.fd = fd1, .events = POLLIN}};
	static char buf[MINFWD_BUF];
	int err;

	for (;;) {
		if (poll(pfd, 2, -1) < 0)
			return errno == EINTR ? 0 : -errno;
		if ((pfd[0].revents & POLLIN) && (err = minfwd_drain(fd0, fd1, buf)))
			return err;
		if ((pfd[1].revents & POLLIN) && (err = minfwd_drain(fd1, fd0, buf)))
			return err;
		if ((pfd[0].revents | pfd[1].revents) & (POLLERR | POLLHUP | POLLNVAL))
			return -EPIPE;
	}
}

/* Two threads, one per direction; the main thread waits for a signal. */
static int minfwd_threads(int fd0, int fd1)
{
	struct minfwd_dir d[2] = {{fd0, fd1}, {fd1, fd0}};
	pthread_t t[2];
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, minfwd_thread, &d[i]))
			return -EAGAIN;
	sigwait(&set, &sig);
	return 0; /* the threads die with the process */
}

static void minfwd_on_signal(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = minfwd_on_signal};
	int threads = argc == 4 ? atoi(argv[3]) : 1;
	int fd0, fd1, err;

	if ((argc != 3 && argc != 4) || (threads != 1 && threads != 2)) {
		fprintf(stderr, "usage: minfwd TAP0 TAP1 [1|2]\n");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	fd0 = minfwd_tap(argv[1], threads == 1);
	fd1 = fd0 < 0 ? fd0 : minfwd_tap(argv[2], threads == 1);
	if (fd0 < 0 || fd1 < 0) {
		fprintf(stderr, "minfwd: cannot create the TAPs: %s\n", strerror(-fd1));
		return 1;
	}
	err = threads == 1 ? minfwd_poll(fd0, fd1) : minfwd_threads(fd0, fd1);
	if (err)
		fprintf(stderr, "minfwd: %s\n", strerror(-err));
	return err ? 1 : 0;
}
