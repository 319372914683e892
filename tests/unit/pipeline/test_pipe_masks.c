/*
 * pipe_masks: PNG masks at keyframes blended linearly between anchors,
 * their weights, anchor lookup, resizing to the clip and the clip's
 * rotation; a gray FFV1 mask video read by both cursors, and one too short
 * for the clip.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline/pipe_masks.h"
#include "tests/unit/pipeline/pipe_test_job.h"
#include "tests/unit/pipeline/pipe_test_media.h"

#define W 96
#define H 64
#define N (W * H)

static struct media_dir dir;

/*
 * Mask videos: frame i is gray 20 i; a 3-frame one; one in display
 * orientation for a clip rotated 90 degrees (64x96, top-left quadrant white).
 */
static const char *const clips[][2] = {
	{ "levels.mkv", "-f lavfi -i color=c=black:s=96x64:r=10:d=0.8 -vf format=gray,geq=lum=N*20 -c:v ffv1 -pix_fmt gray" },
	{ "short.mkv", "-f lavfi -i color=c=white:s=96x64:r=10:d=0.3 -vf format=gray -c:v ffv1 -pix_fmt gray" },
	{ "upright.mkv", "-f lavfi -i color=c=black:s=64x96:r=10:d=0.2 -vf format=gray,geq=lum='if(lt(X\\,32)*lt(Y\\,48)\\,255\\,0)' -c:v ffv1 -pix_fmt gray" },
};

static int make_media(void **state)
{
	uint8_t half[192 * 128];

	(void)state;
	av_log_set_level(AV_LOG_QUIET);
	if (media_dir_create(&dir))
		return -1;
	for (int i = 0; i < 192 * 128; i++)
		half[i] = i % 192 < 96 ? 255 : 0;
	if (media_make_all(&dir, clips, sizeof(clips) / sizeof(clips[0])) ||
	    png_write_flat(media_path(&dir, "black.png"), W, H, 0) ||
	    png_write_flat(media_path(&dir, "white_small.png"), 48, 32, 255) ||
	    png_write(media_path(&dir, "left_big.png"), 192, 128, 1, half) ||
	    text_write(media_path(&dir, "not_png.png"), "not a picture\n")) {
		media_dir_remove(&dir);
		return -1;
	}
	return 0;
}

static int remove_media(void **state)
{
	(void)state;
	media_dir_remove(&dir);
	return 0;
}

/* Opens the masks of spec with files named in the media folder. */
static int open_masks(const api_spec *spec, const char *const *names,
		      const char *video, int rotation, pipe_masks **out, char *err)
{
	const char *paths[4] = { 0 };
	char store[4][2 * MEDIA_PATH_MAX];
	struct pipe_video_info info = { .width = W, .height = H, .rotation = rotation };
	struct pipe_job_files files = { .mask_images = paths };
	char video_path[2 * MEDIA_PATH_MAX];

	assert_true(spec->n_masks <= 4);
	for (size_t i = 0; i < spec->n_masks; i++) {
		snprintf(store[i], sizeof(store[i]), "%s/%s", dir.path, names[i]);
		paths[i] = store[i];
	}
	if (video) {
		snprintf(video_path, sizeof(video_path), "%s/%s", dir.path, video);
		files.mask_video = video_path;
	}
	err[0] = '\0';
	return pipe_masks_open(spec, &files, &info, &pipe_limits_default, out, err, 256);
}

static void assert_uniform(const float *cov, float want)
{
	for (int i = 0; i < N; i++)
		if (fabsf(cov[i] - want) > 1e-5f)
			fail_msg("pixel %d: %.6f, want %.6f", i, (double)cov[i], (double)want);
}

static void test_no_masks_cover_everything(void **state)
{
	api_spec *spec = spec_parse("{\"mode\": \"stabilize\", \"video\": \"c.mp4\","
				    " \"cross_attention_weight\": 0.5}");
	float *cov = malloc(sizeof(float) * N);
	pipe_masks *m;
	char err[256];

	(void)state;
	assert_int_equal(open_masks(spec, NULL, NULL, 0, &m, err), 0);
	assert_true(pipe_masks_none(m));
	assert_false(pipe_masks_tracked(m));
	assert_null(pipe_masks_anchor(m, 0));
	assert_float_equal(pipe_masks_weight(m, 3), 0.5f, 1e-6);
	assert_int_equal(pipe_masks_at(m, PIPE_MASK_MAIN, 4, cov, err, sizeof(err)), 0);
	assert_uniform(cov, 1.0f);
	pipe_masks_free(m);
	api_spec_free(spec);
	free(cov);
}

/* Black at frame 2, white at frame 6: a linear ramp between, the nearest outside. */
static void test_linear_blend_between_anchors(void **state)
{
	api_spec *spec = spec_parse("{\"mode\": \"stabilize\", \"video\": \"c.mp4\", \"mask_mode\": \"linear\","
				    " \"masks\": [{\"frame\": 6, \"image\": \"w.png\"}, {\"frame\": 2, \"image\": \"b.png\"}]}");
	const char *names[] = { "black.png", "white_small.png" };
	static const float want[10] = { 0, 0, 0, 0.25f, 0.5f, 0.75f, 1, 1, 1, 1 };
	float *cov = malloc(sizeof(float) * N);
	pipe_masks *m;
	char err[256];

	(void)state;
	assert_int_equal(open_masks(spec, names, NULL, 0, &m, err), 0);
	assert_false(pipe_masks_none(m));
	assert_false(pipe_masks_tracked(m));
	for (int t = 0; t < 10; t++) {
		assert_int_equal(pipe_masks_at(m, PIPE_MASK_MAIN, t, cov, err, sizeof(err)), 0);
		assert_uniform(cov, want[t]);
	}
	pipe_masks_free(m);
	api_spec_free(spec);
	free(cov);
}

/* Anchors are found at their frame only; their maps are at the clip's size. */
static void test_anchor_lookup_and_resize(void **state)
{
	api_spec *spec = spec_parse("{\"mode\": \"stabilize\", \"video\": \"c.mp4\","
				    " \"masks\": [{\"frame\": 0, \"image\": \"a.png\"}, {\"frame\": 5, \"image\": \"b.png\"}]}");
	const char *names[] = { "left_big.png", "white_small.png" };
	const float *a;
	pipe_masks *m;
	char err[256];

	(void)state;
	assert_int_equal(open_masks(spec, names, NULL, 0, &m, err), 0);
	assert_true(pipe_masks_tracked(m));
	a = pipe_masks_anchor(m, 0);
	assert_non_null(a);
	assert_null(pipe_masks_anchor(m, 1));
	assert_null(pipe_masks_anchor(m, 4));
	for (int y = 0; y < H; y++) {
		assert_float_equal(a[y * W + 10], 1.0f, 1e-5);
		assert_float_equal(a[y * W + W - 10], 0.0f, 1e-5);
	}
	assert_uniform(pipe_masks_anchor(m, 5), 1.0f);
	pipe_masks_free(m);
	api_spec_free(spec);
}

/* Each mask's weight, blended like the masks; masks without one take the global weight. */
static void test_weights(void **state)
{
	api_spec *spec = spec_parse("{\"mode\": \"stabilize\", \"video\": \"c.mp4\", \"cross_attention_weight\": 0.9,"
				    " \"masks\": [{\"frame\": 2, \"image\": \"a.png\", \"weight\": 0.2},"
				    " {\"frame\": 6, \"image\": \"b.png\", \"weight\": 0.6}, {\"frame\": 10, \"image\": \"c.png\"}]}");
	const char *names[] = { "black.png", "black.png", "black.png" };
	pipe_masks *m;
	char err[256];

	(void)state;
	assert_int_equal(open_masks(spec, names, NULL, 0, &m, err), 0);
	assert_float_equal(pipe_masks_weight(m, 0), 0.2f, 1e-6);
	assert_float_equal(pipe_masks_weight(m, 2), 0.2f, 1e-6);
	assert_float_equal(pipe_masks_weight(m, 4), 0.4f, 1e-6);
	assert_float_equal(pipe_masks_weight(m, 8), 0.75f, 1e-6);
	assert_float_equal(pipe_masks_weight(m, 12), 0.9f, 1e-6);
	pipe_masks_free(m);
	api_spec_free(spec);
}

/* The clip shows rotated 90 degrees clockwise: a display-oriented mask is turned back. */
static void test_png_mask_of_a_rotated_clip(void **state)
{
	api_spec *spec = spec_parse("{\"mode\": \"stabilize\", \"video\": \"c.mp4\","
				    " \"masks\": [{\"frame\": 0, \"image\": \"q.png\"}]}");
	const char *names[] = { "quadrant.png" };
	uint8_t upright[64 * 96];
	const float *a;
	pipe_masks *m;
	char err[256];

	(void)state;
	for (int y = 0; y < 96; y++)
		for (int x = 0; x < 64; x++)
			upright[y * 64 + x] = x < 32 && y < 48 ? 255 : 0;
	assert_int_equal(png_write(media_path(&dir, "quadrant.png"), 64, 96, 1, upright), 0);
	assert_int_equal(open_masks(spec, names, NULL, 90, &m, err), 0);
	a = pipe_masks_anchor(m, 0);
	/* display's top-left quadrant is the coded frame's bottom-left */
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			assert_float_equal(a[y * W + x], x < 48 && y >= 32 ? 1.0f : 0.0f, 1e-5);
	pipe_masks_free(m);
	api_spec_free(spec);
}

static void test_bad_mask_images_are_named(void **state)
{
	api_spec *spec = spec_parse("{\"mode\": \"stabilize\", \"video\": \"c.mp4\","
				    " \"masks\": [{\"frame\": 0, \"image\": \"ok.png\"}, {\"frame\": 3, \"image\": \"bad.png\"}]}");
	const char *broken[] = { "black.png", "not_png.png" };
	const char *missing[] = { "black.png", "nowhere.png" };
	pipe_masks *m = NULL;
	char err[256];

	(void)state;
	assert_int_equal(open_masks(spec, broken, NULL, 0, &m, err), -EINVAL);
	assert_non_null(strstr(err, "masks[1].image"));
	assert_non_null(strstr(err, "bad.png"));
	assert_null(strstr(err, dir.path));
	assert_int_equal(open_masks(spec, missing, NULL, 0, &m, err), -ENOENT);
	assert_non_null(strstr(err, "masks[1].image"));
	assert_null(m);
	api_spec_free(spec);
}

/* Both cursors read the same frames, each only forward, independently. */
static void test_mask_video_cursors(void **state)
{
	api_spec *spec = spec_parse("{\"mode\": \"stabilize\", \"video\": \"c.mp4\", \"mask_video\": \"m.mkv\"}");
	float *cov = malloc(sizeof(float) * N);
	pipe_masks *m;
	char err[256];

	(void)state;
	assert_int_equal(open_masks(spec, NULL, "levels.mkv", 0, &m, err), 0);
	assert_false(pipe_masks_none(m));
	assert_false(pipe_masks_tracked(m));
	for (int t = 0; t < 3; t++) {
		assert_int_equal(pipe_masks_at(m, PIPE_MASK_MAIN, t, cov, err, sizeof(err)), 0);
		assert_uniform(cov, 20.0f * t / 255.0f);
	}
	assert_int_equal(pipe_masks_at(m, PIPE_MASK_AHEAD, 6, cov, err, sizeof(err)), 0);
	assert_uniform(cov, 120.0f / 255.0f);
	assert_int_equal(pipe_masks_at(m, PIPE_MASK_MAIN, 4, cov, err, sizeof(err)), 0);
	assert_uniform(cov, 80.0f / 255.0f);
	assert_int_equal(pipe_masks_at(m, PIPE_MASK_MAIN, 4, cov, err, sizeof(err)), 0);
	assert_uniform(cov, 80.0f / 255.0f);
	assert_int_equal(pipe_masks_at(m, PIPE_MASK_AHEAD, 7, cov, err, sizeof(err)), 0);
	assert_uniform(cov, 140.0f / 255.0f);
	assert_int_equal(pipe_masks_at(m, PIPE_MASK_MAIN, 2, cov, err, sizeof(err)), -EINVAL);
	pipe_masks_free(m);
	api_spec_free(spec);
	free(cov);
}

static void test_short_mask_video(void **state)
{
	api_spec *spec = spec_parse("{\"mode\": \"stabilize\", \"video\": \"c.mp4\", \"mask_video\": \"m.mkv\"}");
	float *cov = malloc(sizeof(float) * N);
	pipe_masks *m;
	char err[256];

	(void)state;
	assert_int_equal(open_masks(spec, NULL, "short.mkv", 0, &m, err), 0);
	assert_int_equal(pipe_masks_at(m, PIPE_MASK_MAIN, 2, cov, err, sizeof(err)), 0);
	assert_uniform(cov, 1.0f);
	err[0] = '\0';
	assert_int_equal(pipe_masks_at(m, PIPE_MASK_MAIN, 5, cov, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "mask_video"));
	assert_non_null(strstr(err, "m.mkv"));
	assert_int_equal(pipe_masks_at(m, PIPE_MASK_AHEAD, 3, cov, err, sizeof(err)), -EINVAL);
	pipe_masks_free(m);
	api_spec_free(spec);
	free(cov);
}

/* A mask video shown upright for a clip rotated 90 degrees is turned like a PNG. */
static void test_mask_video_of_a_rotated_clip(void **state)
{
	api_spec *spec = spec_parse("{\"mode\": \"stabilize\", \"video\": \"c.mp4\", \"mask_video\": \"m.mkv\"}");
	float *cov = malloc(sizeof(float) * N);
	pipe_masks *m;
	char err[256];

	(void)state;
	assert_int_equal(open_masks(spec, NULL, "upright.mkv", 90, &m, err), 0);
	assert_int_equal(pipe_masks_at(m, PIPE_MASK_MAIN, 1, cov, err, sizeof(err)), 0);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			assert_float_equal(cov[y * W + x], x < 48 && y >= 32 ? 1.0f : 0.0f, 1e-5);
	pipe_masks_free(m);
	api_spec_free(spec);
	free(cov);
}

static void test_missing_mask_video(void **state)
{
	api_spec *spec = spec_parse("{\"mode\": \"stabilize\", \"video\": \"c.mp4\", \"mask_video\": \"m.mkv\"}");
	pipe_masks *m = NULL;
	char err[256];

	(void)state;
	assert_int_equal(open_masks(spec, NULL, "absent.mkv", 0, &m, err), -ENOENT);
	assert_non_null(strstr(err, "mask_video"));
	assert_null(m);
	api_spec_free(spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_masks_cover_everything),
		cmocka_unit_test(test_linear_blend_between_anchors),
		cmocka_unit_test(test_anchor_lookup_and_resize),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_png_mask_of_a_rotated_clip),
		cmocka_unit_test(test_bad_mask_images_are_named),
		cmocka_unit_test(test_mask_video_cursors),
		cmocka_unit_test(test_short_mask_video),
		cmocka_unit_test(test_mask_video_of_a_rotated_clip),
		cmocka_unit_test(test_missing_mask_video),
	};

	return cmocka_run_group_tests(tests, make_media, remove_media);
}
