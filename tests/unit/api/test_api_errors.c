/* Tests of api/api_errors.c: the error list, its terminal line, problem+json. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <cJSON.h>

#include "api/api_errors.h"

static void test_empty_list(void **state)
{
	api_errors *errs = api_errors_create();
	char line[32] = "not touched";

	(void)state;
	assert_non_null(errs);
	assert_int_equal(errs->count, 0);
	assert_null(api_errors_find(errs, ""));
	assert_string_equal(api_errors_line(errs, line, sizeof(line)), "");
	assert_string_equal(api_errors_line(NULL, line, sizeof(line)), "");
	api_errors_free(errs);
	api_errors_free(NULL);
}

static void test_add_grows_and_formats(void **state)
{
	api_errors *errs = api_errors_create();
	char message[32];
	int i;

	(void)state;
	for (i = 0; i < 50; i++)
		assert_int_equal(api_errors_add(errs, "masks", "bad %d of %s", i,
						"fifty"), 0);
	assert_int_equal(errs->count, 50);
	assert_true(errs->cap >= 50);
	for (i = 0; i < 50; i++) {
		snprintf(message, sizeof(message), "bad %d of fifty", i);
		assert_string_equal(errs->items[i].field, "masks");
		assert_string_equal(errs->items[i].message, message);
	}
	api_errors_free(errs);
}

static void test_find_exact_field(void **state)
{
	api_errors *errs = api_errors_create();

	(void)state;
	api_errors_add(errs, "masks[0].weight", "first");
	api_errors_add(errs, "masks[0]", "second");
	api_errors_add(errs, "masks[0]", "third");
	assert_string_equal(api_errors_find(errs, "masks[0]")->message, "second");
	assert_string_equal(api_errors_find(errs, "masks[0].weight")->message,
			    "first");
	assert_null(api_errors_find(errs, "masks"));
	assert_null(api_errors_find(NULL, "masks"));
	api_errors_free(errs);
}

static void test_line_one_and_more(void **state)
{
	api_errors *errs = api_errors_create();
	char line[128];

	(void)state;
	api_errors_add(errs, "output.crf", "must be an integer between 0 and 51, got 60");
	assert_string_equal(api_errors_line(errs, line, sizeof(line)),
			    "output.crf: must be an integer between 0 and 51, got 60");
	api_errors_add(errs, "steps", "x");
	api_errors_add(errs, "seed", "y");
	assert_string_equal(api_errors_line(errs, line, sizeof(line)),
			    "output.crf: must be an integer between 0 and 51, got 60 (and 2 more)");
	api_errors_free(errs);
}

static void test_line_root_field_has_no_prefix(void **state)
{
	api_errors *errs = api_errors_create();
	char line[64];

	(void)state;
	api_errors_add(errs, "", "not valid JSON");
	assert_string_equal(api_errors_line(errs, line, sizeof(line)),
			    "not valid JSON");
	api_errors_free(errs);
}

static void test_line_truncates(void **state)
{
	api_errors *errs = api_errors_create();
	char line[8] = "";
	char untouched[4] = "abc";

	(void)state;
	api_errors_add(errs, "video", "must be a non-empty string");
	api_errors_add(errs, "mode", "required");
	assert_ptr_equal(api_errors_line(errs, line, sizeof(line)), line);
	assert_string_equal(line, "video: ");
	assert_ptr_equal(api_errors_line(errs, untouched, 0), untouched);
	assert_string_equal(untouched, "abc");
	api_errors_free(errs);
}

/* The problem document parsed back; fails the test when it is not JSON. */
static cJSON *parse_problem(char *text)
{
	cJSON *doc;

	assert_non_null(text);
	doc = cJSON_Parse(text);
	free(text);
	assert_non_null(doc);
	assert_true(cJSON_IsObject(doc));
	return doc;
}

static const char *member_string(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	assert_true(cJSON_IsString(item));
	return item->valuestring;
}

static void test_problem_with_errors(void **state)
{
	api_errors *errs = api_errors_create();
	const cJSON *list, *first, *second, *status;
	cJSON *doc;

	(void)state;
	api_errors_add(errs, "masks[2].weight", "must be a number between 0 and 1, got 1.5");
	api_errors_add(errs, "", "say \"why\"");
	doc = parse_problem(api_problem_json(422, "invalid-spec", "Invalid job spec",
					     "2 fields are invalid", errs));
	assert_string_equal(member_string(doc, "type"), "/problems/invalid-spec");
	assert_string_equal(member_string(doc, "title"), "Invalid job spec");
	assert_string_equal(member_string(doc, "detail"), "2 fields are invalid");
	status = cJSON_GetObjectItemCaseSensitive(doc, "status");
	assert_true(cJSON_IsNumber(status));
	assert_int_equal(status->valueint, 422);
	list = cJSON_GetObjectItemCaseSensitive(doc, "errors");
	assert_true(cJSON_IsArray(list));
	assert_int_equal(cJSON_GetArraySize(list), 2);
	first = cJSON_GetArrayItem(list, 0);
	second = cJSON_GetArrayItem(list, 1);
	assert_string_equal(member_string(first, "field"), "masks[2].weight");
	assert_string_equal(member_string(first, "message"),
			    "must be a number between 0 and 1, got 1.5");
	assert_string_equal(member_string(second, "field"), "");
	assert_string_equal(member_string(second, "message"), "say \"why\"");
	cJSON_Delete(doc);
	api_errors_free(errs);
}

static void test_problem_without_errors(void **state)
{
	api_errors *empty = api_errors_create();
	cJSON *doc;

	(void)state;
	doc = parse_problem(api_problem_json(503, "draining", "Draining",
					     "the server is shutting down", NULL));
	assert_string_equal(member_string(doc, "type"), "/problems/draining");
	assert_null(cJSON_GetObjectItemCaseSensitive(doc, "errors"));
	cJSON_Delete(doc);

	doc = parse_problem(api_problem_json(429, "queue-full", "Queue full",
					     "retry later", empty));
	assert_null(cJSON_GetObjectItemCaseSensitive(doc, "errors"));
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "status")->valueint,
			 429);
	cJSON_Delete(doc);
	api_errors_free(empty);
}

static void test_problem_optional_members(void **state)
{
	cJSON *doc;

	(void)state;
	doc = parse_problem(api_problem_json(404, NULL, NULL, NULL, NULL));
	assert_string_equal(member_string(doc, "type"), "about:blank");
	assert_null(cJSON_GetObjectItemCaseSensitive(doc, "title"));
	assert_null(cJSON_GetObjectItemCaseSensitive(doc, "detail"));
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "status")->valueint,
			 404);
	cJSON_Delete(doc);
}

static void test_problem_cjson(void **state)
{
	api_errors *errs = api_errors_create();
	cJSON *doc;

	(void)state;
	api_errors_add(errs, "video", "required");
	doc = api_problem_cjson(422, "invalid-spec", "Invalid", "d", errs);
	assert_non_null(doc);
	assert_string_equal(member_string(doc, "type"), "/problems/invalid-spec");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "errors")),
			 1);
	cJSON_Delete(doc);
	api_errors_free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_list),
		cmocka_unit_test(test_add_grows_and_formats),
		cmocka_unit_test(test_find_exact_field),
		cmocka_unit_test(test_line_one_and_more),
		cmocka_unit_test(test_line_root_field_has_no_prefix),
		cmocka_unit_test(test_line_truncates),
		cmocka_unit_test(test_problem_with_errors),
		cmocka_unit_test(test_problem_without_errors),
		cmocka_unit_test(test_problem_optional_members),
		cmocka_unit_test(test_problem_cjson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
