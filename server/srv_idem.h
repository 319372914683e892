/*
 * srv_idem: Idempotency-Key bookkeeping. A key, within one owner, names
 * one submission: the fingerprint of its body and the job it made. A
 * retry with the same body gets that job; another body is refused.
 * Thread-safe.
 */
#ifndef SRV_IDEM_H
#define SRV_IDEM_H

#include "server/srv_hash.h"
#include "server/srv_id.h"

enum srv_idem_result {
	SRV_IDEM_NEW,           /* recorded: the caller makes job_id */
	SRV_IDEM_SAME,          /* same key and body: *found names the job */
	SRV_IDEM_CONFLICT,      /* same key, another body */
};

typedef struct srv_idem srv_idem;

/* NULL when out of memory. */
srv_idem *srv_idem_create(void);
void srv_idem_free(srv_idem *idem);

/*
 * Looks up (owner, key); when absent records it with body_hash and job_id.
 * Returns an srv_idem_result, or -ENOMEM. found receives the recorded job
 * id for SRV_IDEM_SAME.
 */
int srv_idem_claim(srv_idem *idem, const char *owner, const char *key,
		   const char *body_hash, const char *job_id,
		   char found[SRV_ID_LEN + 1]);

/* Forgets (owner, key), when its job is gone or was never made. */
void srv_idem_forget(srv_idem *idem, const char *owner, const char *key);

#endif
