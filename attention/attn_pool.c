#include "attention/attn_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct helper_arg {
	struct attn_pool *pool;
	int worker;
};

struct attn_pool {
	int threads;
	pthread_t *tids;        /* threads - 1 helpers */
	struct helper_arg *args;
	pthread_mutex_t lock;
	pthread_cond_t wake;    /* a new loop, or shutdown */
	pthread_cond_t done;    /* a helper finished its share */
	unsigned long generation;
	int busy;               /* helpers still inside the current loop */
	int stop;
	/* the current loop */
	attn_task_fn task;
	void *ctx;
	int count;
	atomic_int next;
};

/* Takes indices until none are left. */
static void drain(attn_pool *pool, int worker)
{
	for (;;) {
		int i = atomic_fetch_add(&pool->next, 1);

		if (i >= pool->count)
			return;
		pool->task(pool->ctx, i, worker);
	}
}

static void *helper_main(void *p)
{
	const struct helper_arg *arg = p;
	attn_pool *pool = arg->pool;
	int worker = arg->worker;
	unsigned long seen = 0;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->stop && pool->generation == seen)
			pthread_cond_wait(&pool->wake, &pool->lock);
		if (pool->stop)
			break;
		seen = pool->generation;
		pthread_mutex_unlock(&pool->lock);
		drain(pool, worker);
		pthread_mutex_lock(&pool->lock);
		if (--pool->busy == 0)
			pthread_cond_signal(&pool->done);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void stop_helpers(attn_pool *pool, int started)
{
	pthread_mutex_lock(&pool->lock);
	pool->stop = 1;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < started; i++)
		pthread_join(pool->tids[i], NULL);
}

static int start_helpers(attn_pool *pool)
{
	int i, ret = 0;

	for (i = 0; i < pool->threads - 1; i++) {
		pool->args[i].pool = pool;
		pool->args[i].worker = i + 1;
		if (pthread_create(&pool->tids[i], NULL, helper_main,
				   &pool->args[i])) {
			ret = -EAGAIN;
			break;
		}
	}
	if (ret < 0)
		stop_helpers(pool, i);
	return ret;
}

int attn_pool_create(int threads, attn_pool **out)
{
	attn_pool *pool;
	int ret;

	if (threads < 1)
		return -EINVAL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->threads = threads;
	pool->tids = calloc(threads, sizeof(*pool->tids));
	pool->args = calloc(threads, sizeof(*pool->args));
	if (!pool->tids || !pool->args) {
		ret = -ENOMEM;
		goto out_free_pool;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pthread_cond_init(&pool->done, NULL);
	ret = start_helpers(pool);
	if (ret < 0)
		goto out_destroy;
	*out = pool;
	return 0;

out_destroy:
	pthread_cond_destroy(&pool->done);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
out_free_pool:
	free(pool->args);
	free(pool->tids);
	free(pool);
	return ret;
}

void attn_pool_free(attn_pool *pool)
{
	if (!pool)
		return;
	stop_helpers(pool, pool->threads - 1);
	pthread_cond_destroy(&pool->done);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
	free(pool->args);
	free(pool->tids);
	free(pool);
}

int attn_pool_threads(const attn_pool *pool)
{
	return pool->threads;
}

void attn_pool_run(attn_pool *pool, int count, attn_task_fn task, void *ctx)
{
	if (count <= 0)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->task = task;
	pool->ctx = ctx;
	pool->count = count;
	atomic_store(&pool->next, 0);
	pool->busy = pool->threads - 1;
	pool->generation++;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);

	drain(pool, 0);

	pthread_mutex_lock(&pool->lock);
	while (pool->busy > 0)
		pthread_cond_wait(&pool->done, &pool->lock);
	pthread_mutex_unlock(&pool->lock);
}
