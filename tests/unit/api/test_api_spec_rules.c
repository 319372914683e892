/*
 * Tests of api/api_spec_rules.c: rules across fields (mask weights, repeated
 * frames, masks with mask_video, propagate's keyframes, order) and the frame
 * check against the clip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "api_test_util.h"

#define STAB(rest) "{\"mode\": \"stabilize\", \"video\": \"v.mp4\", " rest "}"
#define PROP(rest) "{\"mode\": \"propagate\", \"video\": \"v.mp4\", " rest "}"

static void test_mask_weight_defaults_to_global(void **state)
{
	api_spec *spec = parse_ok(STAB("\"cross_attention_weight\": 0.6, \"masks\": ["
				       "{\"frame\": 0, \"image\": \"a\"},"
				       "{\"frame\": 1, \"image\": \"b\", \"weight\": 0.85},"
				       "{\"frame\": 2, \"image\": \"c\", \"weight\": 0}]"));

	(void)state;
	assert_true(spec->masks[0].weight == 0.6);
	assert_false(spec->masks[0].weight_given);
	assert_true(spec->masks[1].weight == 0.85);
	assert_true(spec->masks[1].weight_given);
	assert_true(spec->masks[2].weight == 0);
	assert_true(spec->masks[2].weight_given);
	api_spec_free(spec);
}

static void test_sorted_by_frame(void **state)
{
	api_spec *spec = parse_ok(PROP("\"masks\": ["
				       "{\"frame\": 30, \"image\": \"m30\"},"
				       "{\"frame\": 4, \"image\": \"m4\", \"weight\": 0.2},"
				       "{\"frame\": 17, \"image\": \"m17\"}],"
				       "\"keyframes\": ["
				       "{\"frame\": 9, \"image\": \"e9\"},"
				       "{\"frame\": 1, \"image\": \"e1\"}]"));

	(void)state;
	assert_int_equal(spec->masks[0].frame, 4);
	assert_string_equal(spec->masks[0].image, "m4");
	assert_true(spec->masks[0].weight == 0.2);
	assert_int_equal(spec->masks[1].frame, 17);
	assert_string_equal(spec->masks[1].image, "m17");
	assert_int_equal(spec->masks[2].frame, 30);
	assert_string_equal(spec->masks[2].image, "m30");
	assert_int_equal(spec->keyframes[0].frame, 1);
	assert_string_equal(spec->keyframes[0].image, "e1");
	assert_int_equal(spec->keyframes[1].frame, 9);
	assert_string_equal(spec->keyframes[1].image, "e9");
	api_spec_free(spec);
}

static void test_duplicate_mask_frames(void **state)
{
	api_errors *errs = parse_fail(STAB("\"masks\": ["
					   "{\"frame\": 5, \"image\": \"a\"},"
					   "{\"frame\": 2, \"image\": \"b\"},"
					   "{\"frame\": 5, \"image\": \"c\"},"
					   "{\"frame\": 5, \"image\": \"d\"}]"));

	(void)state;
	assert_int_equal(errs->count, 2);
	assert_string_equal(errs->items[0].field, "masks[2].frame");
	assert_string_equal(errs->items[0].message,
			    "frame 5 is already used by masks[0]; give each frame once");
	assert_string_equal(errs->items[1].field, "masks[3].frame");
	assert_error(errs, "masks[3].frame", "already used by masks[0]");
	api_errors_free(errs);
}

static void test_duplicate_keyframe_frames(void **state)
{
	api_errors *errs = parse_fail(STAB("\"keyframes\": [{\"frame\": 8}, {\"frame\": 8}]"));

	(void)state;
	assert_int_equal(errs->count, 1);
	assert_error(errs, "keyframes[1].frame",
		     "frame 8 is already used by keyframes[0]");
	api_errors_free(errs);
}

static void test_invalid_frames_are_not_repeats(void **state)
{
	api_errors *errs = parse_fail(STAB("\"keyframes\": [{\"frame\": -1}, {\"frame\": -1},"
					   " {\"image\": \"x\"}, 4]"));

	(void)state;
	assert_int_equal(errs->count, 4);
	assert_error(errs, "keyframes[0].frame", "got -1");
	assert_error(errs, "keyframes[1].frame", "got -1");
	assert_error(errs, "keyframes[2].frame", "required");
	assert_error(errs, "keyframes[3]", "must be an object");
	api_errors_free(errs);
}

static void test_masks_and_mask_video_conflict(void **state)
{
	api_errors *errs = parse_fail(STAB("\"masks\": [{\"frame\": 0, \"image\": \"m\"}],"
					   " \"mask_video\": \"mv.mp4\""));

	(void)state;
	assert_int_equal(errs->count, 1);
	assert_error(errs, "mask_video", "give either masks");
	assert_error(errs, "mask_video", "not both");
	api_errors_free(errs);
}

static void test_mask_video_with_empty_masks(void **state)
{
	api_spec *spec = parse_ok(STAB("\"masks\": [], \"mask_video\": \"mv.mp4\""));

	(void)state;
	assert_string_equal(spec->mask_video, "mv.mp4");
	assert_int_equal(spec->n_masks, 0);
	api_spec_free(spec);
}

static void test_propagate_needs_keyframes(void **state)
{
	static const char *const specs[] = {
		PROP("\"steps\": 2"),
		PROP("\"keyframes\": []"),
	};
	api_errors *errs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		errs = parse_fail(specs[i]);
		assert_int_equal(errs->count, 1);
		assert_error(errs, "keyframes", "propagate needs at least one keyframe");
		api_errors_free(errs);
	}
}

static void test_propagate_keyframe_needs_image(void **state)
{
	api_errors *errs = parse_fail(PROP("\"keyframes\": [{\"frame\": 0, \"image\": \"e\"},"
					   " {\"frame\": 4}, {\"frame\": 9, \"image\": \"\"}]"));

	(void)state;
	assert_int_equal(errs->count, 2);
	assert_error(errs, "keyframes[1].image",
		     "required in propagate mode; give the edited image of this frame");
	assert_error(errs, "keyframes[2].image", "must be a non-empty string");
	api_errors_free(errs);
}

static void test_one_error_per_mistake(void **state)
{
	static const struct {
		const char *json;
		const char *field;
	} cases[] = {
		/* the mode is in doubt: no propagate rules */
		{ "{\"mode\": \"propagat\", \"video\": \"v\"}", "mode" },
		{ "{\"video\": \"v\", \"keyframes\": [{\"frame\": 0}]}", "mode" },
		/* keyframes already reported */
		{ PROP("\"keyframes\": {\"frame\": 0}"), "keyframes" },
		{ PROP("\"keyframes\": [3]"), "keyframes[0]" },
		/* an invalid mask_video is not also a conflict */
		{ STAB("\"masks\": [{\"frame\": 0, \"image\": \"m\"}], \"mask_video\": \"\""),
		  "mask_video" },
	};
	api_errors *errs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		errs = parse_fail(cases[i].json);
		if (errs->count != 1)
			print_error("case %zu: %zu errors\n", i, errs->count);
		assert_int_equal(errs->count, 1);
		assert_string_equal(errs->items[0].field, cases[i].field);
		api_errors_free(errs);
	}
}

static void test_stabilize_keyframes_optional(void **state)
{
	api_spec *spec = parse_ok(STAB("\"keyframes\": [{\"frame\": 12}, {\"frame\": 3, \"image\": \"r\"}]"));

	(void)state;
	assert_int_equal(spec->n_keyframes, 2);
	assert_int_equal(spec->keyframes[0].frame, 3);
	assert_string_equal(spec->keyframes[0].image, "r");
	assert_int_equal(spec->keyframes[1].frame, 12);
	assert_null(spec->keyframes[1].image);
	api_spec_free(spec);
}

static void test_check_frames_inside(void **state)
{
	api_spec *spec = parse_ok(PROP("\"masks\": [{\"frame\": 291, \"image\": \"m\"}],"
				       " \"keyframes\": [{\"frame\": 0, \"image\": \"e\"}]"));
	api_errors stale, *errs = &stale;

	(void)state;
	assert_int_equal(api_spec_check_frames(spec, 292, &errs), 0);
	assert_null(errs);
	api_spec_free(spec);
}

static void test_check_frames_past_end(void **state)
{
	api_spec *spec = parse_ok(PROP("\"masks\": [{\"frame\": 292, \"image\": \"m\"},"
				       " {\"frame\": 10, \"image\": \"m\"}],"
				       " \"keyframes\": [{\"frame\": 400, \"image\": \"e\"},"
				       " {\"frame\": 0, \"image\": \"e\"}]"));
	api_errors *errs;

	(void)state;
	assert_int_equal(api_spec_check_frames(spec, 292, &errs), -EINVAL);
	assert_non_null(errs);
	assert_int_equal(errs->count, 2);
	assert_string_equal(errs->items[0].field, "masks[1].frame");
	assert_string_equal(errs->items[0].message,
			    "frame 292 is past the end of the clip (292 frames, 0..291)");
	assert_string_equal(errs->items[1].field, "keyframes[1].frame");
	assert_string_equal(errs->items[1].message,
			    "frame 400 is past the end of the clip (292 frames, 0..291)");
	api_errors_free(errs);
	assert_int_equal(api_spec_check_frames(spec, 292, NULL), -EINVAL);
	api_spec_free(spec);
}

static void test_check_frames_empty_clip(void **state)
{
	api_spec *spec = parse_ok(PROP("\"keyframes\": [{\"frame\": 0, \"image\": \"e\"}]"));
	api_errors *errs;

	(void)state;
	assert_int_equal(api_spec_check_frames(spec, 0, &errs), -EINVAL);
	assert_int_equal(errs->count, 1);
	assert_error(errs, "keyframes[0].frame",
		     "frame 0 is past the end of the clip (it has no frames)");
	api_errors_free(errs);
	api_spec_free(spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_weight_defaults_to_global),
		cmocka_unit_test(test_sorted_by_frame),
		cmocka_unit_test(test_duplicate_mask_frames),
		cmocka_unit_test(test_duplicate_keyframe_frames),
		cmocka_unit_test(test_invalid_frames_are_not_repeats),
		cmocka_unit_test(test_masks_and_mask_video_conflict),
		cmocka_unit_test(test_mask_video_with_empty_masks),
		cmocka_unit_test(test_propagate_needs_keyframes),
		cmocka_unit_test(test_propagate_keyframe_needs_image),
		cmocka_unit_test(test_one_error_per_mistake),
		cmocka_unit_test(test_stabilize_keyframes_optional),
		cmocka_unit_test(test_check_frames_inside),
		cmocka_unit_test(test_check_frames_past_end),
		cmocka_unit_test(test_check_frames_empty_clip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
