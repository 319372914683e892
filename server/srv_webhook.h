/*
 * srv_webhook: telling a job's webhook (spec "webhook") that the job ended.
 *
 * When a job becomes final here and its spec subscribes to that status
 * ("completed" is any final status), the job JSON is POSTed to the URL
 * with the headers
 *
 *   Content-Type: application/json
 *   X-Maskattn-Event: succeeded | failed | canceled
 *   X-Maskattn-Timestamp: <Unix seconds>
 *   X-Maskattn-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">
 *
 * keyed by the operator's --webhook-secret. Deliveries run on a thread of
 * their own (never on a worker or an HTTP thread), one at a time, through
 * libcurl: http and https only, no redirects, no proxy, 5 s to connect,
 * 10 s in all. A connection error, a 5xx or a 429 is tried again after 1,
 * 2, 4 and 8 s (five tries); any other answer ends it. Each try's outcome
 * is logged and counted (maskattn_webhook_deliveries_total).
 *
 * Destinations go through the allow-list (srv_allow): the URL's host is
 * resolved here and every address must be allowed, then curl connects to
 * those addresses only (CURLOPT_RESOLVE pins them, and the socket callback
 * checks the address it connects to), so a name that resolves differently
 * the second time (DNS rebinding) cannot reach a refused address.
 * Deliveries still waiting when the service stops are dropped (logged).
 */
#ifndef SRV_WEBHOOK_H
#define SRV_WEBHOOK_H

#include <stddef.h>

#include "server/srv_config.h"
#include "server/srv_job.h"
#include "server/srv_metrics.h"

/* Tries of one delivery; the waits between them double from 1 s. */
#define SRV_WEBHOOK_TRIES 5

typedef struct srv_webhooks srv_webhooks;

/*
 * Starts the delivery thread with cfg's secret and allow-list. cfg and
 * metrics are borrowed and must outlive it. A negative errno with a message
 * in err.
 */
int srv_webhooks_create(const struct srv_config *cfg, srv_metrics *metrics,
			srv_webhooks **out, char *err, size_t errlen);

/* Stops the thread (a delivery under way is cut short) and frees (NULL is fine). */
void srv_webhooks_free(srv_webhooks *w);

/*
 * Whether a spec's webhook url can be accepted at submit: 0, or -EPERM
 * with the reason in msg (no secret configured; a host the allow-list
 * refuses, decided without DNS: address literals, localhost, listed
 * names). Names that need resolving are checked at delivery.
 */
int srv_webhooks_check(const srv_webhooks *w, const char *url, char *msg,
		       size_t msglen);

/* The backend's final hook (srv_backend_on_final): queues job's webhook, if any. */
void srv_webhooks_job(void *opaque, const srv_job *job);

#endif
