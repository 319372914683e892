/* Tests of server/srv_idem.c: Idempotency-Key bookkeeping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "server/srv_idem.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define JOB_1  "00000000000000000000000000000001"
#define JOB_2  "00000000000000000000000000000002"

static void test_new_same_conflict(void **state)
{
	srv_idem *idem = srv_idem_create();
	char found[SRV_ID_LEN + 1] = "";

	(void)state;
	assert_int_equal(srv_idem_claim(idem, "", "k", HASH_A, JOB_1, found), SRV_IDEM_NEW);
	assert_int_equal(srv_idem_claim(idem, "", "k", HASH_A, JOB_2, found), SRV_IDEM_SAME);
	assert_string_equal(found, JOB_1);
	assert_int_equal(srv_idem_claim(idem, "", "k", HASH_B, JOB_2, found),
			 SRV_IDEM_CONFLICT);
	srv_idem_free(idem);
}

static void test_owners_are_separate(void **state)
{
	srv_idem *idem = srv_idem_create();
	char found[SRV_ID_LEN + 1];

	(void)state;
	assert_int_equal(srv_idem_claim(idem, "alice", "k", HASH_A, JOB_1, found), SRV_IDEM_NEW);
	assert_int_equal(srv_idem_claim(idem, "bob", "k", HASH_B, JOB_2, found), SRV_IDEM_NEW);
	assert_int_equal(srv_idem_claim(idem, "bob", "k", HASH_B, JOB_1, found), SRV_IDEM_SAME);
	assert_string_equal(found, JOB_2);
	srv_idem_free(idem);
}

static void test_forget(void **state)
{
	srv_idem *idem = srv_idem_create();
	char found[SRV_ID_LEN + 1], key[16];
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(srv_idem_claim(idem, "", key, HASH_A, JOB_1, found),
				 SRV_IDEM_NEW);
	}
	srv_idem_forget(idem, "", "k0");
	srv_idem_forget(idem, "", "absent");
	assert_int_equal(srv_idem_claim(idem, "", "k0", HASH_B, JOB_2, found), SRV_IDEM_NEW);
	assert_int_equal(srv_idem_claim(idem, "", "k39", HASH_A, JOB_2, found), SRV_IDEM_SAME);
	assert_string_equal(found, JOB_1);
	srv_idem_free(idem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_same_conflict),
		cmocka_unit_test(test_owners_are_separate),
		cmocka_unit_test(test_forget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
