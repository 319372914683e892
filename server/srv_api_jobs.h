/*
 * srv_api_jobs: the routes of existing jobs: GET /v1/jobs (newest first,
 * ?limit= 1..100, default 20, and ?cursor= from a page's next_cursor),
 * GET and DELETE /v1/jobs/{id}, POST /v1/jobs/{id}/cancel and
 * GET /v1/jobs/{id}/output (ETag, If-None-Match, one Range, If-Range),
 * GET /v1/jobs/{id}/events (Server-Sent Events, see srv_events),
 * GET /v1/jobs/{id}/attention (the heatmap video, as the output: 404 when
 * the spec's outputs lack "attention", 409 until succeeded).
 * A job of another API key is answered 404, as if it did not exist.
 */
#ifndef SRV_API_JOBS_H
#define SRV_API_JOBS_H

#include "server/srv_reply.h"

#define SRV_LIST_DEFAULT 20
#define SRV_LIST_MAX     100

enum MHD_Result srv_api_list(struct srv_request *req);
enum MHD_Result srv_api_get(struct srv_request *req);
enum MHD_Result srv_api_delete(struct srv_request *req);
enum MHD_Result srv_api_cancel(struct srv_request *req);
enum MHD_Result srv_api_output(struct srv_request *req);
enum MHD_Result srv_api_events(struct srv_request *req);
enum MHD_Result srv_api_attention(struct srv_request *req);

/*
 * Answers a backend error: 404 when there is no such job (for this
 * caller), 503 while the backend cannot be reached, else 500.
 */
enum MHD_Result srv_api_failed(struct srv_request *req, int err);

/*
 * Whether job's spec asks for the attention map; when not, answers 404
 * (or 500 when the spec cannot be read) into *ret.
 */
bool srv_api_has_attention(struct srv_request *req, const srv_job *job,
			   enum MHD_Result *ret);

#endif
