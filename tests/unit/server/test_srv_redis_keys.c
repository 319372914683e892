/* Tests of server/srv_redis_keys.c: key names and the job scripts' key order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_redis_keys.h"

#define ID "0123456789abcdef0123456789abcdef"

static void test_names(void **state)
{
	char key[SRV_REDIS_KEY_LEN], idem[SRV_REDIS_IDEM_LEN];
	char long_key[SRV_REDIS_IDEM_KEY_MAX + 2];

	(void)state;
	srv_redis_key_job(ID, key);
	assert_string_equal(key, "maskattn:job:" ID);
	srv_redis_key_status(SRV_CANCELED, key);
	assert_string_equal(key, "maskattn:status:canceled");
	srv_redis_key_owner("", key);
	assert_string_equal(key, "maskattn:owner:-");
	srv_redis_key_owner("ab12", key);
	assert_string_equal(key, "maskattn:owner:ab12");
	assert_int_equal(srv_redis_key_idem("", "retry 1", idem), 0);
	assert_string_equal(idem, "maskattn:idem:-:retry 1");
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	assert_int_equal(srv_redis_key_idem("", long_key, idem), -EINVAL);
	long_key[SRV_REDIS_IDEM_KEY_MAX] = '\0';
	assert_int_equal(srv_redis_key_idem("ab", long_key, idem), 0);
	assert_int_equal(strlen(idem), strlen("maskattn:idem:ab:") + SRV_REDIS_IDEM_KEY_MAX);
}

/* The order the Lua scripts rely on (SRV_REDIS_LUA_KEYS). */
static void test_script_keys(void **state)
{
	struct srv_redis_keys k;

	(void)state;
	assert_int_equal(srv_redis_keys_job(&k, ID, "", NULL), 0);
	assert_int_equal(k.n, 9);
	assert_string_equal(k.argv[0], "maskattn:status:queued");
	assert_string_equal(k.argv[1], "maskattn:status:running");
	assert_string_equal(k.argv[4], "maskattn:status:canceled");
	assert_string_equal(k.argv[5], "maskattn:job:" ID);
	assert_string_equal(k.argv[6], "maskattn:queue");
	assert_string_equal(k.argv[7], "maskattn:finished");
	assert_string_equal(k.argv[8], "maskattn:owner:-");
	assert_int_equal(srv_redis_keys_job(&k, ID, "ab", "key-1"), 0);
	assert_int_equal(k.n, 10);
	assert_string_equal(k.argv[9], "maskattn:idem:ab:key-1");
	assert_non_null(strstr(SRV_REDIS_LUA_KEYS, "KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_script_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
