/* srv_service: assembling, draining and tearing down the service. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/srv_clock.h"
#include "server/srv_http.h"
#include "server/srv_jobs.h"
#include "server/srv_log.h"
#include "server/srv_service.h"

/* The parts that need nothing but memory. */
static int srv_service_alloc(srv_service *svc, const struct srv_config *cfg)
{
	svc->cfg = cfg;
	svc->queue = srv_queue_create((size_t)cfg->queue);
	svc->idem = srv_idem_create();
	svc->auth = srv_auth_create(cfg->api_keys);
	svc->metrics = srv_metrics_create();
	atomic_init(&svc->ready, false);
	atomic_init(&svc->draining, false);
	return svc->queue && svc->idem && svc->auth && svc->metrics ? 0 : -ENOMEM;
}

static int srv_service_start_pool(srv_service *svc)
{
	struct srv_pool_deps deps = {
		.cfg = svc->cfg,
		.store = svc->store,
		.queue = svc->queue,
		.metrics = svc->metrics,
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
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		goto free_service;
	}
	ret = srv_store_open(cfg->data, &svc->store, err, errlen);
	if (ret < 0)
		goto free_service;
	ret = srv_jobs_recover(svc);
	if (!ret)
		ret = srv_service_start_pool(svc);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start the workers: %s", strerror(-ret));
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
	srv_queue_close(svc->queue);
	srv_log(SRV_LOG_INFO, "draining", "%d running job(s) get %d s to finish",
		busy, svc->cfg->grace);
	if (srv_pool_wait_idle(svc->pool, deadline))
		return;
	srv_log(SRV_LOG_WARN, "draining", "grace period over: running jobs are "
		"cancelled and stay queued for the next start");
	srv_pool_requeue_running(svc->pool);
	srv_pool_wait_idle(svc->pool, INT64_MAX);
}

/*
 * The jobs still queued are in the store's index too: freeing the store
 * frees them, so the queue's references need not be dropped one by one.
 */
void srv_service_free(srv_service *svc)
{
	if (!svc)
		return;
	srv_http_stop(svc);
	if (svc->queue)
		srv_queue_close(svc->queue);
	srv_pool_free(svc->pool);
	srv_store_free(svc->store);
	srv_metrics_free(svc->metrics);
	srv_auth_free(svc->auth);
	srv_idem_free(svc->idem);
	srv_queue_free(svc->queue);
	free(svc);
}
