/* SPDX-License-Identifier: MIT */
/*
 * stats_harness: statistical assertions the impairment tests share. Include
 * after <cmocka.h> and <math.h>.
 */
#ifndef TAPYARD_TESTS_STATS_HARNESS_H
#define TAPYARD_TESTS_STATS_HARNESS_H

#include <stdint.h>

/* Assert that k hits out of n are within 5 sigma of probability p. */
static inline void assert_binomial(uint64_t k, uint64_t n, double p)
{
	double mean = (double)n * p, sd = sqrt((double)n * p * (1 - p));

	if (fabs((double)k - mean) > 5 * sd + 1) {
		print_error("%llu of %llu, expected %.1f +- %.1f\n", (unsigned long long)k,
			    (unsigned long long)n, mean, 5 * sd);
		fail();
	}
}

#endif
