/* srv_conns: per-connection deadlines and the thread that enforces them. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "server/srv_clock.h"
#include "server/srv_conns.h"
#include "server/srv_log.h"

#define SRV_NS_PER_MS 1000000LL

/*
 * Seconds every deadline falls after MHD's idle timeout, so that a
 * connection that sends nothing is MHD's to close, quietly, and only
 * clients still sending are closed (and logged) here.
 */
#define SRV_CONNS_SLACK_S 1

/* One open connection. */
struct srv_conn {
	struct srv_conn *prev, *next;   /* in conns->head, under conns->lock */
	srv_conns *conns;
	int fd;                         /* MHD's socket, never closed here */
	bool cut;                       /* shut down already; under conns->lock */
	_Atomic int64_t deadline_ns;    /* CLOCK_MONOTONIC; 0: none */
	int64_t body_start_ns;          /* this and below: MHD's thread only */
	uint64_t body_bytes;
};

struct srv_conns {
	pthread_mutex_t lock;
	pthread_cond_t wake;            /* srv_conns_free stops the thread */
	bool stop;
	struct srv_conn *head;
	int64_t timeout_ns;             /* the timeout and the slack */
	int timeout_s;
	pthread_t thread;
};

/* Shuts down the connections past their deadline; how many. Under lock. */
static int srv_conns_sweep(srv_conns *conns, int64_t now)
{
	struct srv_conn *c;
	int64_t deadline;
	int cut = 0;

	for (c = conns->head; c; c = c->next) {
		deadline = atomic_load(&c->deadline_ns);
		if (c->cut || !deadline || now < deadline)
			continue;
		shutdown(c->fd, SHUT_RDWR);
		c->cut = true;
		cut++;
	}
	return cut;
}

static void *srv_conns_main(void *arg)
{
	srv_conns *conns = arg;
	struct timespec until;
	int cut;

	pthread_mutex_lock(&conns->lock);
	while (!conns->stop) {
		until = srv_deadline(srv_mono_ns() + SRV_CONNS_SWEEP_MS * SRV_NS_PER_MS);
		pthread_cond_timedwait(&conns->wake, &conns->lock, &until);
		cut = srv_conns_sweep(conns, srv_mono_ns());
		if (!cut)
			continue;
		pthread_mutex_unlock(&conns->lock);
		srv_log(SRV_LOG_WARN, "slow clients", "%d connection(s) closed: request "
			"not whole in time (timeout %d s, body at least %d bytes/s)",
			cut, conns->timeout_s, SRV_CONNS_MIN_RATE);
		pthread_mutex_lock(&conns->lock);
	}
	pthread_mutex_unlock(&conns->lock);
	return NULL;
}

int srv_conns_create(int timeout_s, srv_conns **out)
{
	srv_conns *conns = calloc(1, sizeof(*conns));
	int ret;

	if (!conns)
		return -ENOMEM;
	conns->timeout_s = timeout_s;
	conns->timeout_ns = (int64_t)(timeout_s + SRV_CONNS_SLACK_S) * SRV_NS_PER_S;
	pthread_mutex_init(&conns->lock, NULL);
	srv_cond_init(&conns->wake);
	ret = -pthread_create(&conns->thread, NULL, srv_conns_main, conns);
	if (ret < 0) {
		pthread_cond_destroy(&conns->wake);
		pthread_mutex_destroy(&conns->lock);
		free(conns);
		return ret;
	}
	*out = conns;
	return 0;
}

void srv_conns_free(srv_conns *conns)
{
	struct srv_conn *c, *next;

	if (!conns)
		return;
	pthread_mutex_lock(&conns->lock);
	conns->stop = true;
	pthread_cond_signal(&conns->wake);
	pthread_mutex_unlock(&conns->lock);
	pthread_join(conns->thread, NULL);
	for (c = conns->head; c; c = next) {
		next = c->next;
		free(c);
	}
	pthread_cond_destroy(&conns->wake);
	pthread_mutex_destroy(&conns->lock);
	free(conns);
}

/* A new connection: its first request's headers are timed from now. */
static void srv_conns_add(srv_conns *conns, struct MHD_Connection *conn,
			  void **socket_context)
{
	const union MHD_ConnectionInfo *info;
	struct srv_conn *c;

	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	c = info ? calloc(1, sizeof(*c)) : NULL;
	if (!c)
		return;         /* untracked: MHD's idle timeout still applies */
	c->conns = conns;
	c->fd = info->connect_fd;
	atomic_init(&c->deadline_ns, srv_mono_ns() + conns->timeout_ns);
	pthread_mutex_lock(&conns->lock);
	c->next = conns->head;
	if (c->next)
		c->next->prev = c;
	conns->head = c;
	pthread_mutex_unlock(&conns->lock);
	*socket_context = c;
}

/* MHD calls this before it closes the socket, so the sweep never sees a reused one. */
static void srv_conns_remove(srv_conns *conns, struct srv_conn *c)
{
	pthread_mutex_lock(&conns->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&conns->lock);
	free(c);
}

void srv_conns_notify(void *cls, struct MHD_Connection *conn,
		      void **socket_context,
		      enum MHD_ConnectionNotificationCode code)
{
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		srv_conns_add(cls, conn, socket_context);
	} else if (*socket_context) {
		srv_conns_remove(cls, *socket_context);
		*socket_context = NULL;
	}
}

static struct srv_conn *srv_conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info;

	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return info ? info->socket_context : NULL;
}

void srv_conns_request(struct MHD_Connection *conn)
{
	struct srv_conn *c = srv_conn_of(conn);

	if (!c)
		return;
	c->body_start_ns = srv_mono_ns();
	c->body_bytes = 0;
	atomic_store(&c->deadline_ns, c->body_start_ns + c->conns->timeout_ns);
}

void srv_conns_body(struct MHD_Connection *conn, size_t n)
{
	struct srv_conn *c = srv_conn_of(conn);

	if (!c)
		return;
	c->body_bytes += n;
	atomic_store(&c->deadline_ns, c->body_start_ns + c->conns->timeout_ns +
		     (int64_t)(c->body_bytes / SRV_CONNS_MIN_RATE) * SRV_NS_PER_S);
}

void srv_conns_answering(struct MHD_Connection *conn)
{
	struct srv_conn *c = srv_conn_of(conn);

	if (c)
		atomic_store(&c->deadline_ns, 0);
}

void srv_conns_idle(struct MHD_Connection *conn)
{
	struct srv_conn *c = srv_conn_of(conn);

	if (c)
		atomic_store(&c->deadline_ns, srv_mono_ns() + c->conns->timeout_ns);
}
