/*
 * attn_bench: the attention kernel's speed beside OpenBLAS sgemm, measured
 * in the same run. Counts useful work only (scores inside the windows and
 * masks, and their values), and prints the share of computed scores that
 * were useful. A benchmark, not a test: it prints figures, asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>

#include <cblas.h>

#include "attention/attn_attend.h"
#include "attention/attn_blas.h"
#include "bench_timed.h"

#define W 972
#define H 540

static float *random_plane(size_t n, unsigned *seed)
{
	float *p = malloc(sizeof(float) * n);

	for (size_t i = 0; i < n; i++)
		p[i] = (float)rand_r(seed) / (float)RAND_MAX;
	return p;
}

static double sgemm_gflops(int m, int n, int k, int threads)
{
	unsigned seed = 1;
	float *a = random_plane((size_t)m * k, &seed);
	float *b = random_plane((size_t)n * k, &seed);
	float *c = malloc(sizeof(float) * m * n);
	double best = 0.0;

	openblas_set_num_threads(threads);
	for (int rep = 0; rep < 5; rep++) {
		double t0 = bench_now(), dt;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f,
			    a, k, b, k, 0.0f, c, n);
		dt = bench_now() - t0;
		best = 2.0 * m * n * k / dt * 1e-9 > best ? 2.0 * m * n * k / dt * 1e-9 : best;
	}
	openblas_set_num_threads(1);
	free(a);
	free(b);
	free(c);
	return best;
}

struct frame {
	float *plane[3];
	struct attn_feat feat;
};

static void frame_init(struct frame *f, unsigned *seed)
{
	f->feat = (struct attn_feat){ .width = W, .height = H, .radius = 1, .n = 3 };
	for (int c = 0; c < 3; c++) {
		f->plane[c] = random_plane((size_t)W * H, seed);
		f->feat.plane[c] = f->plane[c];
		f->feat.weight[c] = 1.0f;
	}
}

/* Best of 3 after a warm-up. */
static void report(const char *name, attn_pool *pool, struct attn_job *job)
{
	struct bench_result res = bench_timed(pool, job, 3);

	printf("%-34s %8.1f ms %8.1f GFLOP/s useful   useful share %4.0f%%\n", name,
	       res.seconds * 1e3, res.stats.flops / res.seconds * 1e-9,
	       100.0 * res.stats.useful / res.stats.scores);
}

/* Every pixel of a frame against windows of radius r in a reference. */
static void windowed(attn_pool *pool, struct frame *q, struct frame *k, int r,
		     int block, int gemm)
{
	attn_queries *qs;
	struct attn_window win = { .keys = k->feat, .radius = r };
	char name[64];
	float *cx, *cy, *out;

	attn_queries_from_mask(NULL, W, H, 0.0f, block, &qs);
	cx = malloc(sizeof(float) * qs->n);
	cy = malloc(sizeof(float) * qs->n);
	out = malloc(sizeof(float) * qs->n * 4);
	for (int i = 0; i < qs->n; i++) {
		cx[i] = qs->x[i] + 2.3f;
		cy[i] = qs->y[i] - 1.6f;
	}
	win.cx = cx;
	win.cy = cy;
	for (int c = 0; c < 4; c++)
		win.value[c] = k->plane[c % 3];
	struct attn_job job = { .queries = &q->feat, .q = qs, .dv = 4, .scale = 0.1f,
				.windows = &win, .n_windows = 1, .out = out,
				.gemm_windows = gemm };
	snprintf(name, sizeof(name), "window r=%d, %dx%d blocks, %s", r, block,
		 block, gemm ? "GEMM tiles" : "a query per lane");
	report(name, pool, &job);
	free(cx);
	free(cy);
	free(out);
	attn_queries_free(qs);
}

/* Queries of a masked region against every masked key of a keyframe. */
static void dense(attn_pool *pool, struct frame *q, int nq_side, int nk)
{
	attn_queries *qs;
	unsigned seed = 7;
	int d = attn_feat_dim(&q->feat);
	float *mask = calloc((size_t)W * H, sizeof(float));
	float *keys = random_plane((size_t)nk * d, &seed);
	float *vals = random_plane((size_t)nk * 9, &seed);
	float *out;
	char name[64];

	for (int y = 0; y < nq_side; y++)
		for (int x = 0; x < nq_side; x++)
			mask[(size_t)y * W + x] = 1.0f;
	attn_queries_from_mask(mask, W, H, 0.5f, 16, &qs);
	out = malloc(sizeof(float) * qs->n * 9);
	struct attn_dense ds = { .k = keys, .v = vals, .nk = nk };
	struct attn_job job = { .queries = &q->feat, .q = qs, .dv = 9, .scale = 0.1f,
				.dense = &ds, .n_dense = 1, .out = out };
	snprintf(name, sizeof(name), "dense %d queries x %d keys", qs->n, nk);
	report(name, pool, &job);
	free(mask);
	free(keys);
	free(vals);
	free(out);
	attn_queries_free(qs);
}

int main(int argc, char **argv)
{
	unsigned seed = 3;
	struct frame q, k;
	attn_pool *pool;
	int threads = 2;

	(void)argc;
	attn_blas_reexec(argv);
	printf("OpenBLAS core %s\n", attn_blas_core());
	frame_init(&q, &seed);
	frame_init(&k, &seed);
	printf("OpenBLAS sgemm 2048^3, 1 thread  %8.1f GFLOP/s\n", sgemm_gflops(2048, 2048, 2048, 1));
	printf("OpenBLAS sgemm 2048^3, 2 threads %8.1f GFLOP/s\n", sgemm_gflops(2048, 2048, 2048, 2));
	printf("OpenBLAS sgemm 256x512x27 (a dense tile), 1 thread %6.1f GFLOP/s\n",
	       sgemm_gflops(256, 512, 27, 1));
	printf("OpenBLAS sgemm 64x576x27 (a window tile), 1 thread %6.1f GFLOP/s\n",
	       sgemm_gflops(64, 576, 27, 1));
	openblas_set_num_threads(1);
	attn_pool_create(threads, &pool);
	printf("attention kernel, %d threads:\n", threads);
	dense(pool, &q, 128, 4096);
	windowed(pool, &q, &k, 8, 16, 0);
	windowed(pool, &q, &k, 8, 8, 1);
	windowed(pool, &q, &k, 4, 16, 0);
	windowed(pool, &q, &k, 4, 8, 1);
	windowed(pool, &q, &k, 2, 16, 0);
	windowed(pool, &q, &k, 2, 4, 1);
	attn_pool_free(pool);
	return 0;
}
