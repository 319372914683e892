/*
 * api_errors: a list of {field, message} validation errors, and the
 * problem+json (RFC 9457) documents built from them.
 */
#ifndef API_ERRORS_H
#define API_ERRORS_H

#include <stddef.h>

struct api_field_error {
	char *field;            /* JSON path such as "masks[0].weight", owned */
	char *message;          /* what to change, owned */
};

typedef struct api_errors {
	struct api_field_error *items;  /* owned */
	size_t count;
	size_t cap;
} api_errors;

api_errors *api_errors_create(void);
void api_errors_free(api_errors *errs);

/* Appends one error (printf-style message). Returns 0 or -ENOMEM. */
int api_errors_add(api_errors *errs, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * One line for a terminal: "field: message" for the first error, with
 * "(and N more)" when there are others. Returns buf.
 */
const char *api_errors_line(const api_errors *errs, char *buf, size_t len);

/*
 * A problem+json document owned by the caller. type_slug names the problem
 * ("invalid-spec" becomes the relative URI "/problems/invalid-spec");
 * errs may be NULL.
 */
char *api_problem_json(int status, const char *type_slug, const char *title,
		       const char *detail, const api_errors *errs);

#endif
