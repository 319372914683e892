/*
 * Unit tests of masks/mask_schedule: which anchors govern a frame, the blend
 * factor between them, and the blended weight.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "masks/mask_schedule.h"

#define EPS 1e-6f

static const struct mask_anchor three[] = {
	{ .frame = 0, .weight = 0.8f },
	{ .frame = 10, .weight = 0.4f },
	{ .frame = 30, .weight = 1.0f },
};

#define THREE (sizeof(three) / sizeof(three[0]))

/* Checks the span of frame against the expected prev, next and t. */
static void check_span(const struct mask_anchor *anchors, size_t count,
		       int frame, int prev, int next, float t)
{
	struct mask_span span;

	assert_int_equal(mask_schedule_span(anchors, count, frame, &span), 0);
	if (span.prev != prev || span.next != next || fabsf(span.t - t) > EPS)
		fail_msg("frame %d: span (%d, %d, %f), want (%d, %d, %f)",
			 frame, span.prev, span.next, (double)span.t, prev,
			 next, (double)t);
}

static float weight_at(const struct mask_anchor *anchors, size_t count,
		       int frame)
{
	struct mask_span span;

	assert_int_equal(mask_schedule_span(anchors, count, frame, &span), 0);
	return mask_schedule_weight(anchors, &span);
}

static void test_no_anchors(void **state)
{
	(void)state;
	check_span(NULL, 0, 5, -1, -1, 0);
	assert_float_equal(weight_at(NULL, 0, 5), 0.0f, EPS);
}

static void test_single_anchor_governs_everywhere(void **state)
{
	static const struct mask_anchor one[] = { { .frame = 10, .weight = 0.9f } };

	(void)state;
	check_span(one, 1, 0, 0, -1, 0);
	check_span(one, 1, 10, 0, -1, 0);
	check_span(one, 1, 500, 0, -1, 0);
	assert_float_equal(weight_at(one, 1, 0), 0.9f, EPS);
	assert_float_equal(weight_at(one, 1, 500), 0.9f, EPS);
}

static void test_before_first_only_first(void **state)
{
	static const struct mask_anchor late[] = {
		{ .frame = 20, .weight = 0.3f },
		{ .frame = 40, .weight = 0.7f },
	};

	(void)state;
	check_span(late, 2, 0, 0, -1, 0);
	check_span(late, 2, 19, 0, -1, 0);
	check_span(late, 2, -100, 0, -1, 0);
	assert_float_equal(weight_at(late, 2, 5), 0.3f, EPS);
}

static void test_between_anchors(void **state)
{
	(void)state;
	check_span(three, THREE, 5, 0, 1, 0.5f);
	check_span(three, THREE, 1, 0, 1, 0.1f);
	check_span(three, THREE, 9, 0, 1, 0.9f);
	check_span(three, THREE, 25, 1, 2, 0.75f);
	assert_float_equal(weight_at(three, THREE, 5), 0.6f, EPS);
	assert_float_equal(weight_at(three, THREE, 25), 0.85f, EPS);
}

static void test_exactly_at_anchors(void **state)
{
	(void)state;
	check_span(three, THREE, 0, 0, 1, 0);
	check_span(three, THREE, 10, 1, 2, 0);
	assert_float_equal(weight_at(three, THREE, 0), 0.8f, EPS);
	assert_float_equal(weight_at(three, THREE, 10), 0.4f, EPS);
	assert_float_equal(weight_at(three, THREE, 30), 1.0f, EPS);
}

static void test_after_last_only_last(void **state)
{
	(void)state;
	check_span(three, THREE, 30, 2, -1, 0);
	check_span(three, THREE, 31, 2, -1, 0);
	check_span(three, THREE, INT_MAX, 2, -1, 0);
	assert_float_equal(weight_at(three, THREE, 1000), 1.0f, EPS);
}

static void test_extreme_frames_do_not_overflow(void **state)
{
	static const struct mask_anchor wide[] = {
		{ .frame = INT_MIN, .weight = 0 },
		{ .frame = INT_MAX, .weight = 1 },
	};

	(void)state;
	check_span(wide, 2, 0, 0, 1, 0.5f);
	assert_float_equal(weight_at(wide, 2, 0), 0.5f, EPS);
}

static void test_unsorted_or_duplicate_rejected(void **state)
{
	static const struct mask_anchor unsorted[] = {
		{ .frame = 10, .weight = 1 }, { .frame = 5, .weight = 1 },
	};
	static const struct mask_anchor twice[] = {
		{ .frame = 0, .weight = 1 }, { .frame = 7, .weight = 1 },
		{ .frame = 7, .weight = 0.5f },
	};
	struct mask_span span;

	(void)state;
	assert_int_equal(mask_schedule_span(unsorted, 2, 7, &span), -EINVAL);
	assert_int_equal(mask_schedule_span(twice, 3, 7, &span), -EINVAL);
}

static void test_bad_arguments(void **state)
{
	struct mask_span span = { .prev = -1, .next = -1 };

	(void)state;
	assert_int_equal(mask_schedule_span(three, THREE, 5, NULL), -EINVAL);
	assert_int_equal(mask_schedule_span(NULL, 2, 5, &span), -EINVAL);
	assert_float_equal(mask_schedule_weight(NULL, &span), 0.0f, EPS);
	assert_float_equal(mask_schedule_weight(three, NULL), 0.0f, EPS);
	assert_float_equal(mask_schedule_weight(three, &span), 0.0f, EPS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_anchors),
		cmocka_unit_test(test_single_anchor_governs_everywhere),
		cmocka_unit_test(test_before_first_only_first),
		cmocka_unit_test(test_between_anchors),
		cmocka_unit_test(test_exactly_at_anchors),
		cmocka_unit_test(test_after_last_only_last),
		cmocka_unit_test(test_extreme_frames_do_not_overflow),
		cmocka_unit_test(test_unsorted_or_duplicate_rejected),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
