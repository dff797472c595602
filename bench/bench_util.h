/*
 * bench_util.h - helpers shared by bench's small C programs (udprate, rr),
 * each built alone with cc, so the helpers are static inline here.
 */
#ifndef TAPYARD_BENCH_UTIL_H
#define TAPYARD_BENCH_UTIL_H

#include <errno.h>
#include <stdlib.h>

/*
 * bench_parse() - parse a positive integer no larger than max from s into
 * *out. Returns 0 or -EINVAL.
 */
static inline int bench_parse(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

#endif
