/* srv_clock: wall-clock and monotonic time, RFC 3339 timestamps. */
#ifndef SRV_CLOCK_H
#define SRV_CLOCK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_NS_PER_S 1000000000LL
#define SRV_NS_PER_US 1000

/* Longest RFC 3339 text written, with its NUL. */
#define SRV_RFC3339_LEN 32

/* Nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t srv_now_ns(void);

/* Nanoseconds of CLOCK_MONOTONIC, for durations. */
int64_t srv_mono_ns(void);

/*
 * Initializes a condition variable whose timed waits take CLOCK_MONOTONIC
 * deadlines (see srv_deadline).
 */
void srv_cond_init(pthread_cond_t *cond);

/* A CLOCK_MONOTONIC deadline in ns as the timespec pthread_cond_timedwait takes. */
struct timespec srv_deadline(int64_t deadline_ns);

/* ns since the epoch as "2026-01-02T03:04:05.678Z" (UTC, milliseconds). */
void srv_rfc3339(int64_t ns, char buf[SRV_RFC3339_LEN]);

#endif
