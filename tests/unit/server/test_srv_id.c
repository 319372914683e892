/* Tests of server/srv_id.c: random 128-bit ids as hex. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
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

/* Draws for the statistical checks: enough that a biased bit stands out. */
#define DRAWS 100000

static int compare_ids(const void *a, const void *b)
{
	return memcmp(a, b, SRV_ID_LEN);
}

static int hex_value(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/*
 * DRAWS ids: each 32 lowercase hex digits, all distinct, and each of the
 * 128 bits set in half of them. One bit's count has a standard deviation
 * of sqrt(DRAWS / 4) = 158; the bound is 6 of them (a false alarm about
 * once in 4 million runs over all 128 bits), while a bit set in 51 % of
 * the ids is 6.3 off and a stuck one 316.
 */
static void test_many_ids(void **state)
{
	char (*ids)[SRV_ID_LEN + 1] = malloc(DRAWS * sizeof(*ids));
	long ones[SRV_ID_LEN * 4] = { 0 };
	long total = 0;
	int i, j, b;

	(void)state;
	assert_non_null(ids);
	for (i = 0; i < DRAWS; i++) {
		assert_int_equal(srv_id_new(ids[i]), 0);
		assert_int_equal(strlen(ids[i]), SRV_ID_LEN);
		for (j = 0; j < SRV_ID_LEN; j++) {
			assert_non_null(strchr("0123456789abcdef", ids[i][j]));
			for (b = 0; b < 4; b++)
				ones[j * 4 + b] += (hex_value(ids[i][j]) >> b) & 1;
		}
	}
	for (b = 0; b < SRV_ID_LEN * 4; b++) {
		assert_in_range(ones[b], DRAWS / 2 - 6 * 158, DRAWS / 2 + 6 * 158);
		total += ones[b];
	}
	/* All bits together: 128 * DRAWS / 2, deviation sqrt(128 * DRAWS / 4) = 1789. */
	assert_in_range(total, 64L * DRAWS - 6 * 1789, 64L * DRAWS + 6 * 1789);
	qsort(ids, DRAWS, sizeof(*ids), compare_ids);
	for (i = 1; i < DRAWS; i++)
		assert_int_not_equal(memcmp(ids[i - 1], ids[i], SRV_ID_LEN), 0);
	free(ids);
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
		cmocka_unit_test(test_many_ids),
		cmocka_unit_test(test_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
