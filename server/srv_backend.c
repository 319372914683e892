/* srv_backend: the choice of implementation, and the calls through it. */
#include "server/srv_backend.h"
#include "server/srv_local.h"
#include "server/srv_redis_backend.h"

int srv_backend_open(const struct srv_config *cfg, const char *node,
		     srv_metrics *metrics, srv_backend **out, char *err,
		     size_t errlen)
{
	if (cfg->redis_url)
		return srv_redis_backend_open(cfg, node, metrics, out, err, errlen);
	return srv_local_open(cfg, metrics, out, err, errlen);
}

void srv_backend_free(srv_backend *b)
{
	if (b)
		b->ops->free(b);
}

srv_dirs *srv_backend_dirs(srv_backend *b)
{
	return b->dirs;
}

bool srv_backend_ready(srv_backend *b)
{
	return b->ops->ready(b);
}

int srv_backend_reserve(srv_backend *b)
{
	return b->ops->reserve(b);
}

void srv_backend_unreserve(srv_backend *b)
{
	b->ops->unreserve(b);
}

int srv_backend_idem_claim(srv_backend *b, const char *owner, const char *key,
			   const char *body_hash, const char *job_id,
			   char found[SRV_ID_LEN + 1])
{
	return b->ops->idem_claim(b, owner, key, body_hash, job_id, found);
}

void srv_backend_idem_forget(srv_backend *b, const char *owner, const char *key)
{
	b->ops->idem_forget(b, owner, key);
}

int srv_backend_submit(srv_backend *b, const srv_job *job)
{
	return b->ops->submit(b, job);
}

int srv_backend_get(srv_backend *b, const char *id, const char *owner,
		    srv_job **out)
{
	return b->ops->get(b, id, owner, out);
}

int srv_backend_list(srv_backend *b, const char *owner, const char *cursor,
		     size_t limit, char **out)
{
	return b->ops->list(b, owner, cursor, limit, out);
}

int srv_backend_cancel(srv_backend *b, const char *id, const char *owner,
		       srv_job **out)
{
	return b->ops->cancel(b, id, owner, out);
}

int srv_backend_remove(srv_backend *b, const char *id, const char *owner)
{
	return b->ops->remove(b, id, owner);
}

void srv_backend_expire(srv_backend *b, int64_t before_ns)
{
	b->ops->expire(b, before_ns);
}

void srv_backend_gauges(srv_backend *b, struct srv_gauges *g)
{
	b->ops->gauges(b, g);
}

int srv_backend_take(srv_backend *b, srv_job **out)
{
	return b->ops->take(b, out);
}

void srv_backend_progress(srv_backend *b, srv_job *job,
			  const struct pipe_progress *p)
{
	b->ops->progress(b, job, p);
}

int srv_backend_finish(srv_backend *b, srv_job *job, int ret,
		       const struct pipe_job_result *res, const char *err)
{
	int status = b->ops->finish(b, job, ret, res, err);

	if (status >= 0 && srv_status_final((enum srv_status)status))
		srv_backend_final(b, job);
	return status;
}

void srv_backend_on_final(srv_backend *b, srv_backend_final_fn fn, void *opaque)
{
	b->on_final = fn;
	b->final_opaque = opaque;
}

void srv_backend_final(srv_backend *b, const srv_job *job)
{
	if (b->on_final)
		b->on_final(b->final_opaque, job);
}

void srv_backend_release(srv_backend *b, srv_job *job)
{
	b->ops->release(b, job);
}

void srv_backend_close(srv_backend *b)
{
	b->ops->close(b);
}
