/*
 * Tests of api/api_field.c: the table-driven walker, on a small table with
 * one field of every kind.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api_field.h"

struct item {
	int id;
	char *label;
};

struct point {
	int x;
};

struct thing {
	char *name;
	double ratio;
	int count;
	uint64_t big;
	int color;
	char *shape;
	struct item *items;
	size_t n_items;
	struct point where;
};

static const char *const colors[] = { "red", "green", NULL };
static const char *const shapes[] = { "round", "square", NULL };

static const struct api_field item_fields[] = {
	{ .name = "id", .kind = API_FIELD_INT, .offset = offsetof(struct item, id),
	  .required = true, .min = 0, .max = 100, .def = -1 },
	{ .name = "label", .kind = API_FIELD_STRING,
	  .offset = offsetof(struct item, label) },
};
static const struct api_table item_table = { item_fields, 2, sizeof(struct item) };

static const struct api_field point_fields[] = {
	{ .name = "x", .kind = API_FIELD_INT, .offset = offsetof(struct point, x),
	  .min = -5, .max = 5 },
};
static const struct api_table point_table = { point_fields, 1, sizeof(struct point) };

static const struct api_field thing_fields[] = {
	{ .name = "name", .kind = API_FIELD_STRING,
	  .offset = offsetof(struct thing, name), .required = true },
	{ .name = "ratio", .kind = API_FIELD_NUMBER,
	  .offset = offsetof(struct thing, ratio), .min = 0, .min_open = true,
	  .max = 1, .def = 0.5 },
	{ .name = "count", .kind = API_FIELD_INT,
	  .offset = offsetof(struct thing, count), .min = 1, .max = 8, .def = 2 },
	{ .name = "big", .kind = API_FIELD_U64, .offset = offsetof(struct thing, big),
	  .max = 9007199254740992.0, .def = 7 },
	{ .name = "color", .kind = API_FIELD_ENUM,
	  .offset = offsetof(struct thing, color), .choices = colors,
	  .def_choice = 1 },
	{ .name = "shape", .kind = API_FIELD_CHOICE,
	  .offset = offsetof(struct thing, shape), .choices = shapes },
	{ .name = "items", .kind = API_FIELD_ARRAY,
	  .offset = offsetof(struct thing, items), .sub = &item_table,
	  .count_offset = offsetof(struct thing, n_items) },
	{ .name = "where", .kind = API_FIELD_OBJECT,
	  .offset = offsetof(struct thing, where), .sub = &point_table },
};
static const struct api_table thing_table = { thing_fields, 8, sizeof(struct thing) };

/* Reads json into a new thing; *errs gets the errors (NULL when none). */
static struct thing *read_thing(const char *json, api_errors **errs)
{
	struct thing *t = calloc(1, sizeof(*t));
	struct api_parse p;
	cJSON *obj = cJSON_Parse(json);

	assert_non_null(t);
	assert_non_null(obj);
	assert_int_equal(api_parse_begin(&p, errs), 0);
	api_fields_defaults(&p, &thing_table, t);
	api_fields_parse(&p, obj, "", &thing_table, t);
	assert_int_not_equal(api_parse_end(&p, errs), -ENOMEM);
	cJSON_Delete(obj);
	return t;
}

static void free_thing(struct thing *t)
{
	api_fields_free(&thing_table, t);
	free(t);
}

/* thing written back as compact JSON text, compared with want. */
static void assert_written(const struct thing *t, const char *want)
{
	char *text = api_json_print(api_fields_write(&thing_table, t));

	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
}

static void test_defaults(void **state)
{
	struct thing *t = calloc(1, sizeof(*t));
	struct api_parse p;

	(void)state;
	assert_int_equal(api_parse_begin(&p, NULL), 0);
	api_fields_defaults(&p, &thing_table, t);
	assert_int_equal(api_parse_end(&p, NULL), 0);
	assert_null(t->name);
	assert_true(t->ratio == 0.5);
	assert_int_equal(t->count, 2);
	assert_int_equal(t->big, 7);
	assert_int_equal(t->color, 1);
	assert_string_equal(t->shape, "round");
	assert_null(t->items);
	assert_int_equal(t->n_items, 0);
	assert_int_equal(t->where.x, 0);
	assert_written(t, "{\"ratio\":0.5,\"count\":2,\"big\":7,\"color\":\"green\",\"shape\":\"round\",\"items\":[],\"where\":{\"x\":0}}");
	free_thing(t);
}

static void test_reads_every_kind(void **state)
{
	const char json[] = "{\"name\": \"n\", \"ratio\": 1, \"count\": 8.0, "
			    "\"big\": 9007199254740992, \"color\": \"red\", "
			    "\"shape\": \"square\", \"where\": {\"x\": -5}, "
			    "\"items\": [{\"id\": 3, \"label\": \"a\"}, {\"id\": 0}]}";
	api_errors *errs;
	struct thing *t = read_thing(json, &errs);

	(void)state;
	assert_null(errs);
	assert_string_equal(t->name, "n");
	assert_true(t->ratio == 1);
	assert_int_equal(t->count, 8);
	assert_true(t->big == 9007199254740992ULL);
	assert_int_equal(t->color, 0);
	assert_string_equal(t->shape, "square");
	assert_int_equal(t->where.x, -5);
	assert_int_equal(t->n_items, 2);
	assert_int_equal(t->items[0].id, 3);
	assert_string_equal(t->items[0].label, "a");
	assert_int_equal(t->items[1].id, 0);
	assert_null(t->items[1].label);
	assert_written(t, "{\"name\":\"n\",\"ratio\":1,\"count\":8,\"big\":9007199254740992,\"color\":\"red\",\"shape\":\"square\",\"items\":[{\"id\":3,\"label\":\"a\"},{\"id\":0}],\"where\":{\"x\":-5}}");
	free_thing(t);
}

/* One invalid input: exactly one error, with this field and message. */
struct bad_case {
	const char *json;
	const char *field;
	const char *message;
};

#define NAMED(rest) "{\"name\": \"n\", " rest "}"

static const struct bad_case bad_cases[] = {
	{ "{}", "name", "required; add it as a non-empty string" },
	{ NAMED("\"name\": \"again\""), "name", "given more than once; keep one" },
	{ "{\"name\": \"\"}", "name", "must be a non-empty string, got \"\"" },
	{ "{\"name\": []}", "name", "must be a non-empty string, got an array" },
	{ "{\"name\": 5}", "name", "must be a non-empty string, got 5" },
	{ NAMED("\"ratio\": 0"), "ratio", "must be a number > 0 and <= 1, got 0" },
	{ NAMED("\"ratio\": 1.5"), "ratio", "must be a number > 0 and <= 1, got 1.5" },
	{ NAMED("\"ratio\": \"0.5\""), "ratio",
	  "must be a number > 0 and <= 1, got the string \"0.5\"" },
	{ NAMED("\"count\": 2.5"), "count", "must be an integer between 1 and 8, got 2.5" },
	{ NAMED("\"count\": 0"), "count", "must be an integer between 1 and 8, got 0" },
	{ NAMED("\"count\": true"), "count", "must be an integer between 1 and 8, got true" },
	{ NAMED("\"count\": null"), "count", "must be an integer between 1 and 8, got null" },
	{ NAMED("\"big\": -1"), "big", "must be an integer between 0 and 9007199254740992, got -1" },
	{ NAMED("\"big\": 1e300"), "big", "must be an integer between 0 and 9007199254740992, got 1e+300" },
	{ NAMED("\"color\": \"blue\""), "color", "must be one of \"red\", \"green\", got \"blue\"" },
	{ NAMED("\"color\": 1"), "color", "must be one of \"red\", \"green\", got 1" },
	{ NAMED("\"color\": \"Red\""), "color", "must be one of \"red\", \"green\", got \"Red\"" },
	{ NAMED("\"shape\": {}"), "shape", "must be one of \"round\", \"square\", got an object" },
	{ NAMED("\"items\": {}"), "items", "must be an array of objects, got an object" },
	{ NAMED("\"items\": [{\"id\": 1}, 2]"), "items[1]", "must be an object, got 2" },
	{ NAMED("\"items\": [{\"label\": \"a\"}]"), "items[0].id",
	  "required; add it as an integer between 0 and 100" },
	{ NAMED("\"items\": [{\"id\": 1, \"lable\": \"a\"}]"), "items[0].lable",
	  "unknown field; remove it or check its spelling (known: id, label)" },
	{ NAMED("\"where\": 3"), "where", "must be an object, got 3" },
	{ NAMED("\"where\": {\"x\": 6}"), "where.x", "must be an integer between -5 and 5, got 6" },
	{ NAMED("\"where\": {\"y\": 1}"), "where.y",
	  "unknown field; remove it or check its spelling (known: x)" },
	{ NAMED("\"Ratio\": 0.5"), "Ratio",
	  "unknown field; remove it or check its spelling (known: name, ratio, count, big, color, shape, items, where)" },
};

static void test_each_invalid_input(void **state)
{
	api_errors *errs;
	struct thing *t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		t = read_thing(bad_cases[i].json, &errs);
		assert_non_null(errs);
		if (errs->count != 1)
			print_error("case %zu: %zu errors\n", i, errs->count);
		assert_int_equal(errs->count, 1);
		assert_string_equal(errs->items[0].field, bad_cases[i].field);
		assert_string_equal(errs->items[0].message, bad_cases[i].message);
		api_errors_free(errs);
		free_thing(t);
	}
}

static void test_invalid_value_keeps_default(void **state)
{
	api_errors *errs;
	struct thing *t = read_thing(NAMED("\"count\": 99, \"shape\": \"oval\", \"color\": \"x\""),
				     &errs);

	(void)state;
	assert_int_equal(errs->count, 3);
	assert_int_equal(t->count, 2);
	assert_string_equal(t->shape, "round");
	assert_int_equal(t->color, 1);
	api_errors_free(errs);
	free_thing(t);
}

static void test_reports_every_error_in_order(void **state)
{
	static const char *const fields[] = {
		"bogus", "name", "ratio", "count", "items[0]", "items[1].id",
		"where.x",
	};
	api_errors *errs;
	struct thing *t;
	size_t i;

	(void)state;
	t = read_thing("{\"bogus\": 1, \"ratio\": 2, \"count\": \"3\", "
		       "\"items\": [7, {\"id\": -1}], \"where\": {\"x\": 0.5}}", &errs);
	assert_int_equal(errs->count, sizeof(fields) / sizeof(fields[0]));
	for (i = 0; i < errs->count; i++)
		assert_string_equal(errs->items[i].field, fields[i]);
	api_errors_free(errs);
	free_thing(t);
}

static void test_choice_name(void **state)
{
	(void)state;
	assert_string_equal(api_choice_name(colors, 0), "red");
	assert_string_equal(api_choice_name(colors, 1), "green");
	assert_null(api_choice_name(colors, 2));
	assert_null(api_choice_name(colors, SIZE_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_reads_every_kind),
		cmocka_unit_test(test_each_invalid_input),
		cmocka_unit_test(test_invalid_value_keeps_default),
		cmocka_unit_test(test_reports_every_error_in_order),
		cmocka_unit_test(test_choice_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
