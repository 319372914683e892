/*
 * api_openapi: the YAML is embedded by the assembler (.incbin) at build
 * time; the Makefile makes this object depend on the YAML file.
 */
#include "api/api_openapi.h"

extern const char api_openapi_start[];
extern const char api_openapi_end[];

__asm__(".section .rodata\n"
	".global api_openapi_start\n"
	".global api_openapi_end\n"
	"api_openapi_start:\n"
	".incbin \"api/api_openapi.yaml\"\n"
	"api_openapi_end:\n"
	".byte 0\n"
	".previous\n");

const char *api_openapi_yaml(size_t *len)
{
	*len = (size_t)(api_openapi_end - api_openapi_start);
	return api_openapi_start;
}
