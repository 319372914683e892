/*
 * attn_pool: a fixed set of threads that run the tasks 0..n-1 of a parallel
 * loop. The calling thread takes part. Tasks write disjoint outputs, so the
 * result never depends on the number of threads or on scheduling.
 */
#ifndef ATTN_POOL_H
#define ATTN_POOL_H

typedef struct attn_pool attn_pool;

/* task(ctx, index, worker): worker is 0..threads-1, for per-thread scratch. */
typedef void (*attn_task_fn)(void *ctx, int index, int worker);

/* threads >= 1 (1: no extra thread is started). Returns 0 or -ENOMEM/-EAGAIN. */
int attn_pool_create(int threads, attn_pool **out);
void attn_pool_free(attn_pool *pool);

int attn_pool_threads(const attn_pool *pool);

/* Runs task for every index in 0..count-1 and returns when all are done. */
void attn_pool_run(attn_pool *pool, int count, attn_task_fn task, void *ctx);

#endif
