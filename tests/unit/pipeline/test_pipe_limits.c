/* pipe_limits: each limit refuses one over it and accepts one at it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline/pipe_limits.h"

static void expect_big(int ret, const char *err, const char *needle)
{
	assert_int_equal(ret, -EFBIG);
	if (!strstr(err, needle))
		fail_msg("\"%s\" does not say \"%s\"", err, needle);
}

static void test_size(void **state)
{
	struct pipe_limits lim = { .max_width = 640, .max_height = 480,
				   .max_pixels = 640 * 360 };
	char err[256] = "";

	(void)state;
	assert_int_equal(pipe_limits_check_size(&lim, "a.mp4", 640, 360, err,
						sizeof(err)), 0);
	expect_big(pipe_limits_check_size(&lim, "a.mp4", 641, 10, err, sizeof(err)),
		   err, "a.mp4: 641x10 is over the limit of 640x480");
	expect_big(pipe_limits_check_size(&lim, "a.mp4", 10, 481, err, sizeof(err)),
		   err, "over the limit of 640x480");
	expect_big(pipe_limits_check_size(&lim, "a.mp4", 640, 361, err, sizeof(err)),
		   err, "over the limit of 230400 pixels");
	lim = (struct pipe_limits){ 0 };
	assert_int_equal(pipe_limits_check_size(&lim, "a.mp4", 1 << 20, 1 << 20,
						err, sizeof(err)), 0);
}

static void test_clip(void **state)
{
	/* 64x64 yuv420p decodes to 6144 bytes a frame */
	struct pipe_limits lim = { .max_frames = 100, .max_duration = 10,
				   .max_decoded = 6144 * 50 };
	char err[256] = "";

	(void)state;
	assert_int_equal(pipe_limits_check_clip(&lim, "c", 64, 64, AV_PIX_FMT_YUV420P,
						50, 10, err, sizeof(err)), 0);
	expect_big(pipe_limits_check_clip(&lim, "c", 64, 64, AV_PIX_FMT_YUV420P,
					  101, 1, err, sizeof(err)),
		   err, "c: 101 frames is over the limit of 100");
	expect_big(pipe_limits_check_clip(&lim, "c", 64, 64, AV_PIX_FMT_YUV420P,
					  1, 10.5, err, sizeof(err)),
		   err, "seconds is over the limit of 10");
	expect_big(pipe_limits_check_clip(&lim, "c", 64, 64, AV_PIX_FMT_YUV420P,
					  51, 1, err, sizeof(err)),
		   err, "51 frames of 64x64 decode to more than the limit of 307200 bytes");
	/* unknown frame count and duration pass */
	assert_int_equal(pipe_limits_check_clip(&lim, "c", 64, 64, AV_PIX_FMT_YUV444P,
						0, 0, err, sizeof(err)), 0);
}

static void test_for_images(void **state)
{
	struct mask_limits ml;

	(void)state;
	pipe_limits_for_images(&pipe_limits_default, &ml);
	assert_int_equal(ml.max_width, 8192);
	assert_int_equal(ml.max_height, 8192);
	assert_int_equal(ml.max_pixels, 8192 * 4320);
	assert_true(ml.max_bytes >= ml.max_pixels * 8);
	pipe_limits_for_images(NULL, &ml);
	assert_int_equal(ml.max_width, 0);
	assert_int_equal(ml.max_pixels, 0);
	assert_int_equal(ml.max_bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_clip),
		cmocka_unit_test(test_for_images),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
