#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "pipeline/pipe_reader.h"
#include "tests/unit/pipeline/pipe_test_media.h"

static struct media_dir dir;

/* Clips from lavfi sources: name and the ffmpeg arguments that make it. */
static const char *const clips[][2] = {
	{ "h264_aac.mp4", "-f lavfi -i testsrc2=s=320x240:r=25:d=2 -f lavfi -i sine=d=2 -c:v libx264 -c:a aac -shortest" },
	{ "h264.mov", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -c:v libx264" },
	{ "ffv1_pcm.mkv", "-f lavfi -i testsrc2=s=320x240:r=25:d=2 -f lavfi -i sine=d=2 -c:v ffv1 -c:a pcm_s16le" },
	{ "red_rgb.mkv", "-f lavfi -i color=c=red:s=64x48:r=25:d=1,format=rgb24 -c:v ffv1" },
	{ "odd.mkv", "-f lavfi -i testsrc2=s=721x405:r=25:d=1,format=yuv444p -vf format=yuv420p -c:v ffv1" },
	{ "vp9_opus.webm", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -f lavfi -i sine=d=1:sample_rate=48000 -c:v libvpx-vp9 -deadline realtime -c:a libopus" },
	{ "full.mp4", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -c:v libx264 -pix_fmt yuvj420p" },
	{ "vfr.mp4", "-f lavfi -i testsrc2=s=160x120:r=25:d=2 -vf 'settb=1/1000,setpts=(N*40+mod(N\\,3)*10)/1000/TB' -fps_mode passthrough -enc_time_base 1/1000 -c:v libx264 -video_track_timescale 1000" },
	{ "gop.mp4", "-f lavfi -i testsrc2=s=160x90:r=25:d=4 -c:v libx264 -g 50" },
	{ "fast.mp4", "-f lavfi -i testsrc2=s=320x240:r=25:d=2 -c:v libx264 -movflags +faststart" },
	{ "audio.m4a", "-f lavfi -i sine=d=1 -c:a aac" },
	{ "h264_aac.ts", "-f lavfi -i testsrc2=s=160x120:r=25:d=2 -f lavfi -i sine=d=2 -c:v libx264 -c:a aac" },
	{ "mpeg4_mp3.avi", "-f lavfi -i testsrc2=s=160x120:r=25:d=2 -f lavfi -i sine=d=2 -c:v mpeg4 -c:a libmp3lame" },
	{ "mjpeg.mov", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -c:v mjpeg" },
	/* H.264 slices without their SPS and PPS: nothing says the frame size */
	{ "nosize.ts", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -c:v libx264 "
		       "-bsf:v 'filter_units=remove_types=7|8'" },
};

/* Clips made from others: name and the arguments, with %s the folder. */
static const char *const derived[][2] = {
	/* FFmpeg 5.1 turns the rotate tag into a display matrix on stream copy */
	{ "rot90.mp4", "-i '%s/h264.mov' -c copy -metadata:s:v:0 rotate=90" },
	{ "rot270.mp4", "-i '%s/h264.mov' -c copy -metadata:s:v:0 rotate=270" },
	/* a cut inside a GOP: an edit list, with frames decoded but not shown */
	{ "trim.mp4", "-ss 1.3 -i '%s/gop.mp4' -c copy -t 1.5" },
};

/* A copy of src with its second half cut off or its middle overwritten. */
static int damaged_copy(const char *src, const char *dst, int garble)
{
	size_t len, i;
	char *data = media_output(&len, "cat '%s'", src);
	uint32_t seed = 1;
	FILE *f;

	if (!data)
		return -1;
	if (garble) {
		for (i = len / 3; i < len / 2; i++) {
			seed = seed * 1103515245 + 12345;
			data[i] = seed >> 16;
		}
	} else {
		len /= 2;
	}
	f = fopen(dst, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		free(data);
		if (f)
			fclose(f);
		return -1;
	}
	free(data);
	return fclose(f);
}

static int write_text(const char *path)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs("this is a text file, not a video\n", f);
	return fclose(f) || ret < 0 ? -1 : 0;
}

static int make_all(void)
{
	char args[MEDIA_CMD_MAX];
	size_t i;

	if (media_make_all(&dir, clips, sizeof(clips) / sizeof(clips[0])))
		return -1;
	for (i = 0; i < sizeof(derived) / sizeof(derived[0]); i++) {
		snprintf(args, sizeof(args), derived[i][1], dir.path);
		if (media_make(&dir, derived[i][0], args))
			return -1;
	}
	if (write_text(media_path(&dir, "text.mp4")) ||
	    damaged_copy(media_path(&dir, "h264_aac.mp4"),
			 media_path(&dir, "cut.mp4"), 0) ||
	    damaged_copy(media_path(&dir, "fast.mp4"),
			 media_path(&dir, "cut_fast.mp4"), 0) ||
	    damaged_copy(media_path(&dir, "ffv1_pcm.mkv"),
			 media_path(&dir, "cut.mkv"), 0) ||
	    damaged_copy(media_path(&dir, "h264_aac.mp4"),
			 media_path(&dir, "garbled.mp4"), 1))
		return -1;
	return 0;
}

static int make_clips(void **state)
{
	(void)state;
	av_log_set_level(AV_LOG_QUIET);
	if (media_dir_create(&dir))
		return -1;
	if (make_all()) {
		media_dir_remove(&dir);
		return -1;
	}
	return 0;
}

static int remove_clips(void **state)
{
	(void)state;
	media_dir_remove(&dir);
	return 0;
}

static int count_packet(void *opaque, const AVPacket *pkt)
{
	(void)pkt;
	(*(int *)opaque)++;
	return 0;
}

static pipe_reader *open_clip(const char *name, enum AVPixelFormat pix_fmt,
			      int count_frames, int *audio_packets)
{
	struct pipe_reader_opts opts = {
		.pix_fmt = pix_fmt,
		.on_audio = audio_packets ? count_packet : NULL,
		.opaque = audio_packets,
		.count_frames = count_frames,
	};
	pipe_reader *r = NULL;
	char err[256] = "";

	assert_int_equal(pipe_reader_open(media_path(&dir, name), &opts, &r,
					  err, sizeof(err)), 0);
	assert_string_equal(err, "");
	return r;
}

/* Reads every frame; the count. *last gets the return that ended it. */
static int read_all(pipe_reader *r, AVFrame **frames, int max, int *last,
		    char *err, size_t errlen)
{
	AVFrame *frame;
	int n = 0;

	while ((*last = pipe_reader_next(r, &frame, err, errlen)) == 0) {
		assert_int_equal(pipe_reader_position(r), n + 1);
		if (frames && n < max)
			frames[n] = frame;
		else
			av_frame_free(&frame);
		n++;
	}
	return n;
}

static void free_frames(AVFrame **frames, int n)
{
	int i;

	for (i = 0; i < n; i++)
		av_frame_free(&frames[i]);
}

static void expect_open_error(const char *name, int code, const char *words)
{
	struct pipe_reader_opts opts = { .pix_fmt = AV_PIX_FMT_YUV420P };
	pipe_reader *r = NULL;
	char err[256] = "";

	assert_int_equal(pipe_reader_open(media_path(&dir, name), &opts, &r,
					  err, sizeof(err)), code);
	assert_null(r);
	assert_non_null(strstr(err, name));
	assert_non_null(strstr(err, words));
	assert_null(strchr(err, '\n'));
}

static void test_missing_file(void **state)
{
	(void)state;
	expect_open_error("missing.mp4", -ENOENT, "not found");
}

static void test_text_file(void **state)
{
	(void)state;
	expect_open_error("text.mp4", -EINVAL, "not a video file");
}

static void test_audio_only(void **state)
{
	(void)state;
	expect_open_error("audio.m4a", -EINVAL, "no video stream");
}

/*
 * h264.mov with its chunk offset table (stco) claiming 2^27 entries: FFmpeg
 * 5.1 allocates the claim (1 GiB) before reading it. Found by
 * fuzz_pipe_reader. With limits, no allocation of that size is allowed and
 * the clip is refused as corrupt.
 */
static void test_header_bomb(void **state)
{
	const struct pipe_limits lim = { .max_pixels = 1920 * 1080 };
	struct pipe_reader_opts opts = { .pix_fmt = AV_PIX_FMT_YUV420P, .limits = &lim };
	const char *path = media_path(&dir, "bomb.mov");
	pipe_reader *r = NULL;
	char err[256] = "", *data, *stco;
	size_t len;
	FILE *f;

	(void)state;
	data = media_output(&len, "cat '%s'", media_path(&dir, "h264.mov"));
	assert_non_null(data);
	stco = memmem(data, len, "stco", 4);
	assert_non_null(stco);
	memcpy(stco + 8, "\x08\x00\x00\x00", 4);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(data);
	assert_int_equal(pipe_reader_open(path, &opts, &r, err, sizeof(err)), -EINVAL);
	assert_null(r);
	assert_non_null(strstr(err, "headers ask for more memory"));
}

/* Found by fuzz_pipe_reader: such a clip opened as 0x0 and failed in the writer. */
static void test_no_frame_size(void **state)
{
	(void)state;
	expect_open_error("nosize.ts", -EINVAL, "frame size is not found");
}

static void test_bad_pix_fmt(void **state)
{
	struct pipe_reader_opts opts = { .pix_fmt = AV_PIX_FMT_RGB24 };
	pipe_reader *r = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(pipe_reader_open(media_path(&dir, "h264.mov"), &opts,
					  &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rgb24"));
}

/*
 * H.264 + AAC in MP4: the info, exact frame count, frames equal to
 * ffmpeg's own decode (no conversion), ffprobe's timestamps, and every
 * audio packet passed on.
 */
static void test_mp4_h264_aac(void **state)
{
	const char *path = media_path(&dir, "h264_aac.mp4");
	const struct pipe_video_info *info;
	AVFrame *frames[60];
	struct media_pts pts;
	size_t raw_len, size = 320 * 240 * 3 / 2;
	char err[256] = "", *probe;
	int audio = 0, n, last, i;
	uint8_t *raw;
	pipe_reader *r;

	(void)state;
	r = open_clip("h264_aac.mp4", AV_PIX_FMT_YUV420P, 1, &audio);
	info = pipe_reader_info(r);
	assert_int_equal(info->width, 320);
	assert_int_equal(info->height, 240);
	assert_int_equal(info->rotation, 0);
	assert_int_equal(info->frame_count, 50);
	assert_int_equal(info->frame_rate.num / info->frame_rate.den, 25);
	assert_true(info->duration > 1.99 && info->duration < 2.01);
	assert_int_equal(info->n_audio, 1);
	assert_int_equal(info->audio[0]->codecpar->codec_id, AV_CODEC_ID_AAC);
	assert_int_equal(info->video->codecpar->codec_id, AV_CODEC_ID_H264);

	n = read_all(r, frames, 60, &last, err, sizeof(err));
	assert_int_equal(last, AVERROR_EOF);
	assert_int_equal(n, 50);

	assert_int_equal(media_video_pts(path, &pts), 0);
	assert_int_equal(pts.n, n);
	assert_int_equal(av_cmp_q(pts.tb, info->time_base), 0);
	raw = media_raw(path, "yuv420p", &raw_len);
	assert_non_null(raw);
	assert_int_equal(raw_len, n * size);
	for (i = 0; i < n; i++) {
		const uint8_t *y = raw + i * size;

		assert_int_equal(frames[i]->format, AV_PIX_FMT_YUV420P);
		assert_int_equal(frames[i]->pts, pts.pts[i]);
		assert_int_equal(media_plane_diff(frames[i], 0, y, 320, 240), 0);
		assert_int_equal(media_plane_diff(frames[i], 1, y + 320 * 240,
						  160, 120), 0);
		assert_int_equal(media_plane_diff(frames[i], 2,
						  y + 320 * 240 * 5 / 4, 160,
						  120), 0);
	}
	probe = media_probe(path, "a:0", "-count_packets -show_entries stream=nb_read_packets");
	assert_non_null(probe);
	assert_int_equal(audio, media_int(probe, "nb_read_packets"));
	free(probe);
	free(raw);
	free_frames(frames, n);
	pipe_reader_free(r);
}

/* The frame count is estimated (no counting pass) from the container. */
static void test_estimated_count(void **state)
{
	pipe_reader *r;

	(void)state;
	r = open_clip("h264_aac.mp4", AV_PIX_FMT_YUV420P, 0, NULL);
	assert_int_equal(pipe_reader_info(r)->frame_count, 50);
	assert_int_equal(pipe_reader_info(r)->n_audio, 0);
	pipe_reader_free(r);
	r = open_clip("ffv1_pcm.mkv", AV_PIX_FMT_YUV420P, 0, NULL);
	assert_int_equal(pipe_reader_info(r)->frame_count, 50);
	pipe_reader_free(r);
}

/* Counting is exact where the container's count is not: an edit list. */
static void test_counted_edit_list(void **state)
{
	char err[256] = "";
	pipe_reader *r;
	int64_t counted;
	int last;

	(void)state;
	r = open_clip("trim.mp4", AV_PIX_FMT_YUV420P, 1, NULL);
	counted = pipe_reader_info(r)->frame_count;
	assert_true(counted < pipe_reader_info(r)->video->nb_frames);
	assert_int_equal(read_all(r, NULL, 0, &last, err, sizeof(err)), counted);
	assert_int_equal(last, AVERROR_EOF);
	pipe_reader_free(r);
}

/* Several containers and codecs decode to the requested format and size. */
static void test_containers(void **state)
{
	static const struct {
		const char *name;
		int width, height, frames, audio_packets;
	} cases[] = {
		{ "h264.mov", 160, 120, 25, 0 },
		{ "ffv1_pcm.mkv", 320, 240, 50, 1 },
		{ "vp9_opus.webm", 160, 120, 25, 1 },
		{ "h264_aac.ts", 160, 120, 50, 1 },
		{ "mpeg4_mp3.avi", 160, 120, 50, 1 },
		{ "mjpeg.mov", 160, 120, 25, 0 },
	};
	char err[256] = "";
	AVFrame *frames[1];
	size_t i;
	int n, last, audio;
	pipe_reader *r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		audio = 0;
		r = open_clip(cases[i].name, AV_PIX_FMT_YUV444P, 1, &audio);
		assert_int_equal(pipe_reader_info(r)->frame_count,
				 cases[i].frames);
		n = read_all(r, frames, 1, &last, err, sizeof(err));
		assert_int_equal(last, AVERROR_EOF);
		assert_int_equal(n, cases[i].frames);
		assert_int_equal(frames[0]->format, AV_PIX_FMT_YUV444P);
		assert_int_equal(frames[0]->width, cases[i].width);
		assert_int_equal(frames[0]->height, cases[i].height);
		assert_int_equal(audio > 0, cases[i].audio_packets);
		assert_int_equal(pipe_reader_info(r)->n_audio,
				 cases[i].audio_packets);
		free_frames(frames, 1);
		pipe_reader_free(r);
	}
}

static AVFrame *first_frame(const char *name, enum AVPixelFormat pix_fmt)
{
	char err[256] = "";
	AVFrame *frame = NULL;
	pipe_reader *r = open_clip(name, pix_fmt, 0, NULL);

	assert_int_equal(pipe_reader_next(r, &frame, err, sizeof(err)), 0);
	pipe_reader_free(r);
	return frame;
}

/*
 * No colour change: from a 4:2:0 source, YUV444P and GRAY8 frames carry
 * the very luma of the YUV420P ones, and 4:4:4 chroma is the 4:2:0 chroma
 * upsampled: where a 4:4:4 sample sits on a 4:2:0 one it mostly keeps its
 * value (not at sharp edges, where vertical interpolation changes it); a
 * matrix or range change would alter almost all of them.
 */
static void test_formats_keep_colours(void **state)
{
	AVFrame *yuv420 = first_frame("h264_aac.mp4", AV_PIX_FMT_YUV420P);
	AVFrame *yuv444 = first_frame("h264_aac.mp4", AV_PIX_FMT_YUV444P);
	AVFrame *gray = first_frame("h264_aac.mp4", AV_PIX_FMT_GRAY8);
	int x, y, p, same = 0;

	(void)state;
	for (y = 0; y < 240; y++) {
		const uint8_t *l = yuv420->data[0] + y * yuv420->linesize[0];

		assert_memory_equal(yuv444->data[0] + y * yuv444->linesize[0], l, 320);
		assert_memory_equal(gray->data[0] + y * gray->linesize[0], l, 320);
	}
	for (p = 1; p < 3; p++)
		for (y = 0; y < 120; y++)
			for (x = 0; x < 160; x++)
				same += yuv444->data[p][2 * y * yuv444->linesize[p] + 2 * x] ==
					yuv420->data[p][y * yuv420->linesize[p] + x];
	assert_true(same > 2 * 160 * 120 * 7 / 10);
	assert_int_equal(gray->format, AV_PIX_FMT_GRAY8);
	av_frame_free(&yuv420);
	av_frame_free(&yuv444);
	av_frame_free(&gray);
}

/* A full-range source keeps its range: the decoder's samples, tagged JPEG. */
static void test_full_range_kept(void **state)
{
	const char *path = media_path(&dir, "full.mp4");
	AVFrame *frame = first_frame("full.mp4", AV_PIX_FMT_YUV420P);
	const struct pipe_video_info *info;
	size_t len;
	uint8_t *raw = media_raw(path, "yuvj420p", &len);
	pipe_reader *r = open_clip("full.mp4", AV_PIX_FMT_YUV420P, 0, NULL);

	(void)state;
	info = pipe_reader_info(r);
	assert_int_equal(info->color_range, AVCOL_RANGE_JPEG);
	assert_int_equal(frame->color_range, AVCOL_RANGE_JPEG);
	assert_non_null(raw);
	assert_int_equal(media_plane_diff(frame, 0, raw, 160, 120), 0);
	assert_int_equal(media_plane_diff(frame, 1, raw + 160 * 120, 80, 60), 0);
	free(raw);
	av_frame_free(&frame);
	pipe_reader_free(r);
}

/* An RGB source (FFV1 bgr0) is coded BT.709 limited range, and says so. */
static void test_rgb_source(void **state)
{
	AVFrame *frame = first_frame("red_rgb.mkv", AV_PIX_FMT_YUV420P);
	pipe_reader *r = open_clip("red_rgb.mkv", AV_PIX_FMT_YUV420P, 0, NULL);
	const struct pipe_video_info *info = pipe_reader_info(r);

	(void)state;
	assert_int_equal(info->colorspace, AVCOL_SPC_BT709);
	assert_int_equal(info->color_range, AVCOL_RANGE_MPEG);
	assert_int_equal(frame->colorspace, AVCOL_SPC_BT709);
	/* pure red in BT.709 limited range: Y 63, Cb 102, Cr 240 */
	assert_true(abs(frame->data[0][10 * frame->linesize[0] + 10] - 63) <= 1);
	assert_true(abs(frame->data[1][5 * frame->linesize[1] + 5] - 102) <= 1);
	assert_true(abs(frame->data[2][5 * frame->linesize[2] + 5] - 240) <= 1);
	av_frame_free(&frame);
	pipe_reader_free(r);
}

/* 721x405 4:2:0: 361x203 chroma, every sample as ffmpeg decodes it. */
static void test_odd_size(void **state)
{
	const int w = 721, h = 405, cw = 361, ch = 203;
	const size_t size = w * h + 2 * cw * ch;
	const char *path = media_path(&dir, "odd.mkv");
	char err[256] = "";
	AVFrame *frames[25];
	size_t len;
	uint8_t *raw = media_raw(path, "yuv420p", &len);
	pipe_reader *r = open_clip("odd.mkv", AV_PIX_FMT_YUV420P, 1, NULL);
	int n, last, i;

	(void)state;
	assert_int_equal(pipe_reader_info(r)->width, w);
	assert_int_equal(pipe_reader_info(r)->height, h);
	n = read_all(r, frames, 25, &last, err, sizeof(err));
	assert_int_equal(n, 25);
	assert_non_null(raw);
	assert_int_equal(len, n * size);
	for (i = 0; i < n; i++) {
		const uint8_t *y = raw + i * size;

		assert_int_equal(media_plane_diff(frames[i], 0, y, w, h), 0);
		assert_int_equal(media_plane_diff(frames[i], 1, y + w * h, cw, ch), 0);
		assert_int_equal(media_plane_diff(frames[i], 2,
						  y + w * h + cw * ch, cw, ch), 0);
	}
	free(raw);
	free_frames(frames, n);
	pipe_reader_free(r);
}

/*
 * Display rotation, clockwise. FFmpeg 5.1's rotate tag gives a matrix that
 * ffprobe reports as counterclockwise degrees: clockwise is its negative.
 */
static void test_rotation(void **state)
{
	static const char *const names[] = { "rot90.mp4", "rot270.mp4" };
	char *probe;
	int64_t ccw;
	size_t i;
	pipe_reader *r;

	(void)state;
	for (i = 0; i < 2; i++) {
		probe = media_probe(media_path(&dir, names[i]), "v:0",
				    "-show_entries stream_side_data=rotation");
		assert_non_null(probe);
		ccw = media_int(probe, "rotation");
		assert_true(ccw == 90 || ccw == -90);
		r = open_clip(names[i], AV_PIX_FMT_YUV420P, 0, NULL);
		assert_int_equal(pipe_reader_info(r)->rotation,
				 (360 - ccw) % 360);
		assert_int_equal(pipe_reader_info(r)->width, 160);
		pipe_reader_free(r);
		free(probe);
	}
	r = open_clip("h264.mov", AV_PIX_FMT_YUV420P, 0, NULL);
	assert_int_equal(pipe_reader_info(r)->rotation, 0);
	pipe_reader_free(r);
}

/* Irregular timestamps come out as they are in the stream. */
static void test_variable_frame_rate(void **state)
{
	AVFrame *frames[60];
	struct media_pts pts;
	char err[256] = "";
	int n, last, i, irregular = 0;
	pipe_reader *r = open_clip("vfr.mp4", AV_PIX_FMT_YUV420P, 1, NULL);

	(void)state;
	n = read_all(r, frames, 60, &last, err, sizeof(err));
	assert_int_equal(last, AVERROR_EOF);
	assert_int_equal(media_video_pts(media_path(&dir, "vfr.mp4"), &pts), 0);
	assert_int_equal(n, pts.n);
	assert_int_equal(n, 50);
	for (i = 0; i < n; i++) {
		assert_true(media_same_time(frames[i]->pts,
					    pipe_reader_info(r)->time_base,
					    pts.pts[i], pts.tb));
		if (i > 1)
			irregular |= frames[i]->pts - frames[i - 1]->pts !=
				     frames[1]->pts - frames[0]->pts;
	}
	assert_true(irregular);
	free_frames(frames, n);
	pipe_reader_free(r);
}

/* MP4 cut in the middle: the index (at the end) is gone. */
static void test_cut_mp4(void **state)
{
	(void)state;
	expect_open_error("cut.mp4", -EINVAL, "corrupt or truncated");
}

/* Frames, then an error naming the frame where the clip breaks. */
static void expect_broken(const char *name, int total)
{
	char err[256] = "";
	char at[64];
	pipe_reader *r = open_clip(name, AV_PIX_FMT_YUV420P, 1, NULL);
	int n, last;

	n = read_all(r, NULL, 0, &last, err, sizeof(err));
	assert_true(last < 0);
	assert_true(last != AVERROR_EOF);
	assert_true(n < total);
	assert_non_null(strstr(err, name));
	assert_non_null(strstr(err, "corrupt or truncated video"));
	snprintf(at, sizeof(at), "at frame %d", n);
	assert_non_null(strstr(err, at));
	pipe_reader_free(r);
}

static void test_cut_faststart_mp4(void **state)
{
	(void)state;
	expect_broken("cut_fast.mp4", 50);
}

static void test_cut_mkv(void **state)
{
	(void)state;
	expect_broken("cut.mkv", 50);
}

static void test_garbled_mp4(void **state)
{
	(void)state;
	expect_broken("garbled.mp4", 50);
}

static int fail_audio(void *opaque, const AVPacket *pkt)
{
	(void)opaque;
	(void)pkt;
	return -EIO;
}

/* The audio callback's error stops the reading. */
static void test_audio_error(void **state)
{
	struct pipe_reader_opts opts = {
		.pix_fmt = AV_PIX_FMT_YUV420P,
		.on_audio = fail_audio,
	};
	char err[256] = "";
	pipe_reader *r;
	int last;

	(void)state;
	assert_int_equal(pipe_reader_open(media_path(&dir, "ffv1_pcm.mkv"),
					  &opts, &r, err, sizeof(err)), 0);
	read_all(r, NULL, 0, &last, err, sizeof(err));
	assert_int_equal(last, -EIO);
	assert_non_null(strstr(err, "audio"));
	pipe_reader_free(r);
}

/* Two readers on one file at once give the same frames. */
static void test_two_readers(void **state)
{
	pipe_reader *a = open_clip("vp9_opus.webm", AV_PIX_FMT_YUV420P, 0, NULL);
	pipe_reader *b = open_clip("vp9_opus.webm", AV_PIX_FMT_YUV420P, 0, NULL);
	AVFrame *fa, *fb;
	char err[256] = "";
	int i, y;

	(void)state;
	for (i = 0; i < 25; i++) {
		assert_int_equal(pipe_reader_next(a, &fa, err, sizeof(err)), 0);
		assert_int_equal(pipe_reader_next(b, &fb, err, sizeof(err)), 0);
		assert_int_equal(fa->pts, fb->pts);
		for (y = 0; y < 120; y++)
			assert_memory_equal(fa->data[0] + y * fa->linesize[0],
					    fb->data[0] + y * fb->linesize[0],
					    160);
		av_frame_free(&fa);
		av_frame_free(&fb);
	}
	assert_int_equal(pipe_reader_next(a, &fa, err, sizeof(err)), AVERROR_EOF);
	pipe_reader_free(a);
	pipe_reader_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_text_file),
		cmocka_unit_test(test_audio_only),
		cmocka_unit_test(test_no_frame_size),
		cmocka_unit_test(test_header_bomb),
		cmocka_unit_test(test_bad_pix_fmt),
		cmocka_unit_test(test_mp4_h264_aac),
		cmocka_unit_test(test_estimated_count),
		cmocka_unit_test(test_counted_edit_list),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_formats_keep_colours),
		cmocka_unit_test(test_full_range_kept),
		cmocka_unit_test(test_rgb_source),
		cmocka_unit_test(test_odd_size),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_variable_frame_rate),
		cmocka_unit_test(test_cut_mp4),
		cmocka_unit_test(test_cut_faststart_mp4),
		cmocka_unit_test(test_cut_mkv),
		cmocka_unit_test(test_garbled_mp4),
		cmocka_unit_test(test_audio_error),
		cmocka_unit_test(test_two_readers),
	};

	return cmocka_run_group_tests(tests, make_clips, remove_clips);
}
