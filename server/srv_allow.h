/*
 * srv_allow: where webhooks may be sent. Pure: no sockets, no DNS.
 *
 * By default any address is allowed except the ones that reach the
 * service's own side of the network: unspecified (0.0.0.0/8, ::), loopback
 * (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7 ULA,
 * fec0::/10), link-local (169.254/16 with the cloud metadata address
 * 169.254.169.254, fe80::/10); an IPv4-mapped IPv6 address counts as its
 * IPv4 one. The operator's list (--webhook-allow, comma-separated) lets
 * such destinations through:
 *
 * - a host name ("hooks.internal"): that name in the URL, whatever it
 *   resolves to;
 * - host:port ("hooks.internal:8443", "10.0.0.5:80", "[fd00::1]:80"): the
 *   same on that port only;
 * - an address or a CIDR ("127.0.0.1", "10.0.0.0/8", "fd00::/8"): those
 *   addresses, on any port.
 */
#ifndef SRV_ALLOW_H
#define SRV_ALLOW_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/socket.h>

typedef struct srv_allow srv_allow;

/*
 * Parses the list text (NULL or "": empty). 0, -EINVAL with a message in err
 * naming the entry that is none of the forms above, or -ENOMEM. *out is
 * owned by the caller.
 */
int srv_allow_parse(const char *text, srv_allow **out, char *err, size_t errlen);

void srv_allow_free(srv_allow *allow);

/* True when addr (AF_INET or AF_INET6) is unspecified, loopback, private or link-local. */
bool srv_allow_internal(const struct sockaddr *addr);

/*
 * True when a request to host (as the URL names it, IPv6 without brackets)
 * on port may connect to addr, one of the addresses host resolved to.
 */
bool srv_allow_check(const srv_allow *allow, const char *host, int port,
		     const struct sockaddr *addr);

/*
 * The same decided from host alone, for an address literal or for a name
 * the list allows ("localhost" counts as loopback): 1 allowed, 0 refused,
 * -1 when only the resolved addresses can tell.
 */
int srv_allow_check_host(const srv_allow *allow, const char *host, int port);

#endif
