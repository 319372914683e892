#include "pipeline/pipe_masks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/pixdesc.h>

#include "masks/mask_image.h"
#include "masks/mask_map.h"
#include "masks/mask_schedule.h"
#include "pipeline/pipe_util.h"

struct cursor {
	pipe_reader *reader;
	int64_t pos;            /* index of the frame in last, -1: none yet */
	AVFrame *last;
};

struct pipe_masks {
	int width, height;
	int rotation;           /* of the clip */
	const struct pipe_limits *limits;   /* borrowed, or NULL */
	int tracked;
	float weight;           /* cross_attention_weight */
	/* PNG masks */
	size_t n;
	struct mask_anchor *anchors;
	mask_map **maps;
	/* mask video */
	const char *video_name;
	int video_rotation;
	int video_limited;      /* its luma is 16..235, not 0..255 */
	struct cursor cur[2];
};

/* Degrees that turn an image shown with display rotation `from` to `to`. */
static int turn(int from, int to)
{
	return ((from - to) % 360 + 360) % 360;
}

/*
 * An image in display orientation to a coverage map in the clip's coded
 * orientation and size. Takes ownership of img.
 */
static int image_to_map(mask_image *img, int rotate, int w, int h, mask_map **out)
{
	mask_image *turned = NULL;
	mask_map *map = NULL;
	int ret = 0;

	if (rotate) {
		ret = mask_image_rotate(img, rotate, &turned);
		mask_image_free(img);
		img = turned;
	}
	if (ret >= 0)
		ret = mask_map_from_image(img, &map);
	mask_image_free(img);
	if (ret >= 0)
		ret = mask_map_resize(map, w, h, out);
	mask_map_free(map);
	return ret;
}

static int load_anchor(pipe_masks *m, const struct api_mask *spec_mask,
		       const char *path, size_t i, char *err, size_t errlen)
{
	struct mask_limits limits;
	mask_image *img;
	char why[256] = "";
	int ret;

	pipe_limits_for_images(m->limits, &limits);
	ret = mask_image_load(path, &limits, &img, why, sizeof(why));

	if (ret < 0) {
		pipe_err_rename(why, sizeof(why), path, spec_mask->image);
		pipe_errf(err, errlen, "masks[%zu].image: %s", i, why);
		return ret;
	}
	ret = image_to_map(img, turn(0, m->rotation), m->width, m->height,
			   &m->maps[i]);
	if (ret < 0) {
		pipe_errf(err, errlen, "masks[%zu].image: %s: cannot use the mask",
			  i, spec_mask->image);
		return ret;
	}
	m->anchors[i].frame = spec_mask->frame;
	m->anchors[i].weight = (float)spec_mask->weight;
	return 0;
}

/*
 * A mask video coded as YUV has its black at luma 16 and its white at 235
 * unless tagged full range (an H.264 mask from ffmpeg's defaults is); a
 * gray one (FFV1, PNG) uses 0..255.
 */
static int limited_range(const struct pipe_video_info *info)
{
	const AVPixFmtDescriptor *d = info->video ?
		av_pix_fmt_desc_get(info->video->codecpar->format) : NULL;
	int gray = d && d->nb_components <= 2 && !(d->flags & AV_PIX_FMT_FLAG_RGB);

	if (info->color_range == AVCOL_RANGE_JPEG)
		return 0;
	return info->color_range == AVCOL_RANGE_MPEG || !gray;
}

static int open_video(pipe_masks *m, const char *path, char *err, size_t errlen)
{
	struct pipe_reader_opts ro = { .pix_fmt = AV_PIX_FMT_GRAY8, .limits = m->limits };

	for (int c = 0; c < 2; c++) {
		char why[256] = "";
		int ret = pipe_reader_open(path, &ro, &m->cur[c].reader, why, sizeof(why));

		if (ret < 0) {
			pipe_errf(err, errlen, "mask_video: %s", why);
			return ret;
		}
		m->cur[c].pos = -1;
	}
	m->video_rotation = pipe_reader_info(m->cur[0].reader)->rotation;
	m->video_limited = limited_range(pipe_reader_info(m->cur[0].reader));
	return 0;
}

int pipe_masks_open(const api_spec *spec, const struct pipe_job_files *files,
		    const struct pipe_video_info *info,
		    const struct pipe_limits *limits, pipe_masks **out,
		    char *err, size_t errlen)
{
	pipe_masks *m = calloc(1, sizeof(*m));
	int ret = 0;

	if (!m)
		return -ENOMEM;
	m->limits = limits;
	m->width = info->width;
	m->height = info->height;
	m->rotation = info->rotation;
	m->weight = (float)spec->cross_attention_weight;
	m->tracked = spec->mask_mode == API_MASK_TRACK && spec->n_masks > 0;
	m->n = spec->n_masks;
	m->anchors = calloc(m->n + 1, sizeof(*m->anchors));
	m->maps = calloc(m->n + 1, sizeof(*m->maps));
	if (!m->anchors || !m->maps)
		ret = -ENOMEM;
	for (size_t i = 0; ret >= 0 && i < m->n; i++)
		ret = load_anchor(m, &spec->masks[i], files->mask_images[i], i, err,
				  errlen);
	if (ret >= 0 && spec->mask_video) {
		m->video_name = spec->mask_video;
		ret = open_video(m, files->mask_video, err, errlen);
	}
	if (ret < 0) {
		pipe_masks_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

void pipe_masks_free(pipe_masks *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n && m->maps; i++)
		mask_map_free(m->maps[i]);
	free(m->maps);
	free(m->anchors);
	for (int c = 0; c < 2; c++) {
		pipe_reader_free(m->cur[c].reader);
		av_frame_free(&m->cur[c].last);
	}
	free(m);
}

int pipe_masks_none(const pipe_masks *m)
{
	return m->n == 0 && !m->video_name;
}

int pipe_masks_tracked(const pipe_masks *m)
{
	return m->tracked;
}

const float *pipe_masks_anchor(const pipe_masks *m, int64_t t)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->anchors[i].frame == t)
			return m->maps[i]->cov;
	return NULL;
}

float pipe_masks_weight(const pipe_masks *m, int64_t t)
{
	struct mask_span span;

	if (m->n == 0 || mask_schedule_span(m->anchors, m->n, (int)t, &span) < 0)
		return m->weight;
	return mask_schedule_weight(m->anchors, &span);
}

static int blend_anchors(const pipe_masks *m, int64_t t, float *out)
{
	struct mask_span span;
	size_t n = (size_t)m->width * m->height;
	int ret = mask_schedule_span(m->anchors, m->n, (int)t, &span);

	if (ret < 0)
		return ret;
	if (span.next < 0) {
		memcpy(out, m->maps[span.prev]->cov, sizeof(float) * n);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (1.0f - span.t) * m->maps[span.prev]->cov[i] +
			 span.t * m->maps[span.next]->cov[i];
	return 0;
}

/* Moves a cursor forward to frame t. */
static int cursor_seek(pipe_masks *m, struct cursor *c, int64_t t, char *err,
		       size_t errlen)
{
	while (c->pos < t) {
		char why[256] = "";
		int ret;

		av_frame_free(&c->last);
		ret = pipe_reader_next(c->reader, &c->last, why, sizeof(why));
		if (ret == AVERROR_EOF) {
			pipe_errf(err, errlen, "mask_video: %s has %lld frames but "
				  "frame %lld is needed; give one mask frame per "
				  "clip frame", m->video_name, (long long)c->pos + 1,
				  (long long)t);
			return -EINVAL;
		}
		if (ret < 0) {
			pipe_errf(err, errlen, "mask_video: %s", why);
			return ret;
		}
		c->pos++;
	}
	return c->pos == t ? 0 : -EINVAL;
}

/* A mask video's luma sample as a 16-bit coverage 0..65535. */
static uint16_t coverage16(const pipe_masks *m, uint8_t y)
{
	int v = m->video_limited ? (y - 16) * 65535 / 219 : y * 257;

	return (uint16_t)(v < 0 ? 0 : v > 65535 ? 65535 : v);
}

/* A gray frame as a coverage plane of the clip's size and orientation. */
static int video_frame_to_cov(const pipe_masks *m, const AVFrame *f, float *out)
{
	mask_image *img;
	mask_map *map;
	int ret = mask_image_create(f->width, f->height, MASK_GRAY, &img);

	if (ret < 0)
		return ret;
	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < f->width; x++)
			img->data[(size_t)y * f->width + x] = coverage16(m,
				f->data[0][(size_t)y * f->linesize[0] + x]);
	ret = image_to_map(img, turn(m->video_rotation, m->rotation), m->width,
			   m->height, &map);
	if (ret < 0)
		return ret;
	memcpy(out, map->cov, sizeof(float) * m->width * m->height);
	mask_map_free(map);
	return 0;
}

int pipe_masks_at(pipe_masks *m, enum pipe_mask_cursor cursor, int64_t t,
		  float *out, char *err, size_t errlen)
{
	struct cursor *c = &m->cur[cursor];
	int ret;

	if (!m->video_name) {
		if (m->n == 0) {
			for (size_t i = 0; i < (size_t)m->width * m->height; i++)
				out[i] = 1.0f;
			return 0;
		}
		return blend_anchors(m, t, out);
	}
	ret = cursor_seek(m, c, t, err, errlen);
	if (ret < 0)
		return ret;
	return video_frame_to_cov(m, c->last, out);
}
