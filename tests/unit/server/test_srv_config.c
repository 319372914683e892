/* Tests of server/srv_config.c: defaults, environment, flags over variables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_config.h"

/* A fake environment: NULL-terminated name/value pairs. */
static const char *const *fake_env;

static char *fake_getenv(const char *name)
{
	const char *const *e;

	for (e = fake_env; e && *e; e += 2)
		if (!strcmp(e[0], name))
			return (char *)e[1];
	return NULL;
}

static int parse(struct srv_config *cfg, const char *const *env, int argc,
		 char **argv, char *err)
{
	fake_env = env;
	return srv_config_parse(cfg, argc, argv, fake_getenv, 8, err, 256);
}

static void test_defaults(void **state)
{
	struct srv_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse(&cfg, NULL, 0, NULL, err), 0);
	assert_int_equal(cfg.port, 8080);
	assert_string_equal(cfg.data, "./data");
	assert_int_equal(cfg.workers, 1);
	assert_int_equal(cfg.threads, 8);
	assert_int_equal(cfg.http_threads, 8);
	assert_int_equal(cfg.queue, 64);
	assert_int_equal(cfg.max_upload, 2ULL << 30);
	assert_int_equal(cfg.retention, 86400);
	assert_int_equal(cfg.grace, 30);
	assert_null(cfg.api_keys);
	assert_int_equal(cfg.timeout, 60);
	assert_int_equal(cfg.log_level, SRV_LOG_INFO);
	assert_null(cfg.redis_url);
	assert_int_equal(cfg.reclaim_after, 30);
	assert_null(cfg.webhook_secret);
	assert_null(cfg.webhook_allow);
	assert_false(cfg.help);
	srv_config_release(&cfg);
}

static void test_webhook_settings(void **state)
{
	static const char *const env[] = { "MASKATTN_WEBHOOK_SECRET", "s3cret",
					    "MASKATTN_WEBHOOK_ALLOW", "10.0.0.0/8", NULL };
	char *args[] = { "--webhook-allow", "127.0.0.1,hooks.internal:8443" };
	char *bad[] = { "--webhook-allow", "10.0.0.0/40" };
	char *empty[] = { "--webhook-secret=" };
	struct srv_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse(&cfg, env, 2, args, err), 0);
	assert_string_equal(cfg.webhook_secret, "s3cret");
	assert_string_equal(cfg.webhook_allow, "127.0.0.1,hooks.internal:8443");
	srv_config_release(&cfg);
	assert_int_equal(parse(&cfg, NULL, 2, bad, err), -EINVAL);
	assert_non_null(strstr(err, "10.0.0.0/40"));
	srv_config_release(&cfg);
	assert_int_equal(parse(&cfg, NULL, 1, empty, err), -EINVAL);
	assert_non_null(strstr(err, "--webhook-secret"));
	srv_config_release(&cfg);
}

static void test_redis_url(void **state)
{
	static const char *const env[] = {
		"MASKATTN_REDIS_URL", "redis://redis:6379/1", "MASKATTN_RECLAIM_AFTER", "5", NULL,
	};
	char *argv[] = { "--redis-url", "unix:///run/redis.sock" };
	struct srv_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse(&cfg, env, 0, NULL, err), 0);
	assert_string_equal(cfg.redis_url, "redis://redis:6379/1");
	assert_int_equal(cfg.reclaim_after, 5);
	srv_config_release(&cfg);
	assert_int_equal(parse(&cfg, env, 2, argv, err), 0);
	assert_string_equal(cfg.redis_url, "unix:///run/redis.sock");
	srv_config_release(&cfg);
}

static void test_env_then_flags(void **state)
{
	static const char *const env[] = {
		"MASKATTN_PORT", "9001", "MASKATTN_WORKERS", "3",
		"MASKATTN_API_KEYS", "a,b", "MASKATTN_MAX_UPLOAD", "512M",
		"MASKATTN_LOG_LEVEL", "warn", "MASKATTN_DATA", "/env", NULL,
	};
	char *argv[] = { "--port", "9002", "--data=/flag", "--max-connections", "7" };
	struct srv_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse(&cfg, env, 5, argv, err), 0);
	assert_int_equal(cfg.port, 9002);
	assert_string_equal(cfg.data, "/flag");
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(cfg.threads, 2);       /* 8 CPUs / 3 workers */
	assert_string_equal(cfg.api_keys, "a,b");
	assert_int_equal(cfg.max_upload, 512ULL << 20);
	assert_int_equal(cfg.log_level, SRV_LOG_WARN);
	assert_int_equal(cfg.max_connections, 7);
	srv_config_release(&cfg);
}

static void test_threads_at_least_one(void **state)
{
	char *argv[] = { "--workers", "16" };
	struct srv_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse(&cfg, NULL, 2, argv, err), 0);
	assert_int_equal(cfg.threads, 1);
	srv_config_release(&cfg);
}

static void expect_error(const char *const *env, int argc, char **argv,
			 const char *needle)
{
	struct srv_config cfg;
	char err[256] = "";

	assert_int_equal(parse(&cfg, env, argc, argv, err), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("\"%s\" does not say \"%s\"", err, needle);
	srv_config_release(&cfg);
}

static void test_errors_name_the_setting(void **state)
{
	static const char *const bad_env[] = { "MASKATTN_WORKERS", "zero", NULL };
	char *range[] = { "--port", "70000" };
	char *unknown[] = { "--colour", "red" };
	char *missing[] = { "--port" };
	char *level[] = { "--log-level=loud" };
	char *size[] = { "--max-upload", "3P" };
	char *stray[] = { "serve" };
	char *redis[] = { "--redis-url", "localhost:6379" };
	char *reclaim[] = { "--reclaim-after", "1" };

	(void)state;
	expect_error(bad_env, 0, NULL, "MASKATTN_WORKERS must be an integer from 1");
	expect_error(NULL, 2, range, "--port must be an integer from 0 to 65535");
	expect_error(NULL, 2, unknown, "unknown flag \"--colour\"");
	expect_error(NULL, 1, missing, "--port needs a value");
	expect_error(NULL, 1, level, "one of debug, info, warn, error");
	expect_error(NULL, 2, size, "512M or 2G");
	expect_error(NULL, 1, stray, "unexpected argument");
	expect_error(NULL, 2, redis, "--redis-url must be redis://");
	expect_error(NULL, 2, reclaim, "--reclaim-after must be an integer from 2");
}

static void test_help(void **state)
{
	char *argv[] = { "--help" };
	struct srv_config cfg;
	char err[256];
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	assert_int_equal(parse(&cfg, NULL, 1, argv, err), 0);
	assert_true(cfg.help);
	out = open_memstream(&text, &len);
	srv_config_usage(out);
	fclose(out);
	assert_non_null(strstr(text, "--api-keys"));
	assert_non_null(strstr(text, "MASKATTN_API_KEYS"));
	assert_non_null(strstr(text, "MASKATTN_MAX_CONNECTIONS"));
	free(text);
	srv_config_release(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_env_then_flags),
		cmocka_unit_test(test_redis_url),
		cmocka_unit_test(test_threads_at_least_one),
		cmocka_unit_test(test_errors_name_the_setting),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_webhook_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
