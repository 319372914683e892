/*
 * pipe_job_run end to end on a tiny generated clip (256x128, 12 frames, an
 * AAC sine track) in both modes: the output's frames and audio, progress
 * after every frame, cancellation from the progress callback, and the
 * failures a user can cause (missing or unreadable video, a keyframe past
 * the end, limits), each with its message and no output left behind.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline/pipe_job.h"
#include "tests/unit/pipeline/pipe_test_job.h"
#include "tests/unit/pipeline/pipe_test_media.h"

/*
 * Not smaller: stabilize's motion search toward the reference does not
 * shrink with the frame, and below 256x128 it runs without a pyramid.
 */
#define W 256
#define H 128
#define FRAMES 12
#define ERR_LEN 512

static struct media_dir dir;

static const char *const clips[][2] = {
	{ "clip.mp4", "-f lavfi -i testsrc2=s=256x128:r=12:d=1 -f lavfi -i sine=f=440:d=1 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest" },
};

static int make_media(void **state)
{
	static uint8_t mask[W * H];

	(void)state;
	av_log_set_level(AV_LOG_QUIET);
	if (media_dir_create(&dir))
		return -1;
	for (int i = 0; i < W * H; i++)
		mask[i] = i % W >= W / 4 && i % W < 3 * W / 4 && i / W >= H / 4 && i / W < 3 * H / 4 ? 255 : 0;
	if (media_make_all(&dir, clips, 1) ||
	    png_write(media_path(&dir, "mask0.png"), W, H, 1, mask) ||
	    png_write_flat(media_path(&dir, "edit0.png"), W, H, 200) ||
	    text_write(media_path(&dir, "notes.txt"), "this is not a video\n")) {
		media_dir_remove(&dir);
		return -1;
	}
	return 0;
}

static int remove_media(void **state)
{
	(void)state;
	media_dir_remove(&dir);
	return 0;
}

/* What the progress callback saw; cancel_at > 0 raises the flag at that frame. */
struct progress_log {
	int calls;
	int64_t last_done;
	int increasing;
	int64_t total;
	int64_t cancel_at;
	atomic_int cancel;
};

static void on_progress(void *opaque, const struct pipe_progress *p)
{
	struct progress_log *log = opaque;

	log->increasing &= p->frames_done == log->last_done + 1;
	log->last_done = p->frames_done;
	log->total = p->frames_total;
	log->calls++;
	if (log->cancel_at && p->frames_done == log->cancel_at)
		atomic_store(&log->cancel, 1);
}

/*
 * Runs spec (and frees it) on files of the media folder: the video named
 * video, the masks and keyframe images as in the spec (mask0.png,
 * edit0.png), the output output.mp4 (removed first). Progress goes to
 * log, which raises the cancel flag at frame cancel_at (0: never).
 */
static int run_job(api_spec *spec, const char *video, struct pipe_job_opts *opts,
		   int64_t cancel_at, struct progress_log *log, char *err)
{
	const char *masks[1] = { media_path(&dir, "mask0.png") };
	const char *edits[1] = { media_path(&dir, "edit0.png") };
	struct pipe_job_files files = {
		.video = media_path(&dir, video), .mask_images = masks,
		.keyframe_images = edits, .output = media_path(&dir, "output.mp4"),
	};
	struct pipe_job_result res = { 0 };
	int ret;

	unlink(files.output);
	*log = (struct progress_log){ .increasing = 1, .cancel_at = cancel_at };
	opts->on_progress = on_progress;
	opts->opaque = log;
	opts->cancel = &log->cancel;
	if (!opts->threads)
		opts->threads = 2;
	ret = pipe_job_run(spec, &files, opts, &res, err, ERR_LEN);
	if (ret == 0) {
		assert_int_equal(res.frames, FRAMES);
		assert_true(res.fps > 0);
	}
	api_spec_free(spec);
	return ret;
}

static int output_exists(void)
{
	return file_exists(media_path(&dir, "output.mp4"));
}

/* The output's decoded video frames and its audio codec. */
static void check_output(void)
{
	const char *out = media_path(&dir, "output.mp4");
	char *video = media_probe(out, "v:0", "-count_frames -show_entries stream=nb_read_frames,width,height");
	char *audio = media_probe(out, "a:0", "-show_entries stream=codec_name");

	assert_non_null(video);
	assert_non_null(audio);
	assert_int_equal(media_int(video, "nb_read_frames"), FRAMES);
	assert_int_equal(media_int(video, "width"), W);
	assert_int_equal(media_int(video, "height"), H);
	assert_non_null(strstr(audio, "codec_name=aac"));
	free(video);
	free(audio);
}

static void check_progress(const struct progress_log *log)
{
	assert_int_equal(log->calls, FRAMES);
	assert_true(log->increasing);
	assert_int_equal(log->last_done, FRAMES);
	assert_int_equal(log->total, FRAMES);
}

static void test_propagate_end_to_end(void **state)
{
	struct pipe_job_opts opts = { 0 };
	struct progress_log log;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(run_job(spec_parse("{\"mode\": \"propagate\", \"video\": \"clip.mp4\","
		" \"masks\": [{\"frame\": 0, \"image\": \"mask0.png\"}],"
		" \"keyframes\": [{\"frame\": 0, \"image\": \"edit0.png\"}], \"steps\": 1, \"window\": 4}"),
		"clip.mp4", &opts, 0, &log, err), 0);
	check_output();
	check_progress(&log);
}

static void test_stabilize_end_to_end(void **state)
{
	struct pipe_job_opts opts = { .threads = 1 };
	struct progress_log log;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(run_job(spec_parse("{\"mode\": \"stabilize\", \"video\": \"clip.mp4\","
		" \"masks\": [{\"frame\": 0, \"image\": \"mask0.png\"}], \"temporal_window\": 1,"
		" \"window\": 2, \"output\": {\"pix_fmt\": \"yuv444p\"}}"),
		"clip.mp4", &opts, 0, &log, err), 0);
	check_output();
	check_progress(&log);
}

/* The flag raised after frame 3: the job stops before frame 4, and no output stays. */
static void test_cancel_from_progress(void **state)
{
	struct pipe_job_opts opts = { .threads = 1 };
	struct progress_log log;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(run_job(spec_parse("{\"mode\": \"stabilize\", \"video\": \"clip.mp4\", \"window\": 2}"),
				 "clip.mp4", &opts, 3, &log, err), -ECANCELED);
	assert_int_equal(log.calls, 3);
	assert_false(output_exists());
	assert_non_null(strstr(err, "cancel"));
}

/* A propagate spec with one keyframe at frame `key`, on the clip named video. */
static api_spec *propagate_spec(const char *video, int key)
{
	return spec_parse("{\"mode\": \"propagate\", \"video\": \"%s\","
			  " \"keyframes\": [{\"frame\": %d, \"image\": \"edit0.png\"}], \"steps\": 1}",
			  video, key);
}

static void test_missing_video(void **state)
{
	struct pipe_job_opts opts = { 0 };
	struct progress_log log;
	char err[ERR_LEN];
	int ret;

	(void)state;
	ret = run_job(propagate_spec("gone.mp4", 0), "gone.mp4", &opts, 0, &log, err);
	assert_true(ret == -ENOENT || ret == -EINVAL);
	assert_non_null(strstr(err, "gone.mp4"));
	assert_null(strstr(err, dir.path));
	assert_int_equal(log.calls, 0);
	assert_false(output_exists());
}

static void test_text_file_as_video(void **state)
{
	struct pipe_job_opts opts = { 0 };
	struct progress_log log;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(run_job(propagate_spec("notes.txt", 0), "notes.txt", &opts, 0, &log, err),
			 -EINVAL);
	assert_non_null(strstr(err, "notes.txt"));
	assert_null(strstr(err, dir.path));
	assert_false(output_exists());
}

static void test_keyframe_past_the_end(void **state)
{
	struct pipe_job_opts opts = { 0 };
	struct progress_log log;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(run_job(propagate_spec("clip.mp4", FRAMES), "clip.mp4", &opts, 0, &log, err),
			 -EINVAL);
	assert_non_null(strstr(err, "keyframes[0].frame"));
	assert_int_equal(log.calls, 0);
	assert_false(output_exists());
}

static void test_limits(void **state)
{
	struct pipe_limits lim = { .max_frames = FRAMES - 1 };
	struct pipe_job_opts opts = { .limits = &lim };
	struct progress_log log;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(run_job(propagate_spec("clip.mp4", 0), "clip.mp4", &opts, 0, &log, err),
			 -EFBIG);
	assert_non_null(strstr(err, "frames"));
	assert_false(output_exists());
	lim = (struct pipe_limits){ .max_pixels = W * H - 1 };
	assert_int_equal(run_job(propagate_spec("clip.mp4", 0), "clip.mp4", &opts, 0, &log, err),
			 -EFBIG);
	assert_non_null(strstr(err, "256x128"));
	assert_false(output_exists());
	/* at the limits the job runs (cancelled after its first frame here) */
	lim = (struct pipe_limits){ .max_frames = FRAMES, .max_pixels = W * H };
	assert_int_equal(run_job(propagate_spec("clip.mp4", 0), "clip.mp4", &opts, 1, &log, err),
			 -ECANCELED);
	assert_int_equal(log.calls, 1);
}

/* A job that succeeds has nothing to tell the user. */
static void test_success_leaves_no_message(void **state)
{
	struct pipe_job_opts opts = { 0 };
	struct progress_log log;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(run_job(propagate_spec("clip.mp4", 0), "clip.mp4", &opts, 0, &log, err), 0);
	assert_string_equal(err, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_propagate_end_to_end),
		cmocka_unit_test(test_success_leaves_no_message),
		cmocka_unit_test(test_stabilize_end_to_end),
		cmocka_unit_test(test_cancel_from_progress),
		cmocka_unit_test(test_missing_video),
		cmocka_unit_test(test_text_file_as_video),
		cmocka_unit_test(test_keyframe_past_the_end),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, make_media, remove_media);
}
