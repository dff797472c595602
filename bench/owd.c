/*
 * owd.c - one-way delay and rate probe for bench/impair.sh.
 *
 * Owns nothing but its own socket. Two modes:
 *
 *   owd recv PORT MAXSECONDS
 *	receives datagrams on PORT until none has arrived for IDLE_MS after the
 *	first, or MAXSECONDS passed. Each datagram carries its send time
 *	(CLOCK_REALTIME); its arrival time is the kernel's receive timestamp
 *	(SO_TIMESTAMPNS), so the receiver's own scheduling does not count.
 *	Prints "received=N bytes=B window=S p50_us=.. p90_us=.. p99_us=.. p999_us=..
 *	min_us=.. max_us=.." and, on a second line, "cdf=" and the 0th..100th
 *	percentiles in microseconds, comma-separated:
 *	bytes is the sum of UDP payloads, window the time from first to last
 *	arrival, and the percentiles are of arrival minus send time.
 *   owd send ADDR PORT SECONDS PAYLOAD INTERVAL_US
 *	sends PAYLOAD-byte datagrams to ADDR:PORT for SECONDS, one every
 *	INTERVAL_US microseconds (0: as fast as sendmmsg goes), and prints
 *	"sent=N".
 *
 * Both ends run on one host (in two network namespaces), so their clocks are
 * the same clock. Exit status 0 on success, 1 on error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define OWD_MAX_PAYLOAD 65000
#define OWD_MAX_SAMPLES 2000000
#define OWD_IDLE_MS 1000
#define OWD_BATCH 32
#define OWD_RCVBUF (32 << 20)

static uint64_t owd_now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int owd_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The kernel receive time of msg (SO_TIMESTAMPNS), or now when missing. */
static uint64_t owd_rx_time(struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		}
	}
	return owd_now(CLOCK_REALTIME);
}

static int owd_recv(int port, double maxsec)
{
	static uint8_t buf[OWD_MAX_PAYLOAD];
	static int64_t d[OWD_MAX_SAMPLES];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_usec = 100000};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1, rcv = OWD_RCVBUF;
	uint64_t start = owd_now(CLOCK_MONOTONIC), first = 0, last = 0, idle = start, bytes = 0;
	size_t n = 0;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("owd recv");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		char ctl[256];
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				     .msg_controllen = sizeof(ctl)};
		uint64_t now = owd_now(CLOCK_MONOTONIC), sent, rx;
		ssize_t len;

		if ((double)(now - start) / 1e9 > maxsec || (n && now - idle > OWD_IDLE_MS * 1000000ull))
			break;
		len = recvmsg(fd, &msg, 0);
		if (len < (ssize_t)sizeof(sent))
			continue;
		idle = now;
		rx = owd_rx_time(&msg);
		memcpy(&sent, buf, sizeof(sent));
		first = n ? first : rx;
		last = rx;
		bytes += (uint64_t)len;
		if (n < OWD_MAX_SAMPLES)
			d[n] = (int64_t)(rx - sent);
		n++;
	}
	if (!n) {
		printf("received=0\n");
		return 0;
	}
	size_t m = n < OWD_MAX_SAMPLES ? n : OWD_MAX_SAMPLES;

	qsort(d, m, sizeof(d[0]), owd_cmp);
	printf("received=%zu bytes=%llu window=%.6f p50_us=%.1f p90_us=%.1f p99_us=%.1f "
	       "p999_us=%.1f min_us=%.1f max_us=%.1f\n",
	       n, (unsigned long long)bytes, (double)(last - first) / 1e9, d[m / 2] / 1e3,
	       d[m * 9 / 10] / 1e3, d[m * 99 / 100] / 1e3, d[m * 999 / 1000] / 1e3, d[0] / 1e3,
	       d[m - 1] / 1e3);
	printf("cdf=");
	for (size_t q = 0; q <= 100; q++)
		printf("%s%.1f", q ? "," : "", d[q == 100 ? m - 1 : m * q / 100] / 1e3);
	printf("\n");
	return 0;
}

/* Send count datagrams of payload bytes, stamping each with the send time. */
static int owd_send_batch(int fd, uint8_t *buf, size_t payload, unsigned int count)
{
	struct mmsghdr msgs[OWD_BATCH];
	struct iovec iov = {buf, payload};
	uint64_t t = owd_now(CLOCK_REALTIME);

	memcpy(buf, &t, sizeof(t));
	for (unsigned int i = 0; i < count; i++)
		msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
	return sendmmsg(fd, msgs, count, 0);
}

static int owd_send(const char *addr, int port, double secs, size_t payload, long interval_us)
{
	static uint8_t buf[OWD_MAX_PAYLOAD];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint64_t start = owd_now(CLOCK_MONOTONIC), next = start, sent = 0;

	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("owd send");
		return 1;
	}
	while ((double)(owd_now(CLOCK_MONOTONIC) - start) / 1e9 < secs) {
		int r;

		if (interval_us) {
			struct timespec ts = {(time_t)(next / 1000000000ull),
					      (long)(next % 1000000000ull)};

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			next += (uint64_t)interval_us * 1000;
		}
		r = owd_send_batch(fd, buf, payload, interval_us ? 1 : OWD_BATCH);
		if (r > 0)
			sent += (uint64_t)r;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
			break;
	}
	printf("sent=%llu\n", (unsigned long long)sent);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "recv") == 0)
		return owd_recv(atoi(argv[2]), atof(argv[3]));
	if (argc == 7 && strcmp(argv[1], "send") == 0) {
		size_t payload = (size_t)atol(argv[5]);

		if (payload < sizeof(uint64_t) || payload > OWD_MAX_PAYLOAD)
			payload = 64;
		return owd_send(argv[2], atoi(argv[3]), atof(argv[4]), payload, atol(argv[6]));
	}
	fprintf(stderr, "usage: owd recv PORT MAXSECONDS | owd send ADDR PORT SECONDS PAYLOAD "
			"INTERVAL_US\n");
	return 1;
}
