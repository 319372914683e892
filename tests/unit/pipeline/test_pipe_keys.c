/*
 * pipe_keys: the keyframes around a frame, loaded as the job moves forward
 * (sources decoded by a reader running ahead, edits from PNG, masks at
 * their frame), the first frame as the implicit reference of stabilize,
 * and edited images of another size or aspect.
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

#include "pipeline/pipe_keys.h"
#include "tests/unit/pipeline/pipe_test_job.h"
#include "tests/unit/pipeline/pipe_test_media.h"

#define W 96
#define H 64
#define FRAMES 12
#define ERR_LEN 256

static struct media_dir dir;

/* Luma of frame i is 16 + 15 i, chroma neutral: each frame says which it is. */
static const char *const clips[][2] = {
	{ "clip.mkv", "-f lavfi -i color=c=black:s=96x64:r=12:d=1 -vf format=yuv444p,geq=lum=16+N*15:cb=128:cr=128 -c:v ffv1" },
};

static int make_media(void **state)
{
	(void)state;
	av_log_set_level(AV_LOG_QUIET);
	if (media_dir_create(&dir))
		return -1;
	if (media_make_all(&dir, clips, 1) ||
	    png_write_flat(media_path(&dir, "gray50.png"), W, H, 50) ||
	    png_write_flat(media_path(&dir, "gray150.png"), W, H, 150) ||
	    png_write_flat(media_path(&dir, "gray250.png"), W, H, 250) ||
	    png_write_flat(media_path(&dir, "half.png"), W / 2, H / 2, 150) ||
	    png_write_flat(media_path(&dir, "square.png"), 64, 64, 150) ||
	    png_write_flat(media_path(&dir, "black.png"), W, H, 0) ||
	    png_write_flat(media_path(&dir, "white.png"), W, H, 255)) {
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

/* Everything pipe_keys needs for one spec, its file names resolved in the media folder. */
struct fixture {
	api_spec *spec;
	pipe_reader *reader;
	pipe_masks *masks;
	pipe_keys *keys;
	char paths[8][2 * MEDIA_PATH_MAX];
	const char *key_paths[4], *mask_paths[4];
	struct pipe_job_files files;
};

static const char *resolve(struct fixture *f, int slot, const char *name)
{
	snprintf(f->paths[slot], sizeof(f->paths[slot]), "%s/%s", dir.path, name);
	return f->paths[slot];
}

/*
 * Opens the reader, masks and keys for spec; the files named by the
 * spec's images are key_files and mask_files, in the spec's (sorted)
 * order. Returns pipe_keys_open's result; err gets its message.
 */
static int fixture_open(struct fixture *f, api_spec *spec, const char *const *key_files,
			const char *const *mask_files, char *err)
{
	struct pipe_reader_opts ro = { .pix_fmt = AV_PIX_FMT_YUV444P };

	memset(f, 0, sizeof(*f));
	f->spec = spec;
	assert_true(spec->n_keyframes <= 4 && spec->n_masks <= 3);
	f->files.video = resolve(f, 0, "clip.mkv");
	for (size_t i = 0; i < spec->n_keyframes; i++)
		f->key_paths[i] = key_files && key_files[i] ? resolve(f, 1 + (int)i, key_files[i]) : NULL;
	for (size_t i = 0; i < spec->n_masks; i++)
		f->mask_paths[i] = resolve(f, 5 + (int)i, mask_files[i]);
	f->files.keyframe_images = f->key_paths;
	f->files.mask_images = f->mask_paths;
	assert_int_equal(pipe_reader_open(f->files.video, &ro, &f->reader, err, ERR_LEN), 0);
	assert_int_equal(pipe_masks_open(spec, &f->files, pipe_reader_info(f->reader),
					 &pipe_limits_default, &f->masks, err, ERR_LEN), 0);
	err[0] = '\0';
	return pipe_keys_open(spec, &f->files, pipe_reader_info(f->reader), AV_PIX_FMT_YUV444P,
			      f->masks, &pipe_limits_default, &f->keys, err, ERR_LEN);
}

static void fixture_close(struct fixture *f)
{
	pipe_keys_free(f->keys);
	pipe_masks_free(f->masks);
	pipe_reader_free(f->reader);
	api_spec_free(f->spec);
}

/* Every sample of plane c of frame is about v. */
static void assert_plane(const struct attn_yuv8 *frame, int c, double v, double tol)
{
	const uint8_t *p;

	assert_non_null(frame);
	p = frame->plane[c];
	assert_int_equal(frame->width, W);
	assert_int_equal(frame->height, H);
	for (int i = 0; i < W * H; i++)
		if (fabs(p[i] - v) > tol)
			fail_msg("plane %d sample %d: %d, want %.3f", c, i, p[i], v);
}

/* The clip's frame i, as decoded. */
static void assert_source_of(const struct attn_yuv8 *frame, int i)
{
	assert_plane(frame, 0, 16 + 15 * i, 0);
	assert_plane(frame, 1, 128, 0);
}

/*
 * An edit from a gray PNG of level g: limited-range luma, neutral chroma,
 * within the level of dithering the conversion from 16 bits may add.
 */
static void assert_edit_of(const struct attn_yuv8 *frame, int g)
{
	assert_plane(frame, 0, 16 + g * 219.0 / 255.0, 1.5);
	assert_plane(frame, 1, 128, 1.5);
}

static int around(struct fixture *f, int t, struct attn_keyframe *out, char *err)
{
	int n = -1;

	assert_int_equal(pipe_keys_around(f->keys, t, out, &n, err, ERR_LEN), 0);
	return n;
}

static void test_keyframes_around_t(void **state)
{
	static const char *const images[] = { "gray50.png", "gray150.png", "gray250.png" };
	struct fixture f;
	struct attn_keyframe k[2];
	const struct attn_yuv8 *six;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(fixture_open(&f, spec_parse("{\"mode\": \"propagate\", \"video\": \"clip.mkv\", \"keyframes\": ["
			 "{\"frame\": 2, \"image\": \"a.png\"}, {\"frame\": 6, \"image\": \"b.png\"},"
			 " {\"frame\": 9, \"image\": \"c.png\"}]}"), images, NULL, err), 0);
	/* before the first keyframe: only the next one */
	assert_int_equal(around(&f, 0, k, err), 1);
	assert_int_equal(k[0].index, 2);
	assert_source_of(k[0].source, 2);
	assert_edit_of(k[0].edit, 50);
	assert_null(k[0].source->cover);
	assert_int_equal(around(&f, 2, k, err), 2);
	assert_int_equal(k[0].index, 2);
	assert_int_equal(k[1].index, 6);
	assert_source_of(k[1].source, 6);
	assert_edit_of(k[1].edit, 150);
	six = k[1].source;
	assert_int_equal(around(&f, 5, k, err), 2);
	assert_int_equal(k[1].index, 6);
	assert_ptr_equal(k[1].source, six);
	/* at a keyframe: it and the next */
	assert_int_equal(around(&f, 6, k, err), 2);
	assert_int_equal(k[0].index, 6);
	assert_ptr_equal(k[0].source, six);
	assert_int_equal(k[1].index, 9);
	assert_source_of(k[1].source, 9);
	assert_edit_of(k[1].edit, 250);
	/* after the last: only the last */
	assert_int_equal(around(&f, 11, k, err), 1);
	assert_int_equal(k[0].index, 9);
	assert_source_of(k[0].source, 9);
	fixture_close(&f);
}

/* Jumping past keyframes loads only those wanted, with the right source frames and masks. */
static void test_loading_skips_ahead(void **state)
{
	static const char *const images[] = { "gray50.png", "gray150.png", "gray250.png" };
	static const char *const masks[] = { "black.png", "white.png" };
	struct fixture f;
	struct attn_keyframe k[2];
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(fixture_open(&f, spec_parse("{\"mode\": \"propagate\", \"video\": \"clip.mkv\", \"mask_mode\": \"linear\","
			 " \"masks\": [{\"frame\": 0, \"image\": \"m0.png\"}, {\"frame\": 10, \"image\": \"m1.png\"}],"
			 " \"keyframes\": [{\"frame\": 1, \"image\": \"a.png\"}, {\"frame\": 4, \"image\": \"b.png\"},"
			 " {\"frame\": 8, \"image\": \"c.png\"}]}"), images, masks, err), 0);
	assert_int_equal(around(&f, 9, k, err), 1);
	assert_int_equal(k[0].index, 8);
	assert_source_of(k[0].source, 8);
	assert_edit_of(k[0].edit, 250);
	assert_non_null(k[0].source->cover);
	for (int i = 0; i < W * H; i++)
		assert_int_equal(k[0].source->cover[i], 204);  /* 0.8 of the way */
	fixture_close(&f);
}

/* stabilize without keyframes: frame 0 is the reference of every frame, as it is. */
static void test_stabilize_implicit_reference(void **state)
{
	static const char *const masks[] = { "white.png" };
	struct fixture f;
	struct attn_keyframe k[2];
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(fixture_open(&f, spec_parse("{\"mode\": \"stabilize\", \"video\": \"clip.mkv\","
			 " \"masks\": [{\"frame\": 3, \"image\": \"m.png\"}]}"), NULL, masks, err), 0);
	for (int t = 0; t < FRAMES; t += 5) {
		assert_int_equal(around(&f, t, k, err), 1);
		assert_int_equal(k[0].index, 0);
		assert_null(k[0].edit);
		assert_source_of(k[0].source, 0);
		assert_non_null(k[0].source->cover);
		assert_int_equal(k[0].source->cover[0], 255);
	}
	fixture_close(&f);
}

/* stabilize keyframes may leave the image out: the source is the look. */
static void test_stabilize_keyframe_without_image(void **state)
{
	static const char *const images[] = { NULL, "gray150.png" };
	struct fixture f;
	struct attn_keyframe k[2];
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(fixture_open(&f, spec_parse("{\"mode\": \"stabilize\", \"video\": \"clip.mkv\", \"keyframes\": ["
			 "{\"frame\": 3}, {\"frame\": 7, \"image\": \"b.png\"}]}"), images, NULL, err), 0);
	assert_int_equal(around(&f, 4, k, err), 2);
	assert_null(k[0].edit);
	assert_source_of(k[0].source, 3);
	assert_edit_of(k[1].edit, 150);
	fixture_close(&f);
}

/* An edit exported at half the size is resized to the clip. */
static void test_keyframe_image_of_another_size(void **state)
{
	static const char *const images[] = { "half.png" };
	struct fixture f;
	struct attn_keyframe k[2];
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(fixture_open(&f, spec_parse("{\"mode\": \"propagate\", \"video\": \"clip.mkv\", \"keyframes\": ["
			 "{\"frame\": 0, \"image\": \"small.png\"}]}"), images, NULL, err), 0);
	assert_int_equal(around(&f, 0, k, err), 1);
	assert_edit_of(k[0].edit, 150);
	fixture_close(&f);
}

static void test_keyframe_image_of_another_aspect(void **state)
{
	static const char *const images[] = { "gray50.png", "square.png" };
	struct fixture f;
	struct attn_keyframe k[2];
	char err[ERR_LEN];
	int n;

	(void)state;
	assert_int_equal(fixture_open(&f, spec_parse("{\"mode\": \"propagate\", \"video\": \"clip.mkv\", \"keyframes\": ["
			 "{\"frame\": 0, \"image\": \"a.png\"}, {\"frame\": 5, \"image\": \"edit5.png\"}]}"),
			 images, NULL, err), 0);
	assert_int_equal(pipe_keys_around(f.keys, 0, k, &n, err, ERR_LEN), -EINVAL);
	assert_non_null(strstr(err, "keyframes[1].image"));
	assert_non_null(strstr(err, "64x64"));
	assert_null(strstr(err, dir.path));
	fixture_close(&f);
}

static void test_keyframe_past_the_end(void **state)
{
	static const char *const images[] = { "gray50.png" };
	struct fixture f;
	struct attn_keyframe k[2];
	char err[ERR_LEN];
	int n;

	(void)state;
	assert_int_equal(fixture_open(&f, spec_parse("{\"mode\": \"propagate\", \"video\": \"clip.mkv\", \"keyframes\": ["
			 "{\"frame\": 30, \"image\": \"a.png\"}]}"), images, NULL, err), 0);
	assert_int_equal(pipe_keys_around(f.keys, 0, k, &n, err, ERR_LEN), -EINVAL);
	fixture_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyframes_around_t),
		cmocka_unit_test(test_loading_skips_ahead),
		cmocka_unit_test(test_stabilize_implicit_reference),
		cmocka_unit_test(test_stabilize_keyframe_without_image),
		cmocka_unit_test(test_keyframe_image_of_another_size),
		cmocka_unit_test(test_keyframe_image_of_another_aspect),
		cmocka_unit_test(test_keyframe_past_the_end),
	};

	return cmocka_run_group_tests(tests, make_media, remove_media);
}
