/*
 * srv_redis_runs: the jobs this replica runs with the Redis backend, and
 * the thread that keeps each one alive while it runs: every
 * SRV_REDIS_BEAT_NS it writes the job's progress into its record when it
 * moved (so progress costs Redis a few writes a second per job at most),
 * renews this replica's claim on the job's stream entry (so that no other
 * replica takes it over), and reads whether the job was asked to stop.
 * A job whose record names another run (taken over while this replica was
 * cut off) is stopped too. Thread-safe.
 */
#ifndef SRV_REDIS_RUNS_H
#define SRV_REDIS_RUNS_H

#include "pipeline/pipe_job.h"
#include "server/srv_job.h"
#include "server/srv_redis.h"

#define SRV_REDIS_BEAT_NS (SRV_NS_PER_S / 2)

/* A stream entry id ("<ms>-<seq>") and a run's token, with their NUL. */
#define SRV_REDIS_ENTRY_LEN 48
#define SRV_REDIS_ATTEMPT_LEN 128

typedef struct srv_redis_runs srv_redis_runs;

/*
 * Room for slots runs at once, and the thread keeping them alive on
 * redis, as consumer of the workers' group. redis and consumer are
 * borrowed. 0 or a negative errno.
 */
int srv_redis_runs_start(srv_redis *redis, const char *consumer, int slots,
			 srv_redis_runs **out);

/* Stops the thread and frees the registry; no run may be left. */
void srv_redis_runs_free(srv_redis_runs *runs);

/*
 * Registers job (taken: freed by srv_redis_runs_remove), run as attempt
 * from stream entry. -EBUSY when every slot is used.
 */
int srv_redis_runs_add(srv_redis_runs *runs, srv_job *job, const char *entry,
		       const char *attempt);

/* Records job's progress, written to Redis at the next beat. */
void srv_redis_runs_progress(srv_redis_runs *runs, srv_job *job,
			     const struct pipe_progress *p);

/*
 * Enters the outcome of job's run (srv_job_end_run) and copies out the
 * entry and attempt to record it with. Returns the status entered.
 */
enum srv_status srv_redis_runs_end(srv_redis_runs *runs, srv_job *job, int ret,
				   const struct pipe_job_result *res,
				   const char *err,
				   char entry[SRV_REDIS_ENTRY_LEN],
				   char attempt[SRV_REDIS_ATTEMPT_LEN]);

/* Unregisters job and frees it. */
void srv_redis_runs_remove(srv_redis_runs *runs, srv_job *job);

#endif
