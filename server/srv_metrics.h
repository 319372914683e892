/*
 * srv_metrics: the service's counters and histograms, and the Prometheus
 * text page (exposition format 0.0.4) built from them and from the gauges
 * the caller samples. Thread-safe.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stdint.h>

#include "server/srv_job.h"
#include "server/srv_route.h"

/* What is sampled at scrape time. */
struct srv_gauges {
	int64_t jobs[SRV_STATUS_COUNT];         /* jobs in the store by status */
	int64_t queue_depth;
	int64_t workers;
	int64_t workers_busy;
};

/* What became of one webhook delivery attempt. */
enum srv_webhook_outcome {
	SRV_WEBHOOK_DELIVERED,  /* answered 2xx */
	SRV_WEBHOOK_RETRIED,    /* failed, tried again later */
	SRV_WEBHOOK_FAILED,     /* failed for good (4xx, or out of tries) */
	SRV_WEBHOOK_REFUSED,    /* the destination is not allowed */
	SRV_WEBHOOK_OUTCOMES,
};

typedef struct srv_metrics srv_metrics;

/* NULL when out of memory. */
srv_metrics *srv_metrics_create(void);
void srv_metrics_free(srv_metrics *m);

/* One request answered with status after seconds. */
void srv_metrics_request(srv_metrics *m, enum srv_op op, int status,
			 double seconds);

/* frames more frames went through a job. */
void srv_metrics_frames(srv_metrics *m, int64_t frames);

/* A job ended with status after running for seconds. */
void srv_metrics_job(srv_metrics *m, enum srv_status status, double seconds);

/* A webhook delivery attempt ended with outcome. */
void srv_metrics_webhook(srv_metrics *m, enum srv_webhook_outcome outcome);

/* The page, owned by the caller (free with free()); NULL when out of memory. */
char *srv_metrics_render(srv_metrics *m, const struct srv_gauges *g);

#endif
