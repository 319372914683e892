#include "pipeline/pipe_scale.h"

#include <errno.h>

#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

/* The deprecated full-range "J" formats, as the plain format they code. */
static enum AVPixelFormat plain_format(enum AVPixelFormat fmt)
{
	switch (fmt) {
	case AV_PIX_FMT_YUVJ420P:
		return AV_PIX_FMT_YUV420P;
	case AV_PIX_FMT_YUVJ422P:
		return AV_PIX_FMT_YUV422P;
	case AV_PIX_FMT_YUVJ444P:
		return AV_PIX_FMT_YUV444P;
	case AV_PIX_FMT_YUVJ440P:
		return AV_PIX_FMT_YUV440P;
	case AV_PIX_FMT_YUVJ411P:
		return AV_PIX_FMT_YUV411P;
	default:
		return fmt;
	}
}

int pipe_rgb_format(enum AVPixelFormat fmt)
{
	const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);

	return desc && (desc->flags & AV_PIX_FMT_FLAG_RGB);
}

int pipe_full_range(enum AVPixelFormat fmt, enum AVColorRange range)
{
	return pipe_rgb_format(fmt) || plain_format(fmt) != fmt ||
	       range == AVCOL_RANGE_JPEG;
}

/*
 * swscale's coefficient tables are indexed by the same numbers as
 * AVColorSpace; it falls back to BT.601 for the ones it has no table for.
 */
static const int *coefficients(enum AVColorSpace colorspace)
{
	return sws_getCoefficients(colorspace);
}

static int setup_context(struct SwsContext **sws, const AVFrame *src,
			 const AVFrame *dst, int interp)
{
	int flags = interp | SWS_ACCURATE_RND | SWS_BITEXACT;
	int src_full = pipe_full_range(src->format, src->color_range);
	int dst_full = pipe_full_range(dst->format, dst->color_range);

	*sws = sws_getCachedContext(*sws, src->width, src->height,
				    plain_format(src->format), dst->width,
				    dst->height, dst->format, flags, NULL, NULL,
				    NULL);
	if (!*sws)
		return -EINVAL;
	/* no brightness change, contrast and saturation 1.0 (16.16 fixed point) */
	if (sws_setColorspaceDetails(*sws, coefficients(src->colorspace),
				     src_full, coefficients(dst->colorspace),
				     dst_full, 0, 1 << 16, 1 << 16) < 0)
		return -EINVAL;
	return 0;
}

int pipe_scale(struct SwsContext **sws, const AVFrame *src, AVFrame *dst,
	       int interp)
{
	int ret;

	ret = setup_context(sws, src, dst, interp);
	if (ret < 0)
		return ret;
	if (!dst->buf[0]) {
		ret = av_frame_get_buffer(dst, 0);
		if (ret < 0)
			return ret;
	}
	ret = sws_scale(*sws, (const uint8_t *const *)src->data, src->linesize,
			0, src->height, dst->data, dst->linesize);
	return ret < 0 ? ret : 0;
}
