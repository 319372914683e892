/*
 * attn_pool: every index of a loop runs exactly once, for no, one and many
 * indices and 1 to 4 threads, loop after loop on the same pool, each on a
 * worker id in range, and all of them done when attn_pool_run returns.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "attention/attn_pool.h"

#define MAX_COUNT 5000

struct tally {
	int threads;
	atomic_int runs[MAX_COUNT];
	atomic_int bad_worker;
	atomic_int total;
};

static void count_task(void *ctx, int index, int worker)
{
	struct tally *t = ctx;

	if (worker < 0 || worker >= t->threads)
		atomic_fetch_add(&t->bad_worker, 1);
	if (index >= 0 && index < MAX_COUNT)
		atomic_fetch_add(&t->runs[index], 1);
	atomic_fetch_add(&t->total, 1);
}

static void run_and_check(attn_pool *pool, struct tally *t, int count)
{
	for (int i = 0; i < MAX_COUNT; i++)
		atomic_store(&t->runs[i], 0);
	atomic_store(&t->total, 0);
	attn_pool_run(pool, count, count_task, t);
	assert_int_equal(atomic_load(&t->total), count);
	for (int i = 0; i < MAX_COUNT; i++)
		if (atomic_load(&t->runs[i]) != (i < count))
			fail_msg("index %d ran %d times (count %d)", i,
				 atomic_load(&t->runs[i]), count);
	assert_int_equal(atomic_load(&t->bad_worker), 0);
}

static void test_create_rejects_no_threads(void **state)
{
	attn_pool *pool = NULL;

	(void)state;
	assert_int_equal(attn_pool_create(0, &pool), -EINVAL);
	assert_int_equal(attn_pool_create(-1, &pool), -EINVAL);
	assert_null(pool);
	attn_pool_free(NULL);
}

static void test_every_index_once(void **state)
{
	static const int counts[] = { 0, 1, 2, 3, 17, 1000, MAX_COUNT };
	struct tally *t = calloc(1, sizeof(*t));

	(void)state;
	for (int threads = 1; threads <= 4; threads++) {
		attn_pool *pool;

		assert_int_equal(attn_pool_create(threads, &pool), 0);
		assert_int_equal(attn_pool_threads(pool), threads);
		t->threads = threads;
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
			run_and_check(pool, t, counts[c]);
		attn_pool_free(pool);
	}
	free(t);
}

/* Many short loops in a row on one pool: none is lost or run twice. */
static void test_repeated_runs(void **state)
{
	struct tally *t = calloc(1, sizeof(*t));
	attn_pool *pool;

	(void)state;
	assert_int_equal(attn_pool_create(3, &pool), 0);
	t->threads = 3;
	for (int round = 0; round < 300; round++)
		run_and_check(pool, t, round % 11);
	attn_pool_free(pool);
	free(t);
}

/* Tasks of uneven length: every one has finished when attn_pool_run returns. */
static void slow_task(void *ctx, int index, int worker)
{
	struct tally *t = ctx;
	struct timespec pause = { 0, 200000L * (1 + index % 4) };

	(void)worker;
	nanosleep(&pause, NULL);
	atomic_fetch_add(&t->total, 1);
}

static void test_run_waits_for_every_task(void **state)
{
	struct tally *t = calloc(1, sizeof(*t));
	attn_pool *pool;

	(void)state;
	assert_int_equal(attn_pool_create(4, &pool), 0);
	for (int round = 0; round < 20; round++) {
		atomic_store(&t->total, 0);
		attn_pool_run(pool, 9, slow_task, t);
		assert_int_equal(atomic_load(&t->total), 9);
	}
	attn_pool_free(pool);
	free(t);
}

/* Each task writes its own slot from its worker's scratch: the pattern the engine uses. */
struct scratch_use {
	long scratch[4];
	long out[256];
};

static void scratch_task(void *ctx, int index, int worker)
{
	struct scratch_use *u = ctx;

	u->scratch[worker] = index;
	u->out[index] = u->scratch[worker] * 3 + 1;
}

static void test_worker_scratch_is_private(void **state)
{
	struct scratch_use u;
	attn_pool *pool;

	(void)state;
	assert_int_equal(attn_pool_create(4, &pool), 0);
	for (int round = 0; round < 20; round++) {
		memset(&u, 0, sizeof(u));
		attn_pool_run(pool, 256, scratch_task, &u);
		for (int i = 0; i < 256; i++)
			assert_int_equal(u.out[i], 3L * i + 1);
	}
	attn_pool_free(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_rejects_no_threads),
		cmocka_unit_test(test_every_index_once),
		cmocka_unit_test(test_repeated_runs),
		cmocka_unit_test(test_run_waits_for_every_task),
		cmocka_unit_test(test_worker_scratch_is_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
