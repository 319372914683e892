/*
 * pipe_masks: a job's masks as coverage planes at the clip's coded size.
 *
 * Three sources: PNG masks at keyframes (loaded once, brought to the coded
 * orientation and size, then blended linearly or handed to tracking), a
 * mask video (one mask frame per clip frame), or none (everything covered).
 * The mask video is read with two cursors, one following the clip and one
 * reading ahead for keyframes; each only moves forward.
 */
#ifndef PIPE_MASKS_H
#define PIPE_MASKS_H

#include <stddef.h>
#include <stdint.h>

#include "api/api_spec.h"
#include "pipeline/pipe_job.h"
#include "pipeline/pipe_reader.h"

typedef struct pipe_masks pipe_masks;

enum pipe_mask_cursor {
	PIPE_MASK_MAIN,         /* follows the clip */
	PIPE_MASK_AHEAD,        /* keyframe lookups */
};

/*
 * Loads the spec's masks for the clip described by info; images and the
 * mask video are held to limits (borrowed, kept; NULL: none).
 */
int pipe_masks_open(const api_spec *spec, const struct pipe_job_files *files,
		    const struct pipe_video_info *info,
		    const struct pipe_limits *limits, pipe_masks **out,
		    char *err, size_t errlen);
void pipe_masks_free(pipe_masks *m);

/* 1 when the spec has no masks: the whole frame is covered. */
int pipe_masks_none(const pipe_masks *m);

/* 1 when coverage between keyframe masks is to be tracked, not blended. */
int pipe_masks_tracked(const pipe_masks *m);

/*
 * The coverage at frame t into out (width * height): the mask video's
 * frame t, or the linear blend of the masks around t. With a mask video, t
 * may not go back on the same cursor.
 */
int pipe_masks_at(pipe_masks *m, enum pipe_mask_cursor cursor, int64_t t,
		  float *out, char *err, size_t errlen);

/* The PNG mask given exactly at frame t (borrowed), or NULL. */
const float *pipe_masks_anchor(const pipe_masks *m, int64_t t);

/* The cross-attention weight at frame t. */
float pipe_masks_weight(const pipe_masks *m, int64_t t);

#endif
