/*
 * cli_args: "--flag value" and "--flag=value", environment twins, the flag
 * winning over its variable, numbers that are not whole numbers, unknown
 * options, missing values, and the forms of on/off flags.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli_args.h"

#define ERR_LEN 256

struct settings {
	long port;
	const char *data;
	int quiet;
};

/* Parses argv (NULL-terminated) into s, which starts with the defaults. */
static int parse(struct settings *s, char **argv, char *err)
{
	const struct cli_opt opts[] = {
		{ "--port", "MASKATTN_TEST_PORT", CLI_LONG, &s->port },
		{ "--data", "MASKATTN_TEST_DATA", CLI_STRING, &s->data },
		{ "--quiet", "MASKATTN_TEST_QUIET", CLI_FLAG, &s->quiet },
		{ "--no-env", NULL, CLI_LONG, &s->port },
		{ 0 },
	};
	int argc = 0;

	while (argv[argc])
		argc++;
	*s = (struct settings){ .port = 8080, .data = "./data" };
	err[0] = '\0';
	return cli_args_parse(opts, argc, argv, err, ERR_LEN);
}

static int clear_env(void **state)
{
	(void)state;
	unsetenv("MASKATTN_TEST_PORT");
	unsetenv("MASKATTN_TEST_DATA");
	unsetenv("MASKATTN_TEST_QUIET");
	return 0;
}

static void test_defaults_stay(void **state)
{
	char *argv[] = { NULL };
	struct settings s;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(parse(&s, argv, err), 0);
	assert_int_equal(s.port, 8080);
	assert_string_equal(s.data, "./data");
	assert_int_equal(s.quiet, 0);
}

static void test_flag_and_value(void **state)
{
	char *argv[] = { "--port", "9000", "--data", "/srv/jobs", "--quiet", NULL };
	struct settings s;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(parse(&s, argv, err), 0);
	assert_int_equal(s.port, 9000);
	assert_string_equal(s.data, "/srv/jobs");
	assert_int_equal(s.quiet, 1);
}

static void test_flag_equals_value(void **state)
{
	char *argv[] = { "--port=0", "--data=a=b", "--quiet=yes", NULL };
	struct settings s;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(parse(&s, argv, err), 0);
	assert_int_equal(s.port, 0);
	assert_string_equal(s.data, "a=b");
	assert_int_equal(s.quiet, 1);
}

/* The last of a repeated flag wins; negative numbers are numbers. */
static void test_repeats_and_signs(void **state)
{
	char *argv[] = { "--port", "1", "--port=-7", "--data", "--quiet", NULL };
	char *dashes[] = { "--data=--odd", NULL };
	struct settings s;
	char err[ERR_LEN];

	(void)state;
	/* a value that looks like a flag is a forgotten value */
	assert_int_equal(parse(&s, argv, err), -EINVAL);
	assert_non_null(strstr(err, "--data needs a value"));
	argv[3] = NULL;
	assert_int_equal(parse(&s, argv, err), 0);
	assert_int_equal(s.port, -7);
	/* with "=", the value is whatever follows */
	assert_int_equal(parse(&s, dashes, err), 0);
	assert_string_equal(s.data, "--odd");
}

static void test_environment_twins(void **state)
{
	char *argv[] = { NULL };
	struct settings s;
	char err[ERR_LEN];

	(void)state;
	setenv("MASKATTN_TEST_PORT", "7070", 1);
	setenv("MASKATTN_TEST_DATA", "/var/lib/maskattn", 1);
	setenv("MASKATTN_TEST_QUIET", "TRUE", 1);
	assert_int_equal(parse(&s, argv, err), 0);
	assert_int_equal(s.port, 7070);
	assert_string_equal(s.data, "/var/lib/maskattn");
	assert_int_equal(s.quiet, 1);
	/* an empty variable is as good as none */
	setenv("MASKATTN_TEST_PORT", "", 1);
	assert_int_equal(parse(&s, argv, err), 0);
	assert_int_equal(s.port, 8080);
	clear_env(NULL);
}

static void test_flag_wins_over_variable(void **state)
{
	char *argv[] = { "--port", "9100", "--data=/cli", "--quiet=0", NULL };
	struct settings s;
	char err[ERR_LEN];

	(void)state;
	setenv("MASKATTN_TEST_PORT", "7070", 1);
	setenv("MASKATTN_TEST_DATA", "/env", 1);
	setenv("MASKATTN_TEST_QUIET", "1", 1);
	assert_int_equal(parse(&s, argv, err), 0);
	assert_int_equal(s.port, 9100);
	assert_string_equal(s.data, "/cli");
	assert_int_equal(s.quiet, 0);
	clear_env(NULL);
}

/* Each bad number is refused with a message naming the flag and the value. */
static void test_bad_numbers(void **state)
{
	static const char *const bad[] = { "abc", "12x", "", "1.5", "99999999999999999999999", "0x10" };
	struct settings s;
	char err[ERR_LEN], arg[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { arg, NULL };

		snprintf(arg, sizeof(arg), "--port=%s", bad[i]);
		assert_int_equal(parse(&s, argv, err), -EINVAL);
		assert_non_null(strstr(err, "--port"));
		assert_non_null(strstr(err, "whole number"));
		assert_non_null(strstr(err, bad[i]));
	}
}

static void test_bad_number_in_variable(void **state)
{
	char *argv[] = { NULL };
	struct settings s;
	char err[ERR_LEN];

	(void)state;
	setenv("MASKATTN_TEST_PORT", "eighty", 1);
	assert_int_equal(parse(&s, argv, err), -EINVAL);
	assert_non_null(strstr(err, "MASKATTN_TEST_PORT"));
	assert_non_null(strstr(err, "eighty"));
	clear_env(NULL);
}

/* A flag wins over its variable, even over one that would not parse. */
static void test_flag_hides_a_bad_variable(void **state)
{
	char *argv[] = { "--port=80", NULL };
	struct settings s;
	char err[ERR_LEN];

	(void)state;
	setenv("MASKATTN_TEST_PORT", "eighty", 1);
	assert_int_equal(parse(&s, argv, err), 0);
	assert_int_equal(s.port, 80);
	clear_env(NULL);
}

static void test_unknown_options(void **state)
{
	static const char *const unknown[] = { "--nope", "--port2=3", "--po", "port", "-p", "--" };
	struct settings s;
	char err[ERR_LEN], arg[64];

	(void)state;
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		char *argv[] = { "--quiet", arg, NULL };

		snprintf(arg, sizeof(arg), "%s", unknown[i]);
		assert_int_equal(parse(&s, argv, err), -EINVAL);
		assert_non_null(strstr(err, "unknown option"));
		assert_non_null(strstr(err, unknown[i]));
	}
}

static void test_missing_values(void **state)
{
	char *last_port[] = { "--quiet", "--port", NULL };
	char *last_data[] = { "--data", NULL };
	struct settings s;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(parse(&s, last_port, err), -EINVAL);
	assert_non_null(strstr(err, "--port needs a value"));
	assert_int_equal(parse(&s, last_data, err), -EINVAL);
	assert_non_null(strstr(err, "--data needs a value"));
}

/* On/off flags: bare is on; =value and the variable accept 1, true, yes in any case. */
static void test_flag_forms(void **state)
{
	static const struct { const char *value; int on; } forms[] = {
		{ "1", 1 }, { "true", 1 }, { "Yes", 1 }, { "TRUE", 1 },
		{ "0", 0 }, { "no", 0 }, { "false", 0 }, { "on", 0 }, { "", 0 },
	};
	struct settings s;
	char err[ERR_LEN], arg[64];

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char *argv[] = { arg, NULL }, *none[] = { NULL };

		snprintf(arg, sizeof(arg), "--quiet=%s", forms[i].value);
		assert_int_equal(parse(&s, argv, err), 0);
		assert_int_equal(s.quiet, forms[i].on);
		if (!forms[i].value[0])
			continue;
		setenv("MASKATTN_TEST_QUIET", forms[i].value, 1);
		assert_int_equal(parse(&s, none, err), 0);
		assert_int_equal(s.quiet, forms[i].on);
	}
	clear_env(NULL);
}

/* A bare on/off flag takes no value: the next argument is parsed on its own. */
static void test_bare_flag_takes_no_value(void **state)
{
	char *argv[] = { "--quiet", "--port", "81", NULL };
	char *stray[] = { "--quiet", "1", NULL };
	struct settings s;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(parse(&s, argv, err), 0);
	assert_int_equal(s.quiet, 1);
	assert_int_equal(s.port, 81);
	assert_int_equal(parse(&s, stray, err), -EINVAL);
	assert_non_null(strstr(err, "unknown option '1'"));
}

/* An option without a variable is a flag only. */
static void test_option_without_variable(void **state)
{
	char *argv[] = { "--no-env", "12", NULL };
	struct settings s;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(parse(&s, argv, err), 0);
	assert_int_equal(s.port, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_stay),
		cmocka_unit_test(test_flag_and_value),
		cmocka_unit_test(test_flag_equals_value),
		cmocka_unit_test(test_repeats_and_signs),
		cmocka_unit_test(test_environment_twins),
		cmocka_unit_test(test_flag_wins_over_variable),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_bad_number_in_variable),
		cmocka_unit_test(test_flag_hides_a_bad_variable),
		cmocka_unit_test(test_unknown_options),
		cmocka_unit_test(test_missing_values),
		cmocka_unit_test(test_flag_forms),
		cmocka_unit_test(test_bare_flag_takes_no_value),
		cmocka_unit_test(test_option_without_variable),
	};

	return cmocka_run_group_tests(tests, clear_env, clear_env);
}
