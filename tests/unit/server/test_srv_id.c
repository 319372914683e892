/* Tests of server/srv_id.c: random 128-bit ids as hex. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_id.h"

static void test_new_ids(void **state)
{
	char a[SRV_ID_LEN + 1], b[SRV_ID_LEN + 1];

	(void)state;
	assert_int_equal(srv_id_new(a), 0);
	assert_int_equal(srv_id_new(b), 0);
	assert_int_equal(strlen(a), 32);
	assert_true(srv_id_valid(a));
	assert_true(srv_id_valid(b));
	assert_string_not_equal(a, b);
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(srv_id_valid("0123456789abcdef0123456789abcdef"));
	assert_false(srv_id_valid("0123456789ABCDEF0123456789abcdef"));
	assert_false(srv_id_valid("0123456789abcdef0123456789abcde"));
	assert_false(srv_id_valid("0123456789abcdef0123456789abcdef0"));
	assert_false(srv_id_valid("../../etc/passwd0123456789abcdef"));
	assert_false(srv_id_valid(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_ids),
		cmocka_unit_test(test_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
