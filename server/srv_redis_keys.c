/* srv_redis_keys: key names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/srv_redis_keys.h"

/* The owner as it appears in key names. */
static const char *srv_redis_owner(const char *owner)
{
	return *owner ? owner : "-";
}

int srv_redis_key_idem(const char *owner, const char *key,
		       char buf[SRV_REDIS_IDEM_LEN])
{
	if (strlen(key) > SRV_REDIS_IDEM_KEY_MAX)
		return -EINVAL;
	snprintf(buf, SRV_REDIS_IDEM_LEN, SRV_REDIS_PREFIX "idem:%s:%s",
		 srv_redis_owner(owner), key);
	return 0;
}

void srv_redis_key_owner(const char *owner, char buf[SRV_REDIS_KEY_LEN])
{
	snprintf(buf, SRV_REDIS_KEY_LEN, SRV_REDIS_PREFIX "owner:%s",
		 srv_redis_owner(owner));
}

void srv_redis_key_job(const char *id, char buf[SRV_REDIS_KEY_LEN])
{
	snprintf(buf, SRV_REDIS_KEY_LEN, SRV_REDIS_PREFIX "job:%s", id);
}

void srv_redis_key_status(enum srv_status status, char buf[SRV_REDIS_KEY_LEN])
{
	snprintf(buf, SRV_REDIS_KEY_LEN, SRV_REDIS_PREFIX "status:%s",
		 srv_status_name(status));
}

int srv_redis_keys_job(struct srv_redis_keys *k, const char *id,
		       const char *owner, const char *idem_key)
{
	size_t s;

	if (idem_key && srv_redis_key_idem(owner, idem_key, k->idem) < 0)
		return -EINVAL;
	for (s = 0; s < SRV_STATUS_COUNT; s++) {
		srv_redis_key_status((enum srv_status)s, k->status[s]);
		k->argv[s] = k->status[s];
	}
	srv_redis_key_job(id, k->job);
	srv_redis_key_owner(owner, k->owner);
	k->argv[SRV_RKEY_JOB] = k->job;
	k->argv[SRV_RKEY_QUEUE] = SRV_REDIS_QUEUE;
	k->argv[SRV_RKEY_FINISHED] = SRV_REDIS_FINISHED;
	k->argv[SRV_RKEY_OWNER] = k->owner;
	k->argv[SRV_RKEY_IDEM] = idem_key ? k->idem : NULL;
	k->n = idem_key ? SRV_RKEY_COUNT : SRV_RKEY_COUNT - 1;
	return 0;
}
