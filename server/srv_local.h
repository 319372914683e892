/*
 * srv_local: the embedded backend, the default: one node, jobs recorded
 * in the data directory (srv_store), the bounded in-process queue
 * (srv_queue) and the Idempotency-Keys in memory (srv_idem), recovered
 * from the records at start-up: jobs waiting (and those that were running)
 * are queued again, oldest first.
 */
#ifndef SRV_LOCAL_H
#define SRV_LOCAL_H

#include <stddef.h>

#include "server/srv_backend.h"

/*
 * Opens the store on cfg->data (staged uploads left there are removed)
 * and queues its waiting jobs. cfg and metrics are borrowed. A negative
 * errno with a message in err.
 */
int srv_local_open(const struct srv_config *cfg, srv_metrics *metrics,
		   srv_backend **out, char *err, size_t errlen);

#endif
