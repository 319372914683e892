/* srv_webhook: the delivery queue, its thread, and one POST through libcurl. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "api/api_spec.h"
#include "server/srv_allow.h"
#include "server/srv_clock.h"
#include "server/srv_hash.h"
#include "server/srv_log.h"
#include "server/srv_webhook.h"

#define SRV_WEBHOOK_CONNECT_MS 5000L
#define SRV_WEBHOOK_TOTAL_MS   10000L

/* Longest host name, with its NUL. */
#define SRV_WEBHOOK_HOST_MAX 256

/* A RESOLVE entry: host:port:address,address,... */
#define SRV_WEBHOOK_PIN_MAX 2048

/* One job's webhook call, until delivered or given up. */
struct srv_delivery {
	struct srv_delivery *next;
	char *url;              /* owned, like body */
	char *body;             /* the job JSON */
	char id[SRV_ID_LEN + 1];
	const char *event;      /* the status name, static */
	int tries;              /* made so far */
	int64_t due_ns;         /* CLOCK_MONOTONIC of the next try */
};

struct srv_webhooks {
	const char *secret;     /* borrowed from the configuration; NULL: none */
	srv_allow *allow;       /* owned */
	srv_metrics *metrics;   /* borrowed */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct srv_delivery *head;      /* waiting, in no order */
	atomic_bool stop;
	bool started;
	pthread_t thread;
};

/* Where a URL points: its host (IPv6 without brackets) and port. */
struct srv_target {
	char host[SRV_WEBHOOK_HOST_MAX];
	int port;
};

/* The socket callback's view of a delivery. */
struct srv_connect {
	const srv_webhooks *w;
	const struct srv_target *t;
	bool refused;           /* an address was refused */
};

static void srv_delivery_free(struct srv_delivery *d)
{
	free(d->url);
	free(d->body);
	free(d);
}

/* url's host and port; -EPERM (reason in msg) when it is not an http(s) URL. */
static int srv_webhook_target(const char *url, struct srv_target *t, char *msg,
			      size_t msglen)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	CURLU *u = curl_url();
	CURLUcode rc;
	size_t len;
	int ret = -EPERM;

	if (!u)
		return -ENOMEM;
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (!rc)
		rc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	if (!rc)
		rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
	if (!rc)
		rc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	if (rc) {
		snprintf(msg, msglen, "is not a URL that can be called: %s",
			 curl_url_strerror(rc));
		goto free_url;
	}
	len = strlen(host);
	if (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")) {
		snprintf(msg, msglen, "must be an http:// or https:// URL");
	} else if (len - (*host == '[') * 2 >= sizeof(t->host)) {
		snprintf(msg, msglen, "has a host name that is too long");
	} else {
		if (*host == '[')
			snprintf(t->host, sizeof(t->host), "%.*s", (int)len - 2, host + 1);
		else
			snprintf(t->host, sizeof(t->host), "%s", host);
		t->port = atoi(port);
		ret = 0;
	}
free_url:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ret;
}

int srv_webhooks_check(const srv_webhooks *w, const char *url, char *msg,
		       size_t msglen)
{
	struct srv_target t;
	int ret;

	if (!w->secret) {
		snprintf(msg, msglen, "this service sends no webhooks: its operator has "
			 "set no --webhook-secret");
		return -EPERM;
	}
	ret = srv_webhook_target(url, &t, msg, msglen);
	if (ret < 0)
		return ret;
	if (!srv_allow_check_host(w->allow, t.host, t.port)) {
		snprintf(msg, msglen, "points at %.200s, a loopback, private or link-local "
			 "destination, which this service does not call (its operator may "
			 "allow it with --webhook-allow)", t.host);
		return -EPERM;
	}
	return 0;
}

/* Appends address a to the RESOLVE entry pin; IPv6 in brackets. */
static void srv_webhook_pin(char *pin, const struct sockaddr *a)
{
	char text[INET6_ADDRSTRLEN];
	size_t used = strlen(pin);
	const void *raw = a->sa_family == AF_INET ?
		(const void *)&((const struct sockaddr_in *)a)->sin_addr :
		(const void *)&((const struct sockaddr_in6 *)a)->sin6_addr;

	if (!inet_ntop(a->sa_family, raw, text, sizeof(text)))
		return;
	snprintf(pin + used, SRV_WEBHOOK_PIN_MAX - used,
		 a->sa_family == AF_INET ? "%s%s" : "%s[%s]",
		 pin[used - 1] == ':' ? "" : ",", text);
}

/*
 * Resolves t's host and checks every address: -EPERM (reason in why) when
 * one is refused, -EIO when the name does not resolve. For a name, *pins
 * receives the CURLOPT_RESOLVE entry of the checked addresses.
 */
static int srv_webhook_resolve(const srv_webhooks *w, const struct srv_target *t,
			       struct curl_slist **pins, char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	char service[8], pin[SRV_WEBHOOK_PIN_MAX];
	struct addrinfo *res, *ai;
	unsigned char raw[16];
	int rc;

	snprintf(service, sizeof(service), "%d", t->port);
	rc = getaddrinfo(t->host, service, &hints, &res);
	if (rc) {
		snprintf(why, whylen, "%.200s does not resolve: %s", t->host, gai_strerror(rc));
		return -EIO;
	}
	snprintf(pin, sizeof(pin), "%s:%d:", t->host, t->port);
	for (ai = res; ai; ai = ai->ai_next) {
		if (!srv_allow_check(w->allow, t->host, t->port, ai->ai_addr)) {
			snprintf(why, whylen, "%.200s resolves to a loopback, private or "
				 "link-local address (allow it with --webhook-allow)", t->host);
			freeaddrinfo(res);
			return -EPERM;
		}
		srv_webhook_pin(pin, ai->ai_addr);
	}
	freeaddrinfo(res);
	if (inet_pton(AF_INET, t->host, raw) == 1 || inet_pton(AF_INET6, t->host, raw) == 1)
		return 0;
	*pins = curl_slist_append(NULL, pin);
	return *pins ? 0 : -ENOMEM;
}

/* curl opens its sockets here: only to an address the list allows. */
static curl_socket_t srv_webhook_socket(void *opaque, curlsocktype purpose,
					struct curl_sockaddr *addr)
{
	struct srv_connect *c = opaque;

	(void)purpose;
	if (!srv_allow_check(c->w->allow, c->t->host, c->t->port, &addr->addr)) {
		c->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static size_t srv_webhook_discard(char *data, size_t size, size_t n, void *opaque)
{
	(void)data;
	(void)opaque;
	return size * n;
}

/* Cuts a transfer short when the service stops. */
static int srv_webhook_progress(void *opaque, curl_off_t a, curl_off_t b,
				curl_off_t c, curl_off_t d)
{
	const srv_webhooks *w = opaque;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return atomic_load(&w->stop);
}

/* The signed headers of one try. NULL when out of memory. */
static struct curl_slist *srv_webhook_headers(const srv_webhooks *w,
					      const struct srv_delivery *d)
{
	static const char *const fixed[] = { "Content-Type: application/json", "Expect:" };
	char stamp[24], sig[SRV_HASH_LEN + 1], lines[3][160];
	struct curl_slist *h = NULL, *next;
	size_t i;

	snprintf(stamp, sizeof(stamp), "%lld", (long long)time(NULL));
	srv_hmac_hex(sig, w->secret, (const char *[]){ stamp, ".", d->body }, 3);
	snprintf(lines[0], sizeof(lines[0]), "X-Maskattn-Event: %s", d->event);
	snprintf(lines[1], sizeof(lines[1]), "X-Maskattn-Timestamp: %s", stamp);
	snprintf(lines[2], sizeof(lines[2]), "X-Maskattn-Signature: sha256=%s", sig);
	for (i = 0; i < 5; i++) {
		next = curl_slist_append(h, i < 2 ? fixed[i] : lines[i - 2]);
		if (!next) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = next;
	}
	return h;
}

static void srv_webhook_setopts(CURL *curl, const srv_webhooks *w,
				const struct srv_delivery *d, struct curl_slist *headers,
				struct curl_slist *pins, struct srv_connect *c)
{
	curl_easy_setopt(curl, CURLOPT_URL, d->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, SRV_WEBHOOK_CONNECT_MS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, SRV_WEBHOOK_TOTAL_MS);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "maskattn-webhook/1");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_RESOLVE, pins);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, srv_webhook_socket);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, c);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, srv_webhook_discard);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, srv_webhook_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)w);
}

/*
 * One try: the HTTP status in *code, or a negative errno (why says it):
 * -EPERM refused by the allow-list or not a usable URL (not tried again),
 * -EIO the exchange failed.
 */
static int srv_webhook_post(const srv_webhooks *w, const struct srv_delivery *d,
			    long *code, char *why, size_t whylen)
{
	struct curl_slist *headers = NULL, *pins = NULL;
	struct srv_target t;
	struct srv_connect c = { w, &t, false };
	CURL *curl = NULL;
	CURLcode rc;
	int ret;

	ret = srv_webhook_target(d->url, &t, why, whylen);
	if (!ret)
		ret = srv_webhook_resolve(w, &t, &pins, why, whylen);
	if (ret < 0)
		return ret;
	headers = srv_webhook_headers(w, d);
	curl = headers ? curl_easy_init() : NULL;
	if (!curl) {
		snprintf(why, whylen, "out of memory");
		ret = -ENOMEM;
		goto free_lists;
	}
	srv_webhook_setopts(curl, w, d, headers, pins, &c);
	rc = curl_easy_perform(curl);
	if (c.refused) {
		snprintf(why, whylen, "%.200s connected to a refused address", t.host);
		ret = -EPERM;
	} else if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		ret = -EIO;
	} else {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
	}
	curl_easy_cleanup(curl);
free_lists:
	curl_slist_free_all(headers);
	curl_slist_free_all(pins);
	return ret;
}

/*
 * Makes one try of d, logs and counts it. True when it is to be tried
 * again (connection error, 5xx, 429, while tries are left).
 */
static bool srv_webhook_attempt(srv_webhooks *w, struct srv_delivery *d)
{
	enum srv_webhook_outcome outcome;
	char why[320] = "";
	bool again = false;
	long code = 0;
	int ret;

	ret = srv_webhook_post(w, d, &code, why, sizeof(why));
	d->tries++;
	if (ret == -EPERM) {
		outcome = SRV_WEBHOOK_REFUSED;
	} else if (!ret && code >= 200 && code < 300) {
		outcome = SRV_WEBHOOK_DELIVERED;
	} else {
		again = (ret < 0 || code >= 500 || code == 429) &&
			d->tries < SRV_WEBHOOK_TRIES && !atomic_load(&w->stop);
		outcome = again ? SRV_WEBHOOK_RETRIED : SRV_WEBHOOK_FAILED;
		if (!ret)
			snprintf(why, sizeof(why), "answered %ld", code);
	}
	srv_metrics_webhook(w->metrics, outcome);
	srv_log(outcome == SRV_WEBHOOK_DELIVERED ? SRV_LOG_INFO : SRV_LOG_WARN,
		outcome == SRV_WEBHOOK_DELIVERED ? "webhook delivered" :
		outcome == SRV_WEBHOOK_RETRIED ? "webhook retried" :
		outcome == SRV_WEBHOOK_REFUSED ? "webhook refused" : "webhook failed",
		"job %s, event %s, try %d of %d%s%s", d->id, d->event, d->tries,
		SRV_WEBHOOK_TRIES, *why ? ": " : "", why);
	return again;
}

/* The delivery due first (unlinked from the list), or NULL; lock held. */
static struct srv_delivery *srv_webhooks_due(srv_webhooks *w, int64_t *wait_until)
{
	struct srv_delivery **p, **first = NULL, *d;

	for (p = &w->head; *p; p = &(*p)->next)
		if (!first || (*p)->due_ns < (*first)->due_ns)
			first = p;
	*wait_until = first ? (*first)->due_ns : 0;
	if (!first || (*first)->due_ns > srv_mono_ns())
		return NULL;
	d = *first;
	*first = d->next;
	return d;
}

static void *srv_webhooks_main(void *arg)
{
	srv_webhooks *w = arg;
	struct srv_delivery *d;
	struct timespec until;
	int64_t wait_until;
	bool again;

	pthread_mutex_lock(&w->lock);
	while (!atomic_load(&w->stop)) {
		d = srv_webhooks_due(w, &wait_until);
		if (!d) {
			until = srv_deadline(wait_until ? wait_until :
					     srv_mono_ns() + 3600 * SRV_NS_PER_S);
			pthread_cond_timedwait(&w->wake, &w->lock, &until);
			continue;
		}
		pthread_mutex_unlock(&w->lock);
		again = srv_webhook_attempt(w, d);
		pthread_mutex_lock(&w->lock);
		if (!again) {
			srv_delivery_free(d);
			continue;
		}
		d->due_ns = srv_mono_ns() + (SRV_NS_PER_S << (d->tries - 1));
		d->next = w->head;
		w->head = d;
	}
	while ((d = w->head)) {
		w->head = d->next;
		srv_log(SRV_LOG_WARN, "webhook dropped", "job %s, event %s: the service "
			"stopped after %d tries", d->id, d->event, d->tries);
		srv_delivery_free(d);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int srv_webhooks_create(const struct srv_config *cfg, srv_metrics *metrics,
			srv_webhooks **out, char *err, size_t errlen)
{
	srv_webhooks *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	w->secret = cfg->webhook_secret;
	w->metrics = metrics;
	pthread_mutex_init(&w->lock, NULL);
	srv_cond_init(&w->wake);
	atomic_init(&w->stop, false);
	ret = srv_allow_parse(cfg->webhook_allow, &w->allow, err, errlen);
	if (ret < 0)
		goto free_webhooks;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(err, errlen, "cannot set up libcurl for webhooks");
		ret = -ENOMEM;
		goto free_webhooks;
	}
	ret = -pthread_create(&w->thread, NULL, srv_webhooks_main, w);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start the webhook thread: %s", strerror(-ret));
		curl_global_cleanup();
		goto free_webhooks;
	}
	w->started = true;
	*out = w;
	return 0;

free_webhooks:
	srv_webhooks_free(w);
	return ret;
}

void srv_webhooks_free(srv_webhooks *w)
{
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		atomic_store(&w->stop, true);
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		curl_global_cleanup();
	}
	srv_allow_free(w->allow);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* Whether a webhook subscribed to events hears of status. */
static bool srv_webhook_wants(unsigned events, enum srv_status status)
{
	unsigned bit = status == SRV_SUCCEEDED ? API_EVENT_SUCCEEDED :
		       status == SRV_FAILED ? API_EVENT_FAILED : API_EVENT_CANCELED;

	return srv_status_final(status) && (events & (API_EVENT_COMPLETED | bit));
}

/* Queues a delivery of job's document to url, due now. */
static void srv_webhooks_queue(srv_webhooks *w, const srv_job *job, const char *url)
{
	struct srv_delivery *d = calloc(1, sizeof(*d));
	cJSON *doc = srv_job_api_cjson(job);

	if (d) {
		d->url = strdup(url);
		d->body = doc ? cJSON_PrintUnformatted(doc) : NULL;
	}
	cJSON_Delete(doc);
	if (!d || !d->url || !d->body) {
		srv_log(SRV_LOG_ERROR, "webhook dropped", "job %s: out of memory", job->id);
		if (d)
			srv_delivery_free(d);
		return;
	}
	memcpy(d->id, job->id, sizeof(d->id));
	d->event = srv_status_name(job->status);
	d->due_ns = srv_mono_ns();
	pthread_mutex_lock(&w->lock);
	d->next = w->head;
	w->head = d;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void srv_webhooks_job(void *opaque, const srv_job *job)
{
	srv_webhooks *w = opaque;
	api_spec *spec;

	if (!w->secret || !job->spec ||
	    api_spec_parse(job->spec, strlen(job->spec), &spec, NULL) < 0)
		return;
	if (spec->webhook && srv_webhook_wants(spec->webhook->events, job->status))
		srv_webhooks_queue(w, job, spec->webhook->url);
	api_spec_free(spec);
}
