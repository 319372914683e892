/*
 * srv_auth: API keys. Only their SHA-256 hashes are kept; a request's
 * bearer token is hashed and compared in constant time, and the hash
 * becomes the owner of the jobs it makes.
 */
#ifndef SRV_AUTH_H
#define SRV_AUTH_H

#include <stdbool.h>

#include "server/srv_hash.h"

typedef struct srv_auth srv_auth;

/*
 * keys: comma-separated keys (spaces around them ignored), NULL or empty
 * for none, which turns authentication off. NULL when out of memory.
 */
srv_auth *srv_auth_create(const char *keys);
void srv_auth_free(srv_auth *auth);

bool srv_auth_enabled(const srv_auth *auth);

/*
 * Checks an Authorization header (NULL when absent). Returns 0 and fills
 * owner with the key's hash ("" when authentication is off), or -EACCES.
 */
int srv_auth_check(const srv_auth *auth, const char *header,
		   char owner[SRV_HASH_LEN + 1]);

#endif
