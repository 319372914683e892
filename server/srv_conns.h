/*
 * srv_conns: the open connections and a deadline for each, so that slow
 * clients cannot keep connections: MHD's own timeout counts idle time only,
 * and a client sending a byte a second is never idle.
 *
 * - A request's headers must be whole within the timeout of the connection
 *   opening or of the previous answer.
 * - Its body gets the timeout plus one second per SRV_CONNS_MIN_RATE bytes
 *   received, so it must average that rate once the timeout has passed.
 * - While an answer is sent only MHD's idle timeout applies.
 * Each deadline falls a second after MHD's idle timeout would close the
 * same connection had it sent nothing, so idle ones are MHD's to close.
 *
 * A thread checks the deadlines every SRV_CONNS_SWEEP_MS and shuts down
 * the socket of each connection past its own (shutdown, not close: MHD
 * still owns the descriptor); MHD then closes it as closed by the client.
 * Connections are tracked from MHD's connection notifications.
 */
#ifndef SRV_CONNS_H
#define SRV_CONNS_H

#include <stddef.h>

#include <microhttpd.h>

/* Bytes a second a request body must average after the timeout. */
#define SRV_CONNS_MIN_RATE 1024

/* Milliseconds between two checks of the deadlines. */
#define SRV_CONNS_SWEEP_MS 250

typedef struct srv_conns srv_conns;

/*
 * Starts the thread that enforces deadlines of timeout_s seconds. 0 or a
 * negative errno; *out is owned by the caller.
 */
int srv_conns_create(int timeout_s, srv_conns **out);

/* Stops the thread and frees conns (after MHD_stop_daemon; NULL is fine). */
void srv_conns_free(srv_conns *conns);

/* The MHD_OPTION_NOTIFY_CONNECTION callback; cls is the srv_conns. */
void srv_conns_notify(void *cls, struct MHD_Connection *conn,
		      void **socket_context,
		      enum MHD_ConnectionNotificationCode code);

/* conn's request has its headers: its body is timed from now. */
void srv_conns_request(struct MHD_Connection *conn);

/* n more body bytes of conn's request have arrived. */
void srv_conns_body(struct MHD_Connection *conn, size_t n);

/* conn's request is whole: no deadline while it is answered. */
void srv_conns_answering(struct MHD_Connection *conn);

/* conn's answer is sent: the next request's headers are timed from now. */
void srv_conns_idle(struct MHD_Connection *conn);

#endif
