/*
 * udprate.c - small-frame UDP packet-rate sender and receiver for bench/run.sh.
 *
 * Owns nothing but its own socket. Two modes:
 *
 *   udprate recv PORT MAXSECONDS
 *	counts datagrams arriving on PORT, from the first one until none has
 *	arrived for IDLE_MS or MAXSECONDS have passed, and prints
 *	"received=N seconds=S pps=R".
 *   udprate send ADDR PORT SECONDS [PAYLOAD [PPS]]
 *	sends PAYLOAD-byte datagrams (default 18: a 64-byte Ethernet frame with
 *	its FCS) to ADDR:PORT in sendmmsg batches for SECONDS, and prints
 *	"sent=N seconds=S pps=R". With PPS (0: unlimited), it offers that rate:
 *	each batch is as large as the schedule is behind (at most 64), and it
 *	sleeps 20 us whenever it is on time. ADDR may be a broadcast address.
 *
 * The receiver's count is the figure that matters; loss is sent minus
 * received, computed by the caller. Exit status 0 on success, 1 on error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define UDPRATE_BATCH 64
#define UDPRATE_MAX_PAYLOAD 1472
#define UDPRATE_DEFAULT_PAYLOAD 18
#define UDPRATE_IDLE_MS 1000
#define UDPRATE_RCVBUF (8 << 20)

/* Monotonic time in seconds. */
static double udprate_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fill one batch of message headers that all point at the same buffer. */
static void udprate_batch_init(struct mmsghdr *msgs, struct iovec *iov, char *buf, size_t len)
{
	iov->iov_base = buf;
	iov->iov_len = len;
	memset(msgs, 0, sizeof(*msgs) * UDPRATE_BATCH);
	for (int i = 0; i < UDPRATE_BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

/*
 * Receive on port for at most maxsec seconds; print the count and rate.
 * Returns 0 or negative errno.
 */
static int udprate_recv(long port, long maxsec)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 0, .tv_usec = 100 * 1000};
	struct mmsghdr msgs[UDPRATE_BATCH];
	char buf[UDPRATE_MAX_PAYLOAD];
	double start, first = 0, last = 0, now;
	unsigned long long count = 0;
	int rcvbuf = UDPRATE_RCVBUF;
	struct iovec iov;
	int fd, n, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		ret = -errno;
		goto out_close;
	}
	udprate_batch_init(msgs, &iov, buf, sizeof(buf));
	start = udprate_now();
	for (;;) {
		n = recvmmsg(fd, msgs, UDPRATE_BATCH, MSG_WAITFORONE, NULL);
		now = udprate_now();
		if (n > 0) {
			if (!count)
				first = now;
			count += (unsigned long long)n;
			last = now;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			ret = -errno;
			goto out_close;
		}
		if (now - start > (double)maxsec)
			break;
		if (count && now - last > UDPRATE_IDLE_MS / 1000.0)
			break;
	}
	printf("received=%llu seconds=%.6f pps=%.0f\n", count, last - first,
	       last > first ? (double)count / (last - first) : 0.0);
out_close:
	close(fd);
	return ret;
}

/* Errors a flooding UDP sender expects and keeps going through. */
static int udprate_send_transient(int err)
{
	return err == EAGAIN || err == ENOBUFS || err == ECONNREFUSED || err == EINTR;
}

/*
 * Send len-byte datagrams to addr:port for secs seconds; print the count.
 * Returns 0 or negative errno.
 */
/* How many datagrams are due at time now under a rate of pps (0: a full batch). */
static int udprate_due(double start, double now, long pps, unsigned long long count)
{
	double due;

	if (!pps)
		return UDPRATE_BATCH;
	due = (now - start) * (double)pps - (double)count;
	if (due < 1) {
		struct timespec nap = {.tv_nsec = 20 * 1000};

		nanosleep(&nap, NULL);
		return 0;
	}
	return due > UDPRATE_BATCH ? UDPRATE_BATCH : (int)due;
}

static int udprate_send(const char *addr, long port, long secs, long len, long pps)
{
	int one = 1;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct mmsghdr msgs[UDPRATE_BATCH];
	char buf[UDPRATE_MAX_PAYLOAD];
	unsigned long long count = 0;
	double start, now;
	struct iovec iov;
	int fd, n, want, ret = 0;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		ret = -errno;
		goto out_close;
	}
	memset(buf, 0x5a, sizeof(buf));
	udprate_batch_init(msgs, &iov, buf, (size_t)len);
	start = now = udprate_now();
	while (now - start < (double)secs) {
		want = udprate_due(start, now, pps, count);
		n = want ? sendmmsg(fd, msgs, (unsigned int)want, 0) : 0;
		if (n > 0) {
			count += (unsigned long long)n;
		} else if (n < 0 && !udprate_send_transient(errno)) {
			ret = -errno;
			goto out_close;
		}
		now = udprate_now();
	}
	printf("sent=%llu seconds=%.6f pps=%.0f\n", count, now - start,
	       (double)count / (now - start));
out_close:
	close(fd);
	return ret;
}

static int udprate_usage(void)
{
	fprintf(stderr, "usage: udprate recv PORT MAXSECONDS\n"
			"       udprate send ADDR PORT SECONDS [PAYLOAD [PPS]]\n");
	return 1;
}

int main(int argc, char **argv)
{
	long port, secs, len = UDPRATE_DEFAULT_PAYLOAD, pps = 0;
	int ret;

	if (argc == 4 && !strcmp(argv[1], "recv")) {
		if (bench_parse(argv[2], 65535, &port) || bench_parse(argv[3], 3600, &secs))
			return udprate_usage();
		ret = udprate_recv(port, secs);
	} else if (argc >= 5 && argc <= 7 && !strcmp(argv[1], "send")) {
		if (bench_parse(argv[3], 65535, &port) || bench_parse(argv[4], 3600, &secs) ||
		    (argc >= 6 && bench_parse(argv[5], UDPRATE_MAX_PAYLOAD, &len)) ||
		    (argc == 7 && strcmp(argv[6], "0") && bench_parse(argv[6], 100000000, &pps)))
			return udprate_usage();
		ret = udprate_send(argv[2], port, secs, len, pps);
	} else {
		return udprate_usage();
	}
	if (ret < 0) {
		fprintf(stderr, "udprate: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}
