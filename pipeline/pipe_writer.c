#include "pipeline/pipe_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/avstring.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "pipeline/pipe_audio.h"
#include "pipeline/pipe_encode.h"
#include "pipeline/pipe_scale.h"
#include "pipeline/pipe_util.h"

/*
 * x264's output depends on its thread count, so it is fixed rather than
 * taken from the machine: the same frames give the same bytes anywhere.
 * The threads code slices of one frame: frame-parallel encoding was seen
 * to give different bytes on rare runs, slices never do. Macroblock-tree
 * rate control is off: its assembly reads memory it never wrote (the
 * bytes change with MALLOC_PERTURB_), so its output varied with whatever
 * the process had freed before.
 */
#define PIPE_X264_THREADS 2
#define PIPE_X264_PRESET "veryfast"
#define PIPE_CRF_MAX 51

struct audio_out {
	int in_index;                /* the stream's index in the source */
	AVRational in_tb;            /* the source stream's time base */
	AVStream *st;
	struct pipe_audio *transcode; /* NULL: packets are copied */
};

struct pipe_writer {
	AVFormatContext *oc;
	AVCodecContext *enc;
	AVStream *video;
	AVFrame *frame;              /* encoder input at the coded (even) size */
	AVFrame *converted;          /* frames given in another pixel format */
	struct SwsContext *sws;
	AVPacket *pkt;
	struct audio_out *audio;
	int n_audio;
	int width, height;           /* of the frames given */
	int64_t frame_duration;      /* in enc->time_base, for video packets */
	char *path;                  /* where the finished file goes */
	char *part;                  /* where it is written until then */
	int created;                 /* part exists: remove it unless finished */
	int finished;
};

/* H.264 4:2:0 codes even sizes only; 4:4:4 keeps the size. */
static int coded_size(int size, enum AVPixelFormat pix_fmt)
{
	return pix_fmt == AV_PIX_FMT_YUV420P ? FFALIGN(size, 2) : size;
}

static int open_video_encoder(pipe_writer *w, const struct pipe_video_info *src,
			      const struct pipe_writer_opts *opts, char *err,
			      size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	const char *preset = opts->preset ? opts->preset : PIPE_X264_PRESET;
	AVDictionary *options = NULL;
	AVCodecContext *enc;
	int ret;

	if (!codec) {
		pipe_errf(err, errlen, "no libx264 encoder in this FFmpeg");
		return -EINVAL;
	}
	enc = w->enc = avcodec_alloc_context3(codec);
	if (!enc)
		return -ENOMEM;
	enc->width = coded_size(src->width, opts->pix_fmt);
	enc->height = coded_size(src->height, opts->pix_fmt);
	enc->pix_fmt = opts->pix_fmt;
	enc->time_base = src->time_base;
	enc->framerate = src->frame_rate;
	enc->sample_aspect_ratio = src->sample_aspect_ratio;
	enc->color_range = src->color_range;
	enc->colorspace = src->colorspace;
	enc->color_primaries = src->color_primaries;
	enc->color_trc = src->color_trc;
	enc->thread_count = PIPE_X264_THREADS;
	if (w->oc->oformat->flags & AVFMT_GLOBALHEADER)
		enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	ret = av_dict_set_int(&options, "crf", opts->crf, 0);
	if (ret >= 0)
		ret = av_dict_set(&options, "preset", preset, 0);
	if (ret >= 0)
		ret = av_dict_set(&options, "x264-params", "sliced-threads=1:mbtree=0", 0);
	if (ret >= 0)
		/* takes the options it knows out of the dictionary */
		ret = avcodec_open2(enc, codec, &options);
	av_dict_free(&options);
	if (ret < 0)
		pipe_errf(err, errlen,
			  "cannot open the H.264 encoder (preset %s, crf %d): %s",
			  preset, opts->crf, av_err2str(ret));
	return ret;
}

/*
 * The display matrix, so players turn the output as they turn the source:
 * the source stream's own (flips included) or, for a source described
 * without a stream, one made from its rotation.
 */
static int write_orientation(AVStream *st, const struct pipe_video_info *src)
{
	const size_t size = 9 * sizeof(int32_t);
	const uint8_t *matrix = NULL;
	size_t src_size = 0;
	uint8_t *dst;

	if (src->video)
		matrix = av_stream_get_side_data(src->video,
						 AV_PKT_DATA_DISPLAYMATRIX,
						 &src_size);
	if (src_size < size)
		matrix = NULL;
	if (!matrix && !src->rotation)
		return 0;
	dst = av_stream_new_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, size);
	if (!dst)
		return -ENOMEM;
	if (matrix) {
		memcpy(dst, matrix, size);
		return 0;
	}
	/* both clockwise (av_display_rotation_get is counterclockwise) */
	av_display_rotation_set((int32_t *)dst, src->rotation);
	return 0;
}

static int add_video_stream(pipe_writer *w, const struct pipe_video_info *src)
{
	AVStream *st;
	int ret;

	st = w->video = avformat_new_stream(w->oc, NULL);
	if (!st)
		return -ENOMEM;
	ret = avcodec_parameters_from_context(st->codecpar, w->enc);
	if (ret < 0)
		return ret;
	st->time_base = w->enc->time_base;
	st->avg_frame_rate = src->frame_rate;
	st->sample_aspect_ratio = w->enc->sample_aspect_ratio;
	if (src->frame_rate.num > 0 && src->frame_rate.den > 0)
		w->frame_duration = av_rescale_q(1, av_inv_q(src->frame_rate),
						 w->enc->time_base);
	return write_orientation(st, src);
}

/*
 * Whether MP4 carries the codec as it is. FFmpeg 5.1 lists FLAC for MP4
 * but its muxer refuses it without -strict experimental: FLAC is
 * transcoded.
 */
static int mp4_can_copy(const AVOutputFormat *ofmt, enum AVCodecID id)
{
	return id != AV_CODEC_ID_FLAC &&
	       avformat_query_codec(ofmt, id, FF_COMPLIANCE_NORMAL) == 1;
}

static int add_audio_stream(pipe_writer *w, const AVStream *in,
			    struct audio_out *a, char *err, size_t errlen)
{
	char why[256] = "";
	int ret;

	a->in_index = in->index;
	a->in_tb = in->time_base;
	a->st = avformat_new_stream(w->oc, NULL);
	if (!a->st)
		return -ENOMEM;
	if (mp4_can_copy(w->oc->oformat, in->codecpar->codec_id)) {
		ret = avcodec_parameters_copy(a->st->codecpar, in->codecpar);
		a->st->codecpar->codec_tag = 0;
		a->st->time_base = in->time_base;
		return ret;
	}
	ret = pipe_audio_open(in->codecpar, in->time_base, a->st,
			      !!(w->oc->oformat->flags & AVFMT_GLOBALHEADER),
			      &a->transcode, why, sizeof(why));
	if (ret < 0)
		pipe_errf(err, errlen, "audio stream %d: %s", in->index, why);
	return ret;
}

static int add_audio_streams(pipe_writer *w, const struct pipe_video_info *src,
			     char *err, size_t errlen)
{
	int ret;

	if (!src->n_audio)
		return 0;
	w->audio = av_calloc(src->n_audio, sizeof(*w->audio));
	if (!w->audio)
		return -ENOMEM;
	for (; w->n_audio < src->n_audio; w->n_audio++) {
		ret = add_audio_stream(w, src->audio[w->n_audio],
				       &w->audio[w->n_audio], err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Creates the file and writes the MP4 header, moov to the front at the end. */
static int start_file(pipe_writer *w, char *err, size_t errlen)
{
	AVDictionary *options = NULL;
	int ret;

	ret = avio_open(&w->oc->pb, w->part, AVIO_FLAG_WRITE);
	if (ret < 0) {
		pipe_errf(err, errlen, "cannot create %s: %s", w->path,
			  av_err2str(ret));
		return ret;
	}
	w->created = 1;
	ret = av_dict_set(&options, "movflags", "+faststart", 0);
	if (ret >= 0)
		ret = avformat_write_header(w->oc, &options);
	av_dict_free(&options);
	if (ret < 0)
		pipe_errf(err, errlen, "cannot start %s: %s",
			  pipe_basename(w->path), av_err2str(ret));
	return ret;
}

static int alloc_buffers(pipe_writer *w)
{
	w->pkt = av_packet_alloc();
	w->frame = av_frame_alloc();
	if (!w->pkt || !w->frame)
		return -ENOMEM;
	w->frame->format = w->enc->pix_fmt;
	w->frame->width = w->enc->width;
	w->frame->height = w->enc->height;
	return av_frame_get_buffer(w->frame, 0);
}

static int setup(pipe_writer *w, const struct pipe_video_info *src,
		 const struct pipe_writer_opts *opts, char *err, size_t errlen)
{
	int ret;

	ret = avformat_alloc_output_context2(&w->oc, NULL, "mp4", w->part);
	if (ret < 0)
		return ret;
	ret = open_video_encoder(w, src, opts, err, errlen);
	if (ret < 0)
		return ret;
	ret = add_video_stream(w, src);
	if (ret < 0)
		return ret;
	ret = add_audio_streams(w, src, err, errlen);
	if (ret < 0)
		return ret;
	ret = alloc_buffers(w);
	if (ret < 0)
		return ret;
	return start_file(w, err, errlen);
}

static int valid_opts(const struct pipe_video_info *src,
		      const struct pipe_writer_opts *opts, char *err,
		      size_t errlen)
{
	if (opts->pix_fmt != AV_PIX_FMT_YUV420P &&
	    opts->pix_fmt != AV_PIX_FMT_YUV444P) {
		pipe_errf(err, errlen,
			  "writer: pix_fmt must be yuv420p or yuv444p");
		return 0;
	}
	if (opts->crf < 0 || opts->crf > PIPE_CRF_MAX) {
		pipe_errf(err, errlen, "writer: crf %d is not in 0..%d",
			  opts->crf, PIPE_CRF_MAX);
		return 0;
	}
	if (src->width <= 0 || src->height <= 0) {
		pipe_errf(err, errlen, "writer: no frame size");
		return 0;
	}
	return 1;
}

int pipe_writer_open(const char *path, const struct pipe_video_info *src,
		     const struct pipe_writer_opts *opts, pipe_writer **out,
		     char *err, size_t errlen)
{
	pipe_writer *w;
	int ret;

	pipe_err_clear(err, errlen);
	if (!valid_opts(src, opts, err, errlen))
		return -EINVAL;
	w = av_mallocz(sizeof(*w));
	if (!w) {
		ret = -ENOMEM;
		goto free_writer;
	}
	w->width = src->width;
	w->height = src->height;
	/* the file appears whole or not at all; an earlier one stays till then */
	w->path = av_strdup(path);
	w->part = av_asprintf("%s.part", path);
	if (!w->path || !w->part) {
		ret = -ENOMEM;
		goto free_writer;
	}
	ret = setup(w, src, opts, err, errlen);
	if (ret < 0)
		goto free_writer;
	*out = w;
	return 0;

free_writer:
	pipe_err_default(err, errlen, pipe_basename(path), ret);
	pipe_writer_free(w);
	return pipe_errno(ret);
}

/* The muxer's end of every encoded or copied packet. */
static int mux_packet(void *opaque, AVPacket *pkt)
{
	pipe_writer *w = opaque;
	AVStream *st = w->oc->streams[pkt->stream_index];

	/* x264 leaves it unset; MP4 needs it for the last frame's length */
	if (st == w->video && !pkt->duration)
		pkt->duration = w->frame_duration;
	av_packet_rescale_ts(pkt, pkt->time_base, st->time_base);
	pkt->time_base = st->time_base;
	/* takes ownership of pkt's reference */
	return av_interleaved_write_frame(w->oc, pkt);
}

/* A frame of another pixel format in the output's, coded as its tags say. */
static int convert(pipe_writer *w, const AVFrame *in)
{
	if (!w->converted) {
		w->converted = av_frame_alloc();
		if (!w->converted)
			return -ENOMEM;
		w->converted->format = w->enc->pix_fmt;
		w->converted->width = w->width;
		w->converted->height = w->height;
		w->converted->colorspace = w->enc->colorspace;
		w->converted->color_range = w->enc->color_range;
	}
	return pipe_scale(&w->sws, in, w->converted, SWS_BICUBIC);
}

/* Repeats the last column, then the last row, of a w x h picture up to pw x ph. */
static void pad_plane(uint8_t *data, int linesize, int w, int h, int pw, int ph)
{
	int y;

	for (y = 0; y < h; y++)
		memset(data + y * linesize + w, data[y * linesize + w - 1],
		       pw - w);
	for (; y < ph; y++)
		memcpy(data + y * linesize, data + (h - 1) * linesize, pw);
}

/* Pads the w x h picture in frame to the frame's size, plane by plane. */
static void pad_frame(AVFrame *frame, int w, int h)
{
	const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(frame->format);
	int planes = av_pix_fmt_count_planes(frame->format);
	int p, sx, sy;

	for (p = 0; p < planes; p++) {
		sx = p ? desc->log2_chroma_w : 0;
		sy = p ? desc->log2_chroma_h : 0;
		pad_plane(frame->data[p], frame->linesize[p],
			  AV_CEIL_RSHIFT(w, sx), AV_CEIL_RSHIFT(h, sy),
			  AV_CEIL_RSHIFT(frame->width, sx),
			  AV_CEIL_RSHIFT(frame->height, sy));
	}
}

/*
 * Copies in into the encoder's frame: converted to the output's pixel
 * format if need be, padded to the coded size, with in's timestamp only
 * (no frame type or side data of the source's).
 */
static int fill_encoder_frame(pipe_writer *w, const AVFrame *in)
{
	const AVFrame *src = in;
	int ret;

	/* the encoder may still hold the previous picture */
	ret = av_frame_make_writable(w->frame);
	if (ret < 0)
		return ret;
	if (in->format != w->enc->pix_fmt) {
		ret = convert(w, in);
		if (ret < 0)
			return ret;
		src = w->converted;
	}
	av_image_copy(w->frame->data, w->frame->linesize,
		      (const uint8_t **)src->data, src->linesize,
		      w->enc->pix_fmt, w->width, w->height);
	pad_frame(w->frame, w->width, w->height);
	w->frame->pts = in->pts;
	return 0;
}

int pipe_writer_video(pipe_writer *writer, const AVFrame *frame, char *err,
		      size_t errlen)
{
	int ret;

	if (frame->width != writer->width || frame->height != writer->height) {
		pipe_errf(err, errlen,
			  "writer: frame is %dx%d but the output is %dx%d",
			  frame->width, frame->height, writer->width,
			  writer->height);
		return -EINVAL;
	}
	ret = fill_encoder_frame(writer, frame);
	if (ret >= 0)
		ret = pipe_encode(writer->enc, writer->frame, writer->pkt,
				  writer->video->index, mux_packet, writer);
	if (ret < 0) {
		pipe_errf(err, errlen, "cannot encode frame at pts %" PRId64 ": %s",
			  frame->pts, av_err2str(ret));
		return pipe_errno(ret);
	}
	return 0;
}

static struct audio_out *find_audio(pipe_writer *w, int in_index)
{
	int i;

	for (i = 0; i < w->n_audio; i++)
		if (w->audio[i].in_index == in_index)
			return &w->audio[i];
	return NULL;
}

/* Muxes a copy of pkt untouched but for its stream and time base. */
static int copy_packet(pipe_writer *w, const struct audio_out *a,
		       const AVPacket *pkt)
{
	int ret;

	ret = av_packet_ref(w->pkt, pkt);
	if (ret < 0)
		return ret;
	w->pkt->stream_index = a->st->index;
	w->pkt->time_base = a->in_tb;
	w->pkt->pos = -1;
	return mux_packet(w, w->pkt);
}

int pipe_writer_audio(pipe_writer *writer, const AVPacket *pkt, char *err,
		      size_t errlen)
{
	struct audio_out *a = find_audio(writer, pkt->stream_index);
	int ret;

	if (!a) {
		pipe_errf(err, errlen,
			  "writer: audio packet of stream %d, not one of the source's",
			  pkt->stream_index);
		return -EINVAL;
	}
	if (a->transcode)
		ret = pipe_audio_send(a->transcode, pkt, mux_packet, writer);
	else
		ret = copy_packet(writer, a, pkt);
	if (ret < 0) {
		pipe_errf(err, errlen, "cannot write audio stream %d: %s",
			  pkt->stream_index, av_err2str(ret));
		return pipe_errno(ret);
	}
	return 0;
}

static int flush_encoders(pipe_writer *w)
{
	int i, ret;

	ret = pipe_encode(w->enc, NULL, w->pkt, w->video->index, mux_packet, w);
	for (i = 0; i < w->n_audio && ret >= 0; i++)
		if (w->audio[i].transcode)
			ret = pipe_audio_flush(w->audio[i].transcode,
					       mux_packet, w);
	return ret;
}

int pipe_writer_finish(pipe_writer *writer, char *err, size_t errlen)
{
	int ret;

	if (writer->finished)
		return 0;
	ret = flush_encoders(writer);
	if (ret >= 0)
		ret = av_write_trailer(writer->oc);
	if (ret >= 0)
		ret = avio_closep(&writer->oc->pb);
	if (ret >= 0 && rename(writer->part, writer->path) < 0)
		ret = AVERROR(errno);
	if (ret < 0) {
		pipe_errf(err, errlen, "cannot finish %s: %s",
			  pipe_basename(writer->path), av_err2str(ret));
		return pipe_errno(ret);
	}
	writer->finished = 1;
	return 0;
}

void pipe_writer_free(pipe_writer *writer)
{
	int i;

	if (!writer)
		return;
	if (writer->oc)
		avio_closep(&writer->oc->pb);
	if (writer->created && !writer->finished)
		unlink(writer->part);
	avformat_free_context(writer->oc);
	avcodec_free_context(&writer->enc);
	for (i = 0; i < writer->n_audio; i++)
		pipe_audio_free(writer->audio[i].transcode);
	av_free(writer->audio);
	av_frame_free(&writer->frame);
	av_frame_free(&writer->converted);
	sws_freeContext(writer->sws);
	av_packet_free(&writer->pkt);
	av_free(writer->path);
	av_free(writer->part);
	av_free(writer);
}
