/* srv_hash: SHA-256 and hex through nettle. */
#include <string.h>

#include <nettle/base16.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "server/srv_hash.h"

void srv_hex(char *out, const uint8_t *raw, size_t len)
{
	base16_encode_update(out, len, raw);
	out[BASE16_ENCODE_LENGTH(len)] = '\0';
}

void srv_hash_finish(struct sha256_ctx *ctx, char out[SRV_HASH_LEN + 1])
{
	uint8_t digest[SHA256_DIGEST_SIZE];

	sha256_digest(ctx, sizeof(digest), digest);
	srv_hex(out, digest, sizeof(digest));
}

void srv_hash_hex(char out[SRV_HASH_LEN + 1], const void *data, size_t len)
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	srv_hash_finish(&ctx, out);
}

void srv_hmac_hex(char out[SRV_HASH_LEN + 1], const char *key,
		  const char *const *parts, size_t n)
{
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct hmac_sha256_ctx ctx;
	size_t i;

	hmac_sha256_set_key(&ctx, strlen(key), (const uint8_t *)key);
	for (i = 0; i < n; i++)
		hmac_sha256_update(&ctx, strlen(parts[i]), (const uint8_t *)parts[i]);
	hmac_sha256_digest(&ctx, sizeof(digest), digest);
	srv_hex(out, digest, sizeof(digest));
}

bool srv_hash_equal(const char *a, const char *b)
{
	return strlen(a) == SRV_HASH_LEN && strlen(b) == SRV_HASH_LEN &&
	       memeql_sec(a, b, SRV_HASH_LEN);
}
