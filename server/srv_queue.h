/*
 * srv_queue: the bounded FIFO of jobs waiting for a worker. Thread-safe.
 *
 * A submission reserves a place first (so that a full queue is known
 * before the job is made durable), then either pushes into it or gives it
 * back. Jobs found waiting at start-up are pushed past the bound. Items are
 * borrowed pointers: the queue never frees them.
 */
#ifndef SRV_QUEUE_H
#define SRV_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct srv_queue srv_queue;

/* A queue of at most capacity waiting items; NULL when out of memory. */
srv_queue *srv_queue_create(size_t capacity);

/* Frees the queue (not the items still in it). */
void srv_queue_free(srv_queue *q);

/* Takes a place. -EAGAIN when waiting + reserved items fill the queue. */
int srv_queue_reserve(srv_queue *q);

/* Gives a reserved place back. */
void srv_queue_unreserve(srv_queue *q);

/*
 * Appends item. reserved: it fills a place taken with srv_queue_reserve;
 * otherwise it is added past the bound (recovery). 0 or -ENOMEM (the place
 * stays reserved).
 */
int srv_queue_push(srv_queue *q, void *item, bool reserved);

/*
 * Takes the oldest item, waiting for one; NULL once the queue is closed
 * (even with items left: they stay for srv_queue_remove or free).
 */
void *srv_queue_pop(srv_queue *q);

/* Removes item if it is waiting. True when it was. */
bool srv_queue_remove(srv_queue *q, void *item);

/* Items waiting. */
size_t srv_queue_depth(srv_queue *q);

/* Wakes every srv_queue_pop, which returns NULL from now on. */
void srv_queue_close(srv_queue *q);

#endif
