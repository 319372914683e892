/*
 * Helpers shared by the attention/ unit tests: a reproducible random
 * generator, smooth random textures that can be shifted by any amount
 * (sums of cosines), frames built from them, and error measures over a
 * mask. Header-only, static inline (each test file is its own program and
 * not every file uses every helper); included after cmocka.h.
 */
#ifndef ATTN_TEST_UTIL_H
#define ATTN_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn_engine.h"
#include "attention/attn_frame.h"
#include "attention/attn_kernel.h"

#define TEX_WAVES 10

/* xorshift64: the same numbers on every run. */
struct test_rng {
	uint64_t s;
};

static inline float rng_uniform(struct test_rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (float)((r->s >> 11) * (1.0 / 9007199254740992.0));
}

/* Uniform in [lo, hi). */
static inline float rng_range(struct test_rng *r, float lo, float hi)
{
	return lo + (hi - lo) * rng_uniform(r);
}

/*
 * A smooth random texture: mean plus TEX_WAVES cosines with periods of
 * period_min..period_max pixels in random directions, values within
 * mean +- amp.
 */
struct texture {
	float mean;
	float fx[TEX_WAVES], fy[TEX_WAVES], phase[TEX_WAVES], amp[TEX_WAVES];
};

static inline struct texture texture_random(struct test_rng *r, float mean,
					    float amp, float period_min,
					    float period_max)
{
	struct texture t = { .mean = mean };

	for (int k = 0; k < TEX_WAVES; k++) {
		float angle = rng_range(r, 0.0f, 6.2831853f);
		float freq = 1.0f / rng_range(r, period_min, period_max);

		t.fx[k] = freq * cosf(angle);
		t.fy[k] = freq * sinf(angle);
		t.phase[k] = rng_range(r, 0.0f, 6.2831853f);
		t.amp[k] = amp / TEX_WAVES;
	}
	return t;
}

/* The texture's value at a point (any real coordinates). */
static inline float texture_at(const struct texture *t, float x, float y)
{
	double v = t->mean;

	for (int k = 0; k < TEX_WAVES; k++)
		v += t->amp[k] * cos(6.283185307179586 * (t->fx[k] * x + t->fy[k] * y)
				     + t->phase[k]);
	return (float)v;
}

/* plane[y][x] = texture at (x - dx, y - dy): the texture moved by (dx, dy). */
static inline void texture_fill(const struct texture *t, float *plane, int w,
				int h, float dx, float dy)
{
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			plane[(size_t)y * w + x] = texture_at(t, x - dx, y - dy);
}

/* Three random textures, one per plane of a YUV frame. */
struct yuv_texture {
	struct texture c[3];
};

static inline struct yuv_texture yuv_texture_random(struct test_rng *r)
{
	struct yuv_texture t;

	t.c[0] = texture_random(r, 0.5f, 0.7f, 4.0f, 16.0f);
	t.c[1] = texture_random(r, 0.5f, 0.3f, 6.0f, 20.0f);
	t.c[2] = texture_random(r, 0.5f, 0.3f, 6.0f, 20.0f);
	return t;
}

/* A new 3-plane frame of the texture moved by (dx, dy). */
static inline attn_frame *yuv_frame(const struct yuv_texture *t, int w, int h,
				    float dx, float dy)
{
	attn_frame *f;

	assert_int_equal(attn_frame_create(w, h, 3, &f), 0);
	for (int c = 0; c < 3; c++)
		texture_fill(&t->c[c], attn_plane(f, c), w, h, dx, dy);
	return f;
}

/* A frame as the engine holds decoded frames: 8-bit planes and their view. */
struct yuv8_frame {
	uint8_t *samples;       /* owned: free() */
	struct attn_yuv8 view;
};

/*
 * Rounds f's first three planes to 8-bit levels in place and returns their
 * 8-bit copy, so the float frame and the 8-bit one hold the same values.
 */
static inline struct yuv8_frame yuv8_quantize(attn_frame *f)
{
	size_t n = (size_t)f->width * f->height;
	struct yuv8_frame y = { .samples = malloc(3 * n),
				.view = { .width = f->width, .height = f->height } };

	for (int c = 0; c < 3; c++) {
		float *p = attn_plane(f, c);

		for (size_t i = 0; i < n; i++) {
			float v = p[i] < 0.0f ? 0.0f : p[i] > 1.0f ? 1.0f : p[i];

			y.samples[c * n + i] = (uint8_t)lrintf(v * 255.0f);
			p[i] = y.samples[c * n + i] / 255.0f;
		}
		y.view.plane[c] = y.samples + c * n;
	}
	return y;
}

/* A coverage plane as the 8-bit coverage frames carry (caller frees). */
static inline uint8_t *cover8(const float *mask, int w, int h)
{
	uint8_t *c = malloc((size_t)w * h);

	for (int i = 0; i < w * h; i++)
		c[i] = (uint8_t)lrintf(mask[i] * 255.0f);
	return c;
}

/* A zeroed plane of w x h floats. */
static inline float *plane_new(int w, int h)
{
	float *p = calloc((size_t)w * h, sizeof(float));

	assert_non_null(p);
	return p;
}

/* A new plane of 1 - mask: the pixels outside it. */
static inline float *plane_complement(const float *mask, int w, int h)
{
	float *out = plane_new(w, h);

	for (int i = 0; i < w * h; i++)
		out[i] = 1.0f - mask[i];
	return out;
}

/* An engine with the parameters the tests vary; temperature 0.7, a fixed seed. */
static inline attn_engine *engine_new(int threads, int steps, int window, int temporal)
{
	struct attn_params p = { .temperature = 0.7f, .steps = steps, .window = window,
				 .temporal = temporal, .seed = 5, .threads = threads };
	attn_engine *e;

	assert_int_equal(attn_engine_create(&p, &e), 0);
	return e;
}

/* A w x h plane, 1 inside [x0, x1) x [y0, y1), 0 elsewhere. */
static inline void rect_mask(float *m, int w, int h, int x0, int y0, int x1,
			     int y1)
{
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			m[(size_t)y * w + x] = x >= x0 && x < x1 && y >= y0 && y < y1;
}

/*
 * Root mean squared difference of the first `planes` planes of a and b
 * over the pixels where sel > 0.5 (NULL: all).
 */
static inline double frame_rmse(const attn_frame *a, const attn_frame *b,
				int planes, const float *sel)
{
	size_t n = (size_t)a->width * a->height, count = 0;
	double sum = 0;

	for (int c = 0; c < planes; c++)
		for (size_t i = 0; i < n; i++) {
			double d = attn_plane(a, c)[i] - attn_plane(b, c)[i];

			if (sel && !(sel[i] > 0.5f))
				continue;
			sum += d * d;
			count++;
		}
	assert_true(count > 0);
	return sqrt(sum / count);
}

/* Mean of plane over the pixels where sel > 0.5 (NULL: all). */
static inline double plane_mean(const float *plane, size_t n, const float *sel)
{
	double sum = 0;
	size_t count = 0;

	for (size_t i = 0; i < n; i++) {
		if (sel && !(sel[i] > 0.5f))
			continue;
		sum += plane[i];
		count++;
	}
	assert_true(count > 0);
	return sum / count;
}

/* Number of pixels where the first `planes` planes of a and b differ in any bit. */
static inline long frame_diff_count(const attn_frame *a, const attn_frame *b,
				    int planes, const float *sel)
{
	size_t n = (size_t)a->width * a->height;
	long count = 0;

	for (size_t i = 0; i < n; i++) {
		int differ = 0;

		if (sel && !(sel[i] > 0.5f))
			continue;
		for (int c = 0; c < planes; c++)
			differ |= memcmp(&attn_plane(a, c)[i], &attn_plane(b, c)[i],
					 sizeof(float)) != 0;
		count += differ;
	}
	return count;
}

/* n zeroed floats; the test fails when out of memory. */
static inline float *alloc_floats(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof(float));

	assert_non_null(p);
	return p;
}

/* A reset online-softmax state of nq queries, with buffers of its own. */
static inline struct attn_state state_make(int nq, int dv)
{
	struct attn_state st = { .nq = nq, .dv = dv };

	st.max = alloc_floats(nq);
	st.sum = alloc_floats(nq);
	st.ent = alloc_floats(nq);
	st.acc = alloc_floats((size_t)nq * dv);
	attn_state_reset(&st);
	return st;
}

static inline void state_free(struct attn_state *st)
{
	free(st->max);
	free(st->sum);
	free(st->ent);
	free(st->acc);
}

static inline void assert_close(const float *a, const float *b, int n, double tol)
{
	for (int i = 0; i < n; i++)
		if (fabs((double)a[i] - b[i]) > tol)
			fail_msg("value %d: %.8f against %.8f", i, (double)a[i], (double)b[i]);
}

#endif
