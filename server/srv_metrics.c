/* srv_metrics: counters under one mutex, rendered on demand. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "server/srv_buf.h"
#include "server/srv_metrics.h"

/* Distinct status codes counted per operation. */
#define SRV_CODES_MAX 16

static const double srv_request_bounds[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};
static const double srv_job_bounds[] = {
	1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
};

#define SRV_N_BOUNDS(b) (sizeof(b) / sizeof((b)[0]))
#define SRV_BUCKETS_MAX 16

struct srv_histogram {
	const double *bounds;
	size_t n_bounds;
	uint64_t counts[SRV_BUCKETS_MAX];      /* per bucket, not cumulative */
	uint64_t total;
	double sum;
};

struct srv_code_count {
	int code;
	uint64_t count;
};

struct srv_op_stats {
	struct srv_code_count codes[SRV_CODES_MAX];
	size_t n_codes;
	struct srv_histogram duration;
};

struct srv_metrics {
	pthread_mutex_t lock;
	struct srv_op_stats ops[SRV_OP_COUNT];
	uint64_t frames;
	uint64_t jobs_ended[SRV_STATUS_COUNT];
	struct srv_histogram job_duration;
	uint64_t webhooks[SRV_WEBHOOK_OUTCOMES];
};

static const char *const srv_webhook_names[SRV_WEBHOOK_OUTCOMES] = {
	"delivered", "retried", "failed", "refused",
};

static const char *const srv_op_names[SRV_OP_COUNT] = {
	"create_job", "list_jobs", "get_job", "delete_job", "get_output",
	"cancel_job", "get_events", "get_attention", "get_frame", "healthz", "readyz", "metrics", "openapi",
	"studio", "studio_file", "not_found", "method_not_allowed",
};

static void srv_histogram_init(struct srv_histogram *h, const double *bounds,
			       size_t n_bounds)
{
	h->bounds = bounds;
	h->n_bounds = n_bounds;
}

static void srv_histogram_add(struct srv_histogram *h, double v)
{
	size_t i = 0;

	while (i < h->n_bounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->total++;
	h->sum += v;
}

srv_metrics *srv_metrics_create(void)
{
	srv_metrics *m = calloc(1, sizeof(*m));
	size_t i;

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	for (i = 0; i < SRV_OP_COUNT; i++)
		srv_histogram_init(&m->ops[i].duration, srv_request_bounds,
				   SRV_N_BOUNDS(srv_request_bounds));
	srv_histogram_init(&m->job_duration, srv_job_bounds,
			   SRV_N_BOUNDS(srv_job_bounds));
	return m;
}

void srv_metrics_free(srv_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Counts code; codes past SRV_CODES_MAX share the last slot's count. */
static void srv_op_count(struct srv_op_stats *s, int code)
{
	size_t i;

	for (i = 0; i < s->n_codes; i++) {
		if (s->codes[i].code == code) {
			s->codes[i].count++;
			return;
		}
	}
	if (s->n_codes < SRV_CODES_MAX)
		s->codes[s->n_codes++].code = code;
	s->codes[s->n_codes - 1].count++;
}

void srv_metrics_request(srv_metrics *m, enum srv_op op, int status,
			 double seconds)
{
	pthread_mutex_lock(&m->lock);
	srv_op_count(&m->ops[op], status);
	srv_histogram_add(&m->ops[op].duration, seconds);
	pthread_mutex_unlock(&m->lock);
}

void srv_metrics_frames(srv_metrics *m, int64_t frames)
{
	pthread_mutex_lock(&m->lock);
	m->frames += (uint64_t)frames;
	pthread_mutex_unlock(&m->lock);
}

void srv_metrics_job(srv_metrics *m, enum srv_status status, double seconds)
{
	pthread_mutex_lock(&m->lock);
	m->jobs_ended[status]++;
	srv_histogram_add(&m->job_duration, seconds);
	pthread_mutex_unlock(&m->lock);
}

void srv_metrics_webhook(srv_metrics *m, enum srv_webhook_outcome outcome)
{
	pthread_mutex_lock(&m->lock);
	m->webhooks[outcome]++;
	pthread_mutex_unlock(&m->lock);
}

/* The op's labels: op, method, route. */
static void srv_op_labels(char *buf, size_t len, enum srv_op op)
{
	snprintf(buf, len, "op=\"%s\",method=\"%s\",route=\"%s\"",
		 srv_op_names[op], srv_op_method(op), srv_op_route(op));
}

static void srv_render_header(struct srv_buf *b, const char *name,
			      const char *type, const char *help)
{
	srv_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The series of one histogram; labels may be "". */
static void srv_render_histogram(struct srv_buf *b, const char *name,
				 const char *labels, const struct srv_histogram *h)
{
	const char *sep = *labels ? "," : "";
	char block[192];
	uint64_t cumulative = 0;
	size_t i;

	for (i = 0; i < h->n_bounds; i++) {
		cumulative += h->counts[i];
		srv_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
			       sep, h->bounds[i], (unsigned long long)cumulative);
	}
	srv_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		       (unsigned long long)h->total);
	snprintf(block, sizeof(block), *labels ? "{%s}" : "%s", labels);
	srv_buf_printf(b, "%s_sum%s %.9g\n%s_count%s %llu\n", name, block,
		       h->sum, name, block, (unsigned long long)h->total);
}

static void srv_render_requests(struct srv_buf *b, const srv_metrics *m)
{
	char labels[160];
	size_t op, i;

	srv_render_header(b, "maskattn_http_requests_total", "counter",
			  "HTTP requests answered, by operation and status code.");
	for (op = 0; op < SRV_OP_COUNT; op++) {
		srv_op_labels(labels, sizeof(labels), (enum srv_op)op);
		for (i = 0; i < m->ops[op].n_codes; i++)
			srv_buf_printf(b, "maskattn_http_requests_total{%s,code=\"%d\"} %llu\n",
				       labels, m->ops[op].codes[i].code,
				       (unsigned long long)m->ops[op].codes[i].count);
	}
	srv_render_header(b, "maskattn_http_request_duration_seconds", "histogram",
			  "Time from a request's headers to its answer.");
	for (op = 0; op < SRV_OP_COUNT; op++) {
		srv_op_labels(labels, sizeof(labels), (enum srv_op)op);
		srv_render_histogram(b, "maskattn_http_request_duration_seconds",
				     labels, &m->ops[op].duration);
	}
}

static void srv_render_jobs(struct srv_buf *b, const srv_metrics *m,
			    const struct srv_gauges *g)
{
	size_t s;

	srv_render_header(b, "maskattn_jobs", "gauge", "Jobs in the store, by status.");
	for (s = 0; s < SRV_STATUS_COUNT; s++)
		srv_buf_printf(b, "maskattn_jobs{status=\"%s\"} %lld\n",
			       srv_status_name((enum srv_status)s), (long long)g->jobs[s]);
	srv_render_header(b, "maskattn_jobs_finished_total", "counter",
			  "Jobs that stopped running, by final status.");
	for (s = SRV_SUCCEEDED; s < SRV_STATUS_COUNT; s++)
		srv_buf_printf(b, "maskattn_jobs_finished_total{status=\"%s\"} %llu\n",
			       srv_status_name((enum srv_status)s),
			       (unsigned long long)m->jobs_ended[s]);
	srv_render_header(b, "maskattn_job_duration_seconds", "histogram",
			  "Time a job ran, from start to its final status.");
	srv_render_histogram(b, "maskattn_job_duration_seconds", "", &m->job_duration);
	srv_render_header(b, "maskattn_frames_processed_total", "counter",
			  "Frames that went through the engine.");
	srv_buf_printf(b, "maskattn_frames_processed_total %llu\n",
		       (unsigned long long)m->frames);
}

static void srv_render_webhooks(struct srv_buf *b, const srv_metrics *m)
{
	size_t i;

	srv_render_header(b, "maskattn_webhook_deliveries_total", "counter",
			  "Webhook delivery attempts, by outcome.");
	for (i = 0; i < SRV_WEBHOOK_OUTCOMES; i++)
		srv_buf_printf(b, "maskattn_webhook_deliveries_total{outcome=\"%s\"} %llu\n",
			       srv_webhook_names[i], (unsigned long long)m->webhooks[i]);
}

static void srv_render_gauges(struct srv_buf *b, const struct srv_gauges *g)
{
	srv_render_header(b, "maskattn_queue_depth", "gauge", "Jobs waiting for a worker.");
	srv_buf_printf(b, "maskattn_queue_depth %lld\n", (long long)g->queue_depth);
	srv_render_header(b, "maskattn_workers", "gauge", "Workers in the pool.");
	srv_buf_printf(b, "maskattn_workers %lld\n", (long long)g->workers);
	srv_render_header(b, "maskattn_workers_busy", "gauge", "Workers running a job.");
	srv_buf_printf(b, "maskattn_workers_busy %lld\n", (long long)g->workers_busy);
	srv_render_header(b, "maskattn_worker_utilization", "gauge",
			  "Share of the workers running a job, 0 to 1.");
	srv_buf_printf(b, "maskattn_worker_utilization %g\n",
		       g->workers ? (double)g->workers_busy / (double)g->workers : 0.0);
}

char *srv_metrics_render(srv_metrics *m, const struct srv_gauges *g)
{
	struct srv_buf b = { 0 };

	pthread_mutex_lock(&m->lock);
	srv_render_requests(&b, m);
	srv_render_jobs(&b, m, g);
	srv_render_webhooks(&b, m);
	pthread_mutex_unlock(&m->lock);
	srv_render_gauges(&b, g);
	return srv_buf_take(&b);
}
