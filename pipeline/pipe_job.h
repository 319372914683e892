/*
 * pipe_job: one job end to end, the single entry point the CLI and the
 * server share. Decodes the clip, loads masks and keyframes, streams the
 * frames through the engine with memory bounded by the references held
 * (not by the clip's length), and writes the MP4.
 */
#ifndef PIPE_JOB_H
#define PIPE_JOB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api_spec.h"
#include "pipeline/pipe_limits.h"

/* Where the spec's named files are. All borrowed. */
struct pipe_job_files {
	const char *video;
	const char *const *mask_images;     /* one per spec->masks[i] */
	const char *const *keyframe_images; /* one per spec->keyframes[i]; NULL entries where omitted */
	const char *mask_video;             /* NULL when the spec has none */
	const char *output;                 /* the MP4 to write (replaced if present) */
	const char *attention;              /* the attention heatmap MP4 to write
					     * (pipe_heatmap); NULL: none */
	const char *coverage;               /* the coverage the engine used, as an
					     * MP4 to write; NULL: none */
};

struct pipe_progress {
	int64_t frames_done;
	int64_t frames_total;
	double fps;                 /* frames per second so far */
	double eta;                 /* seconds left, estimated */
};

/* Called after each frame, from the job's thread. */
typedef void (*pipe_progress_fn)(void *opaque, const struct pipe_progress *p);

struct pipe_job_opts {
	int threads;                /* attention threads, >= 1 */
	pipe_progress_fn on_progress;   /* may be NULL */
	void *opaque;
	const atomic_int *cancel;   /* non-zero: stop at the next frame; may be NULL */
	const struct pipe_limits *limits;   /* borrowed; NULL: no limits */
};

struct pipe_job_result {
	int64_t frames;
	double seconds;
	double fps;
	double attention_entropy_mean;
	double gflops;              /* useful attention work, per second */
	double useful_share;        /* scores inside windows and masks / computed */
	/* seconds in each stage; they overlap, so they add up to more than seconds */
	double decode_seconds;      /* demux, decode, planes and coverage */
	double attend_seconds;      /* the engine */
	double blend_seconds;
	double encode_seconds;      /* encode and mux */
};

/*
 * Runs spec (validated by api_spec_parse) on files. Returns 0, -ECANCELED
 * when cancelled, -EINVAL when an input is unusable (message in err names
 * the file and what to change), -EFBIG over a limit, or another negative
 * errno (-ENOMEM, -EIO, -ENOSPC). A partial output file is removed.
 */
int pipe_job_run(const api_spec *spec, const struct pipe_job_files *files,
		 const struct pipe_job_opts *opts, struct pipe_job_result *res,
		 char *err, size_t errlen);

#endif
