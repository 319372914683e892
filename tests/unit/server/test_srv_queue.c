/* Tests of server/srv_queue.c: bound, order, removal, close. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <cmocka.h>

#include "server/srv_queue.h"

static int items[8];

static void test_bound_and_order(void **state)
{
	srv_queue *q = srv_queue_create(2);

	(void)state;
	assert_int_equal(srv_queue_reserve(q), 0);
	assert_int_equal(srv_queue_reserve(q), 0);
	assert_int_equal(srv_queue_reserve(q), -EAGAIN);
	assert_int_equal(srv_queue_push(q, &items[0], true), 0);
	srv_queue_unreserve(q);
	assert_int_equal(srv_queue_depth(q), 1);
	assert_int_equal(srv_queue_reserve(q), 0);
	assert_int_equal(srv_queue_push(q, &items[1], true), 0);
	assert_int_equal(srv_queue_reserve(q), -EAGAIN);
	assert_ptr_equal(srv_queue_pop(q), &items[0]);
	assert_ptr_equal(srv_queue_pop(q), &items[1]);
	assert_int_equal(srv_queue_depth(q), 0);
	srv_queue_free(q);
}

static void test_recovery_goes_past_the_bound(void **state)
{
	srv_queue *q = srv_queue_create(1);
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(srv_queue_push(q, &items[i], false), 0);
	assert_int_equal(srv_queue_depth(q), 4);
	assert_int_equal(srv_queue_reserve(q), -EAGAIN);
	for (i = 0; i < 4; i++)
		assert_ptr_equal(srv_queue_pop(q), &items[i]);
	srv_queue_free(q);
}

static void test_remove(void **state)
{
	srv_queue *q = srv_queue_create(8);
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		srv_queue_push(q, &items[i], false);
	assert_true(srv_queue_remove(q, &items[3]));
	assert_true(srv_queue_remove(q, &items[0]));
	assert_false(srv_queue_remove(q, &items[0]));
	assert_false(srv_queue_remove(q, &items[5]));
	assert_int_equal(srv_queue_depth(q), 2);
	srv_queue_push(q, &items[4], false);
	assert_ptr_equal(srv_queue_pop(q), &items[1]);
	assert_ptr_equal(srv_queue_pop(q), &items[2]);
	assert_ptr_equal(srv_queue_pop(q), &items[4]);
	srv_queue_free(q);
}

static void *pop_thread(void *arg)
{
	return srv_queue_pop(arg);
}

static void test_pop_waits_then_close_wakes(void **state)
{
	srv_queue *q = srv_queue_create(8);
	pthread_t t;
	void *got;

	(void)state;
	pthread_create(&t, NULL, pop_thread, q);
	srv_queue_push(q, &items[6], false);
	pthread_join(t, &got);
	assert_ptr_equal(got, &items[6]);
	pthread_create(&t, NULL, pop_thread, q);
	srv_queue_close(q);
	pthread_join(t, &got);
	assert_null(got);
	srv_queue_push(q, &items[7], false);
	assert_null(srv_queue_pop(q));
	assert_true(srv_queue_remove(q, &items[7]));
	srv_queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound_and_order),
		cmocka_unit_test(test_recovery_goes_past_the_bound),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_pop_waits_then_close_wakes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
