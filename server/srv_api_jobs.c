/* srv_api_jobs: reading, cancelling, deleting and downloading jobs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_spec.h"
#include "server/srv_api_jobs.h"
#include "server/srv_events.h"
#include "server/srv_range.h"

enum MHD_Result srv_api_failed(struct srv_request *req, int err)
{
	if (err == -ENOENT)
		return srv_reply_problem(req, 404, "not-found", "No such job",
					 "check the job id; jobs are removed after the "
					 "retention time or when deleted");
	return srv_reply_unavailable(req, err);
}

/* Reads ?limit=; false (answered 400) when it is not 1..SRV_LIST_MAX. */
static bool srv_api_limit(struct srv_request *req, size_t *limit,
			  enum MHD_Result *ret)
{
	const char *text = srv_request_arg(req, "limit");
	char *end;
	long v;

	*limit = SRV_LIST_DEFAULT;
	if (!text)
		return true;
	v = strtol(text, &end, 10);
	if (*text && !*end && v >= 1 && v <= SRV_LIST_MAX) {
		*limit = (size_t)v;
		return true;
	}
	*ret = srv_reply_problem(req, 400, "invalid-query", "The query is invalid",
				 "limit must be an integer from 1 to 100");
	return false;
}

enum MHD_Result srv_api_list(struct srv_request *req)
{
	enum MHD_Result ret;
	size_t limit;
	char *text;
	int err;

	if (!srv_api_limit(req, &limit, &ret))
		return ret;
	err = srv_backend_list(req->svc->backend, req->owner,
			       srv_request_arg(req, "cursor"), limit, &text);
	if (err == -EINVAL)
		return srv_reply_problem(req, 400, "invalid-query", "The query is invalid",
					 "cursor must be a next_cursor from a previous page");
	if (err < 0)
		return srv_reply_unavailable(req, err);
	return srv_reply_json(req, 200, text);
}

enum MHD_Result srv_api_get(struct srv_request *req)
{
	enum MHD_Result ret;
	srv_job *job;
	int err;

	err = srv_backend_get(req->svc->backend, req->match.id, req->owner, &job);
	if (err < 0)
		return srv_api_failed(req, err);
	ret = srv_reply_job(req, 200, job);
	srv_job_free(job);
	return ret;
}

enum MHD_Result srv_api_cancel(struct srv_request *req)
{
	enum MHD_Result ret;
	srv_job *job = NULL;
	int err;

	err = srv_backend_cancel(req->svc->backend, req->match.id, req->owner, &job);
	if (err < 0)
		return srv_api_failed(req, err);
	ret = srv_reply_job(req, 200, job);
	srv_job_free(job);
	return ret;
}

enum MHD_Result srv_api_events(struct srv_request *req)
{
	struct MHD_Response *resp;
	srv_job *job;
	int err;

	err = srv_backend_get(req->svc->backend, req->match.id, req->owner, &job);
	if (err < 0)
		return srv_api_failed(req, err);
	resp = srv_events_open(req->svc->events, req->conn, job, req->owner);
	srv_job_free(job);
	return srv_reply(req, 200, resp);
}

/* An empty response, for 204 and 304. */
static struct MHD_Response *srv_api_empty(void)
{
	return MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
}

enum MHD_Result srv_api_delete(struct srv_request *req)
{
	int err = srv_backend_remove(req->svc->backend, req->match.id, req->owner);

	if (err == -EBUSY)
		return srv_reply_problem(req, 503, "job-busy", "The job did not stop",
					 "retry the delete in a moment");
	if (err == -ENOENT || err == -ENOTCONN)
		return srv_api_failed(req, err);
	if (err < 0)
		return srv_reply_problem(req, 500, "internal", "The job's files cannot "
					 "be removed", strerror(-err));
	return srv_reply(req, 204, srv_api_empty());
}

/* An open output file and its validator. */
struct srv_output {
	int fd;
	uint64_t size;
	char etag[64];
};

/* Opens file, an output of a succeeded job; answers 409 while it is not there. */
static bool srv_output_open(struct srv_request *req, srv_job *job, const char *file,
			    struct srv_output *out, enum MHD_Result *ret)
{
	char path[PATH_MAX], detail[96];
	struct stat st;

	if (job->status != SRV_SUCCEEDED) {
		snprintf(detail, sizeof(detail), "the job is %s; the output exists "
			 "once it has succeeded", srv_status_name(job->status));
		*ret = srv_reply_problem(req, 409, "output-not-ready",
					 "The output is not ready", detail);
		return false;
	}
	out->fd = -1;
	if (!srv_dirs_path(srv_backend_dirs(req->svc->backend), job->id,
			   file, path, sizeof(path)))
		out->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (out->fd < 0 || fstat(out->fd, &st) < 0) {
		if (out->fd >= 0)
			close(out->fd);
		*ret = srv_reply_problem(req, 500, "internal", "The output cannot be read",
					 strerror(errno));
		return false;
	}
	out->size = (uint64_t)st.st_size;
	snprintf(out->etag, sizeof(out->etag), "\"%" PRIx64 "-%" PRIx64 "\"", out->size,
		 (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
	return true;
}

/* The headers every answer about the output carries. */
static void srv_output_headers(struct MHD_Response *resp, const struct srv_output *out)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, out->etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
}

/* Sends [start, start + len) of the file; MHD owns and closes the fd. */
static enum MHD_Result srv_output_send(struct srv_request *req, struct srv_output *out,
				       int status, uint64_t start, uint64_t len)
{
	struct MHD_Response *resp;
	char range[96];

	resp = MHD_create_response_from_fd_at_offset64(len, out->fd, (int64_t)start);
	if (!resp) {
		close(out->fd);
		return srv_reply(req, 500, NULL);
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "video/mp4");
	srv_output_headers(resp, out);
	if (status == MHD_HTTP_PARTIAL_CONTENT) {
		snprintf(range, sizeof(range), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
			 start, start + len - 1, out->size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, range);
	}
	req->bytes_out = len;
	return srv_reply(req, status, resp);
}

/* Answers 304 or 416, which send no part of the file. */
static enum MHD_Result srv_output_no_body(struct srv_request *req,
					  struct srv_output *out, int status)
{
	struct MHD_Response *resp;
	char range[48];

	close(out->fd);
	if (status == MHD_HTTP_NOT_MODIFIED) {
		resp = srv_api_empty();
		if (resp)
			srv_output_headers(resp, out);
		return srv_reply(req, status, resp);
	}
	snprintf(range, sizeof(range), "bytes */%" PRIu64, out->size);
	return srv_reply_problem_with(req, status, "range-not-satisfiable",
				      "The range is outside the file",
				      "ask for bytes below the size in Content-Range",
				      MHD_HTTP_HEADER_CONTENT_RANGE, range);
}

static enum MHD_Result srv_output_answer(struct srv_request *req, struct srv_output *out)
{
	const char *range = srv_request_header(req, MHD_HTTP_HEADER_RANGE);
	enum srv_range_kind kind = SRV_RANGE_FULL;
	uint64_t start = 0, len = out->size;

	if (srv_etag_matches(srv_request_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH),
			     out->etag))
		return srv_output_no_body(req, out, MHD_HTTP_NOT_MODIFIED);
	if (srv_if_range_allows(srv_request_header(req, MHD_HTTP_HEADER_IF_RANGE),
				out->etag))
		kind = srv_range_parse(range, out->size, &start, &len);
	if (kind == SRV_RANGE_UNSATISFIABLE)
		return srv_output_no_body(req, out, MHD_HTTP_RANGE_NOT_SATISFIABLE);
	return srv_output_send(req, out, kind == SRV_RANGE_PARTIAL ?
			       MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, start, len);
}

bool srv_api_has_attention(struct srv_request *req, const srv_job *job,
			   enum MHD_Result *ret)
{
	api_spec *spec;
	bool has;

	if (srv_job_spec(job, &spec) < 0) {
		*ret = srv_reply_problem(req, 500, "internal", "The job's spec cannot be read",
					 "the stored spec no longer parses");
		return false;
	}
	has = spec->outputs & API_OUTPUT_ATTENTION;
	api_spec_free(spec);
	if (!has)
		*ret = srv_reply_problem(req, 404, "no-attention-map",
					 "The job has no attention map",
					 "submit the job with \"outputs\": [\"video\", \"attention\"] "
					 "to have one made");
	return has;
}

/* Downloads the output, or (attention) the heatmap when the spec asked for it. */
static enum MHD_Result srv_api_download(struct srv_request *req, bool attention)
{
	struct srv_output out;
	enum MHD_Result ret;
	srv_job *job;
	bool opened;
	int err;

	err = srv_backend_get(req->svc->backend, req->match.id, req->owner, &job);
	if (err < 0)
		return srv_api_failed(req, err);
	opened = (!attention || srv_api_has_attention(req, job, &ret)) &&
		 srv_output_open(req, job, attention ? SRV_ATTENTION_FILE : SRV_OUTPUT_FILE,
				 &out, &ret);
	srv_job_free(job);
	return opened ? srv_output_answer(req, &out) : ret;
}

enum MHD_Result srv_api_output(struct srv_request *req)
{
	return srv_api_download(req, false);
}

enum MHD_Result srv_api_attention(struct srv_request *req)
{
	return srv_api_download(req, true);
}
