/*
 * srv_api_frames: GET /v1/jobs/{id}/frames/{n}.png?view=... — frame n
 * (0-based) of a job as a PNG image in display orientation, for previews:
 *
 * - view=source (the default): the uploaded clip's frame, as soon as the
 *   job is accepted;
 * - view=mask: the mask at that frame, gray: once the job has succeeded,
 *   the coverage the engine used (tracked or blended, from the mask video
 *   the run wrote); before, the masks as given (the mask video's frame, or
 *   the keyframe masks blended linearly, which is what tracking starts
 *   from);
 * - view=result, view=attention: the output's or the heatmap's frame once
 *   the job has succeeded (409 before; attention 404 when the spec's outputs
 *   lack it).
 *
 * 404 for a frame past the end, 400 for another view. The frame is
 * decoded from the start of its video in the request's thread, so later
 * frames of long clips take longer (pipe_still).
 */
#ifndef SRV_API_FRAMES_H
#define SRV_API_FRAMES_H

#include "server/srv_reply.h"

enum MHD_Result srv_api_frame(struct srv_request *req);

#endif
