/*
 * pipe_still: one frame of a video, or of a job's masks, as a PNG image,
 * for previews and thumbnails. Images are in display orientation (the
 * clip's rotation applied), at the coded size; colour frames are RGB,
 * masks gray (coverage 0..1 as 0..255).
 *
 * Frames are decoded from the start of the file up to the one asked for
 * (no seeking), so the cost grows with the frame number: frame n of a clip
 * costs what decoding n + 1 frames costs.
 */
#ifndef PIPE_STILL_H
#define PIPE_STILL_H

#include <stddef.h>
#include <stdint.h>

#include "api/api_spec.h"
#include "pipeline/pipe_job.h"
#include "pipeline/pipe_limits.h"

/*
 * Frame n (0-based) of the video at path, as a PNG in *png (*len bytes;
 * the caller frees it); gray: one gray channel (the frame's luma, for a
 * coverage video). 0, -ERANGE when the video has no frame n, -ENOENT,
 * -EINVAL (not a video), -EFBIG (over limits, borrowed, NULL: none),
 * -ENOMEM, with a message in err.
 */
int pipe_still_frame(const char *path, int64_t n, int gray,
		     const struct pipe_limits *limits, uint8_t **png, size_t *len,
		     char *err, size_t errlen);

/*
 * The coverage of frame n of a job (spec, and files: its clip and mask
 * inputs) as pipe_masks makes it before the engine runs: the mask video's
 * frame, the masks given at keyframes blended linearly between them, or
 * everything covered without masks. (Tracked masks follow the motion only
 * once the job runs.) A gray PNG as for pipe_still_frame.
 */
int pipe_still_mask(const api_spec *spec, const struct pipe_job_files *files,
		    int64_t n, const struct pipe_limits *limits, uint8_t **png,
		    size_t *len, char *err, size_t errlen);

#endif
