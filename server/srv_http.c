/* srv_http: the daemon, routing and request lifecycle. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "server/srv_api_jobs.h"
#include "server/srv_api_ops.h"
#include "server/srv_api_submit.h"
#include "server/srv_clock.h"
#include "server/srv_http.h"
#include "server/srv_log.h"

/* Memory MHD gives each connection for headers and body reads. */
#define SRV_CONNECTION_MEMORY (128 * 1024)

/* Status logged for a request whose client left before an answer. */
#define SRV_STATUS_CLIENT_GONE 499

typedef enum MHD_Result (*srv_handler)(struct srv_request *req);

static const srv_handler srv_handlers[SRV_OP_COUNT] = {
	[SRV_OP_CREATE_JOB] = srv_api_submit_begin,
	[SRV_OP_LIST_JOBS] = srv_api_list,
	[SRV_OP_GET_JOB] = srv_api_get,
	[SRV_OP_DELETE_JOB] = srv_api_delete,
	[SRV_OP_GET_OUTPUT] = srv_api_output,
	[SRV_OP_GET_EVENTS] = srv_api_events,
	[SRV_OP_CANCEL_JOB] = srv_api_cancel,
	[SRV_OP_HEALTHZ] = srv_api_healthz,
	[SRV_OP_READYZ] = srv_api_readyz,
	[SRV_OP_METRICS] = srv_api_metrics,
	[SRV_OP_OPENAPI] = srv_api_openapi,
};

static enum MHD_Result srv_http_not_allowed(struct srv_request *req)
{
	char detail[96];

	snprintf(detail, sizeof(detail), "this path accepts %s", req->match.allow);
	return srv_reply_problem_with(req, 405, "method-not-allowed", "Method not allowed",
				      detail, MHD_HTTP_HEADER_ALLOW, req->match.allow);
}

static enum MHD_Result srv_http_unauthorized(struct srv_request *req)
{
	return srv_reply_problem_with(req, 401, "unauthorized", "Authentication required",
				      "send Authorization: Bearer <API key>",
				      MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				      "Bearer realm=\"maskattn\"");
}

/* Answers a request: route, authenticate, hand to its handler. */
static enum MHD_Result srv_http_answer(struct srv_request *req, const char *url)
{
	const char *auth = srv_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);

	if (req->match.op == SRV_OP_NOT_FOUND)
		return srv_reply_problem(req, 404, "not-found", "No such route",
					 "see /openapi.yaml for the routes");
	if (req->match.op == SRV_OP_BAD_METHOD)
		return srv_http_not_allowed(req);
	if (srv_route_is_v1(url) &&
	    srv_auth_check(req->svc->auth, auth, req->owner) < 0)
		return srv_http_unauthorized(req);
	return srv_handlers[req->match.op](req);
}

/*
 * MHD calls this once with the headers, then for each piece of the body,
 * then once more at its end. An answer queued before the request is
 * whole closes the connection, so requests are answered at the end,
 * except uploads rejected from their headers (which should not be read).
 */
static enum MHD_Result srv_http_access(void *cls, struct MHD_Connection *conn,
				       const char *url, const char *method,
				       const char *version, const char *upload_data,
				       size_t *upload_data_size, void **con_cls)
{
	struct srv_request *req = *con_cls;

	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->svc = cls;
		req->conn = conn;
		req->method = method;
		req->start_ns = srv_mono_ns();
		*con_cls = req;
		srv_route_match(method, url, &req->match);
		if (req->match.op == SRV_OP_CREATE_JOB)
			return srv_http_answer(req, url);
		return MHD_YES;
	}
	if (req->upload)
		return srv_api_submit_body(req, upload_data, upload_data_size);
	if (req->status)
		return MHD_NO;
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	return srv_http_answer(req, url);
}

static void srv_http_completed(void *cls, struct MHD_Connection *conn,
			       void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct srv_request *req = *con_cls;
	srv_service *svc = cls;
	double seconds;
	int status;

	(void)conn;
	(void)toe;
	if (!req)
		return;
	seconds = (double)(srv_mono_ns() - req->start_ns) / SRV_NS_PER_S;
	status = req->status ? req->status : SRV_STATUS_CLIENT_GONE;
	srv_metrics_request(svc->metrics, req->match.op, status, seconds);
	srv_log_request(req->method, req->match.route, status, seconds,
			req->bytes_in, req->bytes_out);
	srv_api_submit_end(req);
	free(req);
	*con_cls = NULL;
}

int srv_http_start(srv_service *svc, char *err, size_t errlen)
{
	const struct srv_config *cfg = svc->cfg;

	svc->daemon = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO |
		MHD_ALLOW_SUSPEND_RESUME, (uint16_t)cfg->port,
		NULL, NULL, srv_http_access, svc,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SRV_CONNECTION_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, srv_http_completed, svc,
		MHD_OPTION_END);
	if (!svc->daemon) {
		snprintf(err, errlen, "cannot listen on port %d; choose another "
			 "with --port or MASKATTN_PORT", cfg->port);
		return -EADDRINUSE;
	}
	return 0;
}

void srv_http_stop(srv_service *svc)
{
	if (svc->daemon)
		MHD_stop_daemon(svc->daemon);
	svc->daemon = NULL;
}

int srv_http_port(const srv_service *svc)
{
	const union MHD_DaemonInfo *info;

	info = MHD_get_daemon_info(svc->daemon, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : -1;
}
