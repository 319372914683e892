/*
 * srv_jobs: what is done to jobs on the service's behalf: queueing a
 * committed one, cancelling, deleting, expiring finished ones, and the
 * bookkeeping at start-up (jobs queued again, idempotency keys known).
 */
#ifndef SRV_JOBS_H
#define SRV_JOBS_H

#include <stdint.h>

#include "server/srv_clock.h"
#include "server/srv_service.h"

/* How long cancel waits for a running job to stop before answering. */
#define SRV_CANCEL_WAIT_NS (3 * SRV_NS_PER_S)

/*
 * Queues job into a place reserved with srv_queue_reserve (the queue takes
 * a reference of its own). 0 or -ENOMEM.
 */
int srv_jobs_enqueue(srv_service *svc, srv_job *job);

/*
 * Cancels job: a queued one at once, a running one is asked to stop and
 * waited for up to SRV_CANCEL_WAIT_NS. Finished jobs are left as they are.
 */
void srv_jobs_cancel(srv_service *svc, srv_job *job);

/*
 * Deletes job: cancels it first and waits until no worker holds it, then
 * removes its files and forgets its idempotency key.
 */
int srv_jobs_delete(srv_service *svc, srv_job *job);

/* Deletes the finished jobs older than the retention time. */
void srv_jobs_expire(srv_service *svc);

/*
 * At start-up: records the stored jobs' idempotency keys and queues the
 * jobs waiting (and those that were running) again, oldest first.
 */
int srv_jobs_recover(srv_service *svc);

/* Samples the gauges of the metrics page. */
void srv_jobs_gauges(srv_service *svc, struct srv_gauges *g);

#endif
