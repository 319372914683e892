/*
 * Helpers shared by the api/ unit tests: parse a spec expecting success or
 * failure, and look up a reported error. Included after cmocka.h.
 */
#ifndef API_TEST_UTIL_H
#define API_TEST_UTIL_H

#include <errno.h>
#include <string.h>

#include "api/api_errors.h"
#include "api/api_spec.h"

/* A spec that must parse; the caller frees it. */
static inline api_spec *parse_ok(const char *json)
{
	api_errors *errs = NULL;
	api_spec *spec = NULL;
	char line[512];
	int ret;

	ret = api_spec_parse(json, strlen(json), &spec, &errs);
	if (ret)
		print_error("unexpected errors: %s\n",
			    api_errors_line(errs, line, sizeof(line)));
	assert_int_equal(ret, 0);
	assert_null(errs);
	assert_non_null(spec);
	return spec;
}

/* A spec that must be rejected; the caller frees the errors. */
static inline api_errors *parse_fail(const char *json)
{
	api_errors *errs = NULL;
	api_spec *spec = NULL;

	assert_int_equal(api_spec_parse(json, strlen(json), &spec, &errs),
			 -EINVAL);
	assert_null(spec);
	assert_non_null(errs);
	assert_true(errs->count > 0);
	return errs;
}

/* Asserts an error about field whose message contains text. */
static inline void assert_error(const api_errors *errs, const char *field,
				const char *text)
{
	const struct api_field_error *err = api_errors_find(errs, field);

	if (!err)
		print_error("no error for field \"%s\"\n", field);
	assert_non_null(err);
	if (!strstr(err->message, text))
		print_error("%s: \"%s\" lacks \"%s\"\n", field, err->message,
			    text);
	assert_non_null(strstr(err->message, text));
}

#endif
