/* Tests of server/srv_clock.c: RFC 3339 timestamps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/srv_clock.h"

static void test_rfc3339(void **state)
{
	char buf[SRV_RFC3339_LEN];

	(void)state;
	srv_rfc3339(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	srv_rfc3339(1763800000999999999LL, buf);
	assert_string_equal(buf, "2025-11-22T08:26:40.999Z");
}

static void test_clocks_advance(void **state)
{
	int64_t a = srv_mono_ns(), b = srv_mono_ns();

	(void)state;
	assert_true(b >= a);
	assert_true(srv_now_ns() > 1700000000LL * SRV_NS_PER_S);
}

static void test_timed_wait_uses_monotonic_deadlines(void **state)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int64_t start = srv_mono_ns(), waited;
	struct timespec ts = srv_deadline(start + 50 * 1000000);
	pthread_cond_t cond;

	(void)state;
	srv_cond_init(&cond);
	pthread_mutex_lock(&lock);
	while (pthread_cond_timedwait(&cond, &lock, &ts) == 0)
		;
	pthread_mutex_unlock(&lock);
	waited = srv_mono_ns() - start;
	assert_true(waited >= 50 * 1000000);
	assert_true(waited < 1000 * 1000000);
	pthread_cond_destroy(&cond);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_clocks_advance),
		cmocka_unit_test(test_timed_wait_uses_monotonic_deadlines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
