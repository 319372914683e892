/* srv_auth: bearer tokens against hashed keys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/srv_auth.h"

struct srv_auth {
	char (*hashes)[SRV_HASH_LEN + 1];
	size_t count;
};

static const char *srv_skip_spaces(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Length of the key at s, up to the comma, without trailing spaces. */
static size_t srv_key_len(const char *s, const char **next)
{
	const char *end = strchr(s, ',');
	size_t len;

	if (!end)
		end = s + strlen(s);
	*next = *end ? end + 1 : end;
	len = (size_t)(end - s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len;
}

srv_auth *srv_auth_create(const char *keys)
{
	srv_auth *auth = calloc(1, sizeof(*auth));
	const char *s = keys, *next;
	size_t len, n = 1;

	if (!auth)
		return NULL;
	for (; keys && *s; s++)
		n += *s == ',';
	auth->hashes = calloc(n, sizeof(*auth->hashes));
	if (!auth->hashes)
		goto free_auth;
	for (s = keys; s && *s; s = next) {
		s = srv_skip_spaces(s);
		len = srv_key_len(s, &next);
		if (len)
			srv_hash_hex(auth->hashes[auth->count++], s, len);
	}
	return auth;

free_auth:
	free(auth);
	return NULL;
}

void srv_auth_free(srv_auth *auth)
{
	if (!auth)
		return;
	free(auth->hashes);
	free(auth);
}

bool srv_auth_enabled(const srv_auth *auth)
{
	return auth->count > 0;
}

int srv_auth_check(const srv_auth *auth, const char *header,
		   char owner[SRV_HASH_LEN + 1])
{
	char hash[SRV_HASH_LEN + 1];
	bool found = false;
	size_t i;

	owner[0] = '\0';
	if (!srv_auth_enabled(auth))
		return 0;
	if (!header || strncasecmp(header, "Bearer ", 7))
		return -EACCES;
	header = srv_skip_spaces(header + 7);
	srv_hash_hex(hash, header, strlen(header));
	for (i = 0; i < auth->count; i++)
		found |= srv_hash_equal(hash, auth->hashes[i]);
	if (!found)
		return -EACCES;
	memcpy(owner, hash, sizeof(hash));
	return 0;
}
