/* srv_api_frames: one frame of a job as PNG. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_spec.h"
#include "pipeline/pipe_still.h"
#include "server/srv_api_frames.h"
#include "server/srv_api_jobs.h"
#include "server/srv_worker.h"

enum srv_view {
	SRV_VIEW_SOURCE,
	SRV_VIEW_RESULT,
	SRV_VIEW_ATTENTION,
	SRV_VIEW_MASK,
	SRV_VIEW_NONE,
};

static const char *const srv_view_names[] = { "source", "result", "attention", "mask" };

static enum srv_view srv_view_parse(const char *text)
{
	size_t i;

	if (!text)
		return SRV_VIEW_SOURCE;
	for (i = 0; i < SRV_VIEW_NONE; i++)
		if (!strcmp(text, srv_view_names[i]))
			return (enum srv_view)i;
	return SRV_VIEW_NONE;
}

/* Whether the job can show view now; answers 404 or 409 into *ret when not. */
static bool srv_frame_ready(struct srv_request *req, const srv_job *job,
			    enum srv_view view, enum MHD_Result *ret)
{
	char detail[128];

	if (view == SRV_VIEW_ATTENTION && !srv_api_has_attention(req, job, ret))
		return false;
	if ((view == SRV_VIEW_RESULT || view == SRV_VIEW_ATTENTION) &&
	    job->status != SRV_SUCCEEDED) {
		snprintf(detail, sizeof(detail), "the job is %s; its %s frames exist once "
			 "it has succeeded", srv_status_name(job->status), srv_view_names[view]);
		*ret = srv_reply_problem(req, 409, "output-not-ready",
					 "The frame is not ready", detail);
		return false;
	}
	if (job->frames_total > 0 && req->match.frame >= job->frames_total) {
		snprintf(detail, sizeof(detail), "the clip has %" PRId64 " frames (0 to %"
			 PRId64 ")", job->frames_total, job->frames_total - 1);
		*ret = srv_reply_problem(req, 404, "frame-not-found", "No such frame", detail);
		return false;
	}
	return true;
}

/* The path of a job's file in p (PATH_MAX bytes). */
static const char *srv_frame_file(struct srv_request *req, const srv_job *job,
				  const char *file, char *p)
{
	return srv_dirs_path(srv_backend_dirs(req->svc->backend), job->id, file, p,
			     PATH_MAX) < 0 ? NULL : p;
}

/* Makes the PNG of view for job into *png. */
static int srv_frame_png(struct srv_request *req, const srv_job *job,
			 enum srv_view view, uint8_t **png, size_t *len, char *err,
			 size_t errlen)
{
	const struct pipe_limits *lim = &req->svc->limits;
	int64_t n = req->match.frame;
	struct srv_run_files run;
	char path[PATH_MAX];
	const char *mask, *file;
	api_spec *spec;
	int ret;

	if (view == SRV_VIEW_RESULT || view == SRV_VIEW_ATTENTION) {
		file = srv_frame_file(req, job, view == SRV_VIEW_RESULT ? SRV_OUTPUT_FILE :
				      SRV_ATTENTION_FILE, path);
		return file ? pipe_still_frame(file, n, 0, lim, png, len, err, errlen) :
			      -ENAMETOOLONG;
	}
	mask = job->status == SRV_SUCCEEDED ? srv_frame_file(req, job, SRV_MASK_FILE, path) : NULL;
	if (view == SRV_VIEW_MASK && mask && !access(mask, R_OK))
		return pipe_still_frame(mask, n, 1, lim, png, len, err, errlen);
	ret = srv_job_spec(job, &spec);
	if (ret < 0)
		return ret;
	ret = srv_run_files_build(&run, srv_backend_dirs(req->svc->backend), job, spec);
	if (!ret && view == SRV_VIEW_SOURCE)
		ret = pipe_still_frame(run.files.video, n, 0, lim, png, len, err, errlen);
	else if (!ret)
		ret = pipe_still_mask(spec, &run.files, n, lim, png, len, err, errlen);
	srv_run_files_release(&run);
	api_spec_free(spec);
	return ret;
}

static enum MHD_Result srv_frame_answer(struct srv_request *req, uint8_t *png, size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, png, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(png);
		return srv_reply(req, 500, NULL);
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "image/png");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	req->bytes_out = len;
	return srv_reply(req, 200, resp);
}

enum MHD_Result srv_api_frame(struct srv_request *req)
{
	enum srv_view view = srv_view_parse(srv_request_arg(req, "view"));
	char err[512] = "";
	enum MHD_Result ret;
	uint8_t *png = NULL;
	srv_job *job;
	size_t len;
	int status;

	if (view == SRV_VIEW_NONE)
		return srv_reply_problem(req, 400, "invalid-query", "The query is invalid",
					 "view must be source, result, attention or mask");
	status = srv_backend_get(req->svc->backend, req->match.id, req->owner, &job);
	if (status < 0)
		return srv_api_failed(req, status);
	if (!srv_frame_ready(req, job, view, &ret)) {
		srv_job_free(job);
		return ret;
	}
	status = srv_frame_png(req, job, view, &png, &len, err, sizeof(err));
	srv_job_free(job);
	if (status == -ERANGE)
		return srv_reply_problem(req, 404, "frame-not-found", "No such frame", err);
	if (status < 0)
		return srv_reply_problem(req, 500, "internal", "The frame cannot be made",
					 *err ? err : strerror(-status));
	return srv_frame_answer(req, png, len);
}
