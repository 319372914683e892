/*
 * attn_attend against a plain reference: naive loops over every query and
 * every key of every source, softmax in double precision.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attention/attn_attend.h"

#define W 37
#define H 29
#define DV 3

static uint64_t rng = 88172645463325252ull;

static float frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((rng >> 11) * (1.0 / 9007199254740992.0));
}

struct world {
	float qplane[2][W * H];
	float kplane[2][W * H];
	uint8_t kplane8[W * H];         /* kplane[0] in 8 bits */
	float vplane[DV][W * H];
	float kmask[W * H];
	float qmask[W * H];
	float cx[W * H], cy[W * H];
	/* a dense key set */
	int nk;
	float *dk, *dv, *dbias, *dkx, *dky;
};

static void world_fill(struct world *w, int nk, int d, int masked)
{
	for (int i = 0; i < W * H; i++) {
		for (int c = 0; c < 2; c++) {
			w->qplane[c][i] = frand();
			w->kplane[c][i] = frand();
		}
		w->kplane8[i] = (uint8_t)(w->kplane[0][i] * 255.0f);
		for (int c = 0; c < DV; c++)
			w->vplane[c][i] = frand();
		w->kmask[i] = masked ? (frand() < 0.3f ? -INFINITY : logf(0.2f + frand())) : 0.0f;
		w->qmask[i] = frand();
		w->cx[i] = frand() * (W + 6) - 3;
		w->cy[i] = frand() * (H + 6) - 3;
	}
	w->nk = nk;
	w->dk = malloc(sizeof(float) * nk * d);
	w->dv = malloc(sizeof(float) * nk * DV);
	w->dbias = malloc(sizeof(float) * nk);
	w->dkx = malloc(sizeof(float) * nk);
	w->dky = malloc(sizeof(float) * nk);
	for (int j = 0; j < nk * d; j++)
		w->dk[j] = frand();
	for (int j = 0; j < nk * DV; j++)
		w->dv[j] = frand();
	for (int j = 0; j < nk; j++) {
		w->dbias[j] = masked ? (frand() < 0.3f ? -INFINITY : logf(0.1f + frand())) : 0.0f;
		w->dkx[j] = (float)(rand() % W);
		w->dky[j] = (float)(rand() % H);
	}
}

static void world_free(struct world *w)
{
	free(w->dk);
	free(w->dv);
	free(w->dbias);
	free(w->dkx);
	free(w->dky);
}

/*
 * Patches of two planes (the second weighted and less its mean), or of
 * the first alone (weighted, less its mean where zero_mean says; in 8 bits
 * when planes8 is given).
 */
static struct attn_feat feat(const float planes[2][W * H], const uint8_t *planes8,
			     int one_plane, int zero_mean)
{
	struct attn_feat f = { .width = W, .height = H, .radius = 1, .n = 2 };

	if (one_plane) {
		f.n = 1;
		f.plane[0] = planes8 ? NULL : planes[0];
		f.plane8[0] = planes8;
		f.weight[0] = 0.8f;
		f.zero_mean[0] = (unsigned char)zero_mean;
		return f;
	}
	f.plane[0] = planes[0];
	f.plane[1] = planes[1];
	f.weight[0] = 1.0f;
	f.weight[1] = 0.5f;
	f.zero_mean[1] = 1;
	return f;
}

/* Accumulates one key into the reference softmax of a query. */
struct ref_acc {
	double m, l, acc[DV];
	double s[4096];
	double v[4096][DV];
	int n;
};

static void ref_add(struct ref_acc *a, double s, const float *v, int vstride)
{
	a->s[a->n] = s;
	for (int c = 0; c < DV; c++)
		a->v[a->n][c] = v[(size_t)c * vstride];
	a->n++;
}

static void ref_finish(struct ref_acc *a, float *out, float *ent)
{
	double m = -INFINITY, l = 0, h = 0;

	memset(out, 0, sizeof(float) * DV);
	*ent = 0;
	for (int j = 0; j < a->n; j++)
		m = a->s[j] > m ? a->s[j] : m;
	if (a->n == 0)
		return;
	for (int j = 0; j < a->n; j++)
		l += exp(a->s[j] - m);
	for (int c = 0; c < DV; c++) {
		double o = 0;

		for (int j = 0; j < a->n; j++)
			o += exp(a->s[j] - m) / l * a->v[j][c];
		out[c] = (float)o;
	}
	for (int j = 0; j < a->n; j++) {
		double p = exp(a->s[j] - m) / l;

		h -= p > 0 ? p * log(p) : 0;
	}
	*ent = (float)h;
}

static double sqdist(const float *a, const float *b, int d)
{
	double s = 0;

	for (int c = 0; c < d; c++)
		s += ((double)a[c] - b[c]) * ((double)a[c] - b[c]);
	return s;
}

static void reference(const struct attn_job *job,
		      float *out, float *ent)
{
	int d = attn_feat_dim(job->queries);
	float *qf = malloc(sizeof(float) * d), *kf = malloc(sizeof(float) * d);
	struct ref_acc *a = malloc(sizeof(*a));

	for (int i = 0; i < job->q->n; i++) {
		a->n = 0;
		attn_feat_gather(job->queries, &job->q->x[i], &job->q->y[i], 1, qf);
		for (int k = 0; k < job->n_dense; k++) {
			const struct attn_dense *ds = &job->dense[k];

			for (int j = 0; j < ds->nk; j++) {
				double s = -job->scale * sqdist(qf, ds->k + (size_t)j * d, d)
					   + ds->bias_all;

				if (ds->bias) {
					if (isinf(ds->bias[j]))
						continue;
					s += ds->bias[j];
				}
				if (ds->kx) {
					double dx = ds->kx[j] - ds->cx[i], dy = ds->ky[j] - ds->cy[i];

					s -= ds->lambda * (dx * dx + dy * dy);
				}
				ref_add(a, s, ds->v + (size_t)j * DV, 1);
			}
		}
		for (int k = 0; k < job->n_windows; k++) {
			const struct attn_window *ws = &job->windows[k];
			int rx = (int)roundf(ws->cx[i]), ry = (int)roundf(ws->cy[i]);

			for (int y = 0; y < H; y++) {
				for (int x = 0; x < W; x++) {
					double s, dx = x - ws->cx[i], dy = y - ws->cy[i];

					if (abs(x - rx) > ws->radius || abs(y - ry) > ws->radius)
						continue;
					if (ws->bias && isinf(ws->bias[y * W + x]))
						continue;
					attn_feat_gather(&ws->keys, &x, &y, 1, kf);
					s = -job->scale * sqdist(qf, kf, d) + ws->bias_all
					    - ws->lambda * (dx * dx + dy * dy)
					    + (ws->bias ? ws->bias[y * W + x] : 0)
					    + (ws->qbias ? ws->qbias[i] : 0);
					ref_add(a, s, ws->value[0] + y * W + x, W * H);
				}
			}
		}
		ref_finish(a, out + (size_t)i * DV, ent + i);
	}
	free(a);
	free(qf);
	free(kf);
}

struct params {
	int block, tile, threads, masked, radius, dense, windows;
	int smooth;             /* window centres follow the queries (a motion field) */
	int one_plane;          /* patches of one plane, not two */
	int q_zero_mean, k_zero_mean, k8;       /* and how (feat) */
	int gemm;               /* windows as GEMM tiles (gemm_windows) */
};

/* Centres at a smooth offset from the queries, as a motion field gives. */
static void smooth_centres(struct world *w, const struct attn_queries *q)
{
	for (int i = 0; i < q->n; i++) {
		w->cx[i] = q->x[i] + 1.7f + 0.05f * q->y[i];
		w->cy[i] = q->y[i] - 2.2f + 0.04f * q->x[i];
	}
}

static void check_case(const struct params *p)
{
	struct world *w = calloc(1, sizeof(*w));
	struct attn_feat qf, kf;
	struct attn_queries *q;
	struct attn_pool *pool;
	struct attn_dense dense;
	struct attn_window win[2];
	float *out, *ent, *rout, *rent;
	int d;

	qf = feat(w->qplane, NULL, p->one_plane, p->q_zero_mean);
	kf = feat(w->kplane, p->k8 ? w->kplane8 : NULL, p->one_plane, p->k_zero_mean);
	d = attn_feat_dim(&qf);
	world_fill(w, 700, d, p->masked);
	assert_int_equal(attn_queries_from_mask(w->qmask, W, H, 0.4f, p->block, &q), 0);
	assert_true(q->n > 100);
	if (p->smooth)
		smooth_centres(w, q);
	assert_int_equal(attn_pool_create(p->threads, &pool), 0);
	dense = (struct attn_dense){
		.k = w->dk, .v = w->dv, .bias = w->dbias, .kx = w->dkx, .ky = w->dky,
		.cx = w->cx, .cy = w->cy, .nk = w->nk, .lambda = 0.01f, .bias_all = 0.3f,
	};
	for (int k = 0; k < 2; k++) {
		win[k] = (struct attn_window){
			.keys = kf, .bias = p->masked ? w->kmask : NULL,
			.cx = w->cx + 7 * k, .cy = w->cy + 3 * k,
			.qbias = k ? w->qmask : NULL, .radius = p->radius + k,
			.lambda = 0.05f * k, .bias_all = -0.2f * k,
		};
		for (int c = 0; c < DV; c++)
			win[k].value[c] = w->vplane[c];
	}
	out = calloc(q->n * DV, sizeof(float));
	ent = calloc(q->n, sizeof(float));
	rout = calloc(q->n * DV, sizeof(float));
	rent = calloc(q->n, sizeof(float));
	struct attn_job job = {
		.queries = &qf, .q = q, .dv = DV, .scale = 0.7f / d,
		.dense = &dense, .n_dense = p->dense, .windows = win,
		.n_windows = p->windows, .tile_keys = p->tile, .out = out, .entropy = ent,
		.gemm_windows = p->gemm,
	};
	struct attn_stats st = { 0 };

	assert_int_equal(attn_attend(pool, &job, &st), 0);
	reference(&job, rout, rent);
	for (int i = 0; i < q->n * DV; i++)
		assert_float_equal(out[i], rout[i], 1e-4);
	for (int i = 0; i < q->n; i++)
		assert_float_equal(ent[i], rent[i], 1e-3);
	assert_true(st.useful > 0 && st.useful <= st.scores);

	attn_pool_free(pool);
	attn_queries_free(q);
	free(out);
	free(ent);
	free(rout);
	free(rent);
	world_free(w);
	free(w);
}

static void test_unmasked_windows(void **state)
{
	(void)state;
	check_case(&(struct params){ .block = 8, .tile = 512, .threads = 1, .radius = 3, .windows = 2 });
}

static void test_masked_windows_small_tiles(void **state)
{
	(void)state;
	check_case(&(struct params){ .block = 4, .tile = 16, .threads = 2, .masked = 1, .radius = 2, .windows = 2 });
}

static void test_smooth_windows(void **state)
{
	(void)state;
	check_case(&(struct params){ .block = 16, .tile = 0, .threads = 2, .masked = 1, .radius = 2, .windows = 2, .smooth = 1 });
	check_case(&(struct params){ .block = 8, .tile = 40, .threads = 1, .radius = 6, .windows = 1, .smooth = 1 });
}

static void test_dense_only(void **state)
{
	(void)state;
	check_case(&(struct params){ .block = 16, .tile = 64, .threads = 3, .masked = 1, .dense = 1 });
}

static void test_joint_dense_and_windows(void **state)
{
	(void)state;
	check_case(&(struct params){ .block = 8, .tile = 96, .threads = 2, .masked = 1, .radius = 5, .dense = 1, .windows = 2 });
	check_case(&(struct params){ .block = 1, .tile = 512, .threads = 1, .radius = 1, .dense = 1, .windows = 1 });
}

/* Windows as GEMM tiles, the path attn_rows is measured against; with dense keys too. */
static void test_windows_as_gemm_tiles(void **state)
{
	(void)state;
	check_case(&(struct params){ .block = 8, .tile = 96, .threads = 2, .masked = 1, .radius = 3,
				     .windows = 2, .smooth = 1, .gemm = 1 });
	check_case(&(struct params){ .block = 4, .tile = 40, .threads = 1, .radius = 2, .dense = 1,
				     .windows = 1, .gemm = 1 });
}

/*
 * Keys that are one plane's patches, read as views of the plane (the mean
 * left in the keys where the queries have theirs removed), 8-bit or not;
 * and a case the views do not serve (keys less their mean, queries not).
 */
static void test_one_plane_patches(void **state)
{
	(void)state;
	check_case(&(struct params){ .block = 16, .threads = 2, .masked = 1, .radius = 2,
				     .windows = 2, .smooth = 1, .one_plane = 1,
				     .q_zero_mean = 1, .k_zero_mean = 1, .k8 = 1 });
	check_case(&(struct params){ .block = 8, .tile = 40, .threads = 1, .radius = 3,
				     .windows = 2, .one_plane = 1 });
	check_case(&(struct params){ .block = 8, .threads = 1, .masked = 1, .radius = 2,
				     .windows = 1, .one_plane = 1, .k_zero_mean = 1 });
}

/* Same inputs, 1 and 3 threads: the same bits. */
static void test_thread_count_does_not_change_output(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct attn_feat qf = feat(w->qplane, NULL, 0, 0), kf = feat(w->kplane, NULL, 0, 0);
	int d = attn_feat_dim(&qf);
	struct attn_queries *q;
	float *out[2];

	(void)state;
	world_fill(w, 300, d, 1);
	assert_int_equal(attn_queries_from_mask(NULL, W, H, 0, 8, &q), 0);
	for (int t = 0; t < 2; t++) {
		struct attn_pool *pool;
		struct attn_window win = { .keys = kf, .bias = w->kmask, .cx = w->cx,
					   .cy = w->cy, .radius = 4 };
		struct attn_dense dense = { .k = w->dk, .v = w->dv, .bias = w->dbias,
					    .nk = w->nk };

		for (int c = 0; c < DV; c++)
			win.value[c] = w->vplane[c];
		out[t] = calloc(q->n * DV, sizeof(float));
		assert_int_equal(attn_pool_create(t ? 3 : 1, &pool), 0);
		struct attn_job job = { .queries = &qf, .q = q, .dv = DV, .scale = 1.0f / d,
					.dense = &dense, .n_dense = 1, .windows = &win,
					.n_windows = 1, .out = out[t] };
		assert_int_equal(attn_attend(pool, &job, NULL), 0);
		attn_pool_free(pool);
	}
	assert_memory_equal(out[0], out[1], sizeof(float) * q->n * DV);
	free(out[0]);
	free(out[1]);
	attn_queries_free(q);
	world_free(w);
	free(w);
}

static void test_queries_from_mask_blocks(void **state)
{
	float mask[6 * 5] = { 0 };
	struct attn_queries *q;

	(void)state;
	mask[0] = mask[5] = mask[29] = 1.0f;
	assert_int_equal(attn_queries_from_mask(mask, 6, 5, 0.5f, 4, &q), 0);
	assert_int_equal(q->n, 3);
	assert_int_equal(q->n_blocks, 3);   /* (0,0) block, (1,0) block, (1,1) block */
	assert_int_equal(q->x[0], 0);
	assert_int_equal(q->x[1], 5);
	assert_int_equal(q->y[2], 4);
	attn_queries_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unmasked_windows),
		cmocka_unit_test(test_masked_windows_small_tiles),
		cmocka_unit_test(test_smooth_windows),
		cmocka_unit_test(test_dense_only),
		cmocka_unit_test(test_joint_dense_and_windows),
		cmocka_unit_test(test_windows_as_gemm_tiles),
		cmocka_unit_test(test_one_plane_patches),
		cmocka_unit_test(test_thread_count_does_not_change_output),
		cmocka_unit_test(test_queries_from_mask_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
