/*
 * Tests of pipeline/pipe_still.c: frame n of a clip as PNG (its content,
 * past the end, display rotation) and a job's mask at frame n (linear
 * blend of the masks given), each PNG decoded back by ffmpeg.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/pipe_reader.h"
#include "pipeline/pipe_still.h"
#include "tests/unit/pipeline/pipe_test_media.h"

static struct media_dir dir;

static const char *const clips[][2] = {
	/* frame N has luma N * 20, losslessly */
	{ "levels.mkv", "-f lavfi -i color=c=black:s=48x32:r=10:d=0.8 -vf format=gray,geq=lum=N*20 -c:v ffv1 -pix_fmt gray" },
	/* 64x32, left half white; then the same shown turned by a quarter */
	{ "halves.mp4", "-f lavfi -i color=c=black:s=64x32:r=10:d=0.3 -vf format=gray,geq=lum='if(lt(X\\,32)\\,255\\,0)' -c:v libx264 -qp 0 -pix_fmt yuv444p" },
	{ "turned.mp4", "-i '%s/halves.mp4' -c copy -metadata:s:v:0 rotate=90" },
	{ "black.png", "-f lavfi -i color=c=black:s=16x16 -frames:v 1" },
	{ "white.png", "-f lavfi -i color=c=white:s=16x16 -frames:v 1" },
};

static int setup(void **state)
{
	(void)state;
	char args[MEDIA_CMD_MAX];

	if (media_dir_create(&dir))
		return -1;
	for (size_t i = 0; i < sizeof(clips) / sizeof(clips[0]); i++) {
		snprintf(args, sizeof(args), clips[i][1], dir.path);
		if (media_make(&dir, clips[i][0], args))
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	media_dir_remove(&dir);
	return 0;
}

/* png written to a file and decoded by ffmpeg to raw pix_fmt; *len bytes. */
static uint8_t *decode_png(const uint8_t *png, size_t size, const char *pix_fmt,
			   size_t *len, int *w, int *h)
{
	const char *path = media_path(&dir, "still.png");
	FILE *f = fopen(path, "wb");
	char *probe;

	assert_non_null(f);
	assert_int_equal(fwrite(png, 1, size, f), size);
	fclose(f);
	probe = media_probe(path, "v:0", "-show_entries stream=width,height");
	assert_non_null(probe);
	*w = (int)media_int(probe, "width");
	*h = (int)media_int(probe, "height");
	free(probe);
	return media_raw(path, pix_fmt, len);
}

static void test_frame_n(void **state)
{
	uint8_t *png = NULL, *raw;
	char err[256] = "";
	size_t len, n;
	int w, h;

	(void)state;
	assert_int_equal(pipe_still_frame(media_path(&dir, "levels.mkv"), 3, 0, NULL,
					  &png, &len, err, sizeof(err)), 0);
	assert_memory_equal(png, "\x89PNG", 4);
	raw = decode_png(png, len, "rgb24", &n, &w, &h);
	assert_int_equal(w, 48);
	assert_int_equal(h, 32);
	assert_int_equal(n, 48 * 32 * 3);
	for (size_t i = 0; i < n; i++)
		assert_true(abs(raw[i] - 60 * 255 / 219) <= 12);
	free(raw);
	free(png);
	assert_int_equal(pipe_still_frame(media_path(&dir, "levels.mkv"), 8, 1, NULL,
					  &png, &len, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "the video has 8"));
	assert_int_equal(pipe_still_frame(media_path(&dir, "none.mkv"), 0, 1, NULL,
					  &png, &len, err, sizeof(err)), -ENOENT);
}

/*
 * Turned for display: the left half of the coded frame is on top for a
 * clockwise quarter, at the bottom for a counterclockwise one.
 */
static void test_display_rotation(void **state)
{
	struct pipe_reader_opts ro = { .pix_fmt = AV_PIX_FMT_GRAY8 };
	uint8_t *png = NULL, *raw;
	char err[256] = "";
	int w, h, turn;
	pipe_reader *r;
	size_t len, n;

	(void)state;
	assert_int_equal(pipe_reader_open(media_path(&dir, "turned.mp4"), &ro, &r, err,
					  sizeof(err)), 0);
	turn = pipe_reader_info(r)->rotation;
	pipe_reader_free(r);
	assert_true(turn == 90 || turn == 270);
	assert_int_equal(pipe_still_frame(media_path(&dir, "turned.mp4"), 1, 1, NULL,
					  &png, &len, err, sizeof(err)), 0);
	raw = decode_png(png, len, "gray", &n, &w, &h);
	assert_int_equal(w, 32);
	assert_int_equal(h, 64);
	assert_true(raw[(turn == 90 ? 2 : 60) * 32 + 16] > 240);
	assert_true(raw[(turn == 90 ? 60 : 2) * 32 + 16] < 15);
	free(raw);
	free(png);
}

/* Black at frame 0, white at frame 4, linear: frame 2 is half covered. */
static void test_mask_at_frame(void **state)
{
	static const char json[] = "{\"mode\": \"stabilize\", \"video\": \"v\", \"mask_mode\": \"linear\","
		" \"masks\": [{\"frame\": 0, \"image\": \"a\"}, {\"frame\": 4, \"image\": \"b\"}]}";
	char black[2 * MEDIA_PATH_MAX], white[2 * MEDIA_PATH_MAX], video[2 * MEDIA_PATH_MAX];
	const char *images[] = { black, white };
	struct pipe_job_files files = { .video = video, .mask_images = images };
	uint8_t *png = NULL, *raw;
	char err[256] = "";
	api_spec *spec;
	size_t len, n;
	int w, h;

	(void)state;
	snprintf(black, sizeof(black), "%s", media_path(&dir, "black.png"));
	snprintf(white, sizeof(white), "%s", media_path(&dir, "white.png"));
	snprintf(video, sizeof(video), "%s", media_path(&dir, "levels.mkv"));
	assert_int_equal(api_spec_parse(json, strlen(json), &spec, NULL), 0);
	assert_int_equal(pipe_still_mask(spec, &files, 2, NULL, &png, &len, err, sizeof(err)), 0);
	raw = decode_png(png, len, "gray", &n, &w, &h);
	assert_int_equal(w * h, 48 * 32);
	for (size_t i = 0; i < n; i++)
		assert_true(abs(raw[i] - 128) <= 1);
	free(raw);
	free(png);
	assert_int_equal(pipe_still_mask(spec, &files, 8, NULL, &png, &len, err, sizeof(err)),
			 -ERANGE);
	api_spec_free(spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_n),
		cmocka_unit_test(test_display_rotation),
		cmocka_unit_test(test_mask_at_frame),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
