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
 *	two cores; THREADS port: one thread per TAP that reads and writes only
 *	its own TAP, frames crossing to the other thread through a queue and an
 *	eventfd: a switch of two loops, each owning a share of the ports, so one
 *	frame's two copies run on two cores.
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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MINFWD_BUF (64 * 1024 + 64)
#define MINFWD_VNET_HDR 10
#define MINFWD_SLOTS 256 /* frames queued between two port threads */
#define MINFWD_BATCH 64 /* frames read before the other thread is woken */

/* Frames on their way to one TAP: filled by the other port's thread, written by its own. */
struct minfwd_queue {
	_Atomic unsigned int head, tail; /* consumer, producer */
	int ev; /* eventfd: frames were queued */
	ssize_t len[MINFWD_SLOTS];
	char *buf[MINFWD_SLOTS];
};

struct minfwd_port {
	int fd;
	struct minfwd_queue *in, *out; /* to this TAP, to the other */
};

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

/* Run fn(a) and fn(b) in two threads until SIGTERM or SIGINT; returns 0 or -errno. */
static int minfwd_two_threads(void *(*fn)(void *), void *a, void *b)
{
	void *arg[2] = {a, b};
	pthread_t t;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t, NULL, fn, arg[i]))
			return -EAGAIN;
	sigwait(&set, &sig);
	return 0; /* the threads die with the process */
}

/* Two threads, one per direction. */
static int minfwd_threads(int fd0, int fd1)
{
	static struct minfwd_dir d[2];

	d[0] = (struct minfwd_dir){fd0, fd1};
	d[1] = (struct minfwd_dir){fd1, fd0};
	return minfwd_two_threads(minfwd_thread, &d[0], &d[1]);
}

/*
 * Read up to MINFWD_BATCH frames from fd into the other port's queue (dropping them while it
 * is full), then wake the other thread.
 */
static int minfwd_port_read(struct minfwd_port *p, char *scratch)
{
	struct minfwd_queue *q = p->out;
	unsigned int tail = atomic_load_explicit(&q->tail, memory_order_relaxed), n = 0;
	uint64_t one = 1;
	ssize_t len = 1;

	for (int i = 0; i < MINFWD_BATCH; i++) {
		bool full = tail - atomic_load_explicit(&q->head, memory_order_acquire) == MINFWD_SLOTS;
		char *buf = full ? scratch : q->buf[tail % MINFWD_SLOTS];

		len = read(p->fd, buf, MINFWD_BUF);
		if (len <= 0)
			break;
		if (!full) {
			q->len[tail % MINFWD_SLOTS] = len;
			atomic_store_explicit(&q->tail, ++tail, memory_order_release);
			n++;
		}
	}
	int rerr = len < 0 ? errno : 0;

	if (n && write(q->ev, &one, sizeof(one)) < 0)
		return -errno;
	return len == 0 ? -EPIPE : rerr && rerr != EAGAIN && rerr != EINTR ? -rerr : 0;
}

/* Write every frame queued for this TAP. */
static void minfwd_port_write(struct minfwd_port *p)
{
	struct minfwd_queue *q = p->in;
	unsigned int head = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint64_t count;

	if (read(q->ev, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	while (head != atomic_load_explicit(&q->tail, memory_order_acquire)) {
		if (write(p->fd, q->buf[head % MINFWD_SLOTS], (size_t)q->len[head % MINFWD_SLOTS]) < 0 &&
		    errno != EIO && errno != EAGAIN)
			break;
		atomic_store_explicit(&q->head, ++head, memory_order_release);
	}
}

/* One port's thread: its TAP's frames to the other's queue, its queue to its TAP. */
static void *minfwd_port_thread(void *arg)
{
	struct minfwd_port *p = arg;
	struct pollfd pfd[2] = {{.fd = p->fd, .events = POLLIN}, {.fd = p->in->ev, .events = POLLIN}};
	static __thread char scratch[MINFWD_BUF];

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((pfd[0].revents & POLLIN) && minfwd_port_read(p, scratch))
			break;
		if (pfd[1].revents & POLLIN)
			minfwd_port_write(p);
		if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;
	}
	return NULL;
}

/* Two port threads, each owning one TAP. */
static int minfwd_ports(int fd0, int fd1)
{
	static struct minfwd_queue q[2];
	static struct minfwd_port p[2];

	for (int i = 0; i < 2; i++) {
		q[i].ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (q[i].ev < 0)
			return -errno;
		for (int k = 0; k < MINFWD_SLOTS; k++)
			if (!(q[i].buf[k] = malloc(MINFWD_BUF)))
				return -ENOMEM;
	}
	p[0] = (struct minfwd_port){fd0, &q[0], &q[1]};
	p[1] = (struct minfwd_port){fd1, &q[1], &q[0]};
	return minfwd_two_threads(minfwd_port_thread, &p[0], &p[1]);
}

static void minfwd_on_signal(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = minfwd_on_signal};
	bool ports = argc == 4 && strcmp(argv[3], "port") == 0;
	int threads = ports ? 0 : argc == 4 ? atoi(argv[3]) : 1;
	int fd0, fd1, err;

	if ((argc != 3 && argc != 4) || (!ports && threads != 1 && threads != 2)) {
		fprintf(stderr, "usage: minfwd TAP0 TAP1 [1|2|port]\n");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	fd0 = minfwd_tap(argv[1], threads != 2);
	fd1 = fd0 < 0 ? fd0 : minfwd_tap(argv[2], threads != 2);
	if (fd0 < 0 || fd1 < 0) {
		fprintf(stderr, "minfwd: cannot create the TAPs: %s\n", strerror(-fd1));
		return 1;
	}
	err = ports ? minfwd_ports(fd0, fd1)
		    : threads == 1 ? minfwd_poll(fd0, fd1) : minfwd_threads(fd0, fd1);
	if (err)
		fprintf(stderr, "minfwd: %s\n", strerror(-err));
	return err ? 1 : 0;
}
