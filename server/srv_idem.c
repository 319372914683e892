/* srv_idem: an array searched by (owner, key). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/srv_idem.h"

struct srv_idem_entry {
	char owner[SRV_HASH_LEN + 1];
	char *key;              /* owned */
	char body_hash[SRV_HASH_LEN + 1];
	char job_id[SRV_ID_LEN + 1];
};

struct srv_idem {
	pthread_mutex_t lock;
	struct srv_idem_entry *entries;         /* owned */
	size_t count, cap;
};

srv_idem *srv_idem_create(void)
{
	srv_idem *idem = calloc(1, sizeof(*idem));

	if (idem)
		pthread_mutex_init(&idem->lock, NULL);
	return idem;
}

void srv_idem_free(srv_idem *idem)
{
	size_t i;

	if (!idem)
		return;
	for (i = 0; i < idem->count; i++)
		free(idem->entries[i].key);
	free(idem->entries);
	pthread_mutex_destroy(&idem->lock);
	free(idem);
}

/* The entry of (owner, key), or NULL. Lock held. */
static struct srv_idem_entry *srv_idem_find(srv_idem *idem, const char *owner,
					    const char *key)
{
	size_t i;

	for (i = 0; i < idem->count; i++)
		if (!strcmp(idem->entries[i].key, key) &&
		    !strcmp(idem->entries[i].owner, owner))
			return &idem->entries[i];
	return NULL;
}

/* Appends a new entry. Lock held. */
static int srv_idem_add(srv_idem *idem, const char *owner, const char *key,
			const char *body_hash, const char *job_id)
{
	struct srv_idem_entry *entries, *e;
	size_t cap;

	if (idem->count == idem->cap) {
		cap = idem->cap ? 2 * idem->cap : 16;
		entries = realloc(idem->entries, cap * sizeof(*entries));
		if (!entries)
			return -ENOMEM;
		idem->entries = entries;
		idem->cap = cap;
	}
	e = &idem->entries[idem->count];
	e->key = strdup(key);
	if (!e->key)
		return -ENOMEM;
	snprintf(e->owner, sizeof(e->owner), "%s", owner);
	snprintf(e->body_hash, sizeof(e->body_hash), "%s", body_hash);
	snprintf(e->job_id, sizeof(e->job_id), "%s", job_id);
	idem->count++;
	return SRV_IDEM_NEW;
}

int srv_idem_claim(srv_idem *idem, const char *owner, const char *key,
		   const char *body_hash, const char *job_id,
		   char found[SRV_ID_LEN + 1])
{
	struct srv_idem_entry *e;
	int ret;

	pthread_mutex_lock(&idem->lock);
	e = srv_idem_find(idem, owner, key);
	if (!e) {
		ret = srv_idem_add(idem, owner, key, body_hash, job_id);
	} else if (strcmp(e->body_hash, body_hash)) {
		ret = SRV_IDEM_CONFLICT;
	} else {
		memcpy(found, e->job_id, sizeof(e->job_id));
		ret = SRV_IDEM_SAME;
	}
	pthread_mutex_unlock(&idem->lock);
	return ret;
}

void srv_idem_forget(srv_idem *idem, const char *owner, const char *key)
{
	struct srv_idem_entry *e;

	pthread_mutex_lock(&idem->lock);
	e = srv_idem_find(idem, owner, key);
	if (e) {
		free(e->key);
		*e = idem->entries[--idem->count];
	}
	pthread_mutex_unlock(&idem->lock);
}
