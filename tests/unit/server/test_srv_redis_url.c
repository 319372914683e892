/* Tests of server/srv_redis_url.c: the forms --redis-url takes, and refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_redis_url.h"

static void test_tcp_forms(void **state)
{
	struct srv_redis_url url;
	char err[256];

	(void)state;
	assert_int_equal(srv_redis_url_parse("redis://127.0.0.1", &url, err, sizeof(err)), 0);
	assert_string_equal(url.host, "127.0.0.1");
	assert_int_equal(url.port, 6379);
	assert_int_equal(url.db, 0);
	assert_string_equal(url.path, "");
	assert_string_equal(url.password, "");
	assert_int_equal(srv_redis_url_parse("redis://cache.internal:6380/3", &url, err,
					     sizeof(err)), 0);
	assert_string_equal(url.host, "cache.internal");
	assert_int_equal(url.port, 6380);
	assert_int_equal(url.db, 3);
	assert_int_equal(srv_redis_url_parse("redis://[::1]:7000/", &url, err, sizeof(err)), 0);
	assert_string_equal(url.host, "::1");
	assert_int_equal(url.port, 7000);
}

static void test_credentials(void **state)
{
	struct srv_redis_url url;
	char err[256], text[128];

	(void)state;
	assert_int_equal(srv_redis_url_parse("redis://:s%40cret@h:1/2", &url, err,
					     sizeof(err)), 0);
	assert_string_equal(url.user, "");
	assert_string_equal(url.password, "s@cret");
	assert_string_equal(url.host, "h");
	assert_int_equal(srv_redis_url_parse("redis://app:pw@h", &url, err, sizeof(err)), 0);
	assert_string_equal(url.user, "app");
	assert_string_equal(url.password, "pw");
	srv_redis_url_describe(&url, text, sizeof(text));
	assert_string_equal(text, "h:6379 db 0");
}

static void test_unix_socket(void **state)
{
	struct srv_redis_url url;
	char err[256], text[128];

	(void)state;
	assert_int_equal(srv_redis_url_parse("unix:///run/redis.sock?db=5", &url, err,
					     sizeof(err)), 0);
	assert_string_equal(url.path, "/run/redis.sock");
	assert_string_equal(url.host, "");
	assert_int_equal(url.db, 5);
	srv_redis_url_describe(&url, text, sizeof(text));
	assert_string_equal(text, "unix:/run/redis.sock db 5");
	assert_int_equal(srv_redis_url_parse("unix://:pw@/tmp/r.sock", &url, err,
					     sizeof(err)), 0);
	assert_string_equal(url.password, "pw");
	assert_string_equal(url.path, "/tmp/r.sock");
}

static void test_refusals_hide_the_value(void **state)
{
	static const char *const bad[] = {
		"http://h", "redis://", "redis://h:0", "redis://h:70000", "redis://h:x",
		"redis://h/db", "redis://[::1", "unix://relative.sock", "unix:///s?db=x",
		"unix:///s?x=1", "redis://:%zz@h",
	};
	struct srv_redis_url url;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(srv_redis_url_parse(bad[i], &url, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "--redis-url must be redis://"));
	}
	assert_int_equal(srv_redis_url_parse("redis://:hunter2@h:x", &url, err, sizeof(err)),
			 -EINVAL);
	assert_null(strstr(err, "hunter2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_forms),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_unix_socket),
		cmocka_unit_test(test_refusals_hide_the_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
