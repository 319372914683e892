/* Tests of server/srv_static.c: the embedded studio files and their types. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_static.h"

static void test_embedded_files(void **state)
{
	const struct srv_static_file *index = srv_static_find("index.html");
	const struct srv_static_file *js = srv_static_find("studio.js");
	size_t i;

	(void)state;
	assert_non_null(index);
	assert_non_null(js);
	assert_true(index->size > 100);
	assert_memory_equal(index->data, "<!doctype html>", 15);
	assert_non_null(memmem(js->data, js->size, "import ", 7));
	assert_true(srv_static_count >= 5);
	for (i = 0; i < srv_static_count; i++) {
		const struct srv_static_file *f = &srv_static_files[i];

		assert_ptr_equal(srv_static_find(f->name), f);
		assert_int_equal(strlen(f->etag), 34);
		assert_int_equal(f->etag[0], '"');
		assert_int_equal(f->etag[33], '"');
		assert_null(strchr(f->name, '/'));
	}
	assert_string_not_equal(index->etag, js->etag);
}

static void test_unknown_names(void **state)
{
	(void)state;
	assert_null(srv_static_find(""));
	assert_null(srv_static_find("missing.js"));
	assert_null(srv_static_find("../Makefile"));
	assert_null(srv_static_find("/index.html"));
	assert_null(srv_static_find("index.html/"));
	assert_null(srv_static_find("INDEX.HTML"));
}

static void test_types(void **state)
{
	(void)state;
	assert_string_equal(srv_static_type("index.html"), "text/html; charset=utf-8");
	assert_string_equal(srv_static_type("studio.js"), "text/javascript; charset=utf-8");
	assert_string_equal(srv_static_type("studio.css"), "text/css; charset=utf-8");
	assert_string_equal(srv_static_type("icon.svg"), "image/svg+xml");
	assert_string_equal(srv_static_type("frame.png"), "image/png");
	assert_string_equal(srv_static_type("notes.txt"), "application/octet-stream");
	assert_string_equal(srv_static_type(".js"), "application/octet-stream");
	assert_string_equal(srv_static_type("js"), "application/octet-stream");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded_files),
		cmocka_unit_test(test_unknown_names),
		cmocka_unit_test(test_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
