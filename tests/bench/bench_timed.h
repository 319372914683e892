/*
 * bench_timed: how the attention benchmarks time a job: the best wall time
 * of a number of runs after a warm-up (the first run pays for page faults
 * and thread start-up), with the figures of one run.
 */
#ifndef BENCH_TIMED_H
#define BENCH_TIMED_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "attention/attn_attend.h"

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct bench_result {
	double seconds;
	int runs;
	struct attn_stats stats;        /* of one run */
};

/* Best wall time of runs runs after a warm-up; exits when out of memory. */
static inline struct bench_result bench_timed(attn_pool *pool, const struct attn_job *job,
					      int runs)
{
	struct bench_result res = { .seconds = 1e30, .runs = runs };

	for (int i = -1; i < runs; i++) {
		struct attn_stats st = { 0 };
		double t0 = bench_now(), dt;

		if (attn_attend(pool, job, &st) < 0) {
			fprintf(stderr, "attention benchmark: out of memory\n");
			exit(1);
		}
		dt = bench_now() - t0;
		if (i >= 0 && dt < res.seconds) {
			res.seconds = dt;
			res.stats = st;
		}
	}
	return res;
}

#endif
