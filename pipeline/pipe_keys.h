/*
 * pipe_keys: the keyframes a frame attends to, loaded as the job moves
 * forward. A second reader on the clip decodes ahead to each keyframe's
 * source frame; the edited image is loaded and converted then; at most the
 * keyframes around the current frame are held. In stabilize a spec with
 * no keyframes gets the first frame as its reference.
 */
#ifndef PIPE_KEYS_H
#define PIPE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "api/api_spec.h"
#include "attention/attn_engine.h"
#include "pipeline/pipe_job.h"
#include "pipeline/pipe_masks.h"

typedef struct pipe_keys pipe_keys;

/*
 * masks and limits (NULL: none) are borrowed and must outlive the keys;
 * keyframe images are held to limits.
 */
int pipe_keys_open(const api_spec *spec, const struct pipe_job_files *files,
		   const struct pipe_video_info *info, enum AVPixelFormat pix_fmt,
		   pipe_masks *masks, const struct pipe_limits *limits,
		   pipe_keys **out, char *err, size_t errlen);
void pipe_keys_free(pipe_keys *k);

/*
 * The keyframes around frame t (the last at or before it and the first
 * after it, whichever exist) into out[0..*n), valid until the next call.
 * t may not decrease from call to call.
 */
int pipe_keys_around(pipe_keys *k, int64_t t, struct attn_keyframe *out, int *n,
		     char *err, size_t errlen);

#endif
