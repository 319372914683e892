/* Tests of server/srv_buf.c: the growable text buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_buf.h"

static void test_grows(void **state)
{
	struct srv_buf b = { 0 };
	char *text;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++)
		srv_buf_printf(&b, "%04d\n", i);
	text = srv_buf_take(&b);
	assert_int_equal(strlen(text), 5000);
	assert_memory_equal(text + 4995, "0999\n", 5);
	assert_null(b.data);
	free(text);
	text = srv_buf_take(&b);
	assert_string_equal(text, "");
	free(text);
}

static void test_failure_is_sticky(void **state)
{
	struct srv_buf b = { 0 };

	(void)state;
	srv_buf_printf(&b, "kept");
	b.failed = true;
	srv_buf_printf(&b, "dropped");
	assert_null(srv_buf_take(&b));
	assert_false(b.failed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows),
		cmocka_unit_test(test_failure_is_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
