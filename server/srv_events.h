/*
 * srv_events: live job progress as Server-Sent Events
 * (GET /v1/jobs/{id}/events).
 *
 * A stream starts with a `status` event (the job JSON). A thread of its own
 * reads every open stream's job from the backend every SRV_EVENTS_POLL_MS
 * (the same read in both backends, so a job another replica runs is
 * followed through Redis) and adds to the stream:
 *
 * - `status` (data: the job JSON) when the status differs from the last
 *   one sent;
 * - `progress` (data: {"frames_done", "frames_total", "fps", "eta"}) when
 *   frames were done since the last one, at most every
 *   SRV_EVENTS_PROGRESS_MS; fps is the pipeline's, eta its estimate of the
 *   seconds left (frames left / fps, null until fps is known);
 * - `end` (data: the final job JSON) once the job is succeeded, failed or
 *   canceled, after which the stream closes;
 * - a comment line (": keep-alive") after SRV_EVENTS_KEEPALIVE_S without
 *   anything else, so that proxies keep the connection.
 *
 * Every event has an `id:` line counting from 1 in its stream; a reconnect
 * (Last-Event-ID or not) starts again with the current status. A status
 * held for less than the poll interval may be skipped; `end` never is. A
 * job deleted while streamed closes its stream without `end`.
 *
 * The HTTP threads never wait: a stream with nothing to send suspends its
 * connection (MHD_suspend_connection, which needs MHD_ALLOW_SUSPEND_RESUME)
 * and the thread resumes it when there is news. A suspended connection has
 * no idle timeout in MHD, which restarts the timeout when it resumes, so a
 * healthy stream is never cut, while a client that stops reading is still
 * timed out when a write waits on it.
 */
#ifndef SRV_EVENTS_H
#define SRV_EVENTS_H

#include <microhttpd.h>

#include "server/srv_backend.h"
#include "server/srv_job.h"

/* How often the streamed jobs are read. */
#define SRV_EVENTS_POLL_MS 250

/* Least time between two progress events of one stream. */
#define SRV_EVENTS_PROGRESS_MS 500

/* Seconds of silence after which a keep-alive comment is sent. */
#define SRV_EVENTS_KEEPALIVE_S 15

typedef struct srv_events srv_events;

/*
 * Starts the thread that follows the streams' jobs in backend (borrowed,
 * must outlive the srv_events). 0 or a negative errno; *out is owned by
 * the caller.
 */
int srv_events_create(srv_backend *backend, srv_events **out);

/*
 * Ends every stream (what was queued is still sent), stops the thread and
 * waits a moment for the streams' last bytes to reach their clients; no
 * stream opens afterwards. Call before MHD_stop_daemon: MHD must not be
 * stopped with suspended connections, nor before the ended streams are
 * written, or their clients see a cut instead of the end.
 */
void srv_events_close(srv_events *ev);

/*
 * Frees ev (NULL is fine) once the daemon has stopped, so that no response
 * refers to it.
 */
void srv_events_free(srv_events *ev);

/*
 * A response streaming job's events on conn (borrowed: the connection the
 * response is queued on), starting from job (borrowed, as just read for
 * owner). NULL when out of memory or closed.
 */
struct MHD_Response *srv_events_open(srv_events *ev, struct MHD_Connection *conn,
				     const srv_job *job, const char *owner);

#endif
