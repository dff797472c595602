/*
 * rr.c - UDP request/response round-trip latency for bench/run.sh.
 *
 * Owns nothing but its own socket. Two modes:
 *
 *   rr server PORT MAXSECONDS
 *	echoes every datagram back to its sender, until none has arrived for
 *	IDLE_MS after the first or MAXSECONDS have passed.
 *   rr client ADDR PORT COUNT [PAYLOAD]
 *	sends COUNT PAYLOAD-byte requests (default 18: 64-byte frames), one at
 *	a time, each after the previous reply, and prints
 *	"count=N lost=L p50_us=.. p90_us=.. p99_us=.. min_us=.. max_us=.." and,
 *	on a second line, "cdf=" and the 0th..100th percentiles in microseconds,
 *	comma-separated. A request unanswered within 200 ms counts as lost.
 *
 * The round trip is timed in the client with CLOCK_MONOTONIC around the send
 * and the receive, so it includes both hosts' stacks and the path twice.
 * Exit status 0 on success, 1 on error.
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

#include "bench_util.h"

#define RR_MAX_PAYLOAD 1472
#define RR_MAX_COUNT 1000000
#define RR_IDLE_MS 2000
#define RR_REPLY_MS 200

static uint64_t rr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int rr_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Socket with a receive timeout of ms; returns the fd or -errno. */
static int rr_socket(long ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int rr_server(long port, long maxsec)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	uint64_t start = rr_now(), last = 0;
	char buf[RR_MAX_PAYLOAD];
	struct sockaddr_in from;
	socklen_t flen;
	ssize_t n;
	int fd = rr_socket(100), ret = 0;

	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		ret = -errno;
		goto out;
	}
	while (rr_now() - start < (uint64_t)maxsec * 1000000000ull) {
		flen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n >= 0) {
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen);
			last = rr_now();
		} else if (errno != EAGAIN && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (last && rr_now() - last > RR_IDLE_MS * 1000000ull)
			break;
	}
out:
	close(fd);
	return ret;
}

/* Print the summary line and the percentile line of n sorted samples (ns). */
static void rr_report(const uint64_t *s, long n, long lost)
{
	printf("count=%ld lost=%ld p50_us=%.1f p90_us=%.1f p99_us=%.1f min_us=%.1f max_us=%.1f\n",
	       n, lost, s[n / 2] / 1e3, s[n * 9 / 10] / 1e3, s[n * 99 / 100] / 1e3, s[0] / 1e3,
	       s[n - 1] / 1e3);
	printf("cdf=");
	for (int q = 0; q <= 100; q++)
		printf("%s%.1f", q ? "," : "", s[q == 100 ? n - 1 : n * q / 100] / 1e3);
	printf("\n");
}

/* One request and its reply; returns the round trip in ns, 0 when lost, or -errno. */
static int64_t rr_exchange(int fd, char *buf, size_t len, uint32_t seq)
{
	uint64_t t0 = rr_now();
	uint32_t got;
	ssize_t n;

	memcpy(buf, &seq, sizeof(seq));
	if (send(fd, buf, len, 0) < 0)
		return errno == ECONNREFUSED ? 0 : -errno;
	for (;;) {
		n = recv(fd, buf, len, 0);
		if (n < 0)
			return errno == EAGAIN || errno == ECONNREFUSED ? 0 : -errno;
		memcpy(&got, buf, sizeof(got));
		if ((size_t)n >= sizeof(got) && got == seq)
			return (int64_t)(rr_now() - t0);
		/* a late reply to an earlier request: wait for ours */
	}
}

static int rr_client(const char *addr, long port, long count, long len)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	uint64_t *s = calloc((size_t)count, sizeof(*s));
	char buf[RR_MAX_PAYLOAD] = {0};
	long n = 0, lost = 0;
	int64_t rtt;
	int fd, ret = 0;

	fd = rr_socket(RR_REPLY_MS);
	if (!s || fd < 0 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		ret = fd < 0 ? fd : -EINVAL;
		goto out;
	}
	for (long i = 0; i < count; i++) {
		rtt = rr_exchange(fd, buf, (size_t)len, (uint32_t)i);
		if (rtt < 0) {
			ret = (int)rtt;
			goto out;
		}
		if (rtt == 0)
			lost++;
		else
			s[n++] = (uint64_t)rtt;
	}
	if (!n) {
		ret = -ETIMEDOUT;
		goto out;
	}
	qsort(s, (size_t)n, sizeof(*s), rr_cmp);
	rr_report(s, n, lost);
out:
	if (fd >= 0)
		close(fd);
	free(s);
	return ret;
}

int main(int argc, char **argv)
{
	long port, secs, count, len = 18;
	int ret;

	if (argc == 4 && !strcmp(argv[1], "server") && !bench_parse(argv[2], 65535, &port) &&
	    !bench_parse(argv[3], 3600, &secs)) {
		ret = rr_server(port, secs);
	} else if ((argc == 5 || argc == 6) && !strcmp(argv[1], "client") &&
		   !bench_parse(argv[3], 65535, &port) &&
		   !bench_parse(argv[4], RR_MAX_COUNT, &count) &&
		   (argc == 5 || !bench_parse(argv[5], RR_MAX_PAYLOAD, &len)) && len >= 4) {
		ret = rr_client(argv[2], port, count, len);
	} else {
		fprintf(stderr, "usage: rr server PORT MAXSECONDS\n"
				"       rr client ADDR PORT COUNT [PAYLOAD]\n");
		return 1;
	}
	if (ret < 0) {
		fprintf(stderr, "rr: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}
