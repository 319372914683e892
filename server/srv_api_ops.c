/* srv_api_ops: health, readiness, metrics, the API document. */
#include <errno.h>
#include <string.h>

#include "api/api_openapi.h"
#include "server/srv_api_ops.h"

/* A small constant JSON answer. */
static enum MHD_Result srv_api_constant(struct srv_request *req, int status,
					const char *json)
{
	return srv_reply_json(req, status, strdup(json));
}

enum MHD_Result srv_api_healthz(struct srv_request *req)
{
	return srv_api_constant(req, 200, "{\"status\":\"ok\"}");
}

enum MHD_Result srv_api_readyz(struct srv_request *req)
{
	if (atomic_load(&req->svc->draining))
		return srv_reply_problem(req, 503, "draining", "The service is shutting down",
					 "send requests to another replica");
	if (!atomic_load(&req->svc->ready))
		return srv_reply_problem(req, 503, "not-ready", "The service is starting",
					 "retry in a moment");
	if (!srv_backend_ready(req->svc->backend))
		return srv_reply_unavailable(req, -ENOTCONN);
	return srv_api_constant(req, 200, "{\"status\":\"ready\"}");
}

enum MHD_Result srv_api_metrics(struct srv_request *req)
{
	struct srv_gauges g = { 0 };
	char *text;

	srv_backend_gauges(req->svc->backend, &g);
	g.workers = srv_pool_size(req->svc->pool);
	g.workers_busy = srv_pool_busy(req->svc->pool);
	text = srv_metrics_render(req->svc->metrics, &g);
	return srv_reply(req, 200, srv_response_text(req, text, "text/plain; "
						     "version=0.0.4; charset=utf-8"));
}

enum MHD_Result srv_api_openapi(struct srv_request *req)
{
	struct MHD_Response *resp;
	size_t len;
	const char *doc = api_openapi_yaml(&len);

	resp = MHD_create_response_from_buffer(len, (void *)doc, MHD_RESPMEM_PERSISTENT);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/yaml");
	req->bytes_out = len;
	return srv_reply(req, 200, resp);
}
