/*
 * attn_rows: attn_rows_update and attn_state_finish against a naive softmax
 * in double precision, for queries on pixel rows (with holes) whose window
 * centres follow a smooth field (full vectors, and offsets that change
 * along a row), scatter at random, or leave the frame; with the prior,
 * biases, keys left out, appearance left out (scale 0) and up to 16
 * values; the keys as one rectangle or cut into bands and columns give the
 * same result; useful and computed counts.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attention/attn_rows.h"
#include "tests/unit/attention/attn_test_util.h"

#define KW 43                   /* the keys' frame */
#define KH 31
#define D 9
#define MAX_DV 16

enum centres { SMOOTH, ROW_STEPS, SCATTERED, LEAVING };

struct rows_case {
	int dv, radius;
	float scale, lambda, tile_bias;
	int qbias, masked;
	enum centres centres;
};

struct world {
	struct rows_case rc;
	int nq;
	int qx[KW * KH], qy[KW * KH];
	float cx[KW * KH], cy[KW * KH], qb[KW * KH];
	float q[KW * KH * D];
	float k[KW * KH * D], bias[KW * KH], v[KW * KH * MAX_DV];
};

/* Queries on most pixels of a part of the frame, raster order, with holes. */
static void world_queries(struct world *w, struct test_rng *rng)
{
	w->nq = 0;
	for (int y = 2; y < KH - 1; y++)
		for (int x = 1; x < KW - 3; x++) {
			int i = w->nq;
			float fx = (float)x, fy = (float)y;

			if (rng_uniform(rng) < 0.12f)
				continue;
			w->qx[i] = x;
			w->qy[i] = y;
			switch (w->rc.centres) {
			case SMOOTH:
				w->cx[i] = fx + 2.3f + 0.02f * fy;
				w->cy[i] = fy - 1.4f;
				break;
			case ROW_STEPS:
				w->cx[i] = fx + 0.17f * fx - 3.0f;
				w->cy[i] = fy + 0.11f * fx - 2.0f;
				break;
			case SCATTERED:
				w->cx[i] = rng_range(rng, -3.0f, KW + 3.0f);
				w->cy[i] = rng_range(rng, -3.0f, KH + 3.0f);
				break;
			case LEAVING:
				w->cx[i] = fx - 1.5f * y;
				w->cy[i] = fy + 0.6f * x - 9.0f;
				break;
			}
			w->qb[i] = rng_range(rng, -1.0f, 1.0f);
			for (int c = 0; c < D; c++)
				w->q[i * D + c] = rng_range(rng, -1.0f, 1.0f);
			w->nq++;
		}
}

static struct world *world_make(const struct rows_case *rc, uint64_t seed)
{
	struct test_rng rng = { seed };
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->rc = *rc;
	for (int j = 0; j < KW * KH; j++) {
		float u = rng_uniform(&rng);

		for (int c = 0; c < D; c++)
			w->k[j * D + c] = rng_range(&rng, -1.0f, 1.0f);
		for (int c = 0; c < MAX_DV; c++)
			w->v[j * MAX_DV + c] = rng_uniform(&rng);
		w->bias[j] = !rc->masked ? 0.0f : u < 0.2f ? ATTN_NEG :
			     logf(rng_range(&rng, 0.05f, 1.0f));
	}
	world_queries(w, &rng);
	return w;
}

/* Query i's score for the key at (x, y); 0 when the key is not seen. */
static int ref_score(const struct world *w, int i, int x, int y, double *s)
{
	const struct rows_case *rc = &w->rc;
	int j = y * KW + x;
	double dot = 0, n2 = 0, dx = x - w->cx[i], dy = y - w->cy[i];

	if (w->bias[j] <= 0.5f * ATTN_NEG ||
	    fabs(x - roundf(w->cx[i])) > rc->radius || fabs(y - roundf(w->cy[i])) > rc->radius)
		return 0;
	for (int c = 0; c < D; c++) {
		dot += (double)w->q[i * D + c] * w->k[j * D + c];
		n2 += (double)w->k[j * D + c] * w->k[j * D + c];
	}
	*s = rc->scale * (2 * dot - n2) + w->bias[j] + rc->tile_bias +
	     (rc->qbias ? w->qb[i] : 0) - rc->lambda * (dx * dx + dy * dy);
	return 1;
}

/* Outputs and entropies over every key of the frame, naively; the useful count. */
static long reference(const struct world *w, float *out, float *ent)
{
	static double s[KW * KH];
	static int key[KW * KH];
	long useful = 0;

	for (int i = 0; i < w->nq; i++) {
		double m = -INFINITY, l = 0, h = 0, o[MAX_DV] = { 0 };
		int n = 0;

		for (int y = 0; y < KH; y++)
			for (int x = 0; x < KW; x++)
				if (ref_score(w, i, x, y, &s[n])) {
					key[n] = y * KW + x;
					m = fmax(m, s[n++]);
				}
		useful += n;
		for (int j = 0; j < n; j++)
			l += exp(s[j] - m);
		for (int j = 0; j < n; j++) {
			double p = exp(s[j] - m) / l;

			for (int c = 0; c < w->rc.dv; c++)
				o[c] += p * w->v[key[j] * MAX_DV + c];
			h -= p > 0 ? p * log(p) : 0;
		}
		for (int c = 0; c < w->rc.dv; c++)
			out[i * w->rc.dv + c] = (float)o[c];
		ent[i] = (float)h;
	}
	return useful;
}

/* n floats with ATTN_LANES before and after, the margins finite garbage. */
static float *margined(size_t n)
{
	float *p = malloc(sizeof(float) * (n + 2 * ATTN_LANES));

	assert_non_null(p);
	for (size_t i = 0; i < n + 2 * ATTN_LANES; i++)
		p[i] = 7.5f;
	return p + ATTN_LANES;
}

/* Folds the keys of [x0, x0 + rw) x [y0, y0 + rh) into st; the useful count. */
static long fold_rect(const struct world *w, int x0, int y0, int rw, int rh,
		      struct attn_state *st, long *computed)
{
	const struct rows_case *rc = &w->rc;
	int pitch = rw + ATTN_LANES + 3, q_pitch = KW + ATTN_LANES;
	float *kt = margined((size_t)rh * D * pitch), *kterm = margined((size_t)rh * pitch);
	float *vt = margined((size_t)rh * rc->dv * pitch);
	float *qt = margined((size_t)KH * D * q_pitch);
	float *work = malloc(sizeof(float) * ATTN_ROWS_WORK);
	int *keys = malloc(sizeof(int) * ATTN_ROWS_CHUNK);
	long useful;

	for (int y = 0; y < rh; y++)
		for (int x = 0; x < rw; x++) {
			int p = (y0 + y) * KW + x0 + x;
			double n2 = 0;

			for (int c = 0; c < D; c++) {
				kt[(size_t)(y * D + c) * pitch + x] = w->k[p * D + c];
				n2 += (double)w->k[p * D + c] * w->k[p * D + c];
			}
			for (int c = 0; c < rc->dv; c++)
				vt[(size_t)(y * rc->dv + c) * pitch + x] = w->v[p * MAX_DV + c];
			kterm[(size_t)y * pitch + x] = w->bias[p] <= 0.5f * ATTN_NEG ? ATTN_NEG :
				(float)(-rc->scale * n2) + w->bias[p];
		}
	for (int i = 0; i < w->nq; i++)
		for (int c = 0; c < D; c++)
			qt[(size_t)(w->qy[i] * D + c) * q_pitch + w->qx[i]] = w->q[i * D + c];
	int kt_off[D];

	for (int c = 0; c < D; c++)
		kt_off[c] = c * pitch;
	struct attn_rect rect = { .x0 = x0, .y0 = y0, .w = rw, .h = rh, .pitch = pitch,
				  .kt = kt, .kt_row = D * pitch, .kt_off = kt_off,
				  .kterm = kterm, .vt = vt };
	struct attn_rows rows = {
		.qt = qt, .q_pitch = q_pitch, .qx0 = 0, .qy0 = 0,
		.qx = w->qx, .qy = w->qy, .cx = w->cx, .cy = w->cy,
		.qbias = rc->qbias ? w->qb : NULL, .nq = w->nq, .d = D, .dv = rc->dv,
		.scale = rc->scale, .tile_bias = rc->tile_bias, .lambda = rc->lambda,
		.radius = rc->radius, .work = work, .keys = keys,
	};

	useful = attn_rows_update(&rows, &rect, st, computed);
	free(qt - ATTN_LANES);
	free(kt - ATTN_LANES);
	free(kterm - ATTN_LANES);
	free(vt - ATTN_LANES);
	free(work);
	free(keys);
	return useful;
}

/*
 * The frame's keys cut every cw columns and ch rows, folded and finished;
 * returns the useful count, *computed the lanes computed.
 */
static long run_cut(const struct world *w, int cw, int ch, float *out, float *ent,
		    long *computed)
{
	struct attn_state st = state_make(w->nq, w->rc.dv);
	long useful = 0, lanes;

	*computed = 0;
	for (int y = 0; y < KH; y += ch)
		for (int x = 0; x < KW; x += cw) {
			useful += fold_rect(w, x, y, x + cw < KW ? cw : KW - x,
					    y + ch < KH ? ch : KH - y, &st, &lanes);
			*computed += lanes;
		}
	attn_state_finish(&st, out, ent);
	state_free(&st);
	return useful;
}

static void check_case(const struct rows_case *rc, uint64_t seed)
{
	struct world *w = world_make(rc, seed);
	int n = w->nq * rc->dv;
	float *rout = malloc(sizeof(float) * n), *rent = malloc(sizeof(float) * w->nq);
	float *out = malloc(sizeof(float) * n), *ent = malloc(sizeof(float) * w->nq);
	const int cuts[][2] = { { KW, KH }, { KW, 5 }, { 9, KH }, { 7, 4 } };
	long useful = reference(w, rout, rent), computed;

	assert_true(useful > 0);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		assert_int_equal(run_cut(w, cuts[i][0], cuts[i][1], out, ent, &computed),
				 useful);
		assert_true(computed >= useful && computed % ATTN_LANES == 0);
		assert_close(out, rout, n, 1e-5);
		assert_close(ent, rent, w->nq, 1e-4);
	}
	free(rout);
	free(rent);
	free(out);
	free(ent);
	free(w);
}

static void test_smooth_centres(void **state)
{
	(void)state;
	check_case(&(struct rows_case){ .dv = 3, .radius = 2, .scale = 0.4f, .lambda = 0.3f,
					.tile_bias = 0.5f, .qbias = 1, .masked = 1,
					.centres = SMOOTH }, 11);
}

/* Offsets that step along a row split it into vectors with fewer lanes. */
static void test_offsets_changing_along_rows(void **state)
{
	(void)state;
	check_case(&(struct rows_case){ .dv = 4, .radius = 3, .scale = 0.3f, .lambda = 0.1f,
					.masked = 1, .centres = ROW_STEPS }, 12);
}

static void test_scattered_centres(void **state)
{
	(void)state;
	check_case(&(struct rows_case){ .dv = 3, .radius = 1, .scale = 0.5f,
					.tile_bias = -0.7f, .qbias = 1,
					.centres = SCATTERED }, 13);
}

/* Windows partly or wholly off the frame: only the keys inside count. */
static void test_windows_leaving_the_frame(void **state)
{
	(void)state;
	check_case(&(struct rows_case){ .dv = 3, .radius = 4, .scale = 0.2f, .lambda = 0.05f,
					.masked = 1, .centres = LEAVING }, 14);
}

/*
 * Scale 0: the prior alone weighs the keys; the features are not read (the
 * prior path, its exps factored per key, column and row): with per-query
 * biases, offsets stepping along rows, windows cut by the frame and by
 * rectangles, and a radius too large for that path (the chunked one).
 */
static void test_position_only(void **state)
{
	(void)state;
	check_case(&(struct rows_case){ .dv = 3, .radius = 2, .lambda = 0.8f, .masked = 1,
					.centres = SMOOTH }, 15);
	check_case(&(struct rows_case){ .dv = 4, .radius = 3, .lambda = 0.3f, .tile_bias = 0.5f,
					.qbias = 1, .masked = 1, .centres = ROW_STEPS }, 19);
	check_case(&(struct rows_case){ .dv = 3, .radius = 4, .lambda = 4.0f, .qbias = 1,
					.centres = LEAVING }, 20);
	check_case(&(struct rows_case){ .dv = 3, .radius = 12, .lambda = 0.02f, .masked = 1,
					.centres = SMOOTH }, 21);
}

/*
 * Large windows (more offsets than a chunk) and the value counts of
 * propagate (12, 15) and the most there may be.
 */
static void test_large_windows_many_values(void **state)
{
	const int dvs[] = { 12, 15, MAX_DV };

	(void)state;
	for (int i = 0; i < 3; i++) {
		check_case(&(struct rows_case){ .dv = dvs[i], .radius = 8, .scale = 0.05f,
						.lambda = 0.01f, .qbias = 1, .masked = 1,
						.centres = SMOOTH }, 16);
		check_case(&(struct rows_case){ .dv = dvs[i], .radius = 3, .scale = 0.1f,
						.masked = 1, .centres = SCATTERED }, 18);
	}
}

/* Full vectors: on smooth centres with no holes, every lane computed is useful. */
/*
 * Four rows of sixteen queries whose windows sit at one offset, the keys
 * from row masked_from down masked out: every score computed is useful
 * (a vector whose keys are all masked out is not computed), and the result
 * is the reference's.
 */
static void check_full_rows(int masked_from)
{
	struct world *w = world_make(&(struct rows_case){ .dv = 3, .radius = 2, .scale = 0.4f,
							  .centres = SMOOTH }, 17);
	float *out = malloc(sizeof(float) * KW * KH * 3), *ent = malloc(sizeof(float) * KW * KH);
	float *rout = malloc(sizeof(float) * KW * KH * 3), *rent = malloc(sizeof(float) * KW * KH);
	struct attn_state st;
	long computed, useful;

	w->nq = 0;
	for (int y = 8; y < 12; y++)
		for (int x = 10; x < 26; x++) {
			w->qx[w->nq] = x;
			w->qy[w->nq] = y;
			w->cx[w->nq] = x + 0.2f;
			w->cy[w->nq++] = y - 0.3f;
		}
	for (int j = masked_from * KW; j < KW * KH; j++)
		w->bias[j] = ATTN_NEG;
	st = state_make(w->nq, 3);
	useful = fold_rect(w, 0, 0, KW, KH, &st, &computed);
	assert_int_equal(useful, reference(w, rout, rent));
	assert_int_equal(computed, useful);
	attn_state_finish(&st, out, ent);
	assert_close(out, rout, w->nq * 3, 1e-5);
	assert_close(ent, rent, w->nq, 1e-4);
	state_free(&st);
	free(out);
	free(ent);
	free(rout);
	free(rent);
	free(w);
}

static void test_full_rows_waste_nothing(void **state)
{
	(void)state;
	check_full_rows(KH);
}

/* Window rows 6..13; from row 10 down, one to four of each window's five are out. */
static void test_masked_out_keys_cost_nothing(void **state)
{
	(void)state;
	check_full_rows(10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smooth_centres),
		cmocka_unit_test(test_offsets_changing_along_rows),
		cmocka_unit_test(test_scattered_centres),
		cmocka_unit_test(test_windows_leaving_the_frame),
		cmocka_unit_test(test_position_only),
		cmocka_unit_test(test_large_windows_many_values),
		cmocka_unit_test(test_full_rows_waste_nothing),
		cmocka_unit_test(test_masked_out_keys_cost_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
