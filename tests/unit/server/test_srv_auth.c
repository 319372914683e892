/* Tests of server/srv_auth.c: bearer keys checked against their hashes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_auth.h"

static void test_off(void **state)
{
	srv_auth *auth = srv_auth_create(NULL);
	char owner[SRV_HASH_LEN + 1] = "x";

	(void)state;
	assert_false(srv_auth_enabled(auth));
	assert_int_equal(srv_auth_check(auth, NULL, owner), 0);
	assert_string_equal(owner, "");
	srv_auth_free(auth);
	auth = srv_auth_create(" , ");
	assert_false(srv_auth_enabled(auth));
	srv_auth_free(auth);
}

static void test_keys(void **state)
{
	srv_auth *auth = srv_auth_create(" alpha ,beta,,gamma");
	char owner[SRV_HASH_LEN + 1], alpha[SRV_HASH_LEN + 1];

	(void)state;
	assert_true(srv_auth_enabled(auth));
	assert_int_equal(srv_auth_check(auth, "Bearer alpha", owner), 0);
	srv_hash_hex(alpha, "alpha", 5);
	assert_string_equal(owner, alpha);
	assert_int_equal(srv_auth_check(auth, "bearer gamma", owner), 0);
	assert_int_equal(srv_auth_check(auth, "Bearer beta", owner), 0);
	assert_string_not_equal(owner, alpha);
	assert_int_equal(srv_auth_check(auth, NULL, owner), -EACCES);
	assert_int_equal(srv_auth_check(auth, "Bearer ", owner), -EACCES);
	assert_int_equal(srv_auth_check(auth, "Bearer alph", owner), -EACCES);
	assert_int_equal(srv_auth_check(auth, "Bearer alpha ", owner), -EACCES);
	assert_int_equal(srv_auth_check(auth, "Basic alpha", owner), -EACCES);
	assert_string_equal(owner, "");
	srv_auth_free(auth);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
