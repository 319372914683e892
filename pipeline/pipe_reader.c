#include "pipeline/pipe_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/avstring.h>
#include <libavutil/display.h>
#include <libavutil/mem.h>
#include <libavutil/parseutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "pipeline/pipe_scale.h"
#include "pipeline/pipe_util.h"

struct pipe_reader {
	AVFormatContext *fmt;
	AVCodecContext *dec;
	struct SwsContext *sws;      /* to the requested format, made on first use */
	AVPacket *pkt;
	AVFrame *decoded;
	struct pipe_reader_opts opts;
	struct pipe_video_info info;
	const AVStream **audio;      /* info.audio */
	char *name;                  /* the file's name, for messages */
	int64_t position;            /* frames returned */
	int64_t packets;             /* video packets sent to the decoder */
	int64_t end_pts;             /* end of the frames returned (pts + duration) */
};

/* The open errors: a missing file, an unreadable one, or not media at all. */
static int open_error(const pipe_reader *r, int averror, char *err,
		      size_t errlen)
{
	int ret = pipe_errno(averror);

	if (ret == -ENOENT)
		pipe_errf(err, errlen, "%s: file not found", r->name);
	else if (ret == -EINVAL)
		pipe_errf(err, errlen,
			  "%s: not a video file, or corrupt or truncated; upload a video file",
			  r->name);
	else if (ret == -ENOMEM && r->opts.limits) {
		/* over the cap of cap_allocations: counts no clip in the limits has */
		pipe_errf(err, errlen, "%s: corrupt: its headers ask for more memory "
			  "than a clip within the limits needs; export it again", r->name);
		ret = -EINVAL;
	} else
		pipe_errf(err, errlen, "%s: cannot read it: %s", r->name,
			  av_err2str(averror));
	return ret;
}

/* An error met while reading frames; the message names the frame. */
static int read_error(const pipe_reader *r, int averror, char *err,
		      size_t errlen)
{
	int ret = pipe_errno(averror);

	if (ret == -EINVAL)
		pipe_errf(err, errlen,
			  "%s: corrupt or truncated video at frame %" PRId64,
			  r->name, r->position);
	else
		pipe_errf(err, errlen, "%s: cannot read frame %" PRId64 ": %s",
			  r->name, r->position, av_err2str(averror));
	return ret;
}

/*
 * The demuxers a clip may use: containers that hold their media. Playlists
 * and lists (HLS, DASH, concat, image sequences by pattern) are left out:
 * they open other files or URLs that the upload names.
 */
#define PIPE_DEMUXERS "mov,matroska,avi,mpegts"
#define PIPE_CONTAINERS "MP4, MOV, MKV, WebM, AVI or MPEG-TS"

/*
 * Probes path's container ourselves, through the file protocol only, so a
 * refused one can be named in the message.
 */
static int probe_format(const char *path, const char *name,
			const AVInputFormat **out, char *err, size_t errlen)
{
	AVDictionary *options = NULL;
	AVIOContext *pb = NULL;
	int ret;

	*out = NULL;
	ret = av_dict_set(&options, "protocol_whitelist", "file", 0);
	if (ret < 0)
		return ret;
	ret = avio_open2(&pb, path, AVIO_FLAG_READ, NULL, &options);
	av_dict_free(&options);
	if (ret < 0)
		return ret;
	ret = av_probe_input_buffer2(pb, out, path, NULL, 0, 0);
	avio_closep(&pb);
	if (ret < 0)
		return ret;
	if (av_match_list((*out)->name, PIPE_DEMUXERS, ',') > 0)
		return 0;
	pipe_errf(err, errlen, "%s: its container (%s) is not accepted; upload "
		  PIPE_CONTAINERS, name, (*out)->name);
	return -EINVAL;
}

/*
 * Opens path's container for demuxing as ifmt (probed by probe_format),
 * with the allow-lists, which also hold for any file a demuxer would open
 * on its own.
 */
static int open_format(const char *path, const AVInputFormat *ifmt,
		       AVFormatContext **fmt)
{
	AVDictionary *options = NULL;
	int ret;

	ret = av_dict_set(&options, "protocol_whitelist", "file", 0);
	if (ret >= 0)
		ret = av_dict_set(&options, "format_whitelist", PIPE_DEMUXERS, 0);
	/* MOV data references name other files: never follow them */
	if (ret >= 0)
		ret = av_dict_set(&options, "enable_drefs", "0", 0);
	if (ret >= 0)
		ret = avformat_open_input(fmt, path, ifmt, &options);
	av_dict_free(&options);
	return ret;
}

/* The decoders' options: frames over the pixel limit are never allocated. */
static int decoder_options(const pipe_reader *r, AVDictionary **options)
{
	const struct pipe_limits *lim = r->opts.limits;

	if (!lim || !lim->max_pixels)
		return 0;
	return av_dict_set_int(options, "max_pixels", lim->max_pixels, 0);
}

/* Reads the streams' parameters, decoding a few frames of each. */
static int find_stream_info(pipe_reader *r)
{
	unsigned int n = r->fmt->nb_streams, i;
	AVDictionary **options;
	int ret = 0;

	options = av_calloc(n ? n : 1, sizeof(*options));
	if (!options)
		return AVERROR(ENOMEM);
	for (i = 0; i < n && ret >= 0; i++)
		ret = decoder_options(r, &options[i]);
	if (ret >= 0)
		ret = avformat_find_stream_info(r->fmt, options);
	for (i = 0; i < n; i++)
		av_dict_free(&options[i]);
	av_free(options);
	return ret;
}

static int open_input(pipe_reader *r, const char *path, char *err,
		      size_t errlen)
{
	const AVInputFormat *ifmt;
	int ret;

	ret = probe_format(path, r->name, &ifmt, err, errlen);
	if (ret >= 0)
		ret = open_format(path, ifmt, &r->fmt);
	if (ret == -EINVAL && err && *err)
		return ret;
	if (ret < 0)
		return open_error(r, ret, err, errlen);
	ret = find_stream_info(r);
	if (ret < 0)
		return open_error(r, ret, err, errlen);
	return 0;
}

/* The clip's video stream: the best one that is not a cover picture. */
static int find_video(pipe_reader *r, AVStream **out, char *err, size_t errlen)
{
	int index;

	index = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (index < 0 ||
	    r->fmt->streams[index]->disposition & AV_DISPOSITION_ATTACHED_PIC) {
		pipe_errf(err, errlen,
			  "%s: no video stream found; upload a video file",
			  r->name);
		return -EINVAL;
	}
	/* neither the container nor the first packets said (headers missing) */
	if (r->fmt->streams[index]->codecpar->width <= 0 ||
	    r->fmt->streams[index]->codecpar->height <= 0) {
		pipe_errf(err, errlen, "%s: corrupt video: its frame size is not "
			  "found (missing headers); export it again", r->name);
		return -EINVAL;
	}
	*out = r->fmt->streams[index];
	return 0;
}

static int open_decoder(pipe_reader *r, const AVStream *st, char *err,
			size_t errlen)
{
	AVDictionary *options = NULL;
	const AVCodec *codec;
	int ret;

	codec = avcodec_find_decoder(st->codecpar->codec_id);
	if (!codec) {
		pipe_errf(err, errlen,
			  "%s: no decoder for its video codec (%s); re-encode it to H.264",
			  r->name, avcodec_get_name(st->codecpar->codec_id));
		return -EINVAL;
	}
	r->dec = avcodec_alloc_context3(codec);
	if (!r->dec)
		return -ENOMEM;
	ret = avcodec_parameters_to_context(r->dec, st->codecpar);
	if (ret < 0)
		return ret;
	r->dec->pkt_timebase = st->time_base;
	/*
	 * One thread: frame threading holds a decoded frame set per thread
	 * (tens of MB at 1080p) and decoding is a small share of a job, whose
	 * engine has the cores.
	 */
	r->dec->thread_count = 1;
	ret = decoder_options(r, &options);
	if (ret >= 0)
		ret = avcodec_open2(r->dec, codec, &options);
	av_dict_free(&options);
	if (ret < 0) {
		pipe_errf(err, errlen, "%s: cannot decode its %s video: %s",
			  r->name, codec->name, av_err2str(ret));
		return pipe_errno(ret);
	}
	return 0;
}

/*
 * Keeps the video stream and, when someone takes them, the audio streams;
 * the demuxer skips the rest.
 */
static int select_streams(pipe_reader *r, const AVStream *video)
{
	unsigned int i;

	r->audio = av_calloc(r->fmt->nb_streams, sizeof(*r->audio));
	if (!r->audio)
		return -ENOMEM;
	for (i = 0; i < r->fmt->nb_streams; i++) {
		AVStream *st = r->fmt->streams[i];

		if (st == video)
			continue;
		if (r->opts.on_audio &&
		    st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
			r->audio[r->info.n_audio++] = st;
		else
			st->discard = AVDISCARD_ALL;
	}
	return 0;
}

/* Clockwise degrees (0, 90, 180, 270) to turn the frames for display. */
static int display_rotation(const AVStream *st)
{
	const int32_t *matrix;
	double counterclockwise;
	size_t size;
	long quarters;

	matrix = (const int32_t *)av_stream_get_side_data(
		st, AV_PKT_DATA_DISPLAYMATRIX, &size);
	if (!matrix || size < 9 * sizeof(*matrix))
		return 0;
	counterclockwise = av_display_rotation_get(matrix);
	if (isnan(counterclockwise))
		return 0;
	quarters = lround(-counterclockwise / 90.0) % 4;
	return (int)((quarters + 4) % 4) * 90;
}

static double duration_seconds(const AVFormatContext *fmt, const AVStream *st)
{
	if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
		return st->duration * av_q2d(st->time_base);
	if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
		return fmt->duration / (double)AV_TIME_BASE;
	return 0;
}

/* The container's frame count, or one from the duration at the average rate. */
static int64_t estimate_frames(const AVStream *st,
			       const struct pipe_video_info *info)
{
	if (st->nb_frames > 0)
		return st->nb_frames;
	if (info->duration > 0 && info->frame_rate.num > 0 &&
	    info->frame_rate.den > 0)
		return llround(info->duration * av_q2d(info->frame_rate));
	return 0;
}

/*
 * How frames of a source coded fmt/colorspace/range are returned: YUV and
 * gray sources keep their matrix and range; RGB sources are coded BT.709
 * limited range.
 */
static void returned_coding(enum AVPixelFormat fmt, enum AVColorSpace cs,
			    enum AVColorRange range, enum AVColorSpace *out_cs,
			    enum AVColorRange *out_range)
{
	if (pipe_rgb_format(fmt)) {
		*out_cs = AVCOL_SPC_BT709;
		*out_range = AVCOL_RANGE_MPEG;
		return;
	}
	*out_cs = cs;
	*out_range = pipe_full_range(fmt, range) ? AVCOL_RANGE_JPEG : range;
}

static void fill_info(pipe_reader *r, AVStream *st)
{
	struct pipe_video_info *info = &r->info;
	const AVCodecParameters *par = st->codecpar;

	info->width = par->width;
	info->height = par->height;
	info->rotation = display_rotation(st);
	info->time_base = st->time_base;
	info->frame_rate = av_guess_frame_rate(r->fmt, st, NULL);
	info->duration = duration_seconds(r->fmt, st);
	info->frame_count = estimate_frames(st, info);
	returned_coding(par->format, par->color_space, par->color_range,
			&info->colorspace, &info->color_range);
	info->color_primaries = par->color_primaries;
	info->color_trc = par->color_trc;
	info->sample_aspect_ratio = av_guess_sample_aspect_ratio(r->fmt, st,
								 NULL);
	info->video = st;
	info->audio = r->audio;
}

/*
 * Counts the video packets in a demux-only pass over a second context, so
 * the count is exact before the first frame is decoded; the count stops
 * past max (0: no limit). A read error ends the count: pipe_reader_next
 * reports it at its frame.
 */
static int count_packets(const pipe_reader *r, const char *path, int index,
			 int64_t max, int64_t *count)
{
	AVFormatContext *fmt = NULL;
	AVPacket *pkt;
	unsigned int i;
	int ret;

	ret = open_format(path, r->fmt->iformat, &fmt);
	if (ret < 0)
		return pipe_errno(ret);
	pkt = av_packet_alloc();
	if (!pkt) {
		ret = -ENOMEM;
		goto close_input;
	}
	for (i = 0; i < fmt->nb_streams; i++)
		if ((int)i != index)
			fmt->streams[i]->discard = AVDISCARD_ALL;
	*count = 0;
	while ((!max || *count <= max) && av_read_frame(fmt, pkt) >= 0) {
		/* decoded for reference only, never shown (MP4 edit lists) */
		*count += pkt->stream_index == index &&
			  !(pkt->flags & AV_PKT_FLAG_DISCARD);
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
close_input:
	avformat_close_input(&fmt);
	return ret;
}

/* The clip against the limits, with its frame count as known so far. */
static int check_clip(const pipe_reader *r, char *err, size_t errlen)
{
	const struct pipe_video_info *info = &r->info;

	if (!r->opts.limits)
		return 0;
	return pipe_limits_check_clip(r->opts.limits, r->name, info->width,
				      info->height, r->opts.pix_fmt,
				      info->frame_count, info->duration, err,
				      errlen);
}

/* Counts the frames exactly, stopping once they are over the limit. */
static int count_frames(pipe_reader *r, const char *path, char *err,
			size_t errlen)
{
	int64_t max = r->opts.limits ? r->opts.limits->max_frames : 0;
	int ret;

	ret = count_packets(r, path, r->info.video->index, max,
			    &r->info.frame_count);
	if (ret < 0)
		return ret;
	return check_clip(r, err, errlen);
}

/*
 * The most one FFmpeg allocation may take while clips within lim are read:
 * a frame of the largest size in the widest format (16 bytes a pixel, 4
 * planes of 32-bit floats), plus a margin for tables and padding.
 */
#define PIPE_DECODED_BYTES_PER_PIXEL 16
#define PIPE_ALLOC_MARGIN (64u << 20)

/*
 * Caps FFmpeg's single allocations (av_max_alloc, for the whole process;
 * INT_MAX by default). Demuxers size tables from counts in the headers
 * before reading them: a 3 KB MOV whose stco claims 118 million chunk
 * offsets had FFmpeg 5.1 allocate 943 MB. Every reader gets the same
 * limits, so the cap is the same for all.
 */
static void cap_allocations(const struct pipe_limits *lim)
{
	if (lim && lim->max_pixels > 0 &&
	    lim->max_pixels < (int64_t)((SIZE_MAX - PIPE_ALLOC_MARGIN) /
					PIPE_DECODED_BYTES_PER_PIXEL))
		av_max_alloc((size_t)lim->max_pixels * PIPE_DECODED_BYTES_PER_PIXEL +
			     PIPE_ALLOC_MARGIN);
}

static int setup(pipe_reader *r, const char *path, char *err, size_t errlen)
{
	AVStream *video;
	int ret;

	cap_allocations(r->opts.limits);
	ret = open_input(r, path, err, errlen);
	if (ret < 0)
		return ret;
	ret = find_video(r, &video, err, errlen);
	if (ret < 0)
		return ret;
	if (r->opts.limits) {
		ret = pipe_limits_check_size(r->opts.limits, r->name,
					     video->codecpar->width,
					     video->codecpar->height, err, errlen);
		if (ret < 0)
			return ret;
	}
	ret = open_decoder(r, video, err, errlen);
	if (ret < 0)
		return ret;
	ret = select_streams(r, video);
	if (ret < 0)
		return ret;
	fill_info(r, video);
	ret = check_clip(r, err, errlen);
	if (ret < 0 || !r->opts.count_frames)
		return ret;
	return count_frames(r, path, err, errlen);
}

static int valid_format(enum AVPixelFormat fmt)
{
	return fmt == AV_PIX_FMT_YUV420P || fmt == AV_PIX_FMT_YUV444P ||
	       fmt == AV_PIX_FMT_GRAY8;
}

int pipe_reader_open(const char *path, const struct pipe_reader_opts *opts,
		     pipe_reader **out, char *err, size_t errlen)
{
	pipe_reader *r;
	int ret;

	pipe_err_clear(err, errlen);
	if (!valid_format(opts->pix_fmt)) {
		pipe_errf(err, errlen,
			  "reader: pixel format %s not supported; use yuv420p, yuv444p or gray8",
			  (const char *)av_x_if_null(av_get_pix_fmt_name(opts->pix_fmt), "none"));
		return -EINVAL;
	}
	r = av_mallocz(sizeof(*r));
	if (!r) {
		ret = -ENOMEM;
		goto free_reader;
	}
	r->opts = *opts;
	r->name = av_strdup(pipe_basename(path));
	r->pkt = av_packet_alloc();
	r->decoded = av_frame_alloc();
	if (!r->name || !r->pkt || !r->decoded) {
		ret = -ENOMEM;
		goto free_reader;
	}
	ret = setup(r, path, err, errlen);
	if (ret < 0)
		goto free_reader;
	*out = r;
	return 0;

free_reader:
	pipe_err_default(err, errlen, pipe_basename(path), ret);
	pipe_reader_free(r);
	return ret;
}

const struct pipe_video_info *pipe_reader_info(const pipe_reader *reader)
{
	return &reader->info;
}

int64_t pipe_reader_position(const pipe_reader *reader)
{
	return reader->position;
}

/* Hands an audio packet to on_audio; the packet stays ours. */
static int pass_audio(pipe_reader *r, char *err, size_t errlen)
{
	const AVStream *st = r->fmt->streams[r->pkt->stream_index];
	int ret;

	if (!r->opts.on_audio || st->codecpar->codec_type != AVMEDIA_TYPE_AUDIO)
		return 0;
	ret = r->opts.on_audio(r->opts.opaque, r->pkt);
	if (ret < 0)
		pipe_errf(err, errlen, "%s: audio at frame %" PRId64 ": %s",
			  r->name, r->position, av_err2str(ret));
	return ret;
}

/*
 * Demuxes into r->pkt up to the next video packet, passing audio packets
 * on. Returns AVERROR_EOF at the end of the file.
 */
static int read_video_packet(pipe_reader *r, char *err, size_t errlen)
{
	int ret;

	for (;;) {
		ret = av_read_frame(r->fmt, r->pkt);
		if (ret == AVERROR_EOF)
			return ret;
		if (ret < 0)
			return read_error(r, ret, err, errlen);
		if (r->pkt->stream_index == r->info.video->index)
			break;
		ret = pass_audio(r, err, errlen);
		av_packet_unref(r->pkt);
		if (ret < 0)
			return ret;
	}
	/* a packet cut short by the end of the file */
	if (r->pkt->flags & AV_PKT_FLAG_CORRUPT) {
		av_packet_unref(r->pkt);
		return read_error(r, AVERROR_INVALIDDATA, err, errlen);
	}
	return 0;
}

/* Gives the decoder its next packet, or the flush at the end of the file. */
static int feed_decoder(pipe_reader *r, char *err, size_t errlen)
{
	int ret;

	ret = read_video_packet(r, err, errlen);
	if (ret == AVERROR_EOF) {
		ret = avcodec_send_packet(r->dec, NULL);
		return ret < 0 ? read_error(r, ret, err, errlen) : 0;
	}
	if (ret < 0)
		return ret;
	/* the decoder takes its own reference */
	ret = avcodec_send_packet(r->dec, r->pkt);
	av_packet_unref(r->pkt);
	if (ret < 0)
		return read_error(r, ret, err, errlen);
	r->packets++;
	return 0;
}

/*
 * Where the container says the video ends, in seconds on the stream's
 * timeline, 0 when it does not say (or only guesses from the bit rate).
 * Matroska has no stream duration, but FFmpeg and mkvmerge write a
 * DURATION tag per track (FFmpeg's is the end time; mkvmerge's, a length,
 * only makes the check below more lenient).
 */
static double stated_end(const AVFormatContext *fmt, const AVStream *st)
{
	int64_t start = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time;
	const AVDictionaryEntry *tag;
	int64_t us;

	if (fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE)
		return 0;
	if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
		return (start + st->duration) * av_q2d(st->time_base);
	tag = av_dict_get(st->metadata, "DURATION", NULL, 0);
	if (tag && av_parse_time(&us, tag->value, 1) == 0)
		return us / (double)AV_TIME_BASE;
	return 0;
}

/*
 * MP4 and MOV index every sample, so their frame count is exact (AVI's,
 * for one, is not).
 */
static int exact_frame_count(const AVFormatContext *fmt)
{
	return !strncmp(fmt->iformat->name, "mov,", 4);
}

/* Frames missing at the end by more than this are a cut, not rounding. */
#define PIPE_CUT_SECONDS 0.5

/*
 * After the last frame: the clip was cut short when its container indexes
 * more frames or states a later end than the frames reached.
 */
static int end_of_video(const pipe_reader *r, char *err, size_t errlen)
{
	const AVStream *st = r->info.video;
	double end = r->end_pts * av_q2d(st->time_base);

	if ((exact_frame_count(r->fmt) && st->nb_frames > r->packets) ||
	    end + PIPE_CUT_SECONDS < stated_end(r->fmt, st))
		return read_error(r, AVERROR_INVALIDDATA, err, errlen);
	return AVERROR_EOF;
}

/* The decoded frame's timestamp; its place at the average rate if it has none. */
static int64_t frame_pts(const pipe_reader *r)
{
	AVRational rate = r->info.frame_rate;

	if (r->decoded->best_effort_timestamp != AV_NOPTS_VALUE)
		return r->decoded->best_effort_timestamp;
	if (rate.num <= 0 || rate.den <= 0)
		return r->position;
	return av_rescale_q(r->position, av_inv_q(rate), r->info.time_base);
}

/* The decoded frame's duration; one frame at the average rate if unknown. */
static int64_t frame_duration(const pipe_reader *r)
{
	AVRational rate = r->info.frame_rate;

	if (r->decoded->pkt_duration > 0)
		return r->decoded->pkt_duration;
	if (rate.num <= 0 || rate.den <= 0)
		return 0;
	return av_rescale_q(1, av_inv_q(rate), r->info.time_base);
}

static int needs_conversion(const pipe_reader *r)
{
	return r->decoded->format != r->opts.pix_fmt ||
	       r->decoded->width != r->info.width ||
	       r->decoded->height != r->info.height;
}

static int convert(pipe_reader *r, AVFrame *dst)
{
	const AVFrame *src = r->decoded;
	int ret;

	ret = av_frame_copy_props(dst, src);
	if (ret < 0)
		return ret;
	dst->format = r->opts.pix_fmt;
	dst->width = r->info.width;
	dst->height = r->info.height;
	returned_coding(src->format, src->colorspace, src->color_range,
			&dst->colorspace, &dst->color_range);
	return pipe_scale(&r->sws, src, dst, SWS_BICUBIC);
}

/* Turns r->decoded into a new frame for the caller. */
static int output_frame(pipe_reader *r, AVFrame **out, char *err,
			size_t errlen)
{
	AVFrame *frame = NULL;
	int ret;

	if (r->decoded->flags & AV_FRAME_FLAG_CORRUPT) {
		ret = read_error(r, AVERROR_INVALIDDATA, err, errlen);
		goto unref_decoded;
	}
	frame = av_frame_alloc();
	if (!frame)
		ret = -ENOMEM;
	else if (needs_conversion(r))
		ret = convert(r, frame);
	else
		ret = av_frame_ref(frame, r->decoded);
	if (ret < 0) {
		pipe_errf(err, errlen, "%s: cannot convert frame %" PRId64 ": %s",
			  r->name, r->position, av_err2str(ret));
		goto free_frame;
	}
	frame->pts = frame_pts(r);
	r->end_pts = FFMAX(r->end_pts, frame->pts + frame_duration(r));
	*out = frame;
	frame = NULL;
	r->position++;
free_frame:
	av_frame_free(&frame);
unref_decoded:
	av_frame_unref(r->decoded);
	return pipe_errno(ret);
}

int pipe_reader_next(pipe_reader *reader, AVFrame **out, char *err,
		     size_t errlen)
{
	int ret;

	for (;;) {
		ret = avcodec_receive_frame(reader->dec, reader->decoded);
		if (ret == 0)
			return output_frame(reader, out, err, errlen);
		if (ret == AVERROR_EOF)
			return end_of_video(reader, err, errlen);
		if (ret != AVERROR(EAGAIN))
			return read_error(reader, ret, err, errlen);
		ret = feed_decoder(reader, err, errlen);
		if (ret < 0)
			return ret;
	}
}

void pipe_reader_free(pipe_reader *reader)
{
	if (!reader)
		return;
	sws_freeContext(reader->sws);
	avcodec_free_context(&reader->dec);
	avformat_close_input(&reader->fmt);
	av_packet_free(&reader->pkt);
	av_frame_free(&reader->decoded);
	av_free(reader->audio);
	av_free(reader->name);
	av_free(reader);
}
