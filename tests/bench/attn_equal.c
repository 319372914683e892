/*
 * attn_equal: our attention kernel on inputs that the references
 * (tests/bench/ref_numpy.py, ref_torch.py) read back, so the comparison is
 * of equal work.
 *
 *     attn_equal DIR [RUNS]
 *
 * For each case it writes DIR/<case>/: case.json (sizes, parameters, our
 * best time of RUNS runs after a warm-up, useful FLOPs) and raw float32
 * arrays, little endian:
 *
 * - dense: qplanes (planes x H x W), qx, qy (nq, query order), keys
 *   (nk x d), values (nk x dv), bias (nk, log of the key mask); out
 *   (nq x dv), entropy (nq).
 * - window cases, every pixel a query: qplanes, kplanes (the reference's
 *   feature planes), vplanes (dv x H x W), mask (H x W, key coverage: bias
 *   log(mask), left out at 0), cx, cy (H x W window centres); out
 *   (H x W x dv), entropy (H x W), in pixel order.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h>

#include "attention/attn_attend.h"
#include "attention/attn_blas.h"
#include "bench_timed.h"

#define W 972
#define H 540
#define THREADS 2
#define DIR_LEN 512

static float uniform(unsigned *seed)
{
	return (float)rand_r(seed) / (float)RAND_MAX;
}

/* Image-like content: smooth structure of plane c seen shifted by (sx, sy), plus noise. */
static float *plane(int c, float sx, float sy, unsigned *seed)
{
	float *p = malloc(sizeof(float) * W * H);

	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			float u = x - sx, v = y - sy;

			p[(size_t)y * W + x] = 0.5f + 0.2f * sinf(u / (7.0f + c) + v / 11.0f) +
				0.15f * cosf(v / (5.0f + c) - u / 13.0f) + 0.1f * uniform(seed);
		}
	}
	return p;
}

static struct attn_feat features(float *const *planes, int n, int zero_mean)
{
	struct attn_feat f = { .width = W, .height = H, .radius = 1, .n = n };

	for (int c = 0; c < n; c++) {
		f.plane[c] = planes[c];
		f.weight[c] = 1.0f - 0.2f * c;
		f.zero_mean[c] = (unsigned char)zero_mean;
	}
	return f;
}

static int write_f32(const char *dir, const char *name, const float *a, size_t n)
{
	char path[DIR_LEN + 32];
	FILE *f;
	size_t done;

	snprintf(path, sizeof(path), "%s/%s.f32", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return -errno;
	done = fwrite(a, sizeof(float), n, f);
	if (fclose(f) != 0 || done != n)
		return -EIO;
	return 0;
}

static int write_planes(const char *dir, const char *name, float *const *planes, int n)
{
	float *all = malloc(sizeof(float) * W * H * n);
	int ret;

	for (int c = 0; c < n; c++)
		memcpy(all + (size_t)c * W * H, planes[c], sizeof(float) * W * H);
	ret = write_f32(dir, name, all, (size_t)W * H * n);
	free(all);
	return ret;
}

static float *positions(const int *v, int n)
{
	float *p = malloc(sizeof(float) * n);

	for (int i = 0; i < n; i++)
		p[i] = (float)v[i];
	return p;
}

/* case.json: the parameters the references need and our figures. */
static int write_header(const char *dir, const char *kind, const struct attn_job *job,
			const struct bench_result *res, const char *extra)
{
	const struct attn_feat *f = job->queries;
	char path[DIR_LEN + 32];
	FILE *out;

	snprintf(path, sizeof(path), "%s/case.json", dir);
	out = fopen(path, "w");
	if (!out)
		return -errno;
	fprintf(out, "{\"kind\": \"%s\", \"width\": %d, \"height\": %d, \"planes\": %d, "
		"\"patch_radius\": %d, \"weights\": [", kind, W, H, f->n, f->radius);
	for (int c = 0; c < f->n; c++)
		fprintf(out, "%s%.9g", c ? ", " : "", f->weight[c]);
	fprintf(out, "], \"zero_mean\": [");
	for (int c = 0; c < f->n; c++)
		fprintf(out, "%s%d", c ? ", " : "", f->zero_mean[c]);
	fprintf(out, "], \"d\": %d, \"dv\": %d, \"nq\": %d, \"blocks\": %d, \"scale\": %.9g, "
		"\"threads\": %d, \"runs\": %d, \"seconds\": %.9g, \"flops\": %.17g, "
		"\"scores\": %lld, \"useful\": %lld, %s}\n",
		attn_feat_dim(f), job->dv, job->q->n, job->q->n_blocks, job->scale, THREADS,
		res->runs, res->seconds, res->stats.flops, res->stats.scores,
		res->stats.useful, extra);
	return fclose(out) == 0 ? 0 : -EIO;
}

static int make_dir(const char *parent, const char *name, char *dir, size_t size)
{
	if ((size_t)snprintf(dir, size, "%s/%s", parent, name) >= size)
		return -ENAMETOOLONG;
	return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

/*
 * A 128x128 masked block of a frame (block 16) against 4096 keys of a
 * keyframe (its 64x64 masked block) with a soft key mask, d = 27, dv = 9.
 */
static int dense_case(attn_pool *pool, const char *parent, int runs)
{
	enum { SIDE = 128, KSIDE = 64, NK = KSIDE * KSIDE, DV = 9 };
	unsigned seed = 11;
	float *qp[3], *kp[3], *mask = calloc((size_t)W * H, sizeof(float));
	int kxs[NK], kys[NK], d, ret;
	float *keys, *vals = malloc(sizeof(float) * NK * DV), bias[NK], *qx, *qy, *out;
	struct attn_feat qf, kf;
	attn_queries *qs;
	char dir[DIR_LEN], extra[64];

	for (int c = 0; c < 3; c++) {
		qp[c] = plane(c, 0.0f, 0.0f, &seed);
		kp[c] = plane(c, 31.0f, -17.0f, &seed);
	}
	qf = features(qp, 3, 0);
	kf = features(kp, 3, 0);
	d = attn_feat_dim(&qf);
	for (int y = 0; y < SIDE; y++)
		for (int x = 0; x < SIDE; x++)
			mask[(size_t)(200 + y) * W + 400 + x] = 1.0f;
	attn_queries_from_mask(mask, W, H, 0.5f, 16, &qs);
	for (int j = 0; j < NK; j++) {
		kxs[j] = 380 + j % KSIDE;
		kys[j] = 180 + j / KSIDE;
		bias[j] = logf(0.05f + 0.95f * uniform(&seed));
		for (int c = 0; c < DV; c++)
			vals[(size_t)j * DV + c] = uniform(&seed);
	}
	keys = malloc(sizeof(float) * NK * d);
	attn_feat_gather(&kf, kxs, kys, NK, keys);
	out = malloc(sizeof(float) * qs->n * DV);
	float *entropy = malloc(sizeof(float) * qs->n);
	struct attn_dense ds = { .k = keys, .v = vals, .bias = bias, .nk = NK };
	struct attn_job job = { .queries = &qf, .q = qs, .dv = DV, .scale = 1.0f / (d * 0.7f * 0.02f),
				.dense = &ds, .n_dense = 1, .out = out, .entropy = entropy };
	struct bench_result res = bench_timed(pool, &job, runs);

	qx = positions(qs->x, qs->n);
	qy = positions(qs->y, qs->n);
	snprintf(extra, sizeof(extra), "\"nk\": %d", NK);
	ret = make_dir(parent, "dense", dir, sizeof(dir));
	if (!ret)
		ret = write_planes(dir, "qplanes", qp, 3);
	if (!ret)
		ret = write_f32(dir, "qx", qx, qs->n);
	if (!ret)
		ret = write_f32(dir, "qy", qy, qs->n);
	if (!ret)
		ret = write_f32(dir, "keys", keys, (size_t)NK * d);
	if (!ret)
		ret = write_f32(dir, "values", vals, (size_t)NK * DV);
	if (!ret)
		ret = write_f32(dir, "bias", bias, NK);
	if (!ret)
		ret = write_f32(dir, "out", out, (size_t)qs->n * DV);
	if (!ret)
		ret = write_f32(dir, "entropy", entropy, qs->n);
	if (!ret)
		ret = write_header(dir, "dense", &job, &res, extra);
	for (int c = 0; c < 3; c++) {
		free(qp[c]);
		free(kp[c]);
	}
	free(mask);
	free(keys);
	free(vals);
	free(qx);
	free(qy);
	free(out);
	free(entropy);
	attn_queries_free(qs);
	return ret;
}

/* Key coverage: soft, with a hole where every key is left out. */
static float *coverage(void)
{
	float *m = malloc(sizeof(float) * W * H);

	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			float r = hypotf(x - 600.0f, y - 300.0f);

			m[(size_t)y * W + x] = r < 40.0f ? 0.0f : fminf(1.0f, 0.2f + (r - 40.0f) / 200.0f);
		}
	}
	return m;
}

/* Scatters per-query values (stride n) to pixel order. */
static void to_pixels(const attn_queries *qs, const float *v, int n, float *pix)
{
	for (int i = 0; i < qs->n; i++)
		memcpy(pix + ((size_t)qs->y[i] * W + qs->x[i]) * n, v + (size_t)i * n,
		       sizeof(float) * n);
}

struct window_params {
	const char *name;
	int radius, block, planes, zero_mean;
	float lambda;
};

static int write_window(const char *dir, const attn_queries *qs, float *const *qp,
			float *const *kp, int planes, const float *mask, const float *cx,
			const float *cy, const float *out, const float *entropy)
{
	float *pix = malloc(sizeof(float) * W * H * 3);
	int ret = write_planes(dir, "qplanes", qp, planes);

	if (!ret)
		ret = write_planes(dir, "kplanes", kp, planes);
	if (!ret)
		ret = write_planes(dir, "vplanes", kp, 3);
	if (!ret)
		ret = write_f32(dir, "mask", mask, (size_t)W * H);
	to_pixels(qs, cx, 1, pix);
	if (!ret)
		ret = write_f32(dir, "cx", pix, (size_t)W * H);
	to_pixels(qs, cy, 1, pix);
	if (!ret)
		ret = write_f32(dir, "cy", pix, (size_t)W * H);
	to_pixels(qs, out, 3, pix);
	if (!ret)
		ret = write_f32(dir, "out", pix, (size_t)W * H * 3);
	to_pixels(qs, entropy, 1, pix);
	if (!ret)
		ret = write_f32(dir, "entropy", pix, (size_t)W * H);
	free(pix);
	return ret;
}

/*
 * Every pixel of a frame against a window of a reference frame moved by
 * about (2.3, -1.6) pixels, centres varying across the frame, dv = 3 (the
 * reference's first three planes), a positional prior and a key coverage.
 */
static int window_case(attn_pool *pool, const char *parent, const struct window_params *p,
		       int runs)
{
	unsigned seed = 5;
	float *qp[3], *kp[3], *mask = coverage(), *cx, *cy, *out, *entropy;
	attn_queries *qs;
	struct attn_feat qf, kf;
	char dir[DIR_LEN], extra[96];
	int ret;

	for (int c = 0; c < 3; c++) {
		qp[c] = plane(c, 0.0f, 0.0f, &seed);
		kp[c] = plane(c, 2.3f, -1.6f, &seed);
	}
	qf = features(qp, p->planes, p->zero_mean);
	kf = features(kp, p->planes, p->zero_mean);
	attn_queries_from_mask(NULL, W, H, 0.0f, p->block, &qs);
	cx = malloc(sizeof(float) * qs->n);
	cy = malloc(sizeof(float) * qs->n);
	out = malloc(sizeof(float) * qs->n * 3);
	entropy = malloc(sizeof(float) * qs->n);
	for (int i = 0; i < qs->n; i++) {
		cx[i] = qs->x[i] + 2.3f + 1.2f * sinf(qs->y[i] / 37.0f);
		cy[i] = qs->y[i] - 1.6f + 0.9f * cosf(qs->x[i] / 53.0f);
	}
	struct attn_window win = { .keys = kf, .mask = mask, .cx = cx, .cy = cy,
				   .radius = p->radius, .lambda = p->lambda };
	for (int c = 0; c < 3; c++)
		win.value[c] = kp[c];
	struct attn_job job = { .queries = &qf, .q = qs, .dv = 3,
				.scale = 1.0f / (attn_feat_dim(&qf) * 0.7f * 0.02f),
				.windows = &win, .n_windows = 1, .out = out, .entropy = entropy };
	struct bench_result res = bench_timed(pool, &job, runs);

	snprintf(extra, sizeof(extra), "\"radius\": %d, \"lambda\": %.9g, \"block\": %d",
		 p->radius, p->lambda, p->block);
	ret = make_dir(parent, p->name, dir, sizeof(dir));
	if (!ret)
		ret = write_window(dir, qs, qp, kp, p->planes, mask, cx, cy, out, entropy);
	if (!ret)
		ret = write_header(dir, "window", &job, &res, extra);
	for (int c = 0; c < 3; c++) {
		free(qp[c]);
		free(kp[c]);
	}
	free(mask);
	free(cx);
	free(cy);
	free(out);
	free(entropy);
	attn_queries_free(qs);
	return ret;
}

int main(int argc, char **argv)
{
	/* stabilize: luma without its mean; propagate: colour; both 16x16 blocks */
	static const struct window_params windows[] = {
		{ "window_r2", 2, 16, 1, 1, 0.05f },
		{ "window_r8", 8, 16, 3, 0, 0.02f },
	};
	int runs = argc > 2 ? atoi(argv[2]) : 3, ret;
	attn_pool *pool;

	attn_blas_reexec(argv);
	if (argc < 2 || argc > 3 || runs < 1) {
		fprintf(stderr, "usage: attn_equal DIR [RUNS]\n");
		return 2;
	}
	openblas_set_num_threads(1);
	if (attn_pool_create(THREADS, &pool) < 0) {
		fprintf(stderr, "attn_equal: cannot start threads\n");
		return 1;
	}
	ret = dense_case(pool, argv[1], runs);
	for (size_t i = 0; !ret && i < sizeof(windows) / sizeof(windows[0]); i++)
		ret = window_case(pool, argv[1], &windows[i], runs);
	attn_pool_free(pool);
	if (ret < 0) {
		fprintf(stderr, "attn_equal: cannot write to %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	return 0;
}
