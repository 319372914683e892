/* pipe_still: a frame decoded, turned to display orientation, encoded as PNG. */
#include "pipeline/pipe_still.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>

#include "pipeline/pipe_masks.h"
#include "pipeline/pipe_reader.h"
#include "pipeline/pipe_scale.h"
#include "pipeline/pipe_util.h"

/* An image in memory: w x h pixels of channels bytes each, rows packed. */
struct still {
	int w, h, channels;
	uint8_t *px;            /* owned */
};

static int still_alloc(struct still *img, int w, int h, int channels)
{
	*img = (struct still){ w, h, channels, malloc((size_t)w * h * channels) };
	return img->px ? 0 : -ENOMEM;
}

/* img turned clockwise by degrees (0, 90, 180 or 270) into out. */
static int still_rotate(const struct still *img, int degrees, struct still *out)
{
	int turned = degrees == 90 || degrees == 270, c = img->channels;
	int ret = still_alloc(out, turned ? img->h : img->w, turned ? img->w : img->h, c);

	for (int y = 0; ret >= 0 && y < img->h; y++) {
		for (int x = 0; x < img->w; x++) {
			int dx = degrees == 90 ? img->h - 1 - y : degrees == 180 ?
				 img->w - 1 - x : degrees == 270 ? y : x;
			int dy = degrees == 90 ? x : degrees == 180 ? img->h - 1 - y :
				 degrees == 270 ? img->w - 1 - x : y;

			memcpy(out->px + ((size_t)dy * out->w + dx) * c,
			       img->px + ((size_t)y * img->w + x) * c, (size_t)c);
		}
	}
	return ret;
}

/* Copies img's rows into f, a frame of its size and format. */
static void still_copy_to(const struct still *img, AVFrame *f)
{
	size_t row = (size_t)img->w * img->channels;

	for (int y = 0; y < img->h; y++)
		memcpy(f->data[0] + (size_t)y * f->linesize[0], img->px + y * row, row);
}

/* img as PNG bytes (FFmpeg's encoder) in *png, *len. */
static int still_encode(const struct still *img, uint8_t **png, size_t *len,
			char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
	AVCodecContext *ctx = codec ? avcodec_alloc_context3(codec) : NULL;
	AVPacket *pkt = av_packet_alloc();
	AVFrame *f = av_frame_alloc();
	int ret = ctx && pkt && f ? 0 : AVERROR(ENOMEM);

	if (ret < 0)
		goto free_codec;
	ctx->width = f->width = img->w;
	ctx->height = f->height = img->h;
	ctx->time_base = (AVRational){ 1, 1 };
	ctx->pix_fmt = img->channels == 3 ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_GRAY8;
	f->format = ctx->pix_fmt;
	ret = avcodec_open2(ctx, codec, NULL);
	if (ret >= 0)
		ret = av_frame_get_buffer(f, 0);
	if (ret >= 0) {
		still_copy_to(img, f);
		ret = avcodec_send_frame(ctx, f);
	}
	if (ret >= 0)
		ret = avcodec_receive_packet(ctx, pkt);
	if (ret >= 0) {
		*png = malloc((size_t)pkt->size);
		ret = *png ? 0 : AVERROR(ENOMEM);
	}
	if (ret >= 0) {
		memcpy(*png, pkt->data, (size_t)pkt->size);
		*len = (size_t)pkt->size;
	}
free_codec:
	if (ret < 0)
		pipe_errf(err, errlen, "cannot encode the frame as PNG: %s", av_err2str(ret));
	av_frame_free(&f);
	av_packet_free(&pkt);
	avcodec_free_context(&ctx);
	return ret < 0 ? pipe_errno(ret) : 0;
}

/* img in display orientation (rotation: clockwise degrees), as PNG. */
static int still_finish(const struct still *img, int rotation, uint8_t **png,
			size_t *len, char *err, size_t errlen)
{
	struct still turned;
	int ret;

	if (!rotation)
		return still_encode(img, png, len, err, errlen);
	ret = still_rotate(img, rotation, &turned);
	if (ret >= 0)
		ret = still_encode(&turned, png, len, err, errlen);
	free(turned.px);
	return ret;
}

/* A decoded frame as RGB (or, gray, its first channel: the luma of a gray frame). */
static int still_from_frame(const AVFrame *src, int gray, struct still *img)
{
	struct SwsContext *sws = NULL;
	AVFrame *rgb = av_frame_alloc();
	int ret = rgb ? 0 : -ENOMEM;

	if (rgb) {
		rgb->format = AV_PIX_FMT_RGB24;
		rgb->width = src->width;
		rgb->height = src->height;
		rgb->color_range = AVCOL_RANGE_JPEG;
		ret = pipe_scale(&sws, src, rgb, SWS_POINT);
	}
	if (ret >= 0)
		ret = still_alloc(img, src->width, src->height, gray ? 1 : 3);
	for (int y = 0; ret >= 0 && y < img->h; y++) {
		const uint8_t *row = rgb->data[0] + (size_t)y * rgb->linesize[0];

		for (int x = 0; x < img->w; x++)
			memcpy(img->px + ((size_t)y * img->w + x) * img->channels,
			       row + 3 * x, (size_t)img->channels);
	}
	sws_freeContext(sws);
	av_frame_free(&rgb);
	return ret;
}

int pipe_still_frame(const char *path, int64_t n, int gray,
		     const struct pipe_limits *limits, uint8_t **png, size_t *len,
		     char *err, size_t errlen)
{
	struct pipe_reader_opts ro = { .pix_fmt = AV_PIX_FMT_YUV444P, .limits = limits };
	struct still img = { 0 };
	AVFrame *frame = NULL;
	pipe_reader *r;
	int ret = pipe_reader_open(path, &ro, &r, err, errlen);

	if (ret < 0)
		return ret;
	for (int64_t i = 0; ret >= 0 && i <= n; i++) {
		av_frame_free(&frame);
		ret = pipe_reader_next(r, &frame, err, errlen);
	}
	if (ret == AVERROR_EOF) {
		pipe_errf(err, errlen, "there is no frame %" PRId64 ": the video has %" PRId64
			  " (0 to %" PRId64 ")", n, pipe_reader_position(r),
			  pipe_reader_position(r) - 1);
		ret = -ERANGE;
	}
	if (ret >= 0)
		ret = still_from_frame(frame, gray, &img);
	if (ret >= 0)
		ret = still_finish(&img, pipe_reader_info(r)->rotation, png, len, err, errlen);
	free(img.px);
	av_frame_free(&frame);
	pipe_reader_free(r);
	return ret;
}

/* The coverage of frame n into img (a gray image of the clip's coded size). */
static int still_coverage(pipe_masks *m, int64_t n, struct still *img,
			  char *err, size_t errlen)
{
	size_t count = (size_t)img->w * img->h;
	float *cov = malloc(sizeof(float) * count);
	int ret = cov ? 0 : -ENOMEM;

	if (cov && pipe_masks_none(m))
		for (size_t i = 0; i < count; i++)
			cov[i] = 1.0f;
	else if (cov)
		ret = pipe_masks_at(m, PIPE_MASK_MAIN, n, cov, err, errlen);
	for (size_t i = 0; ret >= 0 && i < count; i++)
		img->px[i] = (uint8_t)lrintf(fminf(fmaxf(cov[i], 0.0f), 1.0f) * 255.0f);
	free(cov);
	return ret;
}

int pipe_still_mask(const api_spec *spec, const struct pipe_job_files *files,
		    int64_t n, const struct pipe_limits *limits, uint8_t **png,
		    size_t *len, char *err, size_t errlen)
{
	struct pipe_reader_opts ro = { .pix_fmt = AV_PIX_FMT_YUV420P, .count_frames = 1,
				       .limits = limits };
	const struct pipe_video_info *info;
	struct still img = { 0 };
	pipe_masks *m = NULL;
	pipe_reader *r;
	int ret = pipe_reader_open(files->video, &ro, &r, err, errlen);

	if (ret < 0)
		return ret;
	info = pipe_reader_info(r);
	if (n >= info->frame_count) {
		pipe_errf(err, errlen, "there is no frame %" PRId64 ": the clip has %" PRId64
			  " (0 to %" PRId64 ")", n, info->frame_count, info->frame_count - 1);
		ret = -ERANGE;
	}
	if (ret >= 0)
		ret = pipe_masks_open(spec, files, info, limits, &m, err, errlen);
	if (ret >= 0)
		ret = still_alloc(&img, info->width, info->height, 1);
	if (ret >= 0)
		ret = still_coverage(m, n, &img, err, errlen);
	if (ret >= 0)
		ret = still_finish(&img, info->rotation, png, len, err, errlen);
	free(img.px);
	pipe_masks_free(m);
	pipe_reader_free(r);
	return ret;
}
