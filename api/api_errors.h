/*
 * api_errors: a list of {field, message} validation errors, and the
 * problem+json (RFC 9457) documents built from them.
 */
#ifndef API_ERRORS_H
#define API_ERRORS_H

#include <stdarg.h>
#include <stddef.h>

struct cJSON;

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

/* api_errors_add with a va_list. */
int api_errors_vadd(api_errors *errs, const char *field, const char *fmt,
		    va_list ap) __attribute__((format(printf, 3, 0)));

/* The first error about exactly this field, or NULL. */
const struct api_field_error *api_errors_find(const api_errors *errs,
					      const char *field);

/*
 * One line for a terminal: "field: message" for the first error (just the
 * message when the field is "", the document itself), with "(and N more)"
 * when there are others; "" when errs is NULL or empty. Truncated to len.
 * Returns buf.
 */
const char *api_errors_line(const api_errors *errs, char *buf, size_t len);

/*
 * A problem+json document owned by the caller (free with free()), NULL when
 * out of memory. type_slug names the problem ("invalid-spec" becomes the
 * relative URI "/problems/invalid-spec"; NULL gives "about:blank"). title
 * and detail may be NULL (left out); errs may be NULL, and an "errors" array
 * is written only when it holds errors.
 */
char *api_problem_json(int status, const char *type_slug, const char *title,
		       const char *detail, const api_errors *errs);

/*
 * The same problem as a cJSON object owned by the caller (cJSON_Delete), for
 * embedding in another document such as the job JSON's "error".
 */
struct cJSON *api_problem_cjson(int status, const char *type_slug,
				const char *title, const char *detail,
				const api_errors *errs);

#endif
