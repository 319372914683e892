/* srv_clock: time sources and formatting. */
#include <stdio.h>
#include <time.h>

#include "server/srv_clock.h"

static int64_t srv_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * SRV_NS_PER_S + ts.tv_nsec;
}

int64_t srv_now_ns(void)
{
	return srv_clock_ns(CLOCK_REALTIME);
}

int64_t srv_mono_ns(void)
{
	return srv_clock_ns(CLOCK_MONOTONIC);
}

void srv_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

struct timespec srv_deadline(int64_t deadline_ns)
{
	return (struct timespec){ deadline_ns / SRV_NS_PER_S, deadline_ns % SRV_NS_PER_S };
}

void srv_rfc3339(int64_t ns, char buf[SRV_RFC3339_LEN])
{
	time_t secs = (time_t)(ns / SRV_NS_PER_S);
	unsigned ms = (unsigned)(ns / 1000000 % 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, SRV_RFC3339_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, SRV_RFC3339_LEN - n, ".%03uZ", ms);
}
