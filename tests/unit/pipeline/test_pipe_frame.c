/*
 * pipe_frame: 8-bit YUV 4:2:0 and 4:4:4 frames into the engine's float
 * planes (chroma upsampled at pixel centres), and the blend back that keeps
 * every sample the coverage or the weight leaves alone, odd sizes included.
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

#include <libavutil/pixdesc.h>

#include "pipeline/pipe_frame.h"

/* A frame whose samples are a function of plane, x and y. */
typedef uint8_t (*sample_fn)(int plane, int x, int y);

static int chroma_shift(enum AVPixelFormat fmt)
{
	return av_pix_fmt_desc_get(fmt)->log2_chroma_w;
}

static AVFrame *frame_new(enum AVPixelFormat fmt, int w, int h, sample_fn fn)
{
	AVFrame *f = av_frame_alloc();
	int s = chroma_shift(fmt);

	assert_non_null(f);
	f->format = fmt;
	f->width = w;
	f->height = h;
	f->pts = 1234;
	assert_int_equal(av_frame_get_buffer(f, 0), 0);
	for (int c = 0; c < 3; c++) {
		int cw = c ? AV_CEIL_RSHIFT(w, s) : w, ch = c ? AV_CEIL_RSHIFT(h, s) : h;

		for (int y = 0; y < ch; y++)
			for (int x = 0; x < cw; x++)
				f->data[c][y * f->linesize[c] + x] = fn(c, x, y);
	}
	return f;
}

static uint8_t pattern(int c, int x, int y)
{
	return (uint8_t)((37 * x + 91 * y + 101 * c) % 256);
}

static uint8_t ramp(int c, int x, int y)
{
	return (uint8_t)(c ? 40 + 20 * x + 3 * y : 7 * x + 11 * y);
}

/* f's 4:4:4 8-bit planes, as the engine reads frames (caller frees samples). */
static struct attn_yuv8 planes_of(const AVFrame *f, uint8_t **samples)
{
	struct attn_yuv8 yuv;

	*samples = malloc((size_t)3 * f->width * f->height);
	assert_non_null(*samples);
	assert_int_equal(pipe_frame_to_yuv8(f, *samples, &yuv), 0);
	return yuv;
}

static void test_444_is_exact(void **state)
{
	AVFrame *f = frame_new(AV_PIX_FMT_YUV444P, 9, 7, pattern);
	uint8_t *samples;
	struct attn_yuv8 a = planes_of(f, &samples);

	(void)state;
	assert_int_equal(a.width, 9);
	assert_int_equal(a.height, 7);
	assert_null(a.cover);
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < 7; y++)
			for (int x = 0; x < 9; x++)
				assert_int_equal(a.plane[c][y * 9 + x], pattern(c, x, y));
	free(samples);
	av_frame_free(&f);
}

/*
 * 4:2:0: luma exact; chroma sample (i, j) sits at the centre of luma
 * pixels 2i..2i+1, so luma pixel x reads it at (x + 0.5) / 2 - 0.5,
 * bilinear, clamped at the edges.
 */
static void test_420_chroma_upsampled(void **state)
{
	AVFrame *f = frame_new(AV_PIX_FMT_YUV420P, 9, 7, ramp);
	uint8_t *samples;
	struct attn_yuv8 a = planes_of(f, &samples);

	(void)state;
	for (int y = 0; y < 7; y++)
		for (int x = 0; x < 9; x++) {
			float cx = fminf(fmaxf((x + 0.5f) / 2 - 0.5f, 0.0f), 4.0f);
			float cy = fminf(fmaxf((y + 0.5f) / 2 - 0.5f, 0.0f), 3.0f);

			assert_int_equal(a.plane[0][y * 9 + x], ramp(0, x, y));
			for (int c = 1; c < 3; c++)
				assert_int_equal(a.plane[c][y * 9 + x],
						 lrintf(40 + 20 * cx + 3 * cy));
		}
	free(samples);
	av_frame_free(&f);
}

static uint8_t noise(int c, int x, int y)
{
	return (uint8_t)((x * 2654435761u ^ y * 40503u ^ c * 977u) >> 7);
}

/* Sample (x, y) of chroma plane c of f, clamped: the float reference. */
static float chroma_ref(const AVFrame *f, int c, int x, int y)
{
	int cw = AV_CEIL_RSHIFT(f->width, 1), ch = AV_CEIL_RSHIFT(f->height, 1);

	x = x < 0 ? 0 : x >= cw ? cw - 1 : x;
	y = y < 0 ? 0 : y >= ch ? ch - 1 : y;
	return f->data[c][y * f->linesize[c] + x];
}

/*
 * On any content, chroma of a w x h frame equals bilinear interpolation in
 * floats rounded with lrintf (ties to even), sample for sample.
 */
static void check_chroma_bilinear(int w, int h)
{
	AVFrame *f = frame_new(AV_PIX_FMT_YUV420P, w, h, noise);
	uint8_t *samples;
	struct attn_yuv8 a = planes_of(f, &samples);

	for (int c = 1; c < 3; c++)
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) {
				float fx = (x + 0.5f) / 2 - 0.5f, fy = (y + 0.5f) / 2 - 0.5f;
				int x0 = (int)floorf(fx), y0 = (int)floorf(fy);
				float ax = fx - x0, ay = fy - y0;
				float top = chroma_ref(f, c, x0, y0) * (1 - ax) +
					    chroma_ref(f, c, x0 + 1, y0) * ax;
				float bot = chroma_ref(f, c, x0, y0 + 1) * (1 - ax) +
					    chroma_ref(f, c, x0 + 1, y0 + 1) * ax;

				assert_int_equal(a.plane[c][y * w + x],
						 lrintf(top + ay * (bot - top)));
			}
	free(samples);
	av_frame_free(&f);
}

/* Odd sizes end on a pixel between samples, even ones on one past the last. */
static void test_420_chroma_matches_float_bilinear(void **state)
{
	(void)state;
	check_chroma_bilinear(37, 23);
	check_chroma_bilinear(38, 24);
	check_chroma_bilinear(1, 1);
	check_chroma_bilinear(2, 2);
}

static void test_to_yuv8_rejects_what_it_cannot_convert(void **state)
{
	AVFrame *rgb = av_frame_alloc();
	uint8_t samples[3 * 8 * 6];
	struct attn_yuv8 yuv;

	(void)state;
	rgb->format = AV_PIX_FMT_RGB24;
	rgb->width = 8;
	rgb->height = 6;
	assert_int_equal(av_frame_get_buffer(rgb, 0), 0);
	assert_int_equal(pipe_frame_to_yuv8(rgb, samples, &yuv), -EINVAL);
	av_frame_free(&rgb);
}

/* A result frame of values that are not the source's, multiples of 1/255. */
static attn_frame *result_of(int w, int h)
{
	attn_frame *r;

	assert_int_equal(attn_frame_create(w, h, 3, &r), 0);
	for (int c = 0; c < 3; c++)
		for (int i = 0; i < w * h; i++)
			attn_plane(r, c)[i] = (float)((i * 13 + c * 50 + 9) % 256) / 255.0f;
	return r;
}

static AVFrame *blend(const AVFrame *src, const attn_frame *res, const float *cov,
		      float weight)
{
	AVFrame *out = NULL;

	assert_int_equal(pipe_frame_blend(src, res, cov, weight, &out), 0);
	assert_non_null(out);
	assert_int_equal(out->format, src->format);
	assert_int_equal(out->width, src->width);
	assert_int_equal(out->height, src->height);
	assert_int_equal(out->pts, src->pts);
	return out;
}

/* Samples of plane c of a and b that differ, over the plane's own size. */
static long plane_diffs(const AVFrame *a, const AVFrame *b, int c)
{
	int s = c ? chroma_shift(a->format) : 0;
	int cw = AV_CEIL_RSHIFT(a->width, s), ch = AV_CEIL_RSHIFT(a->height, s);
	long n = 0;

	for (int y = 0; y < ch; y++)
		for (int x = 0; x < cw; x++)
			n += a->data[c][y * a->linesize[c] + x] != b->data[c][y * b->linesize[c] + x];
	return n;
}

static void check_untouched(enum AVPixelFormat fmt, int w, int h)
{
	AVFrame *src = frame_new(fmt, w, h, pattern), *out;
	attn_frame *res = result_of(w, h);
	float *zero = calloc((size_t)w * h, sizeof(float));

	out = blend(src, res, zero, 1.0f);
	for (int c = 0; c < 3; c++)
		assert_int_equal(plane_diffs(src, out, c), 0);
	av_frame_free(&out);
	out = blend(src, res, NULL, 0.0f);
	for (int c = 0; c < 3; c++)
		assert_int_equal(plane_diffs(src, out, c), 0);
	av_frame_free(&out);
	out = blend(src, res, NULL, 1.0f);
	assert_true(plane_diffs(src, out, 0) > w * h / 2);
	av_frame_free(&out);
	av_frame_free(&src);
	attn_frame_free(res);
	free(zero);
}

static void test_blend_keeps_samples_without_coverage_or_weight(void **state)
{
	(void)state;
	check_untouched(AV_PIX_FMT_YUV420P, 16, 10);
	check_untouched(AV_PIX_FMT_YUV420P, 9, 7);
	check_untouched(AV_PIX_FMT_YUV444P, 9, 7);
}

/*
 * Coverage 1 and weight 1: the result itself, chroma averaged over the
 * luma pixels each sample covers (fewer at odd edges).
 */
static void check_full(enum AVPixelFormat fmt, int w, int h)
{
	AVFrame *src = frame_new(fmt, w, h, pattern), *out;
	attn_frame *res = result_of(w, h);
	float *one = malloc(sizeof(float) * w * h);
	int s = chroma_shift(fmt);

	for (int i = 0; i < w * h; i++)
		one[i] = 1.0f;
	out = blend(src, res, one, 1.0f);
	for (int c = 0; c < 3; c++) {
		int k = c ? s : 0;

		for (int y = 0; y < AV_CEIL_RSHIFT(h, k); y++)
			for (int x = 0; x < AV_CEIL_RSHIFT(w, k); x++) {
				double sum = 0;
				int n = 0;

				for (int yy = y << k; yy < ((y + 1) << k) && yy < h; yy++)
					for (int xx = x << k; xx < ((x + 1) << k) && xx < w; xx++, n++)
						sum += attn_plane(res, c)[yy * w + xx];
				/* means of several samples may fall on a rounding tie */
				assert_true(abs(out->data[c][y * out->linesize[c] + x] -
						(int)lrint(sum / n * 255.0)) <= (n > 1));
			}
	}
	av_frame_free(&out);
	av_frame_free(&src);
	attn_frame_free(res);
	free(one);
}

static void test_blend_full_coverage_gives_the_result(void **state)
{
	(void)state;
	check_full(AV_PIX_FMT_YUV444P, 9, 7);
	check_full(AV_PIX_FMT_YUV420P, 16, 10);
	check_full(AV_PIX_FMT_YUV420P, 9, 7);
}

/* Half weight lands half way; left of a coverage edge nothing changes. */
static void test_blend_partial(void **state)
{
	AVFrame *src = frame_new(AV_PIX_FMT_YUV444P, 10, 6, pattern), *out;
	attn_frame *res = result_of(10, 6);
	float cov[10 * 6];

	(void)state;
	for (int i = 0; i < 60; i++)
		cov[i] = i % 10 < 4 ? 0.0f : 1.0f;
	out = blend(src, res, cov, 0.5f);
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < 6; y++)
			for (int x = 0; x < 10; x++) {
				int s = pattern(c, x, y), got = out->data[c][y * out->linesize[c] + x];
				float r = attn_plane(res, c)[y * 10 + x] * 255.0f;

				if (x < 4)
					assert_int_equal(got, s);
				else
					assert_true(fabsf(got - (s + 0.5f * (r - s))) <= 0.5f + 1e-3f);
			}
	av_frame_free(&out);
	av_frame_free(&src);
	attn_frame_free(res);
}

/* Mean of plane v (w x h) over the luma pixels of chroma cell (x, y), shift k. */
static double cell_of(const float *v, int w, int h, int k, int x, int y)
{
	double sum = 0;
	int n = 0;

	for (int yy = y << k; yy < ((y + 1) << k) && yy < h; yy++)
		for (int xx = x << k; xx < ((x + 1) << k) && xx < w; xx++, n++)
			sum += v[yy * w + xx];
	return sum / n;
}

/*
 * 4:2:0 at odd sizes, coverage over an inner rectangle whose edges cut
 * chroma cells: each sample moves by its cell's mean coverage towards its
 * cell's mean result; samples of cells with no coverage stay.
 */
static void test_blend_partial_chroma_cells(void **state)
{
	int w = 13, h = 9;
	AVFrame *src = frame_new(AV_PIX_FMT_YUV420P, w, h, pattern), *out;
	attn_frame *res = result_of(w, h);
	float *cov = calloc((size_t)w * h, sizeof(float));

	(void)state;
	for (int y = 3; y < 8; y++)
		for (int x = 3; x < 10; x++)
			cov[y * w + x] = 0.75f;
	out = blend(src, res, cov, 0.8f);
	for (int c = 0; c < 3; c++) {
		int k = c ? 1 : 0;

		for (int y = 0; y < AV_CEIL_RSHIFT(h, k); y++)
			for (int x = 0; x < AV_CEIL_RSHIFT(w, k); x++) {
				int s = src->data[c][y * src->linesize[c] + x];
				int got = out->data[c][y * out->linesize[c] + x];
				double g = 0.8 * cell_of(cov, w, h, k, x, y);
				double r = cell_of(attn_plane(res, c), w, h, k, x, y) * 255.0;

				if (g <= 0)
					assert_int_equal(got, s);
				else
					assert_true(fabs(got - (s + g * (r - s))) <= 0.5 + 1e-3);
			}
	}
	av_frame_free(&out);
	av_frame_free(&src);
	attn_frame_free(res);
	free(cov);
}

static void test_blend_rejects_mismatches(void **state)
{
	AVFrame *src = frame_new(AV_PIX_FMT_YUV420P, 8, 6, pattern), *out = NULL;
	attn_frame *small, *two;

	(void)state;
	assert_int_equal(attn_frame_create(7, 6, 3, &small), 0);
	assert_int_equal(attn_frame_create(8, 6, 2, &two), 0);
	assert_int_equal(pipe_frame_blend(src, small, NULL, 1.0f, &out), -EINVAL);
	assert_int_equal(pipe_frame_blend(src, two, NULL, 1.0f, &out), -EINVAL);
	assert_null(out);
	attn_frame_free(small);
	attn_frame_free(two);
	av_frame_free(&src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_444_is_exact),
		cmocka_unit_test(test_420_chroma_upsampled),
		cmocka_unit_test(test_420_chroma_matches_float_bilinear),
		cmocka_unit_test(test_to_yuv8_rejects_what_it_cannot_convert),
		cmocka_unit_test(test_blend_keeps_samples_without_coverage_or_weight),
		cmocka_unit_test(test_blend_full_coverage_gives_the_result),
		cmocka_unit_test(test_blend_partial),
		cmocka_unit_test(test_blend_partial_chroma_cells),
		cmocka_unit_test(test_blend_rejects_mismatches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
