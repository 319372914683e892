/*
 * propagate: the keyframe edit carried through the clip inside the mask.
 *
 * Coarse to fine. At the coarsest level every query attends to every
 * masked token of the keyframes (global masked attention: follows any
 * motion without drift), jointly with a local window of the previous frame
 * whose values are that frame's own correspondences (the temporal chain).
 * The values are the keyframe positions and masks, so each query learns
 * where it sits in each keyframe and how much of it is covered. Each finer
 * level attends to a window around that position, one level down, and the
 * finest level carries the edit itself: values are m * (edit - source) and
 * m, so key-side masking and mask tracking come out of one softmax
 * (sum p m d / sum p m is the softmax with log m added to the scores).
 * Each further step repeats the finest level with its windows moved to
 * where the previous step found each match (the previous result guides
 * the search, as in EbSynth's search and vote iterations).
 */
#include "attention/attn_engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn_kernel.h"
#include "attention/attn_private.h"

#define COARSE_TOKENS 12000     /* pixels at the coarsest level, about */
#define COARSE_KEYS 4096        /* global keys per keyframe, subsampled beyond */
#define KEY_RING 6              /* coarse pixels of background kept around a mask */
#define TRACK_REACH 6           /* coarse pixels a tracked mask may move per frame */
#define MID_RADIUS 3            /* window radius at the intermediate levels */
#define PREV_RADIUS 3           /* the previous frame's window, coarsest level */
#define PREV_BIAS (-1.0f)       /* direct keyframe matches beat the chain */
#define MIN_SHARE 1e-3f         /* a keyframe with less of a query is skipped */
#define EPS_COVER 1e-3f
#define BLOCK 16                /* query blocks: a row of one fills a vector (attn_rows) */
#define POS_LAMBDA 0.1f         /* positional prior, per squared radius */
#define FAR_AWAY (-1e4f)        /* a predicted position no key is near */
#define COARSE_LAMBDA 0.1f      /* prior of the global keys, per coarse px^2 */
#define TRACK_KEEP 0.5f         /* coarse coverage below this is dropped */
#define GAIN_RADIUS 2           /* window of the edit's local gain fit */
#define GAIN_EPS 1e-3f          /* regularises the fit in flat areas */
#define EDIT_VALUES 9           /* m*edit, m*a*source, m*a: see fill_slot_values */

struct slot {
	struct attn_kf_cache *kf;
	float bias;             /* log of the keyframe's temporal weight */
};

/* --- keyframe cache --- */

void attn_kf_release(struct attn_kf_cache *kf)
{
	attn_pyramid_release(&kf->src);
	attn_pyramid_release(&kf->mask);
	free(kf->gain);
	free(kf->k);
	free(kf->kx);
	free(kf->ky);
	free(kf->km);
	memset(kf, 0, sizeof(*kf));
	kf->index = -1;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * Keeps at most keep of the n indices, chosen by the seed; the kept ones
 * stay in raster order.
 */
static int subsample(int *idx, int n, int keep, uint64_t seed)
{
	if (n <= keep)
		return n;
	for (int i = 0; i < keep; i++) {
		int j = i + (int)(splitmix(&seed) % (uint64_t)(n - i));
		int t = idx[i];

		idx[i] = idx[j];
		idx[j] = t;
	}
	qsort(idx, keep, sizeof(int), cmp_int);
	return keep;
}

/* The keyframe's coverage at pixel p of a level. */
static float kf_coverage(const struct attn_kf_cache *kf, int level, size_t p)
{
	if (kf->mask.lv[level])
		return attn_plane(kf->mask.lv[level], 0)[p];
	return kf->src.base->cover ? kf->src.base->cover[p] / 255.0f : 1.0f;
}

/* A level's coverage as a plane (caller frees). */
static float *kf_coverage_plane(const struct attn_kf_cache *kf, int level)
{
	int w = attn_pyramid_width(&kf->src, level), h = attn_pyramid_height(&kf->src, level);
	float *m = malloc(sizeof(float) * w * h);

	for (size_t i = 0; m && i < (size_t)w * h; i++)
		m[i] = kf_coverage(kf, level, i);
	return m;
}

/* The coarsest level's masked tokens (and a ring of background) as keys. */
static int kf_coarse_keys(struct attn_kf_cache *kf, uint64_t seed)
{
	int c = kf->levels - 1, n = 0, ret = -ENOMEM;
	int w = attn_pyramid_width(&kf->src, c), h = attn_pyramid_height(&kf->src, c);
	struct attn_feat ft = attn_pyramid_feat(&kf->src, c);
	int d = attn_feat_dim(&ft);
	float *mask = kf_coverage_plane(kf, c), *ring = malloc(sizeof(float) * w * h);
	int *idx = malloc(sizeof(int) * w * h), *xs = NULL, *ys = NULL;

	if (!mask || !ring || !idx)
		goto out_free;
	ret = attn_dilate(mask, w, h, KEY_RING, ring);
	if (ret < 0)
		goto out_free;
	for (int i = 0; i < w * h; i++)
		if (ring[i] > EPS_COVER)
			idx[n++] = i;
	n = subsample(idx, n, COARSE_KEYS, seed ^ (uint64_t)kf->index);
	ret = -ENOMEM;
	xs = malloc(sizeof(int) * (n ? n : 1));
	ys = malloc(sizeof(int) * (n ? n : 1));
	kf->k = malloc(sizeof(float) * (n ? n : 1) * d);
	kf->kx = malloc(sizeof(float) * (n ? n : 1));
	kf->ky = malloc(sizeof(float) * (n ? n : 1));
	kf->km = malloc(sizeof(float) * (n ? n : 1));
	if (!xs || !ys || !kf->k || !kf->kx || !kf->ky || !kf->km)
		goto out_free;
	for (int j = 0; j < n; j++) {
		xs[j] = idx[j] % w;
		ys[j] = idx[j] / w;
		kf->kx[j] = (float)xs[j];
		kf->ky[j] = (float)ys[j];
		kf->km[j] = mask[idx[j]];
	}
	attn_feat_gather(&ft, xs, ys, n, kf->k);
	kf->nk = n;
	ret = 0;
out_free:
	free(xs);
	free(ys);
	free(idx);
	free(ring);
	free(mask);
	return ret;
}

/*
 * Box mean of plane over the (2r+1)^2 window at each pixel (clamped), via
 * a summed-area pass per row and column.
 */
static void box_mean(const float *in, int w, int h, int r, float *tmp, float *out)
{
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float s = 0.0f;
			int n = 0;

			for (int i = x - r; i <= x + r; i++, n++)
				s += in[(size_t)y * w + (i < 0 ? 0 : i >= w ? w - 1 : i)];
			tmp[(size_t)y * w + x] = s / (float)n;
		}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float s = 0.0f;
			int n = 0;

			for (int j = y - r; j <= y + r; j++, n++)
				s += tmp[(size_t)(j < 0 ? 0 : j >= h ? h - 1 : j) * w + x];
			out[(size_t)y * w + x] = s / (float)n;
		}
}

/*
 * The edit's local gain: per channel, the slope a of the least-squares fit
 * edit = a * source + b over a small window. Transferring
 *     edit(match) + a * (frame - source(match))
 * is exact for a smooth re-grade (a = the curve's slope) and for a flat
 * stylised look (a = 0: the look is copied), and in between for the rest.
 */
static int edit_gain(const float *s, const float *e, int w, int h, float *a)
{
	size_t n = (size_t)w * h;
	float *buf = malloc(sizeof(float) * n * 6);
	float *ms, *me, *mse, *mss, *prod, *tmp;

	if (!buf)
		return -ENOMEM;
	ms = buf;
	me = buf + n;
	mse = buf + 2 * n;
	mss = buf + 3 * n;
	prod = buf + 4 * n;
	tmp = buf + 5 * n;
	box_mean(s, w, h, GAIN_RADIUS, tmp, ms);
	box_mean(e, w, h, GAIN_RADIUS, tmp, me);
	for (size_t i = 0; i < n; i++)
		prod[i] = s[i] * e[i];
	box_mean(prod, w, h, GAIN_RADIUS, tmp, mse);
	for (size_t i = 0; i < n; i++)
		prod[i] = s[i] * s[i];
	box_mean(prod, w, h, GAIN_RADIUS, tmp, mss);
	for (size_t i = 0; i < n; i++) {
		float var = mss[i] - ms[i] * ms[i], cov = mse[i] - ms[i] * me[i];

		a[i] = (cov + GAIN_EPS) / (var + GAIN_EPS);
	}
	free(buf);
	return 0;
}

/* The edit's local gain of each channel, from float source and edit. */
static int kf_gains(struct attn_kf_cache *kf, const attn_frame *src,
		    const attn_frame *edit)
{
	size_t n = (size_t)src->width * src->height;
	int ret = 0;

	kf->gain = malloc(sizeof(float) * n * 3);
	if (!kf->gain)
		return -ENOMEM;
	for (int c = 0; c < 3 && ret >= 0; c++)
		ret = edit_gain(attn_plane(src, c), attn_plane(edit, c), src->width,
				src->height, kf->gain + c * n);
	return ret;
}

/*
 * The content scale of each level, measured around the mask; level 0 from
 * src, the source as floats.
 */
static int kf_scales(struct attn_kf_cache *kf, const attn_frame *src)
{
	for (int l = 0; l < kf->levels; l++) {
		int w = attn_pyramid_width(&kf->src, l), h = attn_pyramid_height(&kf->src, l);
		int r = l == kf->levels - 1 ? KEY_RING : 2;
		float *m = kf_coverage_plane(kf, l), *near = malloc(sizeof(float) * w * h);
		int ret = m && near ? attn_dilate(m, w, h, r, near) : -ENOMEM;

		for (int i = 0; ret >= 0 && i < w * h; i++)
			near[i] = near[i] > EPS_COVER ? 1.0f : 0.0f;
		if (ret >= 0)
			kf->sigma2[l] = attn_content_scale(l ? kf->src.lv[l] : src, 3, near);
		free(near);
		free(m);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Coverage planes per level (0..1, all 1 without a mask); level 0 dropped when base holds it. */
static int mask_pyramid(const uint8_t *cover, const float *mask, int w, int h,
			int levels, int drop_level0, struct attn_pyramid *mp)
{
	attn_frame *m0;
	int ret = attn_frame_create(w, h, 1, &m0);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < (size_t)w * h; i++)
		m0->data[i] = cover ? cover[i] / 255.0f : mask ? mask[i] : 1.0f;
	ret = attn_pyramid_build(m0, levels, mp);
	attn_frame_free(m0);
	if (ret >= 0 && drop_level0) {
		attn_frame_free(mp->lv[0]);
		mp->lv[0] = NULL;
	}
	return ret;
}

/* A keyframe's planes as floats (caller frees). */
static int yuv8_floats(const struct attn_yuv8 *f, attn_frame **out)
{
	int ret = attn_frame_create(f->width, f->height, 3, out);

	if (ret >= 0)
		ret = attn_frame_from_yuv8(f, *out);
	return ret;
}

static int kf_build(const attn_engine *e, const struct attn_keyframe *key,
		    int levels, struct attn_kf_cache *kf)
{
	const struct attn_yuv8 *src = key->source;
	attn_frame *srcf = NULL, *editf = NULL;
	int ret;

	kf->index = key->index;
	kf->levels = levels;
	kf->edit = key->edit ? key->edit : src;
	ret = yuv8_floats(src, &srcf);
	if (ret >= 0)
		ret = yuv8_floats(kf->edit, &editf);
	if (ret >= 0)
		ret = attn_pyramid_build(srcf, levels, &kf->src);
	if (ret >= 0) {
		attn_frame_free(kf->src.lv[0]);
		kf->src.lv[0] = NULL;
		kf->src.base = src;
		ret = mask_pyramid(src->cover, NULL, src->width, src->height,
				   levels, 1, &kf->mask);
	}
	if (ret >= 0)
		ret = kf_gains(kf, srcf, editf);
	if (ret >= 0)
		ret = kf_scales(kf, srcf);
	if (ret >= 0)
		ret = kf_coarse_keys(kf, e->p.seed);
	attn_frame_free(srcf);
	attn_frame_free(editf);
	if (ret < 0)
		attn_kf_release(kf);
	return ret;
}

/*
 * The cache entries of keys, building what is missing and dropping what is
 * no longer used.
 */
static int kf_lookup(attn_engine *e, const struct attn_keyframe *keys, int n,
		     int levels, struct slot *slots)
{
	int used[ATTN_MAX_SLOTS + 1] = { 0 };

	for (int s = 0; s < n; s++) {
		slots[s].kf = NULL;
		for (int i = 0; i < ATTN_MAX_SLOTS + 1; i++)
			if (e->kf[i].index == keys[s].index) {
				/* the planes are the caller's: take this call's */
				e->kf[i].src.base = keys[s].source;
				e->kf[i].edit = keys[s].edit ? keys[s].edit : keys[s].source;
				slots[s].kf = &e->kf[i];
				used[i] = 1;
			}
	}
	for (int i = 0; i < ATTN_MAX_SLOTS + 1; i++)
		if (!used[i])
			attn_kf_release(&e->kf[i]);
	for (int s = 0; s < n; s++) {
		for (int i = 0; !slots[s].kf && i < ATTN_MAX_SLOTS + 1; i++) {
			int ret;

			if (used[i])
				continue;
			ret = kf_build(e, &keys[s], levels, &e->kf[i]);
			if (ret < 0)
				return ret;
			used[i] = 1;
			slots[s].kf = &e->kf[i];
		}
	}
	return 0;
}

/* log of each keyframe's temporal weight: the nearer keyframe is preferred. */
static void slot_biases(const struct attn_keyframe *keys, int n, int t,
			struct slot *slots)
{
	float a;

	if (n == 1) {
		slots[0].bias = 0.0f;
		return;
	}
	a = (float)(t - keys[0].index) / (float)(keys[1].index - keys[0].index);
	a = a < 0.0f ? 0.0f : a > 1.0f ? 1.0f : a;
	slots[0].bias = logf(fmaxf(1.0f - a, MIN_SHARE));
	slots[1].bias = logf(fmaxf(a, MIN_SHARE));
}

/* --- one frame --- */

/* A float frame's first three planes as YUV patch features. */
static struct attn_feat frame_feat(const attn_frame *f)
{
	struct attn_feat ft = { .width = f->width, .height = f->height,
				.radius = 1, .n = 3 };

	for (int c = 0; c < 3; c++) {
		ft.plane[c] = attn_plane(f, c);
		ft.weight[c] = 1.0f;
	}
	return ft;
}

struct frame_work {
	attn_engine *e;
	int t, n, levels;
	struct slot slots[ATTN_MAX_SLOTS];
	struct attn_pyramid src;        /* the frame */
	struct attn_pyramid given;      /* the caller's mask, or empty */
	attn_frame *up;                 /* planes of the level above */
	struct attn_frame_info *info;
};

/* Query positions where plane > EPS_COVER after dilation by r (NULL: all). */
static int queries_near(const float *plane, int w, int h, int r, attn_queries **q)
{
	float *grown;
	int ret;

	if (!plane)
		return attn_queries_from_mask(NULL, w, h, 0.0f, BLOCK, q);
	grown = malloc(sizeof(float) * w * h);
	if (!grown)
		return -ENOMEM;
	ret = attn_dilate(plane, w, h, r, grown);
	if (ret >= 0)
		ret = attn_queries_from_mask(grown, w, h, EPS_COVER, BLOCK, q);
	free(grown);
	return ret;
}

/* Writes out (q->n x dv) into dv planes of dst, zero elsewhere. */
static void scatter(const attn_queries *q, const float *out, int dv, attn_frame *dst)
{
	size_t n = (size_t)dst->width * dst->height;

	memset(dst->data, 0, sizeof(float) * n * dst->planes);
	for (int i = 0; i < q->n; i++) {
		size_t p = (size_t)q->y[i] * dst->width + q->x[i];

		for (int c = 0; c < dv; c++)
			attn_plane(dst, c)[p] = out[(size_t)i * dv + c];
	}
}

static float mean_sigma2(const struct frame_work *w, int level)
{
	float s = 0.0f;

	for (int i = 0; i < w->n; i++)
		s += w->slots[i].kf->sigma2[level];
	return s / (float)w->n;
}

static int attend(struct frame_work *w, struct attn_job *job)
{
	float *out = malloc(sizeof(float) * (job->q->n ? job->q->n : 1) * job->dv);
	int ret;

	if (!out)
		return -ENOMEM;
	job->out = out;
	ret = attn_attend(w->e->pool, job, &w->info->stats);
	return ret;
}

/* Dense per-keyframe values: slot s's m, m*x, m*y in channels 3s..3s+2. */
static float *slot_values(const struct attn_kf_cache *kf, int s, int n_slots)
{
	int dv = 3 * n_slots;
	float *v = calloc((size_t)(kf->nk ? kf->nk : 1) * dv, sizeof(float));

	if (!v)
		return NULL;
	for (int j = 0; j < kf->nk; j++) {
		v[(size_t)j * dv + 3 * s] = kf->km[j];
		v[(size_t)j * dv + 3 * s + 1] = kf->km[j] * kf->kx[j];
		v[(size_t)j * dv + 3 * s + 2] = kf->km[j] * kf->ky[j];
	}
	return v;
}

static int prev_usable(const struct frame_work *w)
{
	const struct attn_prev *p = &w->e->prev;

	if (!p->valid || p->n_keys != w->n)
		return 0;
	for (int s = 0; s < w->n; s++)
		if (p->key_index[s] != w->slots[s].kf->index)
			return 0;
	return 1;
}

/* Total coverage of the per-slot planes (w, w*x, w*y per slot) into cov. */
static void coverage_of(const attn_frame *planes, int n_slots, float *cov)
{
	size_t n = (size_t)planes->width * planes->height;

	memset(cov, 0, sizeof(float) * n);
	for (int s = 0; s < n_slots; s++)
		for (size_t i = 0; i < n; i++)
			cov[i] += attn_plane(planes, 3 * s)[i];
}

static int keep_prev(struct frame_work *w, const attn_frame *planes)
{
	struct attn_prev *p = &w->e->prev;
	int ret;

	attn_prev_release(p);
	ret = attn_pyramid_level(&w->src, w->levels - 1, &p->src);
	if (ret >= 0)
		ret = attn_frame_clone(planes, &p->planes);
	if (ret < 0) {
		attn_prev_release(p);
		return ret;
	}
	p->n_keys = w->n;
	for (int s = 0; s < w->n; s++)
		p->key_index[s] = w->slots[s].kf->index;
	p->valid = 1;
	return 0;
}

void attn_prev_release(struct attn_prev *prev)
{
	attn_frame_free(prev->src);
	attn_frame_free(prev->planes);
	memset(prev, 0, sizeof(*prev));
}

/*
 * Where the coarsest level looks: near the given mask; when tracking, near
 * where the previous frame had it, or, at the start of a run, near the
 * keyframes' masks (within the ring of background keys kept around them,
 * so a query far out finds background to match, not the mask's look-alike).
 */
static int coarse_queries(struct frame_work *w, attn_queries **q)
{
	int c = w->levels - 1;
	int lw = attn_pyramid_width(&w->src, c), lh = attn_pyramid_height(&w->src, c);
	size_t n = (size_t)lw * lh;
	float *cov;
	int ret;

	if (w->given.n)
		return queries_near(attn_plane(w->given.lv[c], 0), lw, lh, 1, q);
	cov = malloc(sizeof(float) * n);
	if (!cov)
		return -ENOMEM;
	if (prev_usable(w)) {
		coverage_of(w->e->prev.planes, w->n, cov);
	} else {
		memset(cov, 0, sizeof(float) * n);
		for (int s = 0; s < w->n; s++)
			for (size_t i = 0; i < n; i++)
				cov[i] = fmaxf(cov[i], kf_coverage(w->slots[s].kf, c, i));
	}
	ret = queries_near(cov, lw, lh, TRACK_REACH, q);
	free(cov);
	return ret;
}

/*
 * Where each coarse query is expected in keyframe slot s: where the
 * previous frame had it (the chain), or, with no previous frame, the same
 * place. The global keys get a positional prior around it, so content that
 * looks alike all over the keyframe (snow, sky, a flat panel) is matched
 * where it was, not at the centroid of everything that looks like it. What
 * the previous frame found to be background is predicted far away: only
 * the chain, not the keyframe's look-alikes, can bring the mask there.
 */
static void coarse_prediction(const struct frame_work *w, const attn_queries *q,
			      int s, float *px, float *py)
{
	const attn_frame *pl = prev_usable(w) ? w->e->prev.planes : NULL;

	for (int i = 0; i < q->n; i++) {
		size_t p = pl ? (size_t)q->y[i] * pl->width + q->x[i] : 0;
		float m = pl ? attn_plane(pl, 3 * s)[p] : 0.0f, total = 0.0f;

		for (int k = 0; pl && k < w->n; k++)
			total += attn_plane(pl, 3 * k)[p];
		px[i] = m > 1e-3f ? attn_plane(pl, 3 * s + 1)[p] / m : (float)q->x[i];
		py[i] = m > 1e-3f ? attn_plane(pl, 3 * s + 2)[p] / m : (float)q->y[i];
		if (pl && total <= 1e-3f) {
			px[i] = FAR_AWAY;
			py[i] = FAR_AWAY;
		}
	}
}

/*
 * Tracking: coarse queries covered less than TRACK_KEEP are taken as
 * background. Without this, faint coverage of look-alike background (snow
 * beside a white panel) is carried to the next frame and grows.
 */
static void drop_faint(float *out, int nq, int n_slots)
{
	int dv = 3 * n_slots;

	for (int i = 0; i < nq; i++) {
		float *o = out + (size_t)i * dv, total = 0.0f;

		for (int s = 0; s < n_slots; s++)
			total += o[3 * s];
		if (total < TRACK_KEEP)
			memset(o, 0, sizeof(float) * dv);
	}
}

/* Query arrays of the coarse pass: own position, and per slot a prediction. */
struct coarse_arrays {
	float *cx, *cy;                 /* q->n: the query's own position */
	float *px, *py;                 /* n_slots * q->n: predictions */
	float *vals[ATTN_MAX_SLOTS];    /* dense values per slot */
};

static void coarse_arrays_free(struct coarse_arrays *a, int n)
{
	free(a->cx);
	free(a->cy);
	free(a->px);
	free(a->py);
	for (int s = 0; s < n; s++)
		free(a->vals[s]);
}

static int coarse_arrays_fill(const struct frame_work *w, const attn_queries *q,
			      struct coarse_arrays *a)
{
	size_t n = q->n ? q->n : 1;

	a->cx = malloc(sizeof(float) * n);
	a->cy = malloc(sizeof(float) * n);
	a->px = malloc(sizeof(float) * n * w->n);
	a->py = malloc(sizeof(float) * n * w->n);
	if (!a->cx || !a->cy || !a->px || !a->py)
		return -ENOMEM;
	for (int i = 0; i < q->n; i++) {
		a->cx[i] = (float)q->x[i];
		a->cy[i] = (float)q->y[i];
	}
	for (int s = 0; s < w->n; s++) {
		coarse_prediction(w, q, s, a->px + (size_t)s * q->n,
				  a->py + (size_t)s * q->n);
		a->vals[s] = slot_values(w->slots[s].kf, s, w->n);
		if (!a->vals[s])
			return -ENOMEM;
	}
	return 0;
}

static int coarse_pass(struct frame_work *w, attn_frame *planes)
{
	int c = w->levels - 1, dv = 3 * w->n, ret;
	struct attn_feat qf = attn_pyramid_feat(&w->src, c);
	struct attn_dense dense[ATTN_MAX_SLOTS] = { 0 };
	struct attn_window win = { 0 };
	struct coarse_arrays a = { 0 };
	attn_queries *q = NULL;
	struct attn_job job = { .queries = &qf, .dv = dv, .dense = dense,
				.n_dense = w->n, .windows = &win };

	ret = coarse_queries(w, &q);
	if (ret >= 0)
		ret = coarse_arrays_fill(w, q, &a);
	if (ret < 0)
		goto out_free;
	for (int s = 0; s < w->n; s++) {
		const struct attn_kf_cache *kf = w->slots[s].kf;

		dense[s] = (struct attn_dense){
			.k = kf->k, .v = a.vals[s], .nk = kf->nk, .kx = kf->kx,
			.ky = kf->ky, .cx = a.px + (size_t)s * q->n,
			.cy = a.py + (size_t)s * q->n, .lambda = COARSE_LAMBDA,
			.bias_all = w->slots[s].bias,
		};
	}
	if (prev_usable(w)) {
		win = (struct attn_window){
			.keys = frame_feat(w->e->prev.src), .cx = a.cx, .cy = a.cy,
			.radius = PREV_RADIUS, .bias_all = PREV_BIAS,
			.lambda = POS_LAMBDA / (PREV_RADIUS * PREV_RADIUS),
		};
		for (int ch = 0; ch < dv; ch++)
			win.value[ch] = attn_plane(w->e->prev.planes, ch);
		job.n_windows = 1;
	}
	job.q = q;
	job.scale = attn_score_scale(attn_feat_dim(&qf), w->e->p.temperature,
				     mean_sigma2(w, c));
	ret = attend(w, &job);
	if (ret >= 0 && !w->given.n)
		drop_faint(job.out, q->n, w->n);
	if (ret >= 0) {
		scatter(q, job.out, dv, planes);
		ret = keep_prev(w, planes);
	}
	free(job.out);
out_free:
	coarse_arrays_free(&a, w->n);
	attn_queries_free(q);
	return ret;
}

/*
 * The planes of the level above are half the size of level l's, or, for a
 * frame small enough to have one level, the same: the factor between them.
 */
static int up_factor(const struct frame_work *w, int l)
{
	return w->up->width < attn_pyramid_width(&w->src, l) ? 2 : 1;
}

/* Level l's pixel x in the coordinates of the level above. */
static float to_up(int x, int f)
{
	return (x + 0.5f) / (float)f - 0.5f;
}

/*
 * For each query of level l, each keyframe's share and its position there,
 * read from the planes of the level above: log share as a query bias, the
 * position (brought to level l) as the window centre.
 */
static int centres_from_above(const struct frame_work *w, int l,
			      const attn_queries *q, float *cx, float *cy,
			      float *qbias)
{
	const attn_frame *up = w->up;
	int uw = up->width, uh = up->height, f = up_factor(w, l);

	for (int i = 0; i < q->n; i++) {
		float X = to_up(q->x[i], f), Y = to_up(q->y[i], f);
		float share[ATTN_MAX_SLOTS], total = 0.0f;

		for (int s = 0; s < w->n; s++) {
			float m = attn_sample(attn_plane(up, 3 * s), uw, uh, X, Y);
			float mx = attn_sample(attn_plane(up, 3 * s + 1), uw, uh, X, Y);
			float my = attn_sample(attn_plane(up, 3 * s + 2), uw, uh, X, Y);
			size_t k = (size_t)s * q->n + i;

			share[s] = m;
			total += m;
			cx[k] = m > 1e-6f ? f * mx / m + 0.5f * (f - 1) : (float)q->x[i];
			cy[k] = m > 1e-6f ? f * my / m + 0.5f * (f - 1) : (float)q->y[i];
		}
		for (int s = 0; s < w->n; s++) {
			float share_s = total > 0.0f ? share[s] / total : 0.0f;

			qbias[(size_t)s * q->n + i] = share_s >= MIN_SHARE ?
						      logf(share_s) : ATTN_NEG;
		}
	}
	return 0;
}

/* Coverage of the level above brought to level l's size (for tracking). */
static int coverage_below(const struct frame_work *w, int l, float *cov)
{
	int lw = attn_pyramid_width(&w->src, l), lh = attn_pyramid_height(&w->src, l);
	float *ucov = malloc(sizeof(float) * w->up->width * w->up->height);
	int f = up_factor(w, l);

	if (!ucov)
		return -ENOMEM;
	coverage_of(w->up, w->n, ucov);
	for (int y = 0; y < lh; y++)
		for (int x = 0; x < lw; x++)
			cov[(size_t)y * lw + x] = attn_sample(ucov,
				w->up->width, w->up->height, to_up(x, f), to_up(y, f));
	free(ucov);
	return 0;
}

static int level_queries(const struct frame_work *w, int l, attn_queries **q)
{
	int lw = attn_pyramid_width(&w->src, l), lh = attn_pyramid_height(&w->src, l);
	float *cov;
	int ret;

	if (w->given.n)
		return queries_near(attn_plane(w->given.lv[l], 0), lw, lh, l ? 1 : 0, q);
	cov = malloc(sizeof(float) * lw * lh);
	if (!cov)
		return -ENOMEM;
	ret = coverage_below(w, l, cov);
	if (ret >= 0)
		ret = queries_near(cov, lw, lh, 1, q);
	free(cov);
	return ret;
}

struct level_pass {
	int level;
	int radius;
	int dv;
	const attn_queries *q;
	float *cx, *cy, *qbias;         /* n_slots * q->n */
	float *out;                     /* q->n * dv, written */
	float *entropy;                 /* q->n, written, may be NULL */
};

/* What slot s's windows at one level read their values from. */
struct slot_values {
	const struct attn_kf_cache *kf;
	int level, slot, n_slots;
};

/*
 * The values of keyframe keys, computed rather than stored: slot s's
 * m, m*x, m*y in channels base + 3s .. base + 3s + 2 (zero for the other
 * slots), after, at the finest level, the edit values m*edit, m*a*source,
 * m*a in channels 0 .. base - 1 (a: the edit's local gain, see edit_gain).
 */
static void fill_slot_values(const void *ctx, int x0, int y0, int x1, int y1,
			     float *vt, size_t row_stride, size_t chan_stride)
{
	const struct slot_values *v = ctx;
	const struct attn_kf_cache *kf = v->kf;
	int base = v->level ? 0 : EDIT_VALUES, pos = base + 3 * v->slot;
	int w = attn_pyramid_width(&kf->src, v->level), rw = x1 - x0 + 1;
	size_t n = (size_t)w * attn_pyramid_height(&kf->src, v->level);

	for (int y = y0; y <= y1; y++, vt += row_stride) {
		for (int c = 0; c < base + 3 * v->n_slots; c++)
			memset(vt + c * chan_stride, 0, sizeof(float) * rw);
		for (int x = x0; x <= x1; x++) {
			size_t p = (size_t)y * w + x;
			float m = kf_coverage(kf, v->level, p), *o = vt + (x - x0);

			o[pos * chan_stride] = m;
			o[(pos + 1) * chan_stride] = m * (float)x;
			o[(pos + 2) * chan_stride] = m * (float)y;
			for (int c = 0; c < 3 && !v->level; c++) {
				float e = kf->edit->plane[c][p] / 255.0f;
				float src = kf->src.base->plane[c][p] / 255.0f;
				float a = kf->gain[c * n + p];

				o[c * chan_stride] = m * e;
				o[(3 + c) * chan_stride] = m * a * src;
				o[(6 + c) * chan_stride] = m * a;
			}
		}
	}
}

static int run_level(struct frame_work *w, struct level_pass *lp)
{
	int l = lp->level, n = lp->q->n;
	struct attn_feat qf = attn_pyramid_feat(&w->src, l);
	struct attn_window win[ATTN_MAX_SLOTS];
	struct slot_values vals[ATTN_MAX_SLOTS];
	struct attn_job job = { .queries = &qf, .q = lp->q, .dv = lp->dv,
				.windows = win, .n_windows = w->n,
				.entropy = lp->entropy };
	int ret;

	for (int s = 0; s < w->n; s++) {
		const struct attn_kf_cache *kf = w->slots[s].kf;

		vals[s] = (struct slot_values){ kf, l, s, w->n };
		win[s] = (struct attn_window){
			.keys = attn_pyramid_feat(&kf->src, l),
			.values = fill_slot_values, .values_ctx = &vals[s],
			.cx = lp->cx + (size_t)s * n, .cy = lp->cy + (size_t)s * n,
			.qbias = lp->qbias + (size_t)s * n, .radius = lp->radius,
			.lambda = POS_LAMBDA / (float)(lp->radius * lp->radius),
		};
	}
	job.scale = attn_score_scale(attn_feat_dim(&qf), w->e->p.temperature,
				     mean_sigma2(w, l));
	ret = attend(w, &job);
	lp->out = job.out;
	return ret;
}

/* Allocates a level pass's query-side arrays and fills the centres. */
static int level_setup(struct frame_work *w, int l, struct level_pass *lp,
		       float **buf)
{
	attn_queries *q;
	int ret = level_queries(w, l, &q);
	size_t n;

	if (ret < 0)
		return ret;
	n = (size_t)(q->n ? q->n : 1) * w->n;
	*buf = malloc(sizeof(float) * n * 3 + sizeof(float) * (q->n + 1));
	if (!*buf) {
		attn_queries_free(q);
		return -ENOMEM;
	}
	lp->q = q;
	lp->cx = *buf;
	lp->cy = *buf + n;
	lp->qbias = *buf + 2 * n;
	lp->entropy = *buf + 3 * n;
	lp->level = l;
	return centres_from_above(w, l, q, *buf, *buf + n, *buf + 2 * n);
}

static int mid_levels(struct frame_work *w)
{
	for (int l = w->levels - 2; l >= 1; l--) {
		struct level_pass lp = { .radius = MID_RADIUS, .dv = 3 * w->n };
		attn_frame *planes;
		float *buf = NULL;
		int ret = attn_frame_create(attn_pyramid_width(&w->src, l),
					    attn_pyramid_height(&w->src, l),
					    3 * w->n, &planes);

		if (ret < 0)
			return ret;
		ret = level_setup(w, l, &lp, &buf);
		if (ret >= 0)
			ret = run_level(w, &lp);
		if (ret >= 0)
			scatter(lp.q, lp.out, lp.dv, planes);
		free(lp.out);
		free(buf);
		attn_queries_free((attn_queries *)lp.q);
		if (ret < 0) {
			attn_frame_free(planes);
			return ret;
		}
		attn_frame_free(w->up);
		w->up = planes;
	}
	return 0;
}

/* Total coverage of query i's per-slot outputs starting at channel base. */
static float out_coverage(const struct frame_work *w, const float *o)
{
	float m = 0.0f;

	for (int s = 0; s < w->n; s++)
		m += o[EDIT_VALUES + 3 * s];
	return m;
}

/*
 * How much the coarsest level, where the temporal chain keeps the mask
 * from spreading into look-alike background, lets pixel (x, y) be covered:
 * fully inside and at the edge of its coverage, not at all away from it.
 */
static float tracked_gate(const struct frame_work *w, int x, int y)
{
	const attn_frame *pl = w->e->prev.planes;
	float f = (float)(1 << (w->levels - 1)), c = 0.0f;

	for (int s = 0; s < w->n; s++)
		c += attn_sample(attn_plane(pl, 3 * s), pl->width, pl->height,
				 (x + 0.5f) / f - 0.5f, (y + 0.5f) / f - 0.5f);
	return c >= 0.5f ? 1.0f : 2.0f * c;
}

/*
 * result = edit(match) + a * (frame - source(match)), coverage = m, from the
 * finest level's output (see fill_slot_values).
 */
static void apply_finest(const struct frame_work *w, const struct level_pass *lp,
			 attn_frame *result, float *coverage)
{
	const struct attn_yuv8 *src = w->src.base;
	size_t n = (size_t)src->width * src->height;

	attn_frame_from_yuv8(src, result);
	if (!w->given.n)
		memset(coverage, 0, sizeof(float) * n);
	for (int i = 0; i < lp->q->n; i++) {
		size_t p = (size_t)lp->q->y[i] * src->width + lp->q->x[i];
		const float *o = lp->out + (size_t)i * lp->dv;
		float m = out_coverage(w, o);

		if (!w->given.n)
			coverage[p] = m * tracked_gate(w, lp->q->x[i], lp->q->y[i]);
		if (m <= EPS_COVER)
			continue;
		for (int c = 0; c < 3; c++) {
			float v = src->plane[c][p] / 255.0f;

			attn_plane(result, c)[p] = (o[c] - o[3 + c] + v * o[6 + c]) / m;
		}
	}
}

/*
 * The next step's windows: each keyframe's share and position as this
 * step found them (the search moves to where the match is, as in
 * PatchMatch's iterations).
 */
static void recentre(const struct frame_work *w, struct level_pass *lp)
{
	int n = lp->q->n;

	for (int i = 0; i < n; i++) {
		const float *o = lp->out + (size_t)i * lp->dv;
		float total = out_coverage(w, o);

		for (int s = 0; s < w->n; s++) {
			const float *v = o + EDIT_VALUES + 3 * s;
			float f = total > 0.0f ? v[0] / total : 0.0f;
			size_t k = (size_t)s * n + i;

			if (v[0] > 1e-6f) {
				lp->cx[k] = v[1] / v[0];
				lp->cy[k] = v[2] / v[0];
			}
			lp->qbias[k] = f >= MIN_SHARE ? logf(f) : ATTN_NEG;
		}
	}
}

static void add_entropy(const struct frame_work *w, const struct level_pass *lp)
{
	float *map = w->info->entropy_map;
	int width = w->src.base->width;

	for (int i = 0; i < lp->q->n; i++) {
		w->info->entropy_sum += lp->entropy[i];
		if (map)
			map[(size_t)lp->q->y[i] * width + lp->q->x[i]] = lp->entropy[i];
	}
	w->info->queries += lp->q->n;
}

static int finest_level(struct frame_work *w, attn_frame *result, float *coverage)
{
	struct level_pass lp = { .radius = w->e->p.window,
				 .dv = EDIT_VALUES + 3 * w->n };
	float *buf = NULL;
	int ret = level_setup(w, 0, &lp, &buf);

	for (int step = 0; ret >= 0 && step < w->e->p.steps; step++) {
		ret = run_level(w, &lp);
		if (ret >= 0) {
			apply_finest(w, &lp, result, coverage);
			recentre(w, &lp);
		}
		if (ret >= 0 && step == w->e->p.steps - 1)
			add_entropy(w, &lp);
		free(lp.out);
		lp.out = NULL;
	}
	free(buf);
	attn_queries_free((attn_queries *)lp.q);
	return ret;
}

static void work_release(struct frame_work *w)
{
	attn_pyramid_release(&w->src);
	attn_pyramid_release(&w->given);
	attn_frame_free(w->up);
}

static int work_setup(struct frame_work *w, attn_engine *e, int t,
		      const struct attn_yuv8 *src, const struct attn_keyframe *keys,
		      int n_keys, const float *mask)
{
	int ret;

	w->e = e;
	w->t = t;
	w->n = n_keys;
	w->levels = attn_levels_for(src->width, src->height, COARSE_TOKENS);
	ret = kf_lookup(e, keys, n_keys, w->levels, w->slots);
	if (ret < 0)
		return ret;
	slot_biases(keys, n_keys, t, w->slots);
	ret = attn_pyramid_from_yuv8(src, w->levels, &w->src);
	if (ret >= 0 && mask)
		ret = mask_pyramid(NULL, mask, src->width, src->height, w->levels, 0,
				   &w->given);
	return ret;
}

int attn_propagate(attn_engine *e, int t, const struct attn_yuv8 *src,
		   const struct attn_keyframe *keys, int n_keys,
		   const float *mask, attn_frame *result, float *coverage,
		   struct attn_frame_info *info)
{
	struct frame_work w = { .info = info };
	int ret, c;

	if (n_keys < 1 || n_keys > ATTN_MAX_SLOTS || result->planes < 3 ||
	    result->width != src->width || result->height != src->height)
		return -EINVAL;
	attn_entropy_map_clear(info, src->width, src->height);
	ret = work_setup(&w, e, t, src, keys, n_keys, mask);
	if (ret < 0)
		goto out_release;
	c = w.levels - 1;
	ret = attn_frame_create(attn_pyramid_width(&w.src, c),
				attn_pyramid_height(&w.src, c), 3 * n_keys, &w.up);
	if (ret >= 0)
		ret = coarse_pass(&w, w.up);
	if (ret >= 0)
		ret = mid_levels(&w);
	if (ret >= 0)
		ret = finest_level(&w, result, coverage);
	if (ret >= 0 && mask)
		memcpy(coverage, mask, sizeof(float) * src->width * src->height);
out_release:
	work_release(&w);
	return ret;
}
