/* srv_service: assembling, draining and tearing down the service. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/srv_clock.h"
#include "server/srv_events.h"
#include "server/srv_http.h"
#include "server/srv_log.h"
#include "server/srv_service.h"
#include "server/srv_webhook.h"

/* The media limits in the pipeline's terms. */
static void srv_service_limits(struct pipe_limits *lim, const struct srv_config *cfg)
{
	lim->max_width = cfg->max_width;
	lim->max_height = cfg->max_height;
	lim->max_pixels = cfg->max_pixels;
	lim->max_frames = cfg->max_frames;
	lim->max_duration = (double)cfg->max_duration;
	lim->max_decoded = cfg->max_decoded;
}

/* The parts that need nothing but memory. */
static int srv_service_alloc(srv_service *svc, const struct srv_config *cfg)
{
	svc->cfg = cfg;
	srv_service_limits(&svc->limits, cfg);
	svc->auth = srv_auth_create(cfg->api_keys);
	svc->metrics = srv_metrics_create();
	atomic_init(&svc->ready, false);
	atomic_init(&svc->draining, false);
	return svc->auth && svc->metrics ? 0 : -ENOMEM;
}

/* <host>-<pid>-<8 random hex digits>: unique among live and past replicas. */
static int srv_service_name(srv_service *svc)
{
	char host[HOST_NAME_MAX + 1] = "", nonce[SRV_ID_LEN + 1];
	int ret = srv_id_new(nonce);

	if (ret < 0)
		return ret;
	gethostname(host, sizeof(host) - 1);
	snprintf(svc->node, sizeof(svc->node), "%s-%ld-%.8s", *host ? host : "node",
		 (long)getpid(), nonce);
	return 0;
}

static int srv_service_start_pool(srv_service *svc)
{
	struct srv_pool_deps deps = {
		.cfg = svc->cfg,
		.backend = svc->backend,
		.metrics = svc->metrics,
		.limits = &svc->limits,
	};

	return srv_pool_start(&deps, &svc->pool);
}

int srv_service_create(const struct srv_config *cfg, srv_service **out,
		       char *err, size_t errlen)
{
	srv_service *svc = calloc(1, sizeof(*svc));
	int ret;

	if (!svc)
		return -ENOMEM;
	ret = srv_service_alloc(svc, cfg);
	if (!ret)
		ret = srv_service_name(svc);
	if (ret < 0) {
		snprintf(err, errlen, "cannot set up the service: %s", strerror(-ret));
		goto free_service;
	}
	ret = srv_backend_open(cfg, svc->node, svc->metrics, &svc->backend, err,
			       errlen);
	if (ret < 0)
		goto free_service;
	ret = srv_webhooks_create(cfg, svc->metrics, &svc->webhooks, err, errlen);
	if (ret < 0)
		goto free_service;
	srv_backend_on_final(svc->backend, srv_webhooks_job, svc->webhooks);
	ret = srv_service_start_pool(svc);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start the workers: %s", strerror(-ret));
		goto free_service;
	}
	ret = srv_events_create(svc->backend, &svc->events);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start the event streams: %s", strerror(-ret));
		goto free_service;
	}
	ret = srv_http_start(svc, err, errlen);
	if (ret < 0)
		goto free_service;
	atomic_store(&svc->ready, true);
	*out = svc;
	return 0;

free_service:
	srv_service_free(svc);
	return ret;
}

int srv_service_port(const srv_service *svc)
{
	return srv_http_port(svc);
}

void srv_service_drain(srv_service *svc)
{
	int64_t deadline = srv_mono_ns() + (int64_t)svc->cfg->grace * SRV_NS_PER_S;
	int busy = srv_pool_busy(svc->pool);

	atomic_store(&svc->draining, true);
	srv_backend_close(svc->backend);
	srv_log(SRV_LOG_INFO, "draining", "%d running job(s) get %d s to finish",
		busy, svc->cfg->grace);
	if (srv_pool_wait_idle(svc->pool, deadline))
		return;
	srv_log(SRV_LOG_WARN, "draining", "grace period over: running jobs are "
		"cancelled and queued again");
	srv_pool_requeue_running(svc->pool);
	srv_pool_wait_idle(svc->pool, INT64_MAX);
}

void srv_service_free(srv_service *svc)
{
	if (!svc)
		return;
	srv_events_close(svc->events);
	srv_http_stop(svc);
	srv_events_free(svc->events);
	if (svc->backend)
		srv_backend_close(svc->backend);
	srv_pool_free(svc->pool);
	srv_webhooks_free(svc->webhooks);
	srv_backend_free(svc->backend);
	srv_metrics_free(svc->metrics);
	srv_auth_free(svc->auth);
	free(svc);
}
