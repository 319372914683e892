/* srv_job: the job record and its JSON forms. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "api/api_errors.h"
#include "pipeline/pipe_job.h"
#include "server/srv_clock.h"
#include "server/srv_job.h"

static const char *const srv_status_names[SRV_STATUS_COUNT] = {
	"queued", "running", "succeeded", "failed", "canceled",
};

const char *srv_status_name(enum srv_status status)
{
	return status < SRV_STATUS_COUNT ? srv_status_names[status] : "unknown";
}

bool srv_status_final(enum srv_status status)
{
	return status == SRV_SUCCEEDED || status == SRV_FAILED ||
	       status == SRV_CANCELED;
}

srv_job *srv_job_create(const char *id)
{
	srv_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	snprintf(job->id, sizeof(job->id), "%s", id);
	job->status = SRV_QUEUED;
	job->created_ns = srv_now_ns() / SRV_NS_PER_US * SRV_NS_PER_US;
	atomic_init(&job->cancel, 0);
	atomic_init(&job->requeue, false);
	return job;
}

/* A copy of text in *out; false when out of memory (NULL copies as NULL). */
static bool srv_job_dup(const char *text, char **out)
{
	*out = text ? strdup(text) : NULL;
	return !text || *out;
}

srv_job *srv_job_copy(const srv_job *job)
{
	srv_job *copy = srv_job_create(job->id);
	size_t i;

	if (!copy)
		return NULL;
	memcpy(copy->owner, job->owner, sizeof(copy->owner));
	memcpy(copy->body_hash, job->body_hash, sizeof(copy->body_hash));
	copy->status = job->status;
	copy->created_ns = job->created_ns;
	copy->started_ns = job->started_ns;
	copy->finished_ns = job->finished_ns;
	copy->frames_done = job->frames_done;
	copy->frames_total = job->frames_total;
	copy->metrics = job->metrics;
	if (!srv_job_dup(job->error, &copy->error) ||
	    !srv_job_dup(job->spec, &copy->spec) ||
	    !srv_job_dup(job->idem_key, &copy->idem_key))
		goto free_copy;
	for (i = 0; i < job->n_inputs; i++)
		if (srv_job_add_input(copy, job->inputs[i].part, job->inputs[i].file) < 0)
			goto free_copy;
	return copy;

free_copy:
	srv_job_free(copy);
	return NULL;
}

void srv_job_free(srv_job *job)
{
	size_t i;

	if (!job)
		return;
	for (i = 0; i < job->n_inputs; i++) {
		free(job->inputs[i].part);
		free(job->inputs[i].file);
	}
	free(job->inputs);
	free(job->error);
	free(job->spec);
	free(job->idem_key);
	free(job);
}

int srv_job_spec(const srv_job *job, api_spec **out)
{
	if (!job->spec)
		return -EINVAL;
	return api_spec_parse(job->spec, strlen(job->spec), out, NULL);
}

int srv_job_add_input(srv_job *job, const char *part, const char *file)
{
	struct srv_input *inputs, *in;

	inputs = realloc(job->inputs, (job->n_inputs + 1) * sizeof(*inputs));
	if (!inputs)
		return -ENOMEM;
	job->inputs = inputs;
	in = &inputs[job->n_inputs];
	in->part = strdup(part);
	in->file = strdup(file);
	if (!in->part || !in->file) {
		free(in->part);
		free(in->file);
		return -ENOMEM;
	}
	job->n_inputs++;
	return 0;
}

const char *srv_job_input(const srv_job *job, const char *part)
{
	size_t i;

	for (i = 0; i < job->n_inputs; i++)
		if (!strcmp(job->inputs[i].part, part))
			return job->inputs[i].file;
	return NULL;
}

int srv_job_set_error(srv_job *job, int status, const char *slug,
		      const char *title, const char *detail)
{
	char *error = api_problem_json(status, slug, title, detail, NULL);

	if (!error)
		return -ENOMEM;
	free(job->error);
	job->error = error;
	return 0;
}

/* The problem a failed run reports, from the pipeline's error. */
static void srv_job_failed(srv_job *job, int ret, const char *err)
{
	if (ret == -EINVAL)
		srv_job_set_error(job, 422, "invalid-input",
				  "An input cannot be used", err);
	else if (ret == -EFBIG)
		srv_job_set_error(job, 413, "input-too-large",
				  "An input is over the service's limits", err);
	else if (ret == -ENOSPC || ret == -EDQUOT)
		srv_job_set_error(job, 507, "insufficient-storage",
				  "The service ran out of disk space; submit the job again later",
				  err);
	else
		srv_job_set_error(job, 500, "job-failed",
				  "The job failed inside the service", err);
}

enum srv_status srv_job_end_run(srv_job *job, int ret,
				const struct pipe_job_result *res, const char *err)
{
	if (ret == -ECANCELED && atomic_load(&job->requeue)) {
		job->status = SRV_QUEUED;
		job->started_ns = 0;
		job->frames_done = 0;
		return job->status;
	}
	job->finished_ns = srv_now_ns();
	if (!ret) {
		job->status = SRV_SUCCEEDED;
		job->frames_done = res->frames;
		job->frames_total = res->frames;
		job->metrics = (struct srv_job_metrics){ res->fps,
			res->attention_entropy_mean, res->seconds, res->gflops, true };
	} else if (ret == -ECANCELED) {
		job->status = SRV_CANCELED;
	} else {
		job->status = SRV_FAILED;
		srv_job_failed(job, ret, err);
	}
	return job->status;
}

int srv_job_cmp_age(const srv_job *job, int64_t ns, const char *id)
{
	if (job->created_ns != ns)
		return job->created_ns < ns ? -1 : 1;
	return strcmp(job->id, id);
}

/* The time is zero-padded, so that cursors sort as the jobs do. */
void srv_job_cursor(int64_t ns, const char *id, char buf[SRV_CURSOR_LEN])
{
	snprintf(buf, SRV_CURSOR_LEN, "%019" PRId64 "-%s", ns, id);
}

char *srv_job_page(cJSON *jobs, const char *next)
{
	cJSON *doc = cJSON_CreateObject();
	char *text = NULL;

	if (!doc || !cJSON_AddItemToObject(doc, "jobs", jobs)) {
		cJSON_Delete(jobs);
		goto delete_doc;
	}
	if (next ? cJSON_AddStringToObject(doc, "next_cursor", next) :
		   cJSON_AddNullToObject(doc, "next_cursor"))
		text = cJSON_PrintUnformatted(doc);
delete_doc:
	cJSON_Delete(doc);
	return text;
}

int srv_job_cursor_parse(const char *cursor, int64_t *ns,
			 char id[SRV_ID_LEN + 1])
{
	char *end;

	errno = 0;
	*ns = strtoll(cursor, &end, 10);
	if (errno || end == cursor || *end != '-' || !srv_id_valid(end + 1))
		return -EINVAL;
	memcpy(id, end + 1, SRV_ID_LEN + 1);
	return 0;
}

/* A number member, or null when unknown. */
static bool srv_json_number(cJSON *obj, const char *name, double v, bool known)
{
	return known ? cJSON_AddNumberToObject(obj, name, v) != NULL :
		       cJSON_AddNullToObject(obj, name) != NULL;
}

/* An RFC 3339 time member, or null when ns is 0. */
static bool srv_json_time(cJSON *obj, const char *name, int64_t ns)
{
	char text[SRV_RFC3339_LEN];

	if (!ns)
		return cJSON_AddNullToObject(obj, name) != NULL;
	srv_rfc3339(ns, text);
	return cJSON_AddStringToObject(obj, name, text) != NULL;
}

/* Raw JSON text as a member, or null when text is NULL. */
static bool srv_json_raw(cJSON *obj, const char *name, const char *text)
{
	return text ? cJSON_AddRawToObject(obj, name, text) != NULL :
		      cJSON_AddNullToObject(obj, name) != NULL;
}

static double srv_job_progress(const srv_job *job)
{
	if (job->status == SRV_SUCCEEDED)
		return 1.0;
	if (job->frames_total <= 0)
		return 0.0;
	return (double)job->frames_done / (double)job->frames_total;
}

static bool srv_job_api_metrics(cJSON *doc, const srv_job *job)
{
	const struct srv_job_metrics *m = &job->metrics;
	cJSON *obj = cJSON_AddObjectToObject(doc, "metrics");
	bool ran = job->started_ns != 0;

	return obj &&
	       srv_json_number(obj, "fps", m->fps, ran || m->done) &&
	       srv_json_number(obj, "attention_entropy_mean", m->entropy, m->done) &&
	       srv_json_number(obj, "seconds", m->seconds, m->done) &&
	       srv_json_number(obj, "gflops", m->gflops, m->done);
}

static bool srv_job_api_output_url(cJSON *doc, const srv_job *job)
{
	char url[sizeof("/v1/jobs//output") + SRV_ID_LEN];

	if (job->status != SRV_SUCCEEDED)
		return cJSON_AddNullToObject(doc, "output_url") != NULL;
	snprintf(url, sizeof(url), "/v1/jobs/%s/output", job->id);
	return cJSON_AddStringToObject(doc, "output_url", url) != NULL;
}

cJSON *srv_job_api_cjson(const srv_job *job)
{
	cJSON *doc = cJSON_CreateObject();

	if (!doc)
		return NULL;
	if (!cJSON_AddStringToObject(doc, "id", job->id) ||
	    !cJSON_AddStringToObject(doc, "status", srv_status_name(job->status)) ||
	    !cJSON_AddNumberToObject(doc, "progress", srv_job_progress(job)) ||
	    !cJSON_AddNumberToObject(doc, "frames_done", (double)job->frames_done) ||
	    !cJSON_AddNumberToObject(doc, "frames_total", (double)job->frames_total) ||
	    !srv_json_time(doc, "created_at", job->created_ns) ||
	    !srv_json_time(doc, "started_at", job->started_ns) ||
	    !srv_json_time(doc, "finished_at", job->finished_ns) ||
	    !srv_json_raw(doc, "spec", job->spec) ||
	    !srv_job_api_metrics(doc, job) ||
	    !srv_json_raw(doc, "error", job->error) ||
	    !srv_job_api_output_url(doc, job))
		goto delete_doc;
	return doc;

delete_doc:
	cJSON_Delete(doc);
	return NULL;
}

cJSON *srv_job_inputs_cjson(const srv_job *job)
{
	cJSON *obj = cJSON_CreateObject();
	size_t i;

	for (i = 0; obj && i < job->n_inputs; i++) {
		if (!cJSON_AddStringToObject(obj, job->inputs[i].part,
					     job->inputs[i].file)) {
			cJSON_Delete(obj);
			return NULL;
		}
	}
	return obj;
}

int srv_job_read_inputs(srv_job *job, const cJSON *inputs)
{
	const cJSON *in;

	if (!cJSON_IsObject(inputs))
		return -EINVAL;
	cJSON_ArrayForEach(in, inputs) {
		if (!cJSON_IsString(in))
			return -EINVAL;
		if (srv_job_add_input(job, in->string, in->valuestring) < 0)
			return -ENOMEM;
	}
	return 0;
}

static bool srv_state_inputs(cJSON *doc, const srv_job *job)
{
	cJSON *obj = srv_job_inputs_cjson(job);

	if (obj && cJSON_AddItemToObject(doc, "inputs", obj))
		return true;
	cJSON_Delete(obj);
	return false;
}

static bool srv_state_metrics(cJSON *doc, const srv_job *job)
{
	const struct srv_job_metrics *m = &job->metrics;
	cJSON *obj;

	if (!m->done)
		return cJSON_AddNullToObject(doc, "metrics") != NULL;
	obj = cJSON_AddObjectToObject(doc, "metrics");
	return obj && cJSON_AddNumberToObject(obj, "fps", m->fps) &&
	       cJSON_AddNumberToObject(obj, "entropy", m->entropy) &&
	       cJSON_AddNumberToObject(obj, "seconds", m->seconds) &&
	       cJSON_AddNumberToObject(obj, "gflops", m->gflops);
}

char *srv_job_state_json(const srv_job *job)
{
	cJSON *doc = cJSON_CreateObject();
	char *text;

	if (!doc)
		return NULL;
	if (!cJSON_AddStringToObject(doc, "id", job->id) ||
	    !cJSON_AddStringToObject(doc, "status", srv_status_name(job->status)) ||
	    !cJSON_AddNumberToObject(doc, "created_us", (double)(job->created_ns / SRV_NS_PER_US)) ||
	    !cJSON_AddNumberToObject(doc, "started_us", (double)(job->started_ns / SRV_NS_PER_US)) ||
	    !cJSON_AddNumberToObject(doc, "finished_us", (double)(job->finished_ns / SRV_NS_PER_US)) ||
	    !cJSON_AddNumberToObject(doc, "frames_done", (double)job->frames_done) ||
	    !cJSON_AddNumberToObject(doc, "frames_total", (double)job->frames_total) ||
	    !srv_state_metrics(doc, job) ||
	    !srv_json_raw(doc, "error", job->error) ||
	    !cJSON_AddStringToObject(doc, "owner", job->owner) ||
	    !cJSON_AddStringToObject(doc, "body_sha256", job->body_hash) ||
	    !(job->idem_key ? cJSON_AddStringToObject(doc, "idempotency_key", job->idem_key) :
			      cJSON_AddNullToObject(doc, "idempotency_key")) ||
	    !srv_state_inputs(doc, job))
		goto delete_doc;
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;

delete_doc:
	cJSON_Delete(doc);
	return NULL;
}

/* Reading a state file: the first missing or wrong member is reported. */
struct srv_state_reader {
	const cJSON *doc;
	const char *bad;        /* name of the first member that was wrong */
};

static double srv_state_number(struct srv_state_reader *r, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->doc, name);

	if (cJSON_IsNumber(item))
		return item->valuedouble;
	if (!r->bad)
		r->bad = name;
	return 0;
}

/* A string member copied to buf (len bytes); false and reported if not one. */
static void srv_state_string(struct srv_state_reader *r, const char *name,
			     char *buf, size_t len)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->doc, name);

	if (cJSON_IsString(item) && strlen(item->valuestring) < len)
		memcpy(buf, item->valuestring, strlen(item->valuestring) + 1);
	else if (!r->bad)
		r->bad = name;
}

static enum srv_status srv_state_status(struct srv_state_reader *r)
{
	char name[16] = "";
	size_t i;

	srv_state_string(r, "status", name, sizeof(name));
	for (i = 0; i < SRV_STATUS_COUNT; i++)
		if (!strcmp(name, srv_status_names[i]))
			return (enum srv_status)i;
	if (!r->bad)
		r->bad = "status";
	return SRV_QUEUED;
}

static void srv_state_metrics_read(struct srv_state_reader *r, srv_job *job)
{
	struct srv_state_reader sub = { cJSON_GetObjectItemCaseSensitive(r->doc, "metrics"), NULL };

	if (!cJSON_IsObject(sub.doc))
		return;
	job->metrics.fps = srv_state_number(&sub, "fps");
	job->metrics.entropy = srv_state_number(&sub, "entropy");
	job->metrics.seconds = srv_state_number(&sub, "seconds");
	job->metrics.gflops = srv_state_number(&sub, "gflops");
	job->metrics.done = true;
	if (sub.bad && !r->bad)
		r->bad = "metrics";
}

/* The members that are documents or may be absent: error, key, inputs. */
static int srv_state_owned(struct srv_state_reader *r, srv_job *job)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(r->doc, "error");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(r->doc, "idempotency_key");
	const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(r->doc, "inputs");
	int ret;

	if (cJSON_IsObject(error)) {
		job->error = cJSON_PrintUnformatted(error);
		if (!job->error)
			return -ENOMEM;
	}
	if (cJSON_IsString(key)) {
		job->idem_key = strdup(key->valuestring);
		if (!job->idem_key)
			return -ENOMEM;
	}
	ret = srv_job_read_inputs(job, inputs);
	if (ret != -EINVAL)
		return ret;
	r->bad = r->bad ? r->bad : "inputs";
	return 0;
}

static int srv_state_read(struct srv_state_reader *r, srv_job *job)
{
	srv_state_string(r, "id", job->id, sizeof(job->id));
	job->status = srv_state_status(r);
	job->created_ns = (int64_t)srv_state_number(r, "created_us") * SRV_NS_PER_US;
	job->started_ns = (int64_t)srv_state_number(r, "started_us") * SRV_NS_PER_US;
	job->finished_ns = (int64_t)srv_state_number(r, "finished_us") * SRV_NS_PER_US;
	job->frames_done = (int64_t)srv_state_number(r, "frames_done");
	job->frames_total = (int64_t)srv_state_number(r, "frames_total");
	srv_state_string(r, "owner", job->owner, sizeof(job->owner));
	srv_state_string(r, "body_sha256", job->body_hash, sizeof(job->body_hash));
	srv_state_metrics_read(r, job);
	if (!r->bad && !srv_id_valid(job->id))
		r->bad = "id";
	return srv_state_owned(r, job);
}

int srv_job_from_state(const char *text, size_t len, srv_job **out,
		       char *err, size_t errlen)
{
	struct srv_state_reader r = { NULL, NULL };
	srv_job *job;
	cJSON *doc;
	int ret;

	doc = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(doc)) {
		snprintf(err, errlen, "not a JSON object");
		ret = -EINVAL;
		goto delete_doc;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		ret = -ENOMEM;
		goto delete_doc;
	}
	r.doc = doc;
	ret = srv_state_read(&r, job);
	if (!ret && r.bad) {
		snprintf(err, errlen, "member \"%s\" is missing or wrong", r.bad);
		ret = -EINVAL;
	}
	if (ret < 0) {
		srv_job_free(job);
		goto delete_doc;
	}
	atomic_init(&job->cancel, 0);
	atomic_init(&job->requeue, false);
	*out = job;
delete_doc:
	cJSON_Delete(doc);
	return ret;
}
