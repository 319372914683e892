/*
 * srv_allow: the webhook allow-list. Addresses are compared as 16 bytes,
 * IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one prefix test serves both.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/srv_allow.h"

/* Longest host name (RFC 1035), with its NUL. */
#define SRV_ALLOW_NAME_MAX 256

/* Bits before an IPv4 address in its mapped form. */
#define SRV_ALLOW_V4_SHIFT 96

struct srv_net {
	unsigned char a[16];
	int prefix;             /* bits */
};

struct srv_allow_entry {
	char name[SRV_ALLOW_NAME_MAX];  /* a host name, "" for an address range */
	struct srv_net net;
	int port;               /* 0: any */
};

struct srv_allow {
	struct srv_allow_entry *entries;
	size_t n;
};

/* The ranges refused unless allowed. */
static const char *const srv_internal_nets[] = {
	"0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"169.254.0.0/16", "::/128", "::1/128", "fc00::/7", "fec0::/10", "fe80::/10",
};

static void srv_allow_map4(const void *v4, unsigned char out[16])
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

/* An address, or with "/bits" a range, into *net; false when it is neither. */
static bool srv_allow_net(const char *text, struct srv_net *net)
{
	char addr[INET6_ADDRSTRLEN], *end;
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	unsigned char v4[4];
	int max, shift;
	long bits;

	if (len >= sizeof(addr))
		return false;
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, v4) == 1) {
		srv_allow_map4(v4, net->a);
		shift = SRV_ALLOW_V4_SHIFT;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, net->a) == 1) {
		shift = 0;
		max = 128;
	} else {
		return false;
	}
	net->prefix = shift + max;
	if (!slash)
		return true;
	bits = strtol(slash + 1, &end, 10);
	if (!isdigit((unsigned char)slash[1]) || *end || bits > max)
		return false;
	net->prefix = shift + (int)bits;
	return true;
}

static bool srv_allow_in(const unsigned char a[16], const struct srv_net *net)
{
	int full = net->prefix / 8, rest = net->prefix % 8;

	if (memcmp(a, net->a, (size_t)full))
		return false;
	return !rest || !((a[full] ^ net->a[full]) & (0xff00 >> rest) & 0xff);
}

static bool srv_allow_internal_bytes(const unsigned char a[16])
{
	struct srv_net net;
	size_t i;

	for (i = 0; i < sizeof(srv_internal_nets) / sizeof(*srv_internal_nets); i++)
		if (srv_allow_net(srv_internal_nets[i], &net) && srv_allow_in(a, &net))
			return true;
	return false;
}

/* addr as 16 bytes; false for a family other than IPv4 and IPv6. */
static bool srv_allow_bytes(const struct sockaddr *addr, unsigned char out[16])
{
	if (addr->sa_family == AF_INET) {
		srv_allow_map4(&((const struct sockaddr_in *)addr)->sin_addr, out);
		return true;
	}
	if (addr->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
		return true;
	}
	return false;
}

bool srv_allow_internal(const struct sockaddr *addr)
{
	unsigned char a[16];

	return !srv_allow_bytes(addr, a) || srv_allow_internal_bytes(a);
}

/* A port 1..65535, or 0 when text is not one. */
static int srv_allow_port(const char *text)
{
	char *end;
	long port = strtol(text, &end, 10);

	return isdigit((unsigned char)*text) && !*end && port >= 1 && port <= 65535 ?
	       (int)port : 0;
}

static bool srv_allow_name_ok(const char *name)
{
	size_t i;

	for (i = 0; name[i]; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("-._", name[i]))
			return false;
	return i > 0 && i < SRV_ALLOW_NAME_MAX;
}

/* Splits "host:port" or "[v6]:port" (port optional for brackets) in place. */
static bool srv_allow_split(char *token, char **host, int *port)
{
	char *colon;

	*port = 0;
	if (*token == '[') {
		colon = strchr(token, ']');
		if (!colon || (colon[1] && colon[1] != ':'))
			return false;
		*colon = '\0';
		*host = token + 1;
		return !colon[1] || (*port = srv_allow_port(colon + 2)) != 0;
	}
	colon = strchr(token, ':');
	*host = token;
	if (!colon)
		return true;
	*colon = '\0';
	return (*port = srv_allow_port(colon + 1)) != 0;
}

/* One entry of the list (token is trimmed and may be modified). */
static bool srv_allow_entry_parse(char *token, struct srv_allow_entry *e)
{
	char *host;

	memset(e, 0, sizeof(*e));
	if (strchr(token, '/') || srv_allow_net(token, &e->net))
		return srv_allow_net(token, &e->net);
	if (!srv_allow_split(token, &host, &e->port))
		return false;
	if (srv_allow_net(host, &e->net))
		return !strchr(host, '/');
	if (!srv_allow_name_ok(host))
		return false;
	snprintf(e->name, sizeof(e->name), "%s", host);
	return true;
}

/* The token of text at [start, end) without surrounding spaces, in a new string. */
static char *srv_allow_token(const char *start, const char *end)
{
	while (start < end && isspace((unsigned char)*start))
		start++;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	return strndup(start, (size_t)(end - start));
}

int srv_allow_parse(const char *text, srv_allow **out, char *err, size_t errlen)
{
	srv_allow *allow = calloc(1, sizeof(*allow));
	const char *p = text ? text : "", *comma;
	size_t cap = 1;
	char *token;
	int ret = 0;

	for (comma = p; *comma; comma++)
		cap += *comma == ',';
	if (allow)
		allow->entries = calloc(cap, sizeof(*allow->entries));
	if (!allow || !allow->entries) {
		ret = -ENOMEM;
		goto free_allow;
	}
	while (*p) {
		comma = strchrnul(p, ',');
		token = srv_allow_token(p, comma);
		if (!token) {
			ret = -ENOMEM;
			goto free_allow;
		}
		if (*token && !srv_allow_entry_parse(token, &allow->entries[allow->n++])) {
			snprintf(err, errlen, "--webhook-allow: \"%.*s\" is not a host name, "
				 "host:port, address or CIDR", (int)(comma - p), p);
			ret = -EINVAL;
		}
		free(token);
		if (ret < 0)
			goto free_allow;
		p = *comma ? comma + 1 : comma;
	}
	*out = allow;
	return 0;

free_allow:
	srv_allow_free(allow);
	return ret;
}

void srv_allow_free(srv_allow *allow)
{
	if (!allow)
		return;
	free(allow->entries);
	free(allow);
}

/* Whether the list names host (on port). */
static bool srv_allow_names(const srv_allow *allow, const char *host, int port)
{
	size_t i;

	for (i = 0; i < allow->n; i++)
		if (*allow->entries[i].name && !strcasecmp(allow->entries[i].name, host) &&
		    (!allow->entries[i].port || allow->entries[i].port == port))
			return true;
	return false;
}

/* Whether a (on port) may be connected to: in a listed range, or not internal. */
static bool srv_allow_address(const srv_allow *allow, const unsigned char a[16], int port)
{
	size_t i;

	for (i = 0; i < allow->n; i++)
		if (!*allow->entries[i].name && srv_allow_in(a, &allow->entries[i].net) &&
		    (!allow->entries[i].port || allow->entries[i].port == port))
			return true;
	return !srv_allow_internal_bytes(a);
}

bool srv_allow_check(const srv_allow *allow, const char *host, int port,
		     const struct sockaddr *addr)
{
	unsigned char a[16];

	if (srv_allow_names(allow, host, port))
		return true;
	return srv_allow_bytes(addr, a) && srv_allow_address(allow, a, port);
}

int srv_allow_check_host(const srv_allow *allow, const char *host, int port)
{
	size_t len = strlen(host);
	struct srv_net net;

	if (srv_allow_names(allow, host, port))
		return 1;
	if (!strcasecmp(host, "localhost") ||
	    (len > 10 && !strcasecmp(host + len - 10, ".localhost")))
		host = "127.0.0.1";
	if (strchr(host, '/') || !srv_allow_net(host, &net))
		return -1;
	return srv_allow_address(allow, net.a, port);
}
