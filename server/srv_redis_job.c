/* srv_redis_job: encoding and decoding records. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "server/srv_clock.h"
#include "server/srv_redis_job.h"

/* The record being built. */
static void srv_rec_add(struct srv_redis_record *rec, const char *name,
			const char *value)
{
	rec->argv[rec->argc++] = name;
	rec->argv[rec->argc++] = value;
}

/* A number field; slot picks the record's text buffer. */
static void srv_rec_int(struct srv_redis_record *rec, size_t slot,
			const char *name, int64_t v)
{
	snprintf(rec->numbers[slot], SRV_REDIS_NUMBER_LEN, "%" PRId64, v);
	srv_rec_add(rec, name, rec->numbers[slot]);
}

/* A real field, or "" when not known. */
static void srv_rec_real(struct srv_redis_record *rec, size_t slot,
			 const char *name, double v, bool known)
{
	snprintf(rec->numbers[slot], SRV_REDIS_NUMBER_LEN, "%.17g", v);
	srv_rec_add(rec, name, known ? rec->numbers[slot] : "");
}

int srv_redis_job_encode(const srv_job *job, struct srv_redis_record *rec)
{
	const struct srv_job_metrics *m = &job->metrics;
	cJSON *inputs = srv_job_inputs_cjson(job);

	memset(rec, 0, sizeof(*rec));
	rec->inputs = inputs ? cJSON_PrintUnformatted(inputs) : NULL;
	cJSON_Delete(inputs);
	if (!rec->inputs)
		return -ENOMEM;
	srv_rec_add(rec, "id", job->id);
	srv_rec_add(rec, "status", srv_status_name(job->status));
	srv_rec_int(rec, 0, "created_us", job->created_ns / SRV_NS_PER_US);
	srv_rec_int(rec, 1, "started_us", job->started_ns / SRV_NS_PER_US);
	srv_rec_int(rec, 2, "finished_us", job->finished_ns / SRV_NS_PER_US);
	srv_rec_int(rec, 3, "frames_done", job->frames_done);
	srv_rec_int(rec, 4, "frames_total", job->frames_total);
	srv_rec_real(rec, 5, "fps", m->fps, true);
	srv_rec_real(rec, 6, "entropy", m->entropy, m->done);
	srv_rec_real(rec, 7, "seconds", m->seconds, m->done);
	srv_rec_real(rec, 8, "gflops", m->gflops, m->done);
	srv_rec_add(rec, "error", job->error ? job->error : "");
	srv_rec_add(rec, "owner", job->owner);
	srv_rec_add(rec, "body_sha256", job->body_hash);
	srv_rec_add(rec, "idempotency_key", job->idem_key ? job->idem_key : "");
	srv_rec_add(rec, "inputs", rec->inputs);
	srv_rec_add(rec, "spec", job->spec ? job->spec : "");
	return 0;
}

void srv_redis_job_release(struct srv_redis_record *rec)
{
	free(rec->inputs);
	rec->inputs = NULL;
}

/* Reading a record: the first missing or wrong field is reported. */
struct srv_rec_reader {
	const char *const *argv;
	size_t n;
	const char *bad;        /* the first field that was wrong */
};

/* The value of field name; NULL (reported) when absent. */
static const char *srv_rec_field(struct srv_rec_reader *r, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < r->n; i += 2)
		if (!strcmp(r->argv[i], name))
			return r->argv[i + 1];
	if (!r->bad)
		r->bad = name;
	return NULL;
}

static int64_t srv_rec_read_int(struct srv_rec_reader *r, const char *name)
{
	const char *text = srv_rec_field(r, name);
	char *end;
	int64_t v;

	if (!text)
		return 0;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || *end) {
		r->bad = r->bad ? r->bad : name;
		return 0;
	}
	return v;
}

/* A real field; false when it is "" (not known). */
static bool srv_rec_read_real(struct srv_rec_reader *r, const char *name,
			      double *v)
{
	const char *text = srv_rec_field(r, name);
	char *end;

	*v = 0;
	if (!text || !*text)
		return false;
	*v = strtod(text, &end);
	if (*end)
		r->bad = r->bad ? r->bad : name;
	return true;
}

/* A text field copied to buf (len bytes). */
static void srv_rec_read_text(struct srv_rec_reader *r, const char *name,
			      char *buf, size_t len)
{
	const char *text = srv_rec_field(r, name);

	if (text && strlen(text) < len)
		memcpy(buf, text, strlen(text) + 1);
	else if (text)
		r->bad = r->bad ? r->bad : name;
}

/* A text field duplicated into *out, NULL when "" (or absent: reported). */
static int srv_rec_read_owned(struct srv_rec_reader *r, const char *name,
			      char **out)
{
	const char *text = srv_rec_field(r, name);

	*out = text && *text ? strdup(text) : NULL;
	return text && *text && !*out ? -ENOMEM : 0;
}

static enum srv_status srv_rec_read_status(struct srv_rec_reader *r)
{
	const char *text = srv_rec_field(r, "status");
	size_t s;

	for (s = 0; text && s < SRV_STATUS_COUNT; s++)
		if (!strcmp(text, srv_status_name((enum srv_status)s)))
			return (enum srv_status)s;
	r->bad = r->bad ? r->bad : "status";
	return SRV_QUEUED;
}

static int srv_rec_read_inputs(struct srv_rec_reader *r, srv_job *job)
{
	const char *text = srv_rec_field(r, "inputs");
	cJSON *inputs = text ? cJSON_Parse(text) : NULL;
	int ret = text ? srv_job_read_inputs(job, inputs) : 0;

	cJSON_Delete(inputs);
	if (ret == -EINVAL)
		r->bad = r->bad ? r->bad : "inputs";
	return ret == -ENOMEM ? ret : 0;
}

static int srv_rec_read(struct srv_rec_reader *r, srv_job *job)
{
	struct srv_job_metrics *m = &job->metrics;
	int ret;

	srv_rec_read_text(r, "id", job->id, sizeof(job->id));
	job->status = srv_rec_read_status(r);
	job->created_ns = srv_rec_read_int(r, "created_us") * SRV_NS_PER_US;
	job->started_ns = srv_rec_read_int(r, "started_us") * SRV_NS_PER_US;
	job->finished_ns = srv_rec_read_int(r, "finished_us") * SRV_NS_PER_US;
	job->frames_done = srv_rec_read_int(r, "frames_done");
	job->frames_total = srv_rec_read_int(r, "frames_total");
	srv_rec_read_real(r, "fps", &m->fps);
	m->done = srv_rec_read_real(r, "entropy", &m->entropy);
	srv_rec_read_real(r, "seconds", &m->seconds);
	srv_rec_read_real(r, "gflops", &m->gflops);
	srv_rec_read_text(r, "owner", job->owner, sizeof(job->owner));
	srv_rec_read_text(r, "body_sha256", job->body_hash, sizeof(job->body_hash));
	if (!r->bad && !srv_id_valid(job->id))
		r->bad = "id";
	ret = srv_rec_read_owned(r, "error", &job->error);
	if (!ret)
		ret = srv_rec_read_owned(r, "idempotency_key", &job->idem_key);
	if (!ret)
		ret = srv_rec_read_owned(r, "spec", &job->spec);
	if (!ret)
		ret = srv_rec_read_inputs(r, job);
	if (!ret && !job->spec && !r->bad)
		r->bad = "spec";
	return ret;
}

int srv_redis_job_decode(const char *const *argv, size_t n, srv_job **out,
			 char *err, size_t errlen)
{
	struct srv_rec_reader r = { argv, n, NULL };
	srv_job *job = srv_job_create("");
	int ret;

	if (!job)
		return -ENOMEM;
	ret = srv_rec_read(&r, job);
	if (!ret && r.bad) {
		snprintf(err, errlen, "field \"%s\" is missing or wrong", r.bad);
		ret = -EINVAL;
	}
	if (ret < 0) {
		srv_job_free(job);
		return ret;
	}
	*out = job;
	return 0;
}
