/*
 * fuzz_pipe_reader: libFuzzer target for the media probe and decoder, fed
 * the bytes of an uploaded clip. The input is written to a file (the reader
 * opens paths, through the file protocol only), opened with limits as a
 * job's, and a few frames are read, audio packets passed to a callback as
 * the job's writer takes them.
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks what the
 * header promises: an open reader's size within the limits, frames in the
 * asked pixel format at that size, errors with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "pipeline/pipe_reader.h"

/* Frames read from each input: enough to get past the first keyframes. */
#define FUZZ_FRAMES 8

/* Smaller than the service's, so that the fuzzer reaches them. */
static const struct pipe_limits fuzz_limits = {
	.max_width = 4096,
	.max_height = 4096,
	.max_pixels = 4096 * 2160,
	.max_frames = 300,
	.max_duration = 60,
	.max_decoded = 1ULL << 30,
};

/* The three formats the jobs ask for: video, 4:4:4 video, mask videos. */
static const enum AVPixelFormat fuzz_formats[] = {
	AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV444P, AV_PIX_FMT_GRAY8,
};

/* The clip's file: on tmpfs, as every input is written there. */
static char fuzz_path[] = "/dev/shm/fuzz_pipe_reader.XXXXXX";

static void fuzz_cleanup(void)
{
	unlink(fuzz_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	av_log_set_level(AV_LOG_QUIET);
	fd = mkstemp(fuzz_path);
	if (fd < 0)
		abort();
	close(fd);
	atexit(fuzz_cleanup);
	return 0;
}

/* Audio packets as the writer gets them: looked at, not kept. */
static int fuzz_on_audio(void *opaque, const AVPacket *pkt)
{
	int64_t *bytes = opaque;

	*bytes += pkt->size;
	return 0;
}

static void fuzz_write_file(const uint8_t *data, size_t size)
{
	int fd = open(fuzz_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		abort();
	while (size) {
		n = write(fd, data, size);
		if (n <= 0)
			abort();
		data += n;
		size -= (size_t)n;
	}
	close(fd);
}

/* Reads up to FUZZ_FRAMES frames, checking each against info. */
static void fuzz_read_frames(pipe_reader *r, enum AVPixelFormat pix_fmt)
{
	const struct pipe_video_info *info = pipe_reader_info(r);
	char err[256] = "";
	AVFrame *frame;
	int i, ret;

	for (i = 0; i < FUZZ_FRAMES; i++) {
		frame = NULL;
		ret = pipe_reader_next(r, &frame, err, sizeof(err));
		if (ret == AVERROR_EOF)
			break;
		if (ret < 0) {
			if (!err[0])
				abort();
			break;
		}
		if (frame->format != pix_fmt || frame->width != info->width ||
		    frame->height != info->height)
			abort();
		av_frame_free(&frame);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the format by the input's length, so that an input always runs alike */
	enum AVPixelFormat pix_fmt = fuzz_formats[size % 3];
	int64_t audio_bytes = 0;
	struct pipe_reader_opts opts = {
		.pix_fmt = pix_fmt,
		.on_audio = fuzz_on_audio,
		.opaque = &audio_bytes,
		.count_frames = 1,
		.limits = &fuzz_limits,
	};
	const struct pipe_video_info *info;
	pipe_reader *r = NULL;
	char err[256] = "";
	int ret;

	fuzz_write_file(data, size);
	ret = pipe_reader_open(fuzz_path, &opts, &r, err, sizeof(err));
	if (ret < 0) {
		if (!err[0])
			abort();
		return 0;
	}
	info = pipe_reader_info(r);
	if (info->width <= 0 || info->height <= 0 ||
	    info->width > fuzz_limits.max_width ||
	    info->height > fuzz_limits.max_height ||
	    (int64_t)info->width * info->height > fuzz_limits.max_pixels)
		abort();
	fuzz_read_frames(r, pix_fmt);
	pipe_reader_free(r);
	return 0;
}
