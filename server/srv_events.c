/* srv_events: the event streams and the thread that feeds them. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "server/srv_buf.h"
#include "server/srv_clock.h"
#include "server/srv_events.h"

#define SRV_NS_PER_MS 1000000LL

/* Bytes MHD asks for at most per read. */
#define SRV_EVENTS_BLOCK 4096

/* How long closing waits for ended streams to reach their clients. */
#define SRV_EVENTS_FLUSH_MS 2000

/*
 * One stream. Everything but the constant fields is guarded by the
 * srv_events lock. It is freed when its response is gone and no poll
 * holds it.
 */
struct srv_stream {
	struct srv_stream *prev, *next; /* in ev->head until the response is gone */
	struct srv_stream *poll_next;   /* in the thread's round */
	srv_events *ev;
	struct MHD_Connection *conn;    /* borrowed from MHD */
	char id[SRV_ID_LEN + 1];
	char owner[SRV_HASH_LEN + 1];
	struct srv_buf out;             /* text not yet handed to MHD */
	size_t sent;                    /* bytes of out handed to MHD */
	long long next_id;              /* of the next event */
	int status;                     /* the last one sent, -1 before */
	int64_t frames_done;            /* in the last progress event, -1 before */
	int64_t progress_ns;            /* CLOCK_MONOTONIC of that event */
	int64_t write_ns;               /* of the last text queued */
	bool ended;                     /* nothing more is queued */
	bool suspended;                 /* its connection waits for news */
	int refs;                       /* the response's, each round's */
};

struct srv_events {
	srv_backend *backend;           /* borrowed */
	pthread_mutex_t lock;
	pthread_cond_t wake;            /* srv_events_close */
	pthread_cond_t gone;            /* the last stream left, once closed */
	struct srv_stream *head;
	bool closed;
	bool started;
	pthread_t thread;
};

/* Drops a reference, lock held. */
static void srv_stream_put(struct srv_stream *s)
{
	if (--s->refs)
		return;
	srv_buf_release(&s->out);
	free(s);
}

/* Queues one event; data is one line of text. */
static void srv_stream_event(struct srv_stream *s, const char *name,
			     const char *data, int64_t now)
{
	srv_buf_printf(&s->out, "id: %lld\nevent: %s\ndata: %s\n\n", s->next_id++,
		       name, data);
	s->write_ns = now;
}

/* The pipeline's estimate: frames left over frames per second. */
static void srv_stream_progress(struct srv_stream *s, const srv_job *job,
				int64_t now)
{
	char data[192], eta[32] = "null";
	double fps = job->metrics.fps;

	if (fps > 0 && job->frames_total >= job->frames_done)
		snprintf(eta, sizeof(eta), "%.3f",
			 (double)(job->frames_total - job->frames_done) / fps);
	snprintf(data, sizeof(data), "{\"frames_done\":%" PRId64 ",\"frames_total\":%"
		 PRId64 ",\"fps\":%.3f,\"eta\":%s}", job->frames_done,
		 job->frames_total, fps > 0 ? fps : 0.0, eta);
	srv_stream_event(s, "progress", data, now);
	s->frames_done = job->frames_done;
	s->progress_ns = now;
}

/* The job document as one line; NULL when out of memory. */
static char *srv_events_job_text(const srv_job *job)
{
	cJSON *doc = srv_job_api_cjson(job);
	char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;

	cJSON_Delete(doc);
	return text;
}

/* Queues what job, as just read, tells that s has not sent yet. */
static void srv_stream_update(struct srv_stream *s, const srv_job *job, int64_t now)
{
	bool final = srv_status_final(job->status);
	char *doc = NULL;

	if ((int)job->status != s->status || final) {
		doc = srv_events_job_text(job);
		if (!doc) {
			s->out.failed = true;
			return;
		}
	}
	if ((int)job->status != s->status) {
		srv_stream_event(s, "status", doc, now);
		s->status = (int)job->status;
	}
	if (job->status == SRV_RUNNING && job->frames_done != s->frames_done &&
	    now - s->progress_ns >= SRV_EVENTS_PROGRESS_MS * SRV_NS_PER_MS)
		srv_stream_progress(s, job, now);
	if (final) {
		srv_stream_event(s, "end", doc, now);
		s->ended = true;
	}
	free(doc);
}

/* True when s's connection is suspended and has news: it is to be resumed. */
static bool srv_stream_wake(struct srv_stream *s)
{
	if (!s->suspended || (s->sent == s->out.len && !s->ended && !s->out.failed))
		return false;
	s->suspended = false;
	return true;
}

/*
 * One round for s: reads its job (without the lock: Redis may be slow),
 * queues what is new, resumes its connection when there is news. closing:
 * the stream ends instead.
 */
static void srv_events_poll(srv_events *ev, struct srv_stream *s, bool closing)
{
	int64_t now = srv_mono_ns();
	srv_job *job = NULL;
	bool resume;
	int ret = closing ? -ESHUTDOWN : 0;

	if (!closing)
		ret = srv_backend_get(ev->backend, s->id, s->owner, &job);
	pthread_mutex_lock(&ev->lock);
	if (ret == -ENOENT || closing)
		s->ended = true;
	else if (!ret && !s->ended)
		srv_stream_update(s, job, now);
	if (!s->ended && now - s->write_ns >= SRV_EVENTS_KEEPALIVE_S * SRV_NS_PER_S) {
		srv_buf_printf(&s->out, ": keep-alive\n\n");
		s->write_ns = now;
	}
	resume = srv_stream_wake(s);
	pthread_mutex_unlock(&ev->lock);
	if (resume)
		MHD_resume_connection(s->conn);
	srv_job_free(job);
}

/*
 * Every SRV_EVENTS_POLL_MS, a round over the streams; once closed, a last
 * round that ends them all. A stream in a round holds a reference, and a
 * suspended one cannot lose its response, so connections are resumed
 * without the lock.
 */
static void *srv_events_main(void *arg)
{
	srv_events *ev = arg;
	struct srv_stream *s, *round;
	struct timespec until;
	bool closing;

	pthread_mutex_lock(&ev->lock);
	do {
		until = srv_deadline(srv_mono_ns() + SRV_EVENTS_POLL_MS * SRV_NS_PER_MS);
		if (!ev->closed)
			pthread_cond_timedwait(&ev->wake, &ev->lock, &until);
		closing = ev->closed;
		round = NULL;
		for (s = ev->head; s; s = s->next) {
			s->refs++;
			s->poll_next = round;
			round = s;
		}
		pthread_mutex_unlock(&ev->lock);
		for (s = round; s; s = s->poll_next)
			srv_events_poll(ev, s, closing);
		pthread_mutex_lock(&ev->lock);
		while (round) {
			s = round;
			round = s->poll_next;
			srv_stream_put(s);
		}
	} while (!closing);
	pthread_mutex_unlock(&ev->lock);
	return NULL;
}

int srv_events_create(srv_backend *backend, srv_events **out)
{
	srv_events *ev = calloc(1, sizeof(*ev));
	int ret;

	if (!ev)
		return -ENOMEM;
	ev->backend = backend;
	pthread_mutex_init(&ev->lock, NULL);
	srv_cond_init(&ev->wake);
	srv_cond_init(&ev->gone);
	ret = -pthread_create(&ev->thread, NULL, srv_events_main, ev);
	if (ret < 0) {
		srv_events_free(ev);
		return ret;
	}
	ev->started = true;
	*out = ev;
	return 0;
}

/*
 * Waits until every stream's response is gone (its last chunk written), for
 * at most SRV_EVENTS_FLUSH_MS: stopping the daemon earlier would cut
 * resumed streams before their end, and a client that does not read must
 * not hold the shutdown.
 */
static void srv_events_flush(srv_events *ev)
{
	struct timespec until;

	until = srv_deadline(srv_mono_ns() + SRV_EVENTS_FLUSH_MS * SRV_NS_PER_MS);
	pthread_mutex_lock(&ev->lock);
	while (ev->head && pthread_cond_timedwait(&ev->gone, &ev->lock, &until) == 0)
		;
	pthread_mutex_unlock(&ev->lock);
}

void srv_events_close(srv_events *ev)
{
	if (!ev)
		return;
	pthread_mutex_lock(&ev->lock);
	ev->closed = true;
	pthread_cond_signal(&ev->wake);
	pthread_mutex_unlock(&ev->lock);
	if (!ev->started)
		return;
	pthread_join(ev->thread, NULL);
	ev->started = false;
	srv_events_flush(ev);
}

void srv_events_free(srv_events *ev)
{
	if (!ev)
		return;
	srv_events_close(ev);
	pthread_cond_destroy(&ev->gone);
	pthread_cond_destroy(&ev->wake);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

/*
 * MHD asks for the next bytes: what is queued, else the end once ended,
 * else the connection is suspended until the thread has news.
 */
static ssize_t srv_events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct srv_stream *s = cls;
	srv_events *ev = s->ev;
	ssize_t n;

	(void)pos;
	pthread_mutex_lock(&ev->lock);
	if (s->out.failed) {
		n = MHD_CONTENT_READER_END_WITH_ERROR;
	} else if (s->sent < s->out.len) {
		n = (ssize_t)(s->out.len - s->sent < max ? s->out.len - s->sent : max);
		memcpy(buf, s->out.data + s->sent, (size_t)n);
		s->sent += (size_t)n;
		if (s->sent == s->out.len)
			s->out.len = s->sent = 0;
	} else if (s->ended) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		s->suspended = true;
		MHD_suspend_connection(s->conn);
		n = 0;
	}
	pthread_mutex_unlock(&ev->lock);
	return n;
}

/* MHD is done with the response: the stream leaves the list. */
static void srv_events_done(void *cls)
{
	struct srv_stream *s = cls;
	srv_events *ev = s->ev;

	pthread_mutex_lock(&ev->lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		ev->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv_stream_put(s);
	if (ev->closed && !ev->head)
		pthread_cond_broadcast(&ev->gone);
	pthread_mutex_unlock(&ev->lock);
}

struct MHD_Response *srv_events_open(srv_events *ev, struct MHD_Connection *conn,
				     const srv_job *job, const char *owner)
{
	struct srv_stream *s = calloc(1, sizeof(*s));
	struct MHD_Response *resp;

	if (!s)
		return NULL;
	s->ev = ev;
	s->conn = conn;
	memcpy(s->id, job->id, sizeof(s->id));
	snprintf(s->owner, sizeof(s->owner), "%s", owner);
	s->next_id = 1;
	s->status = -1;
	s->frames_done = -1;
	s->refs = 1;
	srv_stream_update(s, job, srv_mono_ns());
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SRV_EVENTS_BLOCK,
						 srv_events_read, s, srv_events_done);
	if (!resp) {
		srv_buf_release(&s->out);
		free(s);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	pthread_mutex_lock(&ev->lock);
	s->ended |= ev->closed;
	s->next = ev->head;
	if (s->next)
		s->next->prev = s;
	ev->head = s;
	pthread_mutex_unlock(&ev->lock);
	return resp;
}
