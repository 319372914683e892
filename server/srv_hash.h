/*
 * srv_hash: SHA-256 (nettle) as lowercase hex, for API key hashes and
 * idempotency body fingerprints, HMAC-SHA256 for webhook signatures, and
 * hex encoding.
 */
#ifndef SRV_HASH_H
#define SRV_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/sha2.h>

#define SRV_HASH_LEN (2 * SHA256_DIGEST_SIZE)

/* Writes the 2 * len hex digits of raw and a NUL to out. */
void srv_hex(char *out, const uint8_t *raw, size_t len);

/* SHA-256 of len bytes at data, as hex. */
void srv_hash_hex(char out[SRV_HASH_LEN + 1], const void *data, size_t len);

/* Finishes ctx (which is reset) and writes its digest as hex. */
void srv_hash_finish(struct sha256_ctx *ctx, char out[SRV_HASH_LEN + 1]);

/*
 * HMAC-SHA256 keyed by key of the n parts (concatenated), as hex. The
 * key is what the operator configured, the parts what is signed.
 */
void srv_hmac_hex(char out[SRV_HASH_LEN + 1], const char *key,
		  const char *const *parts, size_t n);

/* Compares two hashes in time independent of where they differ. */
bool srv_hash_equal(const char *a, const char *b);

#endif
