/* Tests of server/srv_range.c: Range, If-None-Match, If-Range. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/srv_range.h"

static void expect(const char *header, uint64_t size, enum srv_range_kind kind,
		   uint64_t start, uint64_t len)
{
	uint64_t s = 12345, l = 12345;

	assert_int_equal(srv_range_parse(header, size, &s, &l), kind);
	if (kind == SRV_RANGE_PARTIAL) {
		assert_int_equal(s, start);
		assert_int_equal(l, len);
	}
}

static void test_ranges(void **state)
{
	(void)state;
	expect(NULL, 100, SRV_RANGE_FULL, 0, 0);
	expect("bytes=0-9", 100, SRV_RANGE_PARTIAL, 0, 10);
	expect("bytes=90-", 100, SRV_RANGE_PARTIAL, 90, 10);
	expect("bytes=90-500", 100, SRV_RANGE_PARTIAL, 90, 10);
	expect("bytes=-10", 100, SRV_RANGE_PARTIAL, 90, 10);
	expect("bytes=-500", 100, SRV_RANGE_PARTIAL, 0, 100);
	expect("bytes=5-5", 100, SRV_RANGE_PARTIAL, 5, 1);
}

static void test_unsatisfiable(void **state)
{
	(void)state;
	expect("bytes=100-", 100, SRV_RANGE_UNSATISFIABLE, 0, 0);
	expect("bytes=100-200", 100, SRV_RANGE_UNSATISFIABLE, 0, 0);
	expect("bytes=-0", 100, SRV_RANGE_UNSATISFIABLE, 0, 0);
	expect("bytes=0-", 0, SRV_RANGE_UNSATISFIABLE, 0, 0);
	expect("bytes=-5", 0, SRV_RANGE_UNSATISFIABLE, 0, 0);
}

static void test_ignored(void **state)
{
	(void)state;
	expect("bytes=0-1,4-5", 100, SRV_RANGE_FULL, 0, 0);
	expect("items=0-1", 100, SRV_RANGE_FULL, 0, 0);
	expect("bytes=9-5", 100, SRV_RANGE_FULL, 0, 0);
	expect("bytes=a-b", 100, SRV_RANGE_FULL, 0, 0);
	expect("bytes=", 100, SRV_RANGE_FULL, 0, 0);
	expect("bytes=-", 100, SRV_RANGE_FULL, 0, 0);
	expect("bytes=- 5", 100, SRV_RANGE_FULL, 0, 0);
	expect("bytes=99999999999999999999-", 100, SRV_RANGE_FULL, 0, 0);
}

static void test_etags(void **state)
{
	const char *etag = "\"1a-2b\"";

	(void)state;
	assert_true(srv_etag_matches("\"1a-2b\"", etag));
	assert_true(srv_etag_matches("W/\"1a-2b\"", etag));
	assert_true(srv_etag_matches("\"x\", \"1a-2b\"", etag));
	assert_true(srv_etag_matches("*", etag));
	assert_false(srv_etag_matches(NULL, etag));
	assert_false(srv_etag_matches("\"1a-2\"", etag));
	assert_false(srv_etag_matches("1a-2b", etag));
	assert_false(srv_etag_matches("\"unterminated", etag));
	assert_true(srv_if_range_allows(NULL, etag));
	assert_true(srv_if_range_allows("\"1a-2b\"", etag));
	assert_false(srv_if_range_allows("W/\"1a-2b\"", etag));
	assert_false(srv_if_range_allows("Tue, 01 Jan 2030 00:00:00 GMT", etag));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_unsatisfiable),
		cmocka_unit_test(test_ignored),
		cmocka_unit_test(test_etags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
