/* srv_reply: building and queueing responses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "server/srv_reply.h"

#define SRV_CT_JSON    "application/json"
#define SRV_CT_PROBLEM "application/problem+json"

/* Seconds a client is told to wait while the backend cannot be reached. */
#define SRV_RETRY_UNAVAILABLE "2"

const char *srv_request_header(const struct srv_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *srv_request_arg(const struct srv_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct MHD_Response *srv_response_text(struct srv_request *req, char *text,
				       const char *ctype)
{
	struct MHD_Response *resp;
	size_t len;

	if (!text)
		return NULL;
	len = strlen(text);
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	req->bytes_out = len;
	return resp;
}

/* The answer when no other can be built. */
static struct MHD_Response *srv_response_oom(struct srv_request *req)
{
	static char oom[] = "{\"type\":\"about:blank\",\"title\":\"Out of memory\","
			    "\"status\":500}";
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(sizeof(oom) - 1, oom,
					       MHD_RESPMEM_PERSISTENT);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					SRV_CT_PROBLEM);
	req->bytes_out = sizeof(oom) - 1;
	return resp;
}

enum MHD_Result srv_reply(struct srv_request *req, int status,
			  struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		resp = srv_response_oom(req);
		if (!resp)
			return MHD_NO;
	}
	MHD_add_response_header(resp, "X-Served-By", req->svc->node);
	ret = MHD_queue_response(req->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	req->status = status;
	return ret;
}

/* A problem response with an optional header (NULL for none). */
static struct MHD_Response *srv_response_problem(struct srv_request *req,
						 int status, const char *slug,
						 const char *title,
						 const char *detail,
						 const api_errors *errs,
						 const char *header,
						 const char *value)
{
	char *text = api_problem_json(status, slug, title, detail, errs);
	struct MHD_Response *resp = srv_response_text(req, text, SRV_CT_PROBLEM);

	if (resp && header)
		MHD_add_response_header(resp, header, value);
	return resp;
}

enum MHD_Result srv_reply_problem(struct srv_request *req, int status,
				  const char *slug, const char *title,
				  const char *detail)
{
	return srv_reply_problem_with(req, status, slug, title, detail, NULL, NULL);
}

enum MHD_Result srv_reply_problem_with(struct srv_request *req, int status,
				       const char *slug, const char *title,
				       const char *detail, const char *header,
				       const char *value)
{
	return srv_reply(req, status, srv_response_problem(req, status, slug, title,
							   detail, NULL, header, value));
}

enum MHD_Result srv_reply_errors(struct srv_request *req, int status,
				 const char *slug, const char *title,
				 api_errors *errs)
{
	struct MHD_Response *resp;

	resp = srv_response_problem(req, status, slug, title, NULL, errs, NULL, NULL);
	api_errors_free(errs);
	return srv_reply(req, status, resp);
}

enum MHD_Result srv_reply_unavailable(struct srv_request *req, int err)
{
	if (err != -ENOTCONN)
		return srv_reply_problem(req, 500, "internal", "The job store failed",
					 strerror(-err));
	return srv_reply_problem_with(req, 503, "store-unavailable",
				      "The job store cannot be reached",
				      "retry in a moment; the service reconnects by itself",
				      MHD_HTTP_HEADER_RETRY_AFTER, SRV_RETRY_UNAVAILABLE);
}

enum MHD_Result srv_reply_json(struct srv_request *req, int status, char *text)
{
	return srv_reply(req, status, srv_response_text(req, text, SRV_CT_JSON));
}

enum MHD_Result srv_reply_job(struct srv_request *req, int status,
			      const srv_job *job)
{
	struct MHD_Response *resp;
	char location[sizeof("/v1/jobs/") + SRV_ID_LEN];
	cJSON *doc;
	char *text;

	doc = srv_job_api_cjson(job);
	text = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	resp = srv_response_text(req, text, SRV_CT_JSON);
	if (resp && req->match.op == SRV_OP_CREATE_JOB) {
		snprintf(location, sizeof(location), "/v1/jobs/%s", job->id);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	}
	return srv_reply(req, status, resp);
}
