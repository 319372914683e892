/*
 * api_openapi: the OpenAPI 3.1 document of the HTTP API, served at
 * /openapi.yaml. The YAML source, api/api_openapi.yaml, is embedded in the
 * program when it is built, so api/ reads no file at run time.
 */
#ifndef API_OPENAPI_H
#define API_OPENAPI_H

#include <stddef.h>

/* The document (static, NUL-terminated); *len gets its length. */
const char *api_openapi_yaml(size_t *len);

#endif
