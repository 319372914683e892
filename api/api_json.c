/*
 * api_json: reading a JSON document and saying what is wrong with it, and
 * the small cJSON helpers the rest of api/ shares.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_json.h"

/* Bytes of a user's string quoted back in a message; longer ones are cut. */
#define API_QUOTE_MAX 40

int api_parse_begin(struct api_parse *p, api_errors **errs)
{
	if (errs)
		*errs = NULL;
	p->err = 0;
	p->errs = api_errors_create();
	return p->errs ? 0 : -ENOMEM;
}

int api_parse_end(struct api_parse *p, api_errors **errs)
{
	int ret = p->err;

	if (!ret && p->errs->count)
		ret = -EINVAL;
	if (ret == -EINVAL && errs) {
		*errs = p->errs;
		p->errs = NULL;
	}
	api_errors_free(p->errs);
	p->errs = NULL;
	return ret;
}

void api_report(struct api_parse *p, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (api_errors_vadd(p->errs, path, fmt, ap) < 0)
		p->err = -ENOMEM;
	va_end(ap);
}

/* How many of the first max bytes of s to quote without splitting a UTF-8 character. */
static int api_quote_len(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return (int)n;
	n = max;
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

/* What a JSON value that is neither a number nor a string is, in words. */
static const char *api_json_kind(const cJSON *item)
{
	if (cJSON_IsTrue(item))
		return "true";
	if (cJSON_IsFalse(item))
		return "false";
	if (cJSON_IsNull(item))
		return "null";
	if (cJSON_IsArray(item))
		return "an array";
	return "an object";
}

/* item as shown after "got" in a message. */
static void api_describe_value(char *buf, size_t len, const cJSON *item,
			       bool same_type)
{
	const char *s;
	int n;

	if (cJSON_IsNumber(item)) {
		api_format_number(buf, len, item->valuedouble);
	} else if (cJSON_IsString(item)) {
		s = item->valuestring;
		n = api_quote_len(s, API_QUOTE_MAX);
		snprintf(buf, len, "%s\"%.*s%s\"", same_type ? "" : "the string ",
			 n, s, s[n] ? "..." : "");
	} else {
		snprintf(buf, len, "%s", api_json_kind(item));
	}
}

void api_report_invalid(struct api_parse *p, const cJSON *item,
			const char *path, const char *expected, bool same_type)
{
	char got[API_QUOTE_MAX + 32];

	api_describe_value(got, sizeof(got), item, same_type);
	api_report(p, path, "must be %s, got %s", expected, got);
}

/* How many of the n bytes at s are JSON whitespace before anything else. */
static size_t api_json_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			break;
	return i;
}

/* Reports a problem at byte pos of json, as line and column for an editor. */
static void api_report_at(struct api_parse *p, const char *json, size_t pos,
			  const char *what, const char *fix)
{
	size_t line = 1, column = 1, i;

	for (i = 0; i < pos; i++) {
		column++;
		if (json[i] == '\n') {
			line++;
			column = 1;
		}
	}
	api_report(p, "", "%s at line %zu, column %zu (offset %zu); %s", what,
		   line, column, pos, fix);
}

cJSON *api_json_parse(struct api_parse *p, const char *json, size_t len)
{
	const char *end = NULL;
	size_t pos;
	cJSON *root;

	if (api_json_blank(json, len) == len) {
		api_report(p, "", "the document is empty; send a JSON object such as {\"mode\": \"propagate\", \"video\": \"clip.mp4\", ...}");
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	pos = end ? (size_t)(end - json) : 0;
	if (!root) {
		api_report_at(p, json, pos, "not valid JSON: syntax error",
			      "check the quotes, commas and brackets there");
		return NULL;
	}
	pos += api_json_blank(end, len - pos);
	if (pos < len) {
		api_report_at(p, json, pos, "unexpected text after the JSON value",
			      "send exactly one JSON object");
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

void api_path_field(char *buf, size_t len, const char *parent,
		    const char *name)
{
	snprintf(buf, len, "%s%s%s", parent, parent[0] ? "." : "", name);
}

void api_path_index(char *buf, size_t len, const char *parent, size_t index)
{
	snprintf(buf, len, "%s[%zu]", parent, index);
}

void api_format_number(char *buf, size_t len, double v)
{
	snprintf(buf, len, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, len, "%.17g", v);
}

cJSON *api_json_number(double v)
{
	char text[32];

	if (!isfinite(v))
		return cJSON_CreateNull();
	api_format_number(text, sizeof(text), v);
	return cJSON_CreateRaw(text);
}

bool api_json_add_string(cJSON *obj, const char *name, const char *value)
{
	return !value || cJSON_AddStringToObject(obj, name, value);
}

char *api_json_print(cJSON *doc)
{
	char *text;

	if (!doc)
		return NULL;
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;
}
