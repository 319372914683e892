/*
 * Tests of pipeline/pipe_heatmap.c: the colour map, and heatmap videos
 * decoded back by ffmpeg: frame count and timestamps as given, low entropy
 * dark and high bright, outside the mask gray with a white outline, and
 * coverage as gray levels.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <cmocka.h>

#include "pipeline/pipe_heatmap.h"
#include "tests/unit/pipeline/pipe_test_media.h"

#define W 64
#define H 48
#define FRAMES 3

static struct media_dir dir;

static int setup(void **state)
{
	(void)state;
	return media_dir_create(&dir);
}

static int teardown(void **state)
{
	(void)state;
	media_dir_remove(&dir);
	return 0;
}

/* A 24 fps source of W x H, BT.709 limited range, no stream. */
static struct pipe_video_info info_make(void)
{
	struct pipe_video_info info = {
		.width = W, .height = H, .time_base = { 1, 24 }, .frame_rate = { 24, 1 },
		.colorspace = AVCOL_SPC_BT709, .color_range = AVCOL_RANGE_MPEG,
		.color_primaries = AVCOL_PRI_BT709, .color_trc = AVCOL_TRC_BT709,
		.sample_aspect_ratio = { 0, 1 },
	};

	return info;
}

static void test_colour_map(void **state)
{
	uint8_t lo[3], hi[3], mid[3], over[3];

	(void)state;
	pipe_heatmap_colour(0.0f, lo);
	pipe_heatmap_colour(1.0f, hi);
	pipe_heatmap_colour(0.5f, mid);
	pipe_heatmap_colour(7.0f, over);
	assert_true(lo[0] == 0 && lo[1] == 0 && lo[2] == 4);
	assert_true(hi[0] == 252 && hi[1] == 255 && hi[2] == 164);
	assert_true(mid[0] == 188 && mid[1] == 55 && mid[2] == 84);
	assert_memory_equal(over, hi, 3);
	pipe_heatmap_colour(NAN, over);
	assert_memory_equal(over, lo, 3);
}

/* Mean of the luma of frame f of raw gray frames over [x0, x1) x [y0, y1). */
static double luma_mean(const uint8_t *raw, int f, int x0, int y0, int x1, int y1)
{
	double sum = 0;

	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			sum += raw[(size_t)f * W * H + (size_t)y * W + x];
	return sum / ((x1 - x0) * (y1 - y0));
}

/*
 * Left half entropy 0, right half the scale; a mask with a border of 8
 * pixels uncovered (no queries there).
 */
static void test_entropy_video(void **state)
{
	struct pipe_video_info info = info_make();
	float *map = malloc(sizeof(float) * W * H), *cover = malloc(sizeof(float) * W * H);
	struct media_pts pts;
	pipe_heatmap *h;
	char err[256] = "";
	uint8_t *raw;
	size_t len;

	(void)state;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			int in = x >= 8 && x < W - 8 && y >= 8 && y < H - 8;

			cover[y * W + x] = in;
			map[y * W + x] = !in ? NAN : x < W / 2 ? 0.0f : 2.0f;
		}
	assert_int_equal(pipe_heatmap_open(media_path(&dir, "attention.mp4"), &info,
					   PIPE_HEAT_ENTROPY, 2.0f, &h, err, sizeof(err)), 0);
	for (int f = 0; f < FRAMES; f++)
		assert_int_equal(pipe_heatmap_frame(h, map, cover, f, err, sizeof(err)), 0);
	assert_int_equal(pipe_heatmap_finish(h, err, sizeof(err)), 0);
	pipe_heatmap_free(h);

	assert_int_equal(media_video_pts(media_path(&dir, "attention.mp4"), &pts), 0);
	assert_int_equal(pts.n, FRAMES);
	for (int f = 0; f < FRAMES; f++)
		assert_true(media_same_time(pts.pts[f], pts.tb, f, info.time_base));
	raw = media_raw(media_path(&dir, "attention.mp4"), "gray", &len);
	assert_non_null(raw);
	assert_int_equal(len, (size_t)FRAMES * W * H);
	for (int f = 0; f < FRAMES; f++) {
		assert_true(luma_mean(raw, f, 12, 12, W / 2 - 4, H - 12) < 30);
		assert_true(luma_mean(raw, f, W / 2 + 4, 12, W - 12, H - 12) > 200);
		assert_true(fabs(luma_mean(raw, f, 0, 0, W, 4) - PIPE_HEAT_OUTSIDE) < 12);
		assert_true(luma_mean(raw, f, W / 2 + 4, 8, W - 12, 9) > 220);
	}
	free(raw);
	free(map);
	free(cover);
}

/* Coverage 0, 0.5 and 1 in thirds: gray 0, 128, 255 (limited range stretched back). */
static void test_coverage_video(void **state)
{
	struct pipe_video_info info = info_make();
	float *cover = malloc(sizeof(float) * W * H);
	pipe_heatmap *h;
	char err[256] = "";
	uint8_t *raw;
	size_t len;

	(void)state;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			cover[y * W + x] = y < H / 3 ? 0.0f : y < 2 * H / 3 ? 0.5f : 1.0f;
	assert_int_equal(pipe_heatmap_open(media_path(&dir, "mask.mp4"), &info,
					   PIPE_HEAT_COVERAGE, 0.0f, &h, err, sizeof(err)), 0);
	assert_int_equal(pipe_heatmap_frame(h, cover, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(pipe_heatmap_frame(h, NULL, NULL, 1, err, sizeof(err)), 0);
	assert_int_equal(pipe_heatmap_finish(h, err, sizeof(err)), 0);
	pipe_heatmap_free(h);
	raw = media_raw(media_path(&dir, "mask.mp4"), "gray", &len);
	assert_int_equal(len, (size_t)2 * W * H);
	assert_true(luma_mean(raw, 0, 0, 2, W, H / 3 - 2) < 6);
	assert_true(fabs(luma_mean(raw, 0, 0, H / 3 + 2, W, 2 * H / 3 - 2) - 128) < 6);
	assert_true(luma_mean(raw, 0, 0, 2 * H / 3 + 2, W, H) > 249);
	assert_true(luma_mean(raw, 1, 0, 0, W, H) > 249);
	free(raw);
	free(cover);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_colour_map),
		cmocka_unit_test(test_entropy_video),
		cmocka_unit_test(test_coverage_video),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
