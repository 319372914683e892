/*
 * pipe_reader: a clip demuxed and decoded frame by frame, in presentation
 * order, converted to one 8-bit planar format at the coded size.
 *
 * Audio packets are not decoded: each one is handed, as demuxed, to the
 * audio callback (if any), so a writer can copy or transcode it while the
 * video streams through; the last ones come before pipe_reader_next
 * returns AVERROR_EOF, so read to the end. Several readers may be open on
 * the same file at once (the job reads keyframes ahead with a second one).
 *
 * Colours are not changed: a YUV or gray source keeps its matrix and range
 * (only chroma sampling and bit depth change); an RGB source is coded
 * BT.709 limited range, and info says so.
 *
 * FFmpeg's own log is left to the caller (av_log_set_level); the reader
 * prints nothing.
 */
#ifndef PIPE_READER_H
#define PIPE_READER_H

#include <stddef.h>
#include <stdint.h>

#include <libavformat/avformat.h>
#include <libavutil/frame.h>

#include "pipeline/pipe_limits.h"

typedef struct pipe_reader pipe_reader;

/* Called for each demuxed audio packet; pkt is only borrowed. */
typedef int (*pipe_audio_fn)(void *opaque, const AVPacket *pkt);

struct pipe_reader_opts {
	enum AVPixelFormat pix_fmt;  /* YUV420P, YUV444P or GRAY8 */
	pipe_audio_fn on_audio;      /* NULL: audio is skipped */
	void *opaque;                /* passed to on_audio */
	int count_frames;            /* 1: count frames before the first read
				      * (a demux-only pass over the file) */
	const struct pipe_limits *limits; /* borrowed; NULL: no limits */
};

struct pipe_video_info {
	int width;                   /* coded size of the frames returned */
	int height;
	int rotation;                /* clockwise degrees for display: 0/90/180/270 */
	int64_t frame_count;         /* exact when counted (the packets shown),
				      * else the container's count or one from
				      * the duration (or 0) */
	AVRational time_base;        /* of the video stream; pts are in it */
	AVRational frame_rate;       /* average */
	double duration;             /* seconds */
	enum AVColorSpace colorspace;     /* as the frames returned are coded */
	enum AVColorRange color_range;
	enum AVColorPrimaries color_primaries;
	enum AVColorTransferCharacteristic color_trc;
	AVRational sample_aspect_ratio; /* of the pixels, 0/1 when unknown */
	const AVStream *video;       /* borrowed, for the writer */
	const AVStream *const *audio;/* borrowed audio streams, n_audio of them:
				      * those passed to on_audio (none without) */
	int n_audio;
};

/*
 * Opens path, through the file protocol only, when its container is one of
 * MP4/MOV, Matroska/WebM, AVI or MPEG-TS (no playlists or lists that open
 * other files). -ENOENT when missing, -EINVAL when it is not a video that
 * can be decoded (no video stream, another container, corrupt header),
 * -EFBIG when over opts->limits (size from the headers; frames, duration
 * and decoded bytes from the container, then from the count), with a
 * one-line message in err. Decoders never allocate a frame over the
 * pixel limit, and with opts->limits no single FFmpeg allocation in the
 * process may exceed what a frame within max_pixels needs (av_max_alloc),
 * so header counts in a small file cannot reserve gigabytes.
 */
int pipe_reader_open(const char *path, const struct pipe_reader_opts *opts,
		     pipe_reader **out, char *err, size_t errlen);

const struct pipe_video_info *pipe_reader_info(const pipe_reader *reader);

/*
 * Decodes the next frame into *out (a new frame owned by the caller, in the
 * reader's pix_fmt, pts set to the best-effort timestamp in time_base).
 * Returns 0, AVERROR_EOF after the last frame, or a negative error with a
 * message: -EINVAL "clip.mp4: corrupt or truncated video at frame N" when
 * packets fail to decode, a frame is flagged corrupt, or the file ends
 * before the frames its container indexes (MP4, MOV) or more than half a
 * second before the end it states; the on_audio error as it is.
 */
int pipe_reader_next(pipe_reader *reader, AVFrame **out, char *err,
		     size_t errlen);

/* Index (0-based) of the next frame pipe_reader_next will return. */
int64_t pipe_reader_position(const pipe_reader *reader);

void pipe_reader_free(pipe_reader *reader);

#endif
