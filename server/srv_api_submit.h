/*
 * srv_api_submit: POST /v1/jobs. The request is checked before its body
 * is read (draining 503, not multipart 415, Content-Length over the limit
 * 413, queue full 429 with Retry-After), the body streams into a staging
 * directory, and the finished upload is checked (spec 422, parts named by
 * the spec present 422, images PNG 415, videos decodable 415, keyframe and
 * mask frames inside the clip 422) before the job is made durable and
 * queued: 202 with Location. A rejected or interrupted upload leaves
 * nothing on disk.
 */
#ifndef SRV_API_SUBMIT_H
#define SRV_API_SUBMIT_H

#include <stddef.h>

#include "server/srv_reply.h"

/* Seconds a client is told to wait when the queue is full or draining. */
#define SRV_RETRY_AFTER "5"

/* The first call, with the headers. */
enum MHD_Result srv_api_submit_begin(struct srv_request *req);

/*
 * Each later call: a piece of the body, or (*size == 0) its end. Once it
 * answers, the upload is released at once (srv_api_submit_end), so a
 * rejected upload's files are gone before the client reads the answer.
 */
enum MHD_Result srv_api_submit_body(struct srv_request *req, const char *data,
				    size_t *size);

/* Releases what the request holds (its queue place, its upload). */
void srv_api_submit_end(struct srv_request *req);

#endif
