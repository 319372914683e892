/*
 * srv_http: the libmicrohttpd daemon: an internal epoll thread pool, the
 * connection limits (all, per address, open files) and timeouts from the
 * configuration (idle in MHD, slow requests in srv_conns), one request
 * context per request (routing, authentication, dispatch to the handlers)
 * and, when a request ends for any reason (answered, failed, client gone),
 * its metrics, its log line and the release of what it held.
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include <stddef.h>

#include "server/srv_service.h"

/*
 * Starts the daemon for svc (borrowed, must outlive it) into svc->daemon.
 * A negative errno with a message in err.
 */
int srv_http_start(srv_service *svc, char *err, size_t errlen);

/* Stops the daemon, closing every connection. */
void srv_http_stop(srv_service *svc);

/* The port it listens on. */
int srv_http_port(const srv_service *svc);

#endif
