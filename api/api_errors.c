/*
 * api_errors: the growable list of {field, message} validation errors, and
 * the problem+json (RFC 9457) documents built from it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "api/api_errors.h"
#include "api/api_json.h"

/* Capacity of a list's first allocation; it doubles from there. */
#define API_ERRORS_FIRST_CAP 8

api_errors *api_errors_create(void)
{
	return calloc(1, sizeof(api_errors));
}

void api_errors_free(api_errors *errs)
{
	size_t i;

	if (!errs)
		return;
	for (i = 0; i < errs->count; i++) {
		free(errs->items[i].field);
		free(errs->items[i].message);
	}
	free(errs->items);
	free(errs);
}

/* Makes room for one more error. */
static int api_errors_reserve(api_errors *errs)
{
	struct api_field_error *items;
	size_t cap;

	if (errs->count < errs->cap)
		return 0;
	cap = errs->cap ? 2 * errs->cap : API_ERRORS_FIRST_CAP;
	items = realloc(errs->items, cap * sizeof(*items));
	if (!items)
		return -ENOMEM;
	errs->items = items;
	errs->cap = cap;
	return 0;
}

/* The formatted text in a new allocation of just the right size. */
static char *api_vformat(const char *fmt, va_list ap)
{
	va_list measure;
	char *text;
	int n;

	va_copy(measure, ap);
	n = vsnprintf(NULL, 0, fmt, measure);
	va_end(measure);
	if (n < 0)
		return NULL;
	text = malloc((size_t)n + 1);
	if (text)
		vsnprintf(text, (size_t)n + 1, fmt, ap);
	return text;
}

int api_errors_vadd(api_errors *errs, const char *field, const char *fmt,
		    va_list ap)
{
	struct api_field_error err;

	if (api_errors_reserve(errs) < 0)
		return -ENOMEM;
	err.field = strdup(field);
	if (!err.field)
		return -ENOMEM;
	err.message = api_vformat(fmt, ap);
	if (!err.message)
		goto free_field;
	errs->items[errs->count++] = err;
	return 0;

free_field:
	free(err.field);
	return -ENOMEM;
}

int api_errors_add(api_errors *errs, const char *field, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = api_errors_vadd(errs, field, fmt, ap);
	va_end(ap);
	return ret;
}

const struct api_field_error *api_errors_find(const api_errors *errs,
					      const char *field)
{
	size_t i;

	for (i = 0; errs && i < errs->count; i++)
		if (!strcmp(errs->items[i].field, field))
			return &errs->items[i];
	return NULL;
}

const char *api_errors_line(const api_errors *errs, char *buf, size_t len)
{
	const struct api_field_error *first;
	int n;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!errs || !errs->count)
		return buf;
	first = &errs->items[0];
	n = snprintf(buf, len, "%s%s%s", first->field,
		     first->field[0] ? ": " : "", first->message);
	if (errs->count > 1 && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " (and %zu more)",
			 errs->count - 1);
	return buf;
}

/* The errors as a JSON array of {field, message} objects. */
static cJSON *api_errors_to_cjson(const api_errors *errs)
{
	cJSON *array, *item;
	size_t i;

	array = cJSON_CreateArray();
	if (!array)
		return NULL;
	for (i = 0; i < errs->count; i++) {
		item = cJSON_CreateObject();
		if (!item || !cJSON_AddItemToArray(array, item))
			goto free_array;
		if (!cJSON_AddStringToObject(item, "field", errs->items[i].field) ||
		    !cJSON_AddStringToObject(item, "message",
					     errs->items[i].message))
			goto free_array;
	}
	return array;

free_array:
	cJSON_Delete(array);
	return NULL;
}

/* Adds the problem's "type" member: a relative URI under /problems/. */
static bool api_problem_add_type(cJSON *doc, const char *type_slug)
{
	cJSON *added;
	size_t size;
	char *type;

	if (!type_slug)
		return cJSON_AddStringToObject(doc, "type", "about:blank");
	size = sizeof("/problems/") + strlen(type_slug);
	type = malloc(size);
	if (!type)
		return false;
	snprintf(type, size, "/problems/%s", type_slug);
	added = cJSON_AddStringToObject(doc, "type", type);
	free(type);
	return added;
}

cJSON *api_problem_cjson(int status, const char *type_slug, const char *title,
			 const char *detail, const api_errors *errs)
{
	cJSON *doc, *list;

	doc = cJSON_CreateObject();
	if (!doc)
		return NULL;
	if (!api_problem_add_type(doc, type_slug) ||
	    !api_json_add_string(doc, "title", title) ||
	    !cJSON_AddNumberToObject(doc, "status", status) ||
	    !api_json_add_string(doc, "detail", detail))
		goto free_doc;
	if (errs && errs->count) {
		list = api_errors_to_cjson(errs);
		if (!list || !cJSON_AddItemToObject(doc, "errors", list))
			goto free_list;
	}
	return doc;

free_list:
	cJSON_Delete(list);
free_doc:
	cJSON_Delete(doc);
	return NULL;
}

char *api_problem_json(int status, const char *type_slug, const char *title,
		       const char *detail, const api_errors *errs)
{
	return api_json_print(api_problem_cjson(status, type_slug, title,
						detail, errs));
}
