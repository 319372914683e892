/*
 * srv_store: the embedded backend's durable job records. Each job's
 * directory (srv_dirs) holds spec.json (the normalized spec) and
 * state.json beside its inputs and output; both are written in the staging
 * directory before it is adopted, and state.json is replaced atomically
 * (srv_fs_write_atomic). Opening the store scans jobs/: jobs found
 * "running" become "queued" again, to be run from the start.
 *
 * One lock guards the index and every job's fields: take it with
 * srv_store_lock around reads and writes of a job. Jobs are reference
 * counted: the index holds one reference, srv_store_get and srv_store_ref
 * give more, srv_store_put drops one (the job is freed at zero).
 */
#ifndef SRV_STORE_H
#define SRV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/srv_dirs.h"
#include "server/srv_job.h"

typedef struct srv_store srv_store;

/* Names of the store's files in a job directory. */
#define SRV_SPEC_FILE   "spec.json"
#define SRV_STATE_FILE  "state.json"

/*
 * Opens the store in dirs (borrowed, must outlive it) and loads its jobs;
 * a job directory that cannot be read is logged and left alone. *out is
 * owned by the caller. A negative errno with a message in err on failure.
 */
int srv_store_open(srv_dirs *dirs, srv_store **out, char *err, size_t errlen);

/* Frees the store and every job in its index. No other thread may use it. */
void srv_store_free(srv_store *store);

void srv_store_lock(srv_store *store);
void srv_store_unlock(srv_store *store);

/*
 * Waits, lock held, until srv_store_broadcast or the CLOCK_MONOTONIC
 * deadline (ns). False once the deadline has passed.
 */
bool srv_store_wait(srv_store *store, int64_t deadline_ns);

/* Wakes the srv_store_wait callers, lock held. */
void srv_store_broadcast(srv_store *store);

/*
 * The job id when it belongs to owner (the same owner hash, "" without
 * auth), with a reference for the caller; NULL otherwise. Lock not held.
 */
srv_job *srv_store_get(srv_store *store, const char *id, const char *owner);

/* A reference more (lock not held). */
void srv_store_ref(srv_store *store, srv_job *job);

/* Drops a reference (lock not held). */
void srv_store_put(srv_store *store, srv_job *job);

/* Calls fn on every job, oldest first, lock held. */
void srv_store_each(srv_store *store, void (*fn)(srv_job *job, void *opaque),
		    void *opaque);

/*
 * The jobs for which pred (called lock held) is true, oldest first, each
 * with a reference for the caller: *out is an array the caller frees after
 * dropping the references. Returns the count, or -ENOMEM.
 */
int srv_store_select(srv_store *store,
		     bool (*pred)(const srv_job *job, const void *opaque),
		     const void *opaque, srv_job ***out);

/*
 * Makes job durable: writes spec.json (job->spec) and state.json in its
 * staging directory, renames it into jobs/ and adds the job to the index,
 * which takes job (the caller's reference becomes the index's).
 */
int srv_store_commit(srv_store *store, srv_job *job);

/* Writes job's state.json (lock not held); nothing once it was removed. */
int srv_store_save(srv_store *store, srv_job *job);

/*
 * Removes job from the index and its directory from disk (lock not held;
 * no worker may hold it). The caller's own references stay valid.
 */
int srv_store_remove(srv_store *store, srv_job *job);

/*
 * A page of owner's jobs, newest first, as the JSON text of
 * {"jobs": [...], "next_cursor": "..." or null} (caller frees). cursor is
 * a previous page's next_cursor or NULL. -EINVAL when cursor is not one.
 */
int srv_store_list(srv_store *store, const char *owner, const char *cursor,
		   size_t limit, char **out);

#endif
