#include "pipeline/pipe_keys.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "masks/mask_image.h"
#include "pipeline/pipe_frame.h"
#include "pipeline/pipe_image.h"
#include "pipeline/pipe_util.h"

#define HELD 3

/* A keyframe held, in 8-bit planes: the engine reads them as they are. */
struct held {
	int spec_index;         /* into the keyframe list, -1: free */
	uint8_t *source_samples;
	uint8_t *edit_samples;  /* NULL: the source is the look */
	uint8_t *cover;         /* the mask there; NULL: everything */
	struct attn_yuv8 source;
	struct attn_yuv8 edit;
};

struct kf {
	int frame;
	const char *image;      /* the spec's name, NULL when omitted */
	const char *path;
};

struct pipe_keys {
	const struct pipe_video_info *info;
	enum AVPixelFormat pix_fmt;
	pipe_masks *masks;
	const struct pipe_limits *limits;   /* borrowed, or NULL */
	int n;
	struct kf *list;
	pipe_reader *ahead;
	int64_t ahead_pos;      /* index of the frame in ahead_frame */
	AVFrame *ahead_frame;
	struct held held[HELD];
};

static void held_release(struct held *h)
{
	free(h->source_samples);
	free(h->edit_samples);
	free(h->cover);
	memset(h, 0, sizeof(*h));
	h->spec_index = -1;
}

void pipe_keys_free(pipe_keys *k)
{
	if (!k)
		return;
	for (int i = 0; i < HELD; i++)
		held_release(&k->held[i]);
	av_frame_free(&k->ahead_frame);
	pipe_reader_free(k->ahead);
	free(k->list);
	free(k);
}

static int build_list(pipe_keys *k, const api_spec *spec,
		      const struct pipe_job_files *files)
{
	k->n = spec->n_keyframes ? (int)spec->n_keyframes : 1;
	k->list = calloc(k->n, sizeof(*k->list));
	if (!k->list)
		return -ENOMEM;
	for (size_t i = 0; i < spec->n_keyframes; i++) {
		k->list[i].frame = spec->keyframes[i].frame;
		k->list[i].image = spec->keyframes[i].image;
		k->list[i].path = files->keyframe_images ? files->keyframe_images[i] : NULL;
	}
	return 0;
}

int pipe_keys_open(const api_spec *spec, const struct pipe_job_files *files,
		   const struct pipe_video_info *info, enum AVPixelFormat pix_fmt,
		   pipe_masks *masks, const struct pipe_limits *limits,
		   pipe_keys **out, char *err, size_t errlen)
{
	struct pipe_reader_opts ro = { .pix_fmt = pix_fmt, .limits = limits };
	pipe_keys *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	k->info = info;
	k->pix_fmt = pix_fmt;
	k->masks = masks;
	k->limits = limits;
	k->ahead_pos = -1;
	for (int i = 0; i < HELD; i++)
		k->held[i].spec_index = -1;
	ret = build_list(k, spec, files);
	if (ret >= 0)
		ret = pipe_reader_open(files->video, &ro, &k->ahead, err, errlen);
	if (ret < 0) {
		pipe_keys_free(k);
		return ret;
	}
	*out = k;
	return 0;
}

/* The clip's frame at index, decoded by the reader that runs ahead. */
/* Room for a frame's three 8-bit planes. */
static uint8_t *samples_new(const pipe_keys *k)
{
	return malloc((size_t)3 * k->info->width * k->info->height);
}

static int source_at(pipe_keys *k, int64_t index, struct held *h, char *err,
		     size_t errlen)
{
	int ret;

	while (k->ahead_pos < index) {
		av_frame_free(&k->ahead_frame);
		ret = pipe_reader_next(k->ahead, &k->ahead_frame, err, errlen);
		if (ret < 0)
			return ret == AVERROR_EOF ? -EINVAL : ret;
		k->ahead_pos++;
	}
	h->source_samples = samples_new(k);
	if (!h->source_samples)
		return -ENOMEM;
	return pipe_frame_to_yuv8(k->ahead_frame, h->source_samples, &h->source);
}

static int edit_image(pipe_keys *k, int i, struct held *h, char *err,
		      size_t errlen)
{
	struct mask_limits limits;
	mask_image *img;
	AVFrame *frame = NULL;
	char why[256] = "";
	int ret;

	pipe_limits_for_images(k->limits, &limits);
	ret = mask_image_load(k->list[i].path, &limits, &img, why, sizeof(why));

	if (ret >= 0) {
		ret = pipe_image_to_frame(img, k->info, k->pix_fmt, &frame, why,
					  sizeof(why));
		mask_image_free(img);
	}
	if (ret < 0) {
		pipe_err_rename(why, sizeof(why), k->list[i].path, k->list[i].image);
		pipe_errf(err, errlen, "keyframes[%d].image: %s", i, why);
		return ret;
	}
	h->edit_samples = samples_new(k);
	ret = h->edit_samples ? pipe_frame_to_yuv8(frame, h->edit_samples, &h->edit) :
				-ENOMEM;
	av_frame_free(&frame);
	return ret;
}

/* The mask at the keyframe, as the 8-bit coverage its planes carry. */
static int cover_at(pipe_keys *k, int i, struct held *h, char *err, size_t errlen)
{
	size_t n = (size_t)k->info->width * k->info->height;
	float *m = malloc(sizeof(float) * n);
	int ret = m ? 0 : -ENOMEM;

	h->cover = malloc(n);
	if (ret >= 0 && !h->cover)
		ret = -ENOMEM;
	if (ret >= 0)
		ret = pipe_masks_at(k->masks, PIPE_MASK_AHEAD, k->list[i].frame, m,
				    err, errlen);
	for (size_t p = 0; ret >= 0 && p < n; p++)
		h->cover[p] = (uint8_t)lrintf(m[p] * 255.0f);
	h->source.cover = h->cover;
	free(m);
	return ret;
}

static int load(pipe_keys *k, int i, struct held *h, char *err, size_t errlen)
{
	int ret = source_at(k, k->list[i].frame, h, err, errlen);

	/* past the last keyframe the reader ahead has nothing left to find */
	if (i == k->n - 1) {
		av_frame_free(&k->ahead_frame);
		pipe_reader_free(k->ahead);
		k->ahead = NULL;
	}
	h->spec_index = i;
	if (ret >= 0 && k->list[i].image)
		ret = edit_image(k, i, h, err, errlen);
	if (ret >= 0 && !pipe_masks_none(k->masks))
		ret = cover_at(k, i, h, err, errlen);
	if (ret < 0)
		held_release(h);
	return ret;
}

/* The held entry of keyframe i, loading it into a free slot if needed. */
static int hold(pipe_keys *k, int i, struct held **out, char *err, size_t errlen)
{
	struct held *free_slot = NULL;

	for (int s = 0; s < HELD; s++) {
		if (k->held[s].spec_index == i) {
			*out = &k->held[s];
			return 0;
		}
		if (k->held[s].spec_index < 0 && !free_slot)
			free_slot = &k->held[s];
	}
	if (!free_slot)
		return -ENOSPC;
	*out = free_slot;
	return load(k, i, free_slot, err, errlen);
}

int pipe_keys_around(pipe_keys *k, int64_t t, struct attn_keyframe *out, int *n,
		     char *err, size_t errlen)
{
	int prev = -1, next = -1, want[2], count = 0;

	for (int i = 0; i < k->n; i++) {
		if (k->list[i].frame <= t)
			prev = i;
		else if (next < 0)
			next = i;
	}
	if (prev >= 0)
		want[count++] = prev;
	if (next >= 0)
		want[count++] = next;
	for (int s = 0; s < HELD; s++)
		if (k->held[s].spec_index >= 0 && k->held[s].spec_index < want[0])
			held_release(&k->held[s]);
	for (int j = 0; j < count; j++) {
		struct held *h;
		int ret = hold(k, want[j], &h, err, errlen);

		if (ret < 0)
			return ret;
		out[j] = (struct attn_keyframe){ .index = k->list[want[j]].frame,
						 .source = &h->source,
						 .edit = h->edit_samples ? &h->edit : NULL };
	}
	*n = count;
	return 0;
}
