/* Tests of server/srv_hash.c: SHA-256 hex and comparison. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_hash.h"

static void test_sha256(void **state)
{
	char hex[SRV_HASH_LEN + 1], streamed[SRV_HASH_LEN + 1];
	struct sha256_ctx ctx;

	(void)state;
	srv_hash_hex(hex, "abc", 3);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_init(&ctx);
	sha256_update(&ctx, 1, (const uint8_t *)"a");
	sha256_update(&ctx, 2, (const uint8_t *)"bc");
	srv_hash_finish(&ctx, streamed);
	assert_string_equal(streamed, hex);
	assert_true(srv_hash_equal(hex, streamed));
	streamed[10] ^= 1;
	assert_false(srv_hash_equal(hex, streamed));
	assert_false(srv_hash_equal(hex, ""));
	assert_false(srv_hash_equal("", ""));
}

/* RFC 4231, test case 2; the message given in two parts. */
static void test_hmac(void **state)
{
	const char *parts[] = { "what do ya want ", "for nothing?" };
	char hex[SRV_HASH_LEN + 1];

	(void)state;
	srv_hmac_hex(hex, "Jefe", parts, 2);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_hmac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
