/*
 * srv_redis_url: where Redis is, read from --redis-url. Pure.
 *
 *   redis://[[user]:password@]host[:port][/db]   port 6379, db 0; host may
 *                                                be an [IPv6] literal
 *   unix://[[user]:password@]/path/to/socket[?db=N]
 *
 * The user and password may be percent-encoded (%40 for '@', ...).
 */
#ifndef SRV_REDIS_URL_H
#define SRV_REDIS_URL_H

#include <stddef.h>

#define SRV_REDIS_PORT 6379

struct srv_redis_url {
	char host[256];         /* "" for a unix socket */
	int port;
	char path[108];         /* the socket, "" for TCP */
	char user[256];         /* "": the default user */
	char password[256];     /* "": no AUTH */
	int db;
};

/*
 * Reads text into url. -EINVAL with a message in err saying what is
 * wrong and what is accepted.
 */
int srv_redis_url_parse(const char *text, struct srv_redis_url *url,
			char *err, size_t errlen);

/* host:port or the socket path, and the db, for logs (no password). */
void srv_redis_url_describe(const struct srv_redis_url *url, char *buf,
			    size_t len);

#endif
