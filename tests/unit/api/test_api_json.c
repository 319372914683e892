/* Tests of api/api_json.c: document parsing, error reporting, JSON helpers. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api_json.h"

static int setup_parse(void **state)
{
	struct api_parse *p = calloc(1, sizeof(*p));

	if (!p || api_parse_begin(p, NULL) < 0) {
		free(p);
		return -1;
	}
	*state = p;
	return 0;
}

static int teardown_parse(void **state)
{
	struct api_parse *p = *state;

	api_parse_end(p, NULL);
	free(p);
	return 0;
}

/* The only message reported so far. */
static const char *only_message(const struct api_parse *p, const char *field)
{
	assert_int_equal(p->errs->count, 1);
	assert_string_equal(p->errs->items[0].field, field);
	return p->errs->items[0].message;
}

static void test_begin_end_without_errors(void **state)
{
	api_errors stale, *errs = &stale;
	struct api_parse p;

	(void)state;
	assert_int_equal(api_parse_begin(&p, &errs), 0);
	assert_null(errs);
	assert_int_equal(api_parse_end(&p, &errs), 0);
	assert_null(errs);
	assert_null(p.errs);
}

static void test_end_hands_errors_over(void **state)
{
	api_errors *errs;
	struct api_parse p;

	(void)state;
	assert_int_equal(api_parse_begin(&p, &errs), 0);
	api_report(&p, "steps", "must be %d or less", 8);
	assert_int_equal(api_parse_end(&p, &errs), -EINVAL);
	assert_non_null(errs);
	assert_string_equal(errs->items[0].message, "must be 8 or less");
	api_errors_free(errs);

	assert_int_equal(api_parse_begin(&p, NULL), 0);
	api_report(&p, "steps", "dropped");
	assert_int_equal(api_parse_end(&p, NULL), -EINVAL);
}

static void test_end_reports_out_of_memory(void **state)
{
	api_errors *errs;
	struct api_parse p;

	(void)state;
	assert_int_equal(api_parse_begin(&p, &errs), 0);
	api_report(&p, "video", "lost");
	p.err = -ENOMEM;
	assert_int_equal(api_parse_end(&p, &errs), -ENOMEM);
	assert_null(errs);
}

static void test_invalid_shows_what_came(void **state)
{
	static const struct {
		const char *json;
		bool same_type;
		const char *got;
	} cases[] = {
		{ "1.5", true, "must be X, got 1.5" },
		{ "\"2\"", false, "must be X, got the string \"2\"" },
		{ "\"prop\"", true, "must be X, got \"prop\"" },
		{ "true", false, "must be X, got true" },
		{ "false", false, "must be X, got false" },
		{ "null", false, "must be X, got null" },
		{ "[1]", false, "must be X, got an array" },
		{ "{}", false, "must be X, got an object" },
		{ "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", true,
		  "must be X, got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"" },
		/* 39 bytes and a 2-byte character: cut before it, not inside */
		{ "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9z\"", true,
		  "must be X, got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"" },
	};
	api_errors *errs;
	struct api_parse p;
	cJSON *item;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		item = cJSON_Parse(cases[i].json);
		assert_non_null(item);
		assert_int_equal(api_parse_begin(&p, &errs), 0);
		api_report_invalid(&p, item, "f", "X", cases[i].same_type);
		assert_string_equal(only_message(&p, "f"), cases[i].got);
		assert_int_equal(api_parse_end(&p, &errs), -EINVAL);
		api_errors_free(errs);
		cJSON_Delete(item);
	}
}

static void test_parse_valid(void **state)
{
	const char text[] = " {\"a\": [1, 2]}\n\t";
	cJSON *root;

	root = api_json_parse(*state, text, strlen(text));
	assert_non_null(root);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "a")), 2);
	cJSON_Delete(root);
	assert_int_equal(((struct api_parse *)*state)->errs->count, 0);
}

static void test_parse_stops_at_len(void **state)
{
	const char text[] = "{\"a\": 1}GARBAGE";
	cJSON *root;

	root = api_json_parse(*state, text, strlen("{\"a\": 1}"));
	assert_non_null(root);
	cJSON_Delete(root);
	assert_int_equal(((struct api_parse *)*state)->errs->count, 0);
}

static void test_parse_empty(void **state)
{
	assert_null(api_json_parse(*state, " \n ", 3));
	assert_non_null(strstr(only_message(*state, ""), "empty"));
}

static void test_parse_nothing(void **state)
{
	assert_null(api_json_parse(*state, NULL, 0));
	assert_non_null(strstr(only_message(*state, ""), "empty"));
}

static void test_parse_syntax_error_position(void **state)
{
	const char text[] = "{\n  \"mode\": \"propagate\"\n  \"video\": 1\n}";

	assert_null(api_json_parse(*state, text, strlen(text)));
	assert_string_equal(only_message(*state, ""),
			    "not valid JSON: syntax error at line 3, column 3 (offset 26); check the quotes, commas and brackets there");
}

static void test_parse_trailing_text(void **state)
{
	const char text[] = "{}\n{}";

	assert_null(api_json_parse(*state, text, strlen(text)));
	assert_string_equal(only_message(*state, ""),
			    "unexpected text after the JSON value at line 2, column 1 (offset 3); send exactly one JSON object");
}

static void test_paths(void **state)
{
	char buf[API_PATH_MAX], small[8];

	(void)state;
	api_path_field(buf, sizeof(buf), "", "mode");
	assert_string_equal(buf, "mode");
	api_path_field(buf, sizeof(buf), "masks[2]", "weight");
	assert_string_equal(buf, "masks[2].weight");
	api_path_index(buf, sizeof(buf), "keyframes", 12);
	assert_string_equal(buf, "keyframes[12]");
	api_path_field(small, sizeof(small), "output", "crf");
	assert_string_equal(small, "output.");
}

static void test_format_number_is_exact_and_short(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 1.5, "1.5" },
		{ 0.1, "0.1" },
		{ 3, "3" },
		{ -0.25, "-0.25" },
		{ 9007199254740992.0, "9007199254740992" },
		{ 0.30000000000000004, "0.30000000000000004" },
		{ 1e300, "1e+300" },
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		api_format_number(buf, sizeof(buf), cases[i].v);
		assert_string_equal(buf, cases[i].text);
		assert_true(strtod(buf, NULL) == cases[i].v);
	}
}

static void test_json_number_prints_exactly(void **state)
{
	cJSON *obj = cJSON_CreateObject();
	char *text;

	(void)state;
	cJSON_AddItemToObject(obj, "seed", api_json_number(9007199254740992.0));
	cJSON_AddItemToObject(obj, "w", api_json_number(0.30000000000000004));
	cJSON_AddItemToObject(obj, "bad", api_json_number(NAN));
	cJSON_AddItemToObject(obj, "inf", api_json_number(INFINITY));
	text = api_json_print(obj);
	assert_string_equal(text,
			    "{\"seed\":9007199254740992,\"w\":0.30000000000000004,\"bad\":null,\"inf\":null}");
	free(text);
}

static void test_add_string_and_print(void **state)
{
	cJSON *obj = cJSON_CreateObject();
	char *text;

	(void)state;
	assert_true(api_json_add_string(obj, "a", "x"));
	assert_true(api_json_add_string(obj, "b", NULL));
	text = api_json_print(obj);
	assert_string_equal(text, "{\"a\":\"x\"}");
	free(text);
	assert_null(api_json_print(NULL));
}

#define PARSE_TEST(f) cmocka_unit_test_setup_teardown(f, setup_parse, teardown_parse)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_begin_end_without_errors),
		cmocka_unit_test(test_end_hands_errors_over),
		cmocka_unit_test(test_end_reports_out_of_memory),
		cmocka_unit_test(test_invalid_shows_what_came),
		PARSE_TEST(test_parse_valid),
		PARSE_TEST(test_parse_stops_at_len),
		PARSE_TEST(test_parse_empty),
		PARSE_TEST(test_parse_nothing),
		PARSE_TEST(test_parse_syntax_error_position),
		PARSE_TEST(test_parse_trailing_text),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_format_number_is_exact_and_short),
		cmocka_unit_test(test_json_number_prints_exactly),
		cmocka_unit_test(test_add_string_and_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
