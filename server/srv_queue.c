/* srv_queue: a mutex, a condition variable and a singly linked list. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "server/srv_queue.h"

struct srv_queue_node {
	void *item;
	struct srv_queue_node *next;
};

struct srv_queue {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	struct srv_queue_node *head, *tail;
	size_t depth;
	size_t reserved;
	size_t capacity;
	bool closed;
};

srv_queue *srv_queue_create(size_t capacity)
{
	srv_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->capacity = capacity;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->ready, NULL);
	return q;
}

void srv_queue_free(srv_queue *q)
{
	struct srv_queue_node *node, *next;

	if (!q)
		return;
	for (node = q->head; node; node = next) {
		next = node->next;
		free(node);
	}
	pthread_cond_destroy(&q->ready);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int srv_queue_reserve(srv_queue *q)
{
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	if (q->depth + q->reserved >= q->capacity)
		ret = -EAGAIN;
	else
		q->reserved++;
	pthread_mutex_unlock(&q->lock);
	return ret;
}

void srv_queue_unreserve(srv_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->reserved--;
	pthread_mutex_unlock(&q->lock);
}

int srv_queue_push(srv_queue *q, void *item, bool reserved)
{
	struct srv_queue_node *node = malloc(sizeof(*node));

	if (!node)
		return -ENOMEM;
	node->item = item;
	node->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = node;
	else
		q->head = node;
	q->tail = node;
	q->depth++;
	if (reserved)
		q->reserved--;
	pthread_cond_signal(&q->ready);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* Unlinks node, which follows prev (NULL: node is the head). Lock held. */
static void *srv_queue_unlink(srv_queue *q, struct srv_queue_node *prev,
			      struct srv_queue_node *node)
{
	void *item = node->item;

	if (prev)
		prev->next = node->next;
	else
		q->head = node->next;
	if (q->tail == node)
		q->tail = prev;
	q->depth--;
	free(node);
	return item;
}

void *srv_queue_pop(srv_queue *q)
{
	void *item = NULL;

	pthread_mutex_lock(&q->lock);
	while (!q->closed && !q->head)
		pthread_cond_wait(&q->ready, &q->lock);
	if (!q->closed)
		item = srv_queue_unlink(q, NULL, q->head);
	pthread_mutex_unlock(&q->lock);
	return item;
}

bool srv_queue_remove(srv_queue *q, void *item)
{
	struct srv_queue_node *node, *prev = NULL;
	bool found = false;

	pthread_mutex_lock(&q->lock);
	for (node = q->head; node; prev = node, node = node->next) {
		if (node->item == item) {
			srv_queue_unlink(q, prev, node);
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&q->lock);
	return found;
}

size_t srv_queue_depth(srv_queue *q)
{
	size_t depth;

	pthread_mutex_lock(&q->lock);
	depth = q->depth;
	pthread_mutex_unlock(&q->lock);
	return depth;
}

void srv_queue_close(srv_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->ready);
	pthread_mutex_unlock(&q->lock);
}
