/*
 * srv_redis_backend: the backend of replicas sharing one Redis server and
 * one data directory (--redis-url). What lives where is in srv_redis_keys.
 *
 * - A submission moves the job's staged directory into jobs/, then one
 *   script writes its record, its list and status entries and adds an
 *   entry to the stream, so any replica can answer for it at once.
 * - Every replica is one consumer (its node name) of the stream's group;
 *   its workers read new entries with XREADGROUP and, first, take over
 *   with XAUTOCLAIM the entries another replica has held silent for
 *   --reclaim-after seconds (it died or lost Redis). A script starts the
 *   job under a new attempt token, which the record keeps; a job started
 *   SRV_REDIS_MAX_RUNS times without finishing is failed instead.
 * - While it runs, srv_redis_runs keeps the entry claimed, writes the
 *   progress and reads the cancel flag that cancel sets in the record.
 * - The final transition is a script that writes the outcome, moves the
 *   job between status sets and acknowledges (and deletes) the entry only
 *   when the record still names this run's attempt: a job is never
 *   reported finished twice. A run cancelled by shutdown goes back to the
 *   stream as a new entry.
 * - While Redis cannot be reached, /readyz and the calls that need it
 *   answer 503, workers wait and retry, and connections are made anew
 *   once it is back.
 */
#ifndef SRV_REDIS_BACKEND_H
#define SRV_REDIS_BACKEND_H

#include <stddef.h>

#include "server/srv_backend.h"

/* Starts of one job, after which it is failed rather than run again. */
#define SRV_REDIS_MAX_RUNS 3

/*
 * Opens the backend on cfg->redis_url and cfg->data (shared: staged
 * uploads there are left alone), as consumer node. Redis need not be up.
 * cfg, node and metrics are borrowed. A negative errno with a message in
 * err.
 */
int srv_redis_backend_open(const struct srv_config *cfg, const char *node,
			   srv_metrics *metrics, srv_backend **out, char *err,
			   size_t errlen);

#endif
