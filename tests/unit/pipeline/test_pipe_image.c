#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libswscale/swscale.h>

#include "pipeline/pipe_image.h"
#include "pipeline/pipe_reader.h"
#include "tests/unit/pipeline/pipe_test_media.h"

static struct media_dir dir;

/*
 * RGB squeezed to 50..203 of 255: colours well inside the RGB cube, so an
 * RGB export of the frame clips nothing.
 */
#define INSIDE_RGB "lutrgb=r=val*0.6+50:g=val*0.6+50:b=val*0.6+50"

/* One frame each: BT.709 limited, untagged (BT.601 limited), full range. */
static const char *const clips[][2] = {
	{ "bt709.mkv", "-f lavfi -i testsrc2=s=160x90:r=25:d=0.04," INSIDE_RGB " -vf scale=out_color_matrix=bt709,format=yuv444p -c:v ffv1 -colorspace bt709 -color_range tv" },
	{ "untagged.mkv", "-f lavfi -i testsrc2=s=160x90:r=25:d=0.04," INSIDE_RGB " -vf format=yuv444p -c:v ffv1" },
	{ "full.mkv", "-f lavfi -i testsrc2=s=160x90:r=25:d=0.04," INSIDE_RGB " -vf format=yuvj444p -c:v ffv1" },
};

static int make_clips(void **state)
{
	(void)state;
	av_log_set_level(AV_LOG_QUIET);
	if (media_dir_create(&dir))
		return -1;
	if (media_make_all(&dir, clips, sizeof(clips) / sizeof(clips[0]))) {
		media_dir_remove(&dir);
		return -1;
	}
	return 0;
}

static int remove_clips(void **state)
{
	(void)state;
	media_dir_remove(&dir);
	return 0;
}

/* An image built in memory, as the PNG loader would give it. */
static mask_image *new_image(int width, int height, int channels)
{
	mask_image *img = calloc(1, sizeof(*img));

	assert_non_null(img);
	img->width = width;
	img->height = height;
	img->channels = channels;
	img->bit_depth = 16;
	img->data = calloc((size_t)width * height * channels, sizeof(uint16_t));
	assert_non_null(img->data);
	return img;
}

static void free_image(mask_image *img)
{
	free(img->data);
	free(img);
}

static void fill_rect(mask_image *img, int x0, int y0, int w, int h,
		      const uint16_t *sample)
{
	int x, y, c;

	for (y = y0; y < y0 + h; y++)
		for (x = x0; x < x0 + w; x++)
			for (c = 0; c < img->channels; c++)
				img->data[(y * img->width + x) * img->channels + c] =
					sample[c];
}

static mask_image *solid_image(int width, int height, int channels,
			       const uint16_t *sample)
{
	mask_image *img = new_image(width, height, channels);

	fill_rect(img, 0, 0, width, height, sample);
	return img;
}

static struct pipe_video_info clip_info(int width, int height,
					enum AVColorSpace cs,
					enum AVColorRange range)
{
	struct pipe_video_info info = {
		.width = width,
		.height = height,
		.colorspace = cs,
		.color_range = range,
	};

	return info;
}

static AVFrame *convert_ok(const mask_image *img,
			   const struct pipe_video_info *info,
			   enum AVPixelFormat pix_fmt)
{
	AVFrame *frame = NULL;
	char err[256] = "";

	assert_int_equal(pipe_image_to_frame(img, info, pix_fmt, &frame, err,
					     sizeof(err)), 0);
	assert_non_null(frame);
	assert_int_equal(frame->format, pix_fmt);
	assert_int_equal(frame->width, info->width);
	assert_int_equal(frame->height, info->height);
	return frame;
}

static int sample_at(const AVFrame *frame, int p, int x, int y)
{
	return frame->data[p][y * frame->linesize[p] + x];
}

/* Every sample of every plane within tol of its value in yuv. */
static void expect_flat(const AVFrame *frame, const int yuv[3], int tol)
{
	int planes = frame->format == AV_PIX_FMT_GRAY8 ? 1 : 3;
	int p, x, y, w, h;

	for (p = 0; p < planes; p++) {
		w = p && frame->format == AV_PIX_FMT_YUV420P ? (frame->width + 1) / 2 : frame->width;
		h = p && frame->format == AV_PIX_FMT_YUV420P ? (frame->height + 1) / 2 : frame->height;
		for (y = 0; y < h; y++)
			for (x = 0; x < w; x++)
				assert_true(abs(sample_at(frame, p, x, y) - yuv[p]) <= tol);
	}
}

static const uint16_t red[4] = { 65535, 0, 0, 0 };

/* Pure red in each matrix and range (unspecified codes like BT.601). */
static void test_red_in_each_matrix(void **state)
{
	static const struct {
		enum AVColorSpace cs;
		enum AVColorRange range;
		int yuv[3];
	} cases[] = {
		{ AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_UNSPECIFIED, { 81, 90, 240 } },
		{ AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG, { 81, 90, 240 } },
		{ AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, { 63, 102, 240 } },
		{ AVCOL_SPC_BT709, AVCOL_RANGE_JPEG, { 54, 99, 255 } },
		{ AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_JPEG, { 76, 85, 255 } },
	};
	mask_image *img = solid_image(32, 18, MASK_RGB, red);
	struct pipe_video_info info;
	AVFrame *frame;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		info = clip_info(32, 18, cases[i].cs, cases[i].range);
		frame = convert_ok(img, &info, AV_PIX_FMT_YUV444P);
		expect_flat(frame, cases[i].yuv, 1);
		av_frame_free(&frame);
	}
	free_image(img);
}

/* Gray images: black and white at the range's ends, neutral chroma. */
static void test_gray(void **state)
{
	static const uint16_t black[1] = { 0 }, white[1] = { 65535 };
	static const int limited_black[3] = { 16, 128, 128 };
	static const int limited_white[3] = { 235, 128, 128 };
	static const int full_white[3] = { 255, 128, 128 };
	struct pipe_video_info limited = clip_info(20, 20, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
	struct pipe_video_info full = clip_info(20, 20, AVCOL_SPC_BT709, AVCOL_RANGE_JPEG);
	mask_image *b = solid_image(20, 20, MASK_GRAY, black);
	mask_image *w = solid_image(20, 20, MASK_GRAY, white);
	AVFrame *frame;

	(void)state;
	frame = convert_ok(b, &limited, AV_PIX_FMT_YUV420P);
	expect_flat(frame, limited_black, 0);
	av_frame_free(&frame);
	frame = convert_ok(w, &limited, AV_PIX_FMT_YUV420P);
	expect_flat(frame, limited_white, 0);
	av_frame_free(&frame);
	frame = convert_ok(w, &full, AV_PIX_FMT_GRAY8);
	expect_flat(frame, full_white, 0);
	av_frame_free(&frame);
	free_image(b);
	free_image(w);
}

/* Alpha is ignored: RGBA and gray+alpha give what RGB and gray give. */
static void test_alpha_ignored(void **state)
{
	static const uint16_t transparent_red[4] = { 65535, 0, 0, 0 };
	static const uint16_t transparent_white[2] = { 65535, 0 };
	static const int red709[3] = { 63, 102, 240 };
	static const int white709[3] = { 235, 128, 128 };
	struct pipe_video_info info = clip_info(16, 16, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
	mask_image *rgba = solid_image(16, 16, MASK_RGBA, transparent_red);
	mask_image *ya = solid_image(16, 16, MASK_GRAY_ALPHA, transparent_white);
	AVFrame *frame;

	(void)state;
	frame = convert_ok(rgba, &info, AV_PIX_FMT_YUV444P);
	expect_flat(frame, red709, 1);
	av_frame_free(&frame);
	frame = convert_ok(ya, &info, AV_PIX_FMT_YUV444P);
	expect_flat(frame, white709, 0);
	av_frame_free(&frame);
	free_image(rgba);
	free_image(ya);
}

static void expect_aspect_error(const mask_image *img,
				const struct pipe_video_info *info,
				const char *sizes)
{
	AVFrame *frame = NULL;
	char err[256] = "";

	assert_int_equal(pipe_image_to_frame(img, info, AV_PIX_FMT_YUV420P,
					     &frame, err, sizeof(err)), -EINVAL);
	assert_null(frame);
	assert_non_null(strstr(err, sizes));
	assert_non_null(strstr(err, "aspect ratio"));
}

static void test_aspect_checked(void **state)
{
	struct pipe_video_info info = clip_info(972, 540, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
	mask_image *square = solid_image(800, 800, MASK_RGB, red);
	mask_image *rounded = solid_image(486, 271, MASK_RGB, red);
	AVFrame *frame;

	(void)state;
	expect_aspect_error(square, &info, "800x800 but the clip is 972x540");
	/* an export at half size, its height rounded up: accepted */
	frame = convert_ok(rounded, &info, AV_PIX_FMT_YUV420P);
	av_frame_free(&frame);
	/* turned for display, the clip is 540x972 */
	info.rotation = 90;
	expect_aspect_error(rounded, &info, "486x271 but the clip is 540x972");
	free_image(square);
	free_image(rounded);
}

/* Images larger and smaller than the frame are resized to it. */
static void test_resized(void **state)
{
	static const uint16_t gray[3] = { 32768, 32768, 32768 };
	struct pipe_video_info info = clip_info(160, 90, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
	mask_image *big = new_image(320, 180, MASK_RGB);
	mask_image *small = solid_image(80, 45, MASK_RGB, gray);
	static const uint16_t white[3] = { 65535, 65535, 65535 };
	static const int mid[3] = { 126, 128, 128 };
	AVFrame *frame;

	(void)state;
	/* left half white, right half black: halved, still split at x = 80 */
	fill_rect(big, 0, 0, 160, 180, white);
	frame = convert_ok(big, &info, AV_PIX_FMT_YUV420P);
	/* 16-bit samples to 8 bits: swscale dithers by one level */
	assert_true(abs(sample_at(frame, 0, 10, 45) - 235) <= 1);
	assert_true(abs(sample_at(frame, 0, 78, 45) - 235) <= 1);
	assert_true(abs(sample_at(frame, 0, 81, 45) - 16) <= 1);
	assert_true(abs(sample_at(frame, 0, 150, 45) - 16) <= 1);
	av_frame_free(&frame);
	frame = convert_ok(small, &info, AV_PIX_FMT_YUV420P);
	expect_flat(frame, mid, 1);
	av_frame_free(&frame);
	free_image(big);
	free_image(small);
}

/*
 * An image in display orientation is turned back to the coded one: its
 * top-left corner lands where the player shows it.
 */
static void test_rotations(void **state)
{
	static const uint16_t white[3] = { 65535, 65535, 65535 };
	static const struct {
		int rotation, x, y;  /* coded position of the display top-left */
	} cases[] = {
		{ 0, 5, 5 },
		{ 90, 5, 84 },
		{ 180, 154, 84 },
		{ 270, 154, 5 },
	};
	struct pipe_video_info info = clip_info(160, 90, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG);
	mask_image *img;
	AVFrame *frame;
	size_t i;
	int sideways, x, y, white_count;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sideways = cases[i].rotation % 180;
		img = new_image(sideways ? 90 : 160, sideways ? 160 : 90, MASK_RGB);
		fill_rect(img, 0, 0, 20, 20, white);
		info.rotation = cases[i].rotation;
		frame = convert_ok(img, &info, AV_PIX_FMT_YUV444P);
		assert_true(abs(sample_at(frame, 0, cases[i].x, cases[i].y) - 235) <= 1);
		white_count = 0;
		for (y = 0; y < 90; y++)
			for (x = 0; x < 160; x++)
				white_count += sample_at(frame, 0, x, y) > 128;
		assert_int_equal(white_count, 20 * 20);
		av_frame_free(&frame);
		free_image(img);
	}
}

/* A frame exported to 16-bit RGB the way an editor sees it: in its own matrix and range. */
static mask_image *export_frame(const AVFrame *frame)
{
	const int *coeffs = sws_getCoefficients(frame->colorspace);
	mask_image *img = new_image(frame->width, frame->height, MASK_RGB);
	uint8_t *dst[4] = { (uint8_t *)img->data };
	int dst_linesize[4] = { frame->width * 3 * 2 };
	struct SwsContext *sws;

	sws = sws_getContext(frame->width, frame->height, frame->format,
			     frame->width, frame->height, AV_PIX_FMT_RGB48,
			     SWS_POINT | SWS_ACCURATE_RND | SWS_BITEXACT,
			     NULL, NULL, NULL);
	assert_non_null(sws);
	sws_setColorspaceDetails(sws, coeffs,
				 frame->color_range == AVCOL_RANGE_JPEG, coeffs,
				 1, 0, 1 << 16, 1 << 16);
	sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0,
		  frame->height, dst, dst_linesize);
	sws_freeContext(sws);
	return img;
}

/* Exported from the clip and brought back, a frame keeps its YUV values. */
static void expect_round_trip(const char *name)
{
	struct pipe_reader_opts opts = { .pix_fmt = AV_PIX_FMT_YUV444P };
	AVFrame *frame, *back;
	pipe_reader *r;
	mask_image *img;
	char err[256] = "";
	int p, x, y, d, worst = 0;

	assert_int_equal(pipe_reader_open(media_path(&dir, name), &opts, &r,
					  err, sizeof(err)), 0);
	assert_int_equal(pipe_reader_next(r, &frame, err, sizeof(err)), 0);
	img = export_frame(frame);
	back = convert_ok(img, pipe_reader_info(r), AV_PIX_FMT_YUV444P);
	for (p = 0; p < 3; p++)
		for (y = 0; y < 90; y++)
			for (x = 0; x < 160; x++) {
				d = abs(sample_at(back, p, x, y) -
					sample_at(frame, p, x, y));
				worst = d > worst ? d : worst;
			}
	assert_true(worst <= 1);
	free_image(img);
	av_frame_free(&back);
	av_frame_free(&frame);
	pipe_reader_free(r);
}

static void test_round_trip(void **state)
{
	(void)state;
	expect_round_trip("bt709.mkv");
	expect_round_trip("untagged.mkv");
	expect_round_trip("full.mkv");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_red_in_each_matrix),
		cmocka_unit_test(test_gray),
		cmocka_unit_test(test_alpha_ignored),
		cmocka_unit_test(test_aspect_checked),
		cmocka_unit_test(test_resized),
		cmocka_unit_test(test_rotations),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, make_clips, remove_clips);
}
