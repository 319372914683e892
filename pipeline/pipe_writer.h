/*
 * pipe_writer: encoded video out. H.264 (libx264) in MP4 with +faststart,
 * the frames' timestamps kept, the display orientation and colour tags of
 * the source written, and the source's audio streams copied packet for
 * packet (transcoded to AAC when MP4 cannot carry their codec).
 *
 * Output is deterministic: the same frames give the same bytes, whatever
 * the machine's thread count.
 */
#ifndef PIPE_WRITER_H
#define PIPE_WRITER_H

#include <stddef.h>

#include <libavformat/avformat.h>
#include <libavutil/frame.h>

#include "pipeline/pipe_reader.h"

typedef struct pipe_writer pipe_writer;

struct pipe_writer_opts {
	enum AVPixelFormat pix_fmt;  /* YUV420P or YUV444P */
	int crf;                     /* 0..51; 0 with YUV444P is lossless */
	const char *preset;          /* x264 preset, NULL: "veryfast" */
};

/*
 * Opens path for writing frames shaped like src (its size, time base,
 * frame rate, pixel aspect, rotation, colour tags and audio streams). src
 * is borrowed for the call only; src->video may be NULL (the display
 * matrix is then made from src->rotation). Frames of odd width or height
 * in YUV420P are padded to even by repeating the last column or row (H.264
 * 4:2:0 cannot code odd sizes): a 721x405 clip is written 722x406.
 * Audio streams MP4 can carry (AAC, MP3, Opus, AC-3, ...) are copied; the
 * others (PCM, FLAC, ...) are transcoded to AAC.
 */
int pipe_writer_open(const char *path, const struct pipe_video_info *src,
		     const struct pipe_writer_opts *opts, pipe_writer **out,
		     char *err, size_t errlen);

/*
 * Encodes frame (borrowed; its pts in src's time base, its size src's).
 * A frame of another pixel format is converted first, coded in the
 * output's matrix and range.
 */
int pipe_writer_video(pipe_writer *writer, const AVFrame *frame, char *err,
		      size_t errlen);

/* Copies or transcodes one audio packet (borrowed) of src's audio streams. */
int pipe_writer_audio(pipe_writer *writer, const AVPacket *pkt, char *err,
		      size_t errlen);

/*
 * Flushes the encoders and finishes the file. It is written as path.part
 * and renamed to path only now: a failed or cancelled job leaves no half
 * file, and a file already at path stays until the new one is whole.
 */
int pipe_writer_finish(pipe_writer *writer, char *err, size_t errlen);

/* Frees; an unfinished path.part is removed. */
void pipe_writer_free(pipe_writer *writer);

#endif
