#include "pipeline/pipe_image.h"

#include <errno.h>
#include <limits.h>

#include <libswscale/swscale.h>

#include "pipeline/pipe_scale.h"
#include "pipeline/pipe_util.h"

/* mask_image's interleaved native-endian 16-bit samples as a pixel format. */
static enum AVPixelFormat sample_format(int channels)
{
	switch (channels) {
	case MASK_GRAY:
		return AV_PIX_FMT_GRAY16;
	case MASK_GRAY_ALPHA:
		return AV_PIX_FMT_YA16;
	case MASK_RGB:
		return AV_PIX_FMT_RGB48;
	case MASK_RGBA:
		return AV_PIX_FMT_RGBA64;
	default:
		return AV_PIX_FMT_NONE;
	}
}

static int valid_input(const mask_image *img,
		       const struct pipe_video_info *info, char *err,
		       size_t errlen)
{
	if (sample_format(img->channels) == AV_PIX_FMT_NONE ||
	    img->width <= 0 || img->height <= 0 ||
	    (size_t)img->width * img->channels * sizeof(*img->data) > INT_MAX) {
		pipe_errf(err, errlen,
			  "the image is not a gray, gray+alpha, RGB or RGBA picture of a usable size");
		return 0;
	}
	if (info->width <= 0 || info->height <= 0) {
		pipe_errf(err, errlen, "the clip has no frame size");
		return 0;
	}
	return 1;
}

/* Image and clip compared as the user sees them: in display orientation. */
static int same_aspect(const mask_image *img,
		       const struct pipe_video_info *info, char *err,
		       size_t errlen)
{
	int sideways = info->rotation == 90 || info->rotation == 270;
	int dw = sideways ? info->height : info->width;
	int dh = sideways ? info->width : info->height;

	if (mask_same_aspect(img->width, img->height, dw, dh))
		return 1;
	pipe_errf(err, errlen,
		  "the image is %dx%d but the clip is %dx%d; export the keyframe at the clip's aspect ratio",
		  img->width, img->height, dw, dh);
	return 0;
}

/* A frame reading the image's samples in place (no buffer of its own). */
static AVFrame *wrap_image(const mask_image *img)
{
	AVFrame *frame = av_frame_alloc();

	if (!frame)
		return NULL;
	frame->format = sample_format(img->channels);
	frame->width = img->width;
	frame->height = img->height;
	frame->data[0] = (uint8_t *)img->data;
	frame->linesize[0] = img->width * img->channels * sizeof(*img->data);
	/* image samples span black to white */
	frame->color_range = AVCOL_RANGE_JPEG;
	return frame;
}

/* An empty frame of the clip's size, coded in its matrix and range. */
static AVFrame *clip_frame(const struct pipe_video_info *info,
			   enum AVPixelFormat pix_fmt)
{
	AVFrame *frame = av_frame_alloc();

	if (!frame)
		return NULL;
	frame->format = pix_fmt;
	frame->width = info->width;
	frame->height = info->height;
	frame->colorspace = info->colorspace;
	frame->color_range = info->color_range;
	frame->color_primaries = info->color_primaries;
	frame->color_trc = info->color_trc;
	return frame;
}

/* Area averaging to shrink (no aliasing), bicubic to enlarge. */
static int scaler_for(const mask_image *img, const struct pipe_video_info *info)
{
	return (int64_t)img->width * img->height >
	       (int64_t)info->width * info->height ? SWS_AREA : SWS_BICUBIC;
}

static int convert(const mask_image *img, const struct pipe_video_info *info,
		   enum AVPixelFormat pix_fmt, AVFrame **out)
{
	struct SwsContext *sws = NULL;
	AVFrame *src, *dst = NULL;
	int ret = -ENOMEM;

	src = wrap_image(img);
	if (!src)
		goto free_frames;
	dst = clip_frame(info, pix_fmt);
	if (!dst)
		goto free_frames;
	ret = pipe_scale(&sws, src, dst, scaler_for(img, info));
	if (ret < 0)
		goto free_frames;
	*out = dst;
	dst = NULL;
free_frames:
	sws_freeContext(sws);
	av_frame_free(&dst);
	av_frame_free(&src);
	return ret;
}

int pipe_image_to_frame(const mask_image *img, const struct pipe_video_info *info,
			enum AVPixelFormat pix_fmt, AVFrame **out, char *err,
			size_t errlen)
{
	mask_image *turned = NULL;
	int ret;

	pipe_err_clear(err, errlen);
	if (!valid_input(img, info, err, errlen) ||
	    !same_aspect(img, info, err, errlen))
		return -EINVAL;
	/* display orientation back to the coded one: the inverse turn */
	if (info->rotation) {
		ret = mask_image_rotate(img, (360 - info->rotation) % 360,
					&turned);
		if (ret < 0)
			goto end;
		img = turned;
	}
	ret = convert(img, info, pix_fmt, out);
end:
	if (ret < 0)
		pipe_err_default(err, errlen, "image", ret);
	mask_image_free(turned);
	return pipe_errno(ret);
}
