/*
 * srv_service: the running service: the backend keeping the jobs and the
 * workers behind it, the HTTP daemon in front, and the state they share.
 * Created by srv_main, read by the request handlers.
 */
#ifndef SRV_SERVICE_H
#define SRV_SERVICE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/srv_auth.h"
#include "server/srv_backend.h"
#include "server/srv_config.h"
#include "server/srv_metrics.h"
#include "server/srv_worker.h"

struct MHD_Daemon;
struct srv_conns;
struct srv_events;
struct srv_webhooks;

/* A process's name among the replicas: <host>-<pid>-<random>, and its NUL. */
#define SRV_NODE_LEN 96

typedef struct srv_service {
	const struct srv_config *cfg;   /* borrowed, outlives the service */
	char node[SRV_NODE_LEN];        /* sent as X-Served-By */
	srv_backend *backend;           /* owned, like everything below */
	srv_auth *auth;
	srv_metrics *metrics;
	struct pipe_limits limits;      /* of the media, from cfg */
	srv_pool *pool;
	struct MHD_Daemon *daemon;
	struct srv_conns *conns;        /* deadlines of the daemon's connections */
	struct srv_events *events;      /* the event streams' thread */
	struct srv_webhooks *webhooks;  /* the webhook deliveries' thread */
	atomic_bool ready;              /* the store is loaded, jobs queued */
	atomic_bool draining;           /* shutting down: no new jobs */
} srv_service;

/*
 * Opens the backend (which queues the jobs waiting again), starts the
 * workers and the HTTP daemon. *out is owned by the caller. A negative
 * errno with a message in err saying what to change.
 */
int srv_service_create(const struct srv_config *cfg, srv_service **out,
		       char *err, size_t errlen);

/* The TCP port the daemon listens on (useful with --port 0). */
int srv_service_port(const srv_service *svc);

/*
 * Shuts down: new jobs are refused (readyz 503), workers take no more,
 * running jobs get the grace period, then are cancelled and left queued.
 * The HTTP daemon keeps answering until srv_service_free.
 */
void srv_service_drain(srv_service *svc);

/* Stops the daemon and the workers and frees everything. */
void srv_service_free(srv_service *svc);

#endif
