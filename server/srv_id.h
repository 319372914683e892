/*
 * srv_id: job ids, 128 random bits from getrandom() as 32 lowercase hex
 * digits. Ids name directories, so srv_id_valid is checked before any id
 * taken from a request is used.
 */
#ifndef SRV_ID_H
#define SRV_ID_H

#include <stdbool.h>

#define SRV_ID_BYTES 16
#define SRV_ID_LEN   (2 * SRV_ID_BYTES)

/* Writes a new id and its NUL to out. Returns 0 or a negative errno. */
int srv_id_new(char out[SRV_ID_LEN + 1]);

/* True when text is exactly SRV_ID_LEN lowercase hex digits. */
bool srv_id_valid(const char *text);

#endif
