/* srv_api_submit: the upload and checks of a new job. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_spec.h"
#include "pipeline/pipe_reader.h"
#include "server/srv_api_submit.h"
#include "server/srv_webhook.h"

#define SRV_IDEM_KEY_MAX 255

static const uint8_t srv_png_signature[SRV_PART_HEAD] = {
	0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
};

/* A part the spec names, with where the spec names it. */
struct srv_ref {
	const char *field;      /* "video", "masks[0].image", ... */
	const char *part;       /* part name, NULL when not given */
	bool image;             /* PNG expected, else a video */
};

/* A problem with one field error. */
static enum MHD_Result srv_submit_reject_field(struct srv_request *req,
					       int status, const char *slug,
					       const char *title,
					       const char *field,
					       const char *message)
{
	api_errors *errs = api_errors_create();

	if (errs)
		api_errors_add(errs, field, "%s", message);
	return srv_reply_errors(req, status, slug, title, errs);
}

/* 429 and 503: come back later. */
static enum MHD_Result srv_submit_busy(struct srv_request *req, int status,
				       const char *slug, const char *title,
				       const char *detail)
{
	return srv_reply_problem_with(req, status, slug, title, detail,
				      MHD_HTTP_HEADER_RETRY_AFTER, SRV_RETRY_AFTER);
}

/* The checks made on the headers alone; answers and returns false on failure. */
static bool srv_submit_headers_ok(struct srv_request *req, enum MHD_Result *ret)
{
	const struct srv_config *cfg = req->svc->cfg;
	const char *ctype = srv_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *length = srv_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char detail[160];

	if (atomic_load(&req->svc->draining)) {
		*ret = srv_submit_busy(req, 503, "draining", "The service is shutting down",
				       "send the job to another replica or retry later");
		return false;
	}
	if (!ctype || strncasecmp(ctype, "multipart/form-data", 19)) {
		*ret = srv_reply_problem(req, 415, "unsupported-media-type",
					 "The body must be multipart/form-data",
					 "send the spec and the files as multipart/form-data parts");
		return false;
	}
	if (length && strtoull(length, NULL, 10) > cfg->max_upload) {
		snprintf(detail, sizeof(detail), "the body is %s bytes; the limit is %" PRIu64,
			 length, cfg->max_upload);
		*ret = srv_reply_problem(req, 413, "too-large", "The upload is too large",
					 detail);
		return false;
	}
	return true;
}

enum MHD_Result srv_api_submit_begin(struct srv_request *req)
{
	srv_service *svc = req->svc;
	enum MHD_Result ret;
	int err;

	if (!srv_submit_headers_ok(req, &ret))
		return ret;
	err = srv_backend_reserve(svc->backend);
	if (err == -EAGAIN)
		return srv_submit_busy(req, 429, "queue-full", "The job queue is full",
				       "retry after the time in Retry-After");
	if (err < 0)
		return srv_reply_unavailable(req, err);
	req->reserved = true;
	err = srv_id_new(req->job_id);
	if (!err)
		err = srv_upload_create(req->conn, srv_backend_dirs(svc->backend),
					req->job_id, svc->cfg->max_upload, &req->upload);
	if (err == -EINVAL)
		return srv_reply_problem(req, 415, "unsupported-media-type",
					 "The body cannot be read as multipart/form-data",
					 "give the Content-Type its boundary parameter");
	if (err < 0)
		return srv_reply_problem(req, 500, "internal", "Cannot stage the upload",
					 strerror(-err));
	return MHD_YES;
}

/* The answer to an upload error. */
static enum MHD_Result srv_submit_upload_failed(struct srv_request *req, int err)
{
	const char *msg = srv_upload_error(req->upload);

	if (err == -EFBIG)
		return srv_reply_problem(req, 413, "too-large", "The upload is too large", msg);
	if (err == -ENOSPC)
		return srv_reply_problem(req, 507, "insufficient-storage",
					 "The service is out of disk space", msg);
	if (err == -EINVAL)
		return srv_reply_problem(req, 400, "invalid-multipart",
					 "The multipart body cannot be read", msg);
	return srv_reply_problem(req, 500, "internal", "The upload failed", msg);
}

/* Lists the parts spec names, in spec order. Returns the count. */
static size_t srv_submit_refs(const api_spec *spec, struct srv_ref *refs,
			      char (*fields)[48])
{
	size_t i, n = 0;

	refs[n++] = (struct srv_ref){ "video", spec->video, false };
	if (spec->mask_video)
		refs[n++] = (struct srv_ref){ "mask_video", spec->mask_video, false };
	for (i = 0; i < spec->n_masks; i++) {
		snprintf(fields[n], sizeof(fields[n]), "masks[%zu].image", i);
		refs[n] = (struct srv_ref){ fields[n], spec->masks[i].image, true };
		n++;
	}
	for (i = 0; i < spec->n_keyframes; i++) {
		if (!spec->keyframes[i].image)
			continue;
		snprintf(fields[n], sizeof(fields[n]), "keyframes[%zu].image", i);
		refs[n] = (struct srv_ref){ fields[n], spec->keyframes[i].image, true };
		n++;
	}
	return n;
}

/* Checks that the parts the spec names were all uploaded, and no others. */
static void srv_submit_check_present(const srv_upload *up, const struct srv_ref *refs,
				     size_t n, api_errors *errs)
{
	const struct srv_part *part;
	size_t i, j;

	for (i = 0; i < n; i++)
		if (!srv_upload_part(up, refs[i].part))
			api_errors_add(errs, refs[i].field, "names the part \"%s\", "
				       "which was not uploaded; add a multipart part "
				       "with that name", refs[i].part);
	for (i = 0; (part = srv_upload_part_at(up, i)); i++) {
		for (j = 0; j < n && strcmp(refs[j].part, part->name); j++)
			;
		if (j == n)
			api_errors_add(errs, "", "the part \"%s\" is not named by the "
				       "spec; remove it or name it in the spec", part->name);
	}
}

/* Opens a video part to check FFmpeg can read it; *frames gets its count. */
static int srv_submit_probe(struct srv_request *req, const struct srv_part *part,
			    int64_t *frames, char *err, size_t errlen)
{
	struct pipe_reader_opts opts = { .pix_fmt = AV_PIX_FMT_YUV420P, .count_frames = 1,
					 .limits = &req->svc->limits };
	char path[PATH_MAX + 32];
	pipe_reader *reader;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", srv_upload_dir(req->upload), part->file);
	ret = pipe_reader_open(path, &opts, &reader, err, errlen);
	if (ret < 0)
		return ret;
	*frames = pipe_reader_info(reader)->frame_count;
	pipe_reader_free(reader);
	return 0;
}

/*
 * Adds an error to errs for each part of the wrong type (415) and to big
 * for each over a limit (413); *frames gets the clip's frame count.
 */
static void srv_submit_probe_parts(struct srv_request *req,
				   const struct srv_ref *refs, size_t n,
				   int64_t *frames, api_errors *errs,
				   api_errors *big)
{
	const struct srv_part *part;
	char why[256];
	int64_t count;
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		part = srv_upload_part(req->upload, refs[i].part);
		if (refs[i].image) {
			if (part->size < SRV_PART_HEAD ||
			    memcmp(part->head, srv_png_signature, SRV_PART_HEAD))
				api_errors_add(errs, refs[i].field, "the part \"%s\" is "
					       "not a PNG image; masks and keyframes "
					       "must be PNG", refs[i].part);
			continue;
		}
		ret = srv_submit_probe(req, part, &count, why, sizeof(why));
		if (ret == -EFBIG)
			api_errors_add(big, refs[i].field, "the part \"%s\" is over "
				       "the service's limits (%s)", refs[i].part, why);
		else if (ret < 0)
			api_errors_add(errs, refs[i].field, "the part \"%s\" is not a "
				       "video that can be decoded (%s)", refs[i].part, why);
		else if (refs[i].part == refs[0].part)
			*frames = count;
	}
}

/*
 * Checks the media: images PNG, videos decodable (else 415) and within
 * the limits (else 413); *frames gets the clip's frame count.
 */
static enum MHD_Result srv_submit_check_media(struct srv_request *req,
					      const struct srv_ref *refs,
					      size_t n, int64_t *frames,
					      bool *ok)
{
	api_errors *errs = api_errors_create();
	api_errors *big = api_errors_create();

	if (!errs || !big) {
		api_errors_free(errs);
		api_errors_free(big);
		return srv_reply(req, 500, NULL);
	}
	srv_submit_probe_parts(req, refs, n, frames, errs, big);
	if (big->count) {
		api_errors_free(errs);
		return srv_reply_errors(req, 413, "input-too-large",
					 "An input is over the service's limits", big);
	}
	api_errors_free(big);
	if (errs->count)
		return srv_reply_errors(req, 415, "unsupported-media-type",
					 "An uploaded file has the wrong type", errs);
	api_errors_free(errs);
	*ok = true;
	return MHD_YES;
}

/* Checks what the spec names against the parts: 422, then the media. */
static enum MHD_Result srv_submit_check_parts(struct srv_request *req,
					      const api_spec *spec,
					      int64_t *frames, bool *ok)
{
	struct srv_ref refs[2 + SRV_PARTS_MAX];
	char fields[2 + SRV_PARTS_MAX][48];
	api_errors *errs = api_errors_create();
	size_t n;

	*ok = false;
	if (!errs)
		return srv_reply(req, 500, NULL);
	if (spec->n_masks + spec->n_keyframes > SRV_PARTS_MAX) {
		api_errors_add(errs, "", "the spec names more than %d images; "
			       "use a mask_video for per-frame masks", SRV_PARTS_MAX);
		return srv_reply_errors(req, 422, "invalid-spec",
					 "The spec names too many files", errs);
	}
	n = srv_submit_refs(spec, refs, fields);
	srv_submit_check_present(req->upload, refs, n, errs);
	if (errs->count)
		return srv_reply_errors(req, 422, "invalid-spec",
					 "The parts do not match the spec", errs);
	api_errors_free(errs);
	return srv_submit_check_media(req, refs, n, frames, ok);
}

/* A webhook the service would not call is refused now (answered, false). */
static bool srv_submit_check_webhook(struct srv_request *req, const api_spec *spec,
				     enum MHD_Result *ret)
{
	char msg[320] = "";
	int err;

	if (!spec->webhook)
		return true;
	err = srv_webhooks_check(req->svc->webhooks, spec->webhook->url, msg, sizeof(msg));
	if (err == -EPERM)
		*ret = srv_submit_reject_field(req, 422, "invalid-spec",
					       "The webhook cannot be used", "webhook.url", msg);
	else if (err < 0)
		*ret = srv_reply(req, 500, NULL);
	return !err;
}

/*
 * Parses and checks the spec against the upload. Answers and returns NULL
 * when something is wrong; else the spec, owned by the caller.
 */
static api_spec *srv_submit_check(struct srv_request *req, enum MHD_Result *ret)
{
	api_errors *errs = NULL;
	api_spec *spec = NULL;
	int64_t frames = 0;
	const char *text;
	size_t len;
	bool ok;

	text = srv_upload_spec(req->upload, &len);
	if (!text) {
		*ret = srv_submit_reject_field(req, 422, "invalid-spec", "The job spec is missing",
					       "spec", "add a multipart part named \"spec\" "
					       "holding the job spec as JSON");
		return NULL;
	}
	if (api_spec_parse(text, len, &spec, &errs) < 0) {
		*ret = errs ? srv_reply_errors(req, 422, "invalid-spec",
						"The job spec is invalid", errs) :
			      srv_reply(req, 500, NULL);
		return NULL;
	}
	if (!srv_submit_check_webhook(req, spec, ret))
		goto free_spec;
	*ret = srv_submit_check_parts(req, spec, &frames, &ok);
	if (!ok)
		goto free_spec;
	if (frames > 0 && api_spec_check_frames(spec, frames, &errs) < 0) {
		*ret = errs ? srv_reply_errors(req, 422, "invalid-spec",
						"The spec does not fit the clip", errs) :
			      srv_reply(req, 500, NULL);
		goto free_spec;
	}
	return spec;

free_spec:
	api_spec_free(spec);
	return NULL;
}

/*
 * Applies Idempotency-Key: answers (and returns false) when the key was
 * used before, with the same body (its job, 200) or another (422).
 */
static bool srv_submit_idem_new(struct srv_request *req, const char *key,
				enum MHD_Result *ret)
{
	srv_service *svc = req->svc;
	char found[SRV_ID_LEN + 1];
	srv_job *job = NULL;
	int r;

	if (strlen(key) > SRV_IDEM_KEY_MAX || !*key) {
		*ret = srv_submit_reject_field(req, 400, "invalid-idempotency-key",
					       "The Idempotency-Key is invalid", "Idempotency-Key",
					       "must be 1 to 255 characters");
		return false;
	}
	r = srv_backend_idem_claim(svc->backend, req->owner, key,
				   srv_upload_hash(req->upload), req->job_id, found);
	if (r == SRV_IDEM_NEW)
		return true;
	if (r == SRV_IDEM_CONFLICT) {
		*ret = srv_submit_reject_field(req, 422, "idempotency-key-reused",
					       "The Idempotency-Key was used with another body",
					       "Idempotency-Key", "use a new key for a new job");
		return false;
	}
	if (r == SRV_IDEM_SAME)
		r = srv_backend_get(svc->backend, found, req->owner, &job);
	if (job) {
		*ret = srv_reply_job(req, 200, job);
		srv_job_free(job);
	} else if (r == -ENOENT) {
		*ret = srv_reply_problem(req, 409, "idempotency-in-progress",
					 "A request with this Idempotency-Key is in progress",
					 "retry once it has been answered");
	} else {
		*ret = srv_reply_unavailable(req, r);
	}
	return false;
}

/* The job of a checked upload, not yet durable. NULL when out of memory. */
static srv_job *srv_submit_job(struct srv_request *req, const api_spec *spec,
			       const char *key)
{
	const struct srv_part *part;
	srv_job *job = srv_job_create(req->job_id);
	size_t i;

	if (!job)
		return NULL;
	memcpy(job->owner, req->owner, sizeof(job->owner));
	memcpy(job->body_hash, srv_upload_hash(req->upload), sizeof(job->body_hash));
	job->spec = api_spec_to_json(spec);
	job->idem_key = key ? strdup(key) : NULL;
	if (!job->spec || (key && !job->idem_key))
		goto free_job;
	for (i = 0; (part = srv_upload_part_at(req->upload, i)); i++)
		if (srv_job_add_input(job, part->name, part->file) < 0)
			goto free_job;
	return job;

free_job:
	srv_job_free(job);
	return NULL;
}

/* Makes the job durable and queues it; answers 202. */
static enum MHD_Result srv_submit_commit(struct srv_request *req,
					 const api_spec *spec, const char *key)
{
	srv_service *svc = req->svc;
	enum MHD_Result ret;
	srv_job *job;
	int err;

	job = srv_submit_job(req, spec, key);
	if (!job)
		return srv_reply(req, 500, NULL);
	err = srv_backend_submit(svc->backend, job);
	if (err == -ENOTCONN)
		ret = srv_reply_unavailable(req, err);
	else if (err < 0)
		ret = srv_reply_problem(req, err == -ENOSPC ? 507 : 500, "store-failed",
					"The job cannot be stored", strerror(-err));
	if (err < 0)
		goto free_job;
	srv_upload_keep(req->upload);
	req->reserved = false;
	ret = srv_reply_job(req, 202, job);
free_job:
	srv_job_free(job);
	return ret;
}

static enum MHD_Result srv_submit_finish(struct srv_request *req)
{
	const char *key = srv_request_header(req, "Idempotency-Key");
	enum MHD_Result ret;
	api_spec *spec;
	int err;

	err = srv_upload_finish(req->upload);
	if (err < 0)
		return srv_submit_upload_failed(req, err);
	spec = srv_submit_check(req, &ret);
	if (!spec)
		return ret;
	if (!key || srv_submit_idem_new(req, key, &ret)) {
		ret = srv_submit_commit(req, spec, key);
		if (key && req->status != 202)
			srv_backend_idem_forget(req->svc->backend, req->owner, key);
	}
	api_spec_free(spec);
	return ret;
}

enum MHD_Result srv_api_submit_body(struct srv_request *req, const char *data,
				    size_t *size)
{
	enum MHD_Result ret;
	int err;

	if (*size) {
		err = srv_upload_feed(req->upload, data, *size);
		req->bytes_in += *size;
		*size = 0;
		if (!err)
			return MHD_YES;
		ret = srv_submit_upload_failed(req, err);
	} else {
		ret = srv_submit_finish(req);
	}
	srv_api_submit_end(req);
	return ret;
}

void srv_api_submit_end(struct srv_request *req)
{
	if (req->reserved)
		srv_backend_unreserve(req->svc->backend);
	req->reserved = false;
	srv_upload_free(req->upload);
	req->upload = NULL;
}
