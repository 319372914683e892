/*
 * api_field: table-driven reading, writing and freeing of a C struct that
 * mirrors a JSON object.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_field.h"

/* Where field f lives in the struct at base. */
static void *api_slot(const struct api_field *f, const void *base)
{
	return (char *)base + f->offset;
}

/*
 * An ARRAY field's items. The pointer is copied with memcpy because its
 * slot has the items' own type (struct api_mask *, ...).
 */
static char *api_array_items(const struct api_field *f, const void *base,
			     size_t *count)
{
	char *items;

	memcpy(&items, api_slot(f, base), sizeof(items));
	*count = *(const size_t *)((const char *)base + f->count_offset);
	return items;
}

static void api_array_set(const struct api_field *f, void *base, char *items,
			  size_t count)
{
	memcpy(api_slot(f, base), &items, sizeof(items));
	*(size_t *)((char *)base + f->count_offset) = count;
}

/* Replaces the string at slot with a copy of s. */
static void api_store_string(struct api_parse *p, void *slot, const char *s)
{
	char **str = slot;
	char *copy;

	copy = strdup(s);
	if (!copy) {
		p->err = -ENOMEM;
		return;
	}
	free(*str);
	*str = copy;
}

/* Stores v, a value in f's range, as f's C type. */
static void api_store_number(const struct api_field *f, void *slot, double v)
{
	if (f->kind == API_FIELD_INT)
		*(int *)slot = (int)v;
	else if (f->kind == API_FIELD_U64)
		*(uint64_t *)slot = (uint64_t)v;
	else
		*(double *)slot = v;
}

const char *api_choice_name(const char *const *choices, size_t index)
{
	size_t i;

	for (i = 0; choices[i]; i++)
		if (i == index)
			return choices[i];
	return NULL;
}

/* The index of s among f's choices, or -1. */
static int api_choice_index(const struct api_field *f, const char *s)
{
	int i;

	for (i = 0; f->choices[i]; i++)
		if (!strcmp(f->choices[i], s))
			return i;
	return -1;
}

/* Whether v is in f's range, and integral for the integer kinds. */
static bool api_in_range(const struct api_field *f, double v)
{
	bool integral = f->kind == API_FIELD_NUMBER || floor(v) == v;
	bool above_min = f->min_open ? v > f->min : v >= f->min;

	return integral && above_min && v <= f->max;
}

/* Whether item has the JSON type f takes. */
static bool api_type_ok(const struct api_field *f, const cJSON *item)
{
	switch (f->kind) {
	case API_FIELD_STRING:
	case API_FIELD_ENUM:
	case API_FIELD_CHOICE:
		return cJSON_IsString(item);
	case API_FIELD_NUMBER:
	case API_FIELD_INT:
	case API_FIELD_U64:
		return cJSON_IsNumber(item);
	case API_FIELD_ARRAY:
	case API_FIELD_SET:
		return cJSON_IsArray(item);
	case API_FIELD_OBJECT:
	case API_FIELD_OPTIONAL:
		return cJSON_IsObject(item);
	}
	return false;
}

/* Whether item, of the right type, has a value f accepts. */
static bool api_value_ok(const struct api_field *f, const cJSON *item)
{
	switch (f->kind) {
	case API_FIELD_STRING:
		return item->valuestring[0] != '\0';
	case API_FIELD_NUMBER:
	case API_FIELD_INT:
	case API_FIELD_U64:
		return api_in_range(f, item->valuedouble);
	case API_FIELD_ENUM:
	case API_FIELD_CHOICE:
		return api_choice_index(f, item->valuestring) >= 0;
	case API_FIELD_ARRAY:
	case API_FIELD_OBJECT:
	case API_FIELD_SET:
	case API_FIELD_OPTIONAL:
		return true;    /* their members are checked as they are read */
	}
	return false;
}

/* Appends s to the string in buf, cutting it at len. */
static void api_append(char *buf, size_t len, const char *s)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s", s);
}

/* f's choices in words: "mp4", or one of "a", "b". */
static void api_describe_choices(const struct api_field *f, char *buf,
				 size_t len)
{
	size_t i;

	snprintf(buf, len, "%s", f->choices[1] ? "one of " : "");
	for (i = 0; f->choices[i]; i++) {
		api_append(buf, len, i ? ", \"" : "\"");
		api_append(buf, len, f->choices[i]);
		api_append(buf, len, "\"");
	}
}

/* f's range in words: "an integer between 1 and 8", "a number > 0 and <= 100". */
static void api_describe_range(const struct api_field *f, char *buf,
			       size_t len)
{
	const char *noun = f->kind == API_FIELD_NUMBER ? "a number" : "an integer";
	char min[32], max[32];

	api_format_number(min, sizeof(min), f->min);
	api_format_number(max, sizeof(max), f->max);
	if (f->min_open)
		snprintf(buf, len, "%s > %s and <= %s", noun, min, max);
	else
		snprintf(buf, len, "%s between %s and %s", noun, min, max);
}

/* What f accepts, in words, to follow "must be". */
static void api_describe(const struct api_field *f, char *buf, size_t len)
{
	switch (f->kind) {
	case API_FIELD_STRING:
		snprintf(buf, len, "a non-empty string");
		break;
	case API_FIELD_NUMBER:
	case API_FIELD_INT:
	case API_FIELD_U64:
		api_describe_range(f, buf, len);
		break;
	case API_FIELD_ENUM:
	case API_FIELD_CHOICE:
		api_describe_choices(f, buf, len);
		break;
	case API_FIELD_ARRAY:
		snprintf(buf, len, "an array of objects");
		break;
	case API_FIELD_SET:
		snprintf(buf, len, "an array of distinct strings, each ");
		api_describe_choices(f, buf + strlen(buf), len - strlen(buf));
		break;
	case API_FIELD_OBJECT:
	case API_FIELD_OPTIONAL:
		snprintf(buf, len, "an object");
		break;
	}
}

void api_fields_defaults(struct api_parse *p, const struct api_table *t,
			 void *target)
{
	const struct api_field *f;

	for (f = t->fields; f < t->fields + t->n_fields; f++) {
		switch (f->kind) {
		case API_FIELD_NUMBER:
		case API_FIELD_INT:
		case API_FIELD_U64:
			api_store_number(f, api_slot(f, target), f->def);
			break;
		case API_FIELD_ENUM:
			*(int *)api_slot(f, target) = (int)f->def_choice;
			break;
		case API_FIELD_CHOICE:
			api_store_string(p, api_slot(f, target),
					 f->choices[f->def_choice]);
			break;
		case API_FIELD_OBJECT:
			api_fields_defaults(p, f->sub, api_slot(f, target));
			break;
		case API_FIELD_SET:
			*(unsigned *)api_slot(f, target) = f->def_set;
			break;
		case API_FIELD_STRING:
		case API_FIELD_ARRAY:
		case API_FIELD_OPTIONAL:
			break;  /* NULL and empty: the zeroed struct has them */
		}
	}
}

/* Reads the elements of array, each an object of f's sub table. */
static void api_read_array(struct api_parse *p, const cJSON *array,
			   const char *path, const struct api_field *f,
			   void *target)
{
	size_t n = (size_t)cJSON_GetArraySize(array), i = 0;
	char child[API_PATH_MAX];
	const cJSON *item;
	char *items, *elem;

	if (!n)
		return;
	items = calloc(n, f->sub->size);
	if (!items) {
		p->err = -ENOMEM;
		return;
	}
	api_array_set(f, target, items, n);
	cJSON_ArrayForEach(item, array) {
		elem = items + i * f->sub->size;
		api_path_index(child, sizeof(child), path, i++);
		api_fields_defaults(p, f->sub, elem);
		if (cJSON_IsObject(item))
			api_fields_parse(p, item, child, f->sub, elem);
		else
			api_report_invalid(p, item, child, "an object", false);
	}
}

/*
 * Reads array, the value of SET field f, into the mask at slot: every
 * element one of f's choices, none twice, at least one. The default stays
 * when anything is wrong.
 */
static void api_read_set(struct api_parse *p, const cJSON *array,
			 const char *path, const struct api_field *f, void *slot)
{
	char child[API_PATH_MAX], expected[API_MESSAGE_MAX / 2];
	const cJSON *item;
	unsigned set = 0;
	bool ok = true;
	size_t i = 0;
	int index;

	api_describe_choices(f, expected, sizeof(expected));
	cJSON_ArrayForEach(item, array) {
		api_path_index(child, sizeof(child), path, i++);
		index = cJSON_IsString(item) ? api_choice_index(f, item->valuestring) : -1;
		if (index < 0) {
			api_report_invalid(p, item, child, expected, cJSON_IsString(item));
			ok = false;
		} else if (set & 1u << index) {
			api_report(p, child, "\"%s\" is listed more than once; list each value once",
				   item->valuestring);
			ok = false;
		} else {
			set |= 1u << index;
		}
	}
	if (!i) {
		api_report(p, path, "must not be empty; list %s", expected);
		ok = false;
	}
	if (ok)
		*(unsigned *)slot = set;
}

/* Reads obj into a new struct of OPTIONAL field f's sub table, held at slot. */
static void api_read_optional(struct api_parse *p, const cJSON *obj,
			      const char *path, const struct api_field *f,
			      void *slot)
{
	void *sub = calloc(1, f->sub->size);

	if (!sub) {
		p->err = -ENOMEM;
		return;
	}
	memcpy(slot, &sub, sizeof(sub));
	api_fields_defaults(p, f->sub, sub);
	api_fields_parse(p, obj, path, f->sub, sub);
}

/* Validates item, the value of field f, and stores it in target. */
static void api_field_read(struct api_parse *p, const cJSON *item,
			   const char *path, const struct api_field *f,
			   void *target)
{
	char expected[API_MESSAGE_MAX / 2];
	void *slot = api_slot(f, target);

	if (!api_type_ok(f, item) || !api_value_ok(f, item)) {
		api_describe(f, expected, sizeof(expected));
		api_report_invalid(p, item, path, expected, api_type_ok(f, item));
		return;
	}
	switch (f->kind) {
	case API_FIELD_STRING:
	case API_FIELD_CHOICE:
		api_store_string(p, slot, item->valuestring);
		break;
	case API_FIELD_NUMBER:
	case API_FIELD_INT:
	case API_FIELD_U64:
		api_store_number(f, slot, item->valuedouble);
		break;
	case API_FIELD_ENUM:
		*(int *)slot = api_choice_index(f, item->valuestring);
		break;
	case API_FIELD_ARRAY:
		api_read_array(p, item, path, f, target);
		break;
	case API_FIELD_OBJECT:
		api_fields_parse(p, item, path, f->sub, slot);
		break;
	case API_FIELD_SET:
		api_read_set(p, item, path, f, slot);
		break;
	case API_FIELD_OPTIONAL:
		api_read_optional(p, item, path, f, slot);
		break;
	}
}

/* The field of t called name, or NULL. */
static const struct api_field *api_field_find(const struct api_table *t,
					      const char *name)
{
	size_t i;

	for (i = 0; i < t->n_fields; i++)
		if (!strcmp(t->fields[i].name, name))
			return &t->fields[i];
	return NULL;
}

/* Reports the members of obj that t does not know, and repeated ones. */
static void api_fields_check_names(struct api_parse *p, const cJSON *obj,
				   const char *path, const struct api_table *t)
{
	bool seen[API_FIELDS_MAX] = { false };
	char child[API_PATH_MAX], known[API_MESSAGE_MAX / 2] = "";
	const struct api_field *f;
	const cJSON *item;
	size_t i;

	for (i = 0; i < t->n_fields; i++) {
		api_append(known, sizeof(known), i ? ", " : "");
		api_append(known, sizeof(known), t->fields[i].name);
	}
	cJSON_ArrayForEach(item, obj) {
		api_path_field(child, sizeof(child), path, item->string);
		f = api_field_find(t, item->string);
		if (!f)
			api_report(p, child, "unknown field; remove it or check its spelling (known: %s)",
				   known);
		else if (seen[f - t->fields])
			api_report(p, child, "given more than once; keep one");
		else
			seen[f - t->fields] = true;
	}
}

/* Reports a required field that is absent. */
static void api_field_missing(struct api_parse *p, const char *path,
			      const struct api_field *f)
{
	char expected[API_MESSAGE_MAX / 2];

	api_describe(f, expected, sizeof(expected));
	api_report(p, path, "required; add it as %s", expected);
}

void api_fields_parse(struct api_parse *p, const cJSON *obj, const char *path,
		      const struct api_table *t, void *target)
{
	char child[API_PATH_MAX];
	const struct api_field *f;
	const cJSON *item;

	api_fields_check_names(p, obj, path, t);
	for (f = t->fields; f < t->fields + t->n_fields; f++) {
		api_path_field(child, sizeof(child), path, f->name);
		item = cJSON_GetObjectItemCaseSensitive(obj, f->name);
		if (item)
			api_field_read(p, item, child, f, target);
		else if (f->required)
			api_field_missing(p, child, f);
	}
}

/* An ARRAY field as a JSON array of objects; NULL if out of memory. */
static cJSON *api_array_write(const struct api_field *f, const void *source)
{
	cJSON *array, *item;
	size_t n, i;
	char *items;

	items = api_array_items(f, source, &n);
	array = cJSON_CreateArray();
	if (!array)
		return NULL;
	for (i = 0; i < n; i++) {
		item = api_fields_write(f->sub, items + i * f->sub->size);
		if (!item)
			goto free_array;
		cJSON_AddItemToArray(array, item);
	}
	return array;

free_array:
	cJSON_Delete(array);
	return NULL;
}

/* A SET field's mask as the array of its choices, in choice order. */
static cJSON *api_set_write(const struct api_field *f, unsigned set)
{
	cJSON *array = cJSON_CreateArray(), *name;
	size_t i;

	for (i = 0; array && f->choices[i]; i++) {
		if (!(set & 1u << i))
			continue;
		name = cJSON_CreateString(f->choices[i]);
		if (!name || !cJSON_AddItemToArray(array, name)) {
			cJSON_Delete(name);
			cJSON_Delete(array);
			return NULL;
		}
	}
	return array;
}

/* The struct an OPTIONAL field points to (NULL when absent). */
static void *api_optional(const struct api_field *f, const void *base)
{
	void *sub;

	memcpy(&sub, api_slot(f, base), sizeof(sub));
	return sub;
}

/* The JSON value of field f of source; NULL if out of memory. */
static cJSON *api_field_value(const struct api_field *f, const void *source)
{
	const void *slot = api_slot(f, source);

	switch (f->kind) {
	case API_FIELD_STRING:
	case API_FIELD_CHOICE:
		return cJSON_CreateString(*(char *const *)slot);
	case API_FIELD_NUMBER:
		return api_json_number(*(const double *)slot);
	case API_FIELD_INT:
		return api_json_number(*(const int *)slot);
	case API_FIELD_U64:
		return api_json_number((double)*(const uint64_t *)slot);
	case API_FIELD_ENUM:
		return cJSON_CreateString(api_choice_name(f->choices,
							  (size_t)*(const int *)slot));
	case API_FIELD_ARRAY:
		return api_array_write(f, source);
	case API_FIELD_OBJECT:
		return api_fields_write(f->sub, slot);
	case API_FIELD_SET:
		return api_set_write(f, *(const unsigned *)slot);
	case API_FIELD_OPTIONAL:
		return api_fields_write(f->sub, api_optional(f, source));
	}
	return NULL;
}

/* Whether field f of source has no value to write (an absent string or object). */
static bool api_field_absent(const struct api_field *f, const void *source)
{
	if (f->kind == API_FIELD_OPTIONAL)
		return !api_optional(f, source);
	return f->kind == API_FIELD_STRING &&
	       !*(char *const *)api_slot(f, source);
}

cJSON *api_fields_write(const struct api_table *t, const void *source)
{
	const struct api_field *f;
	cJSON *obj, *value;

	obj = cJSON_CreateObject();
	if (!obj)
		return NULL;
	for (f = t->fields; f < t->fields + t->n_fields; f++) {
		if (api_field_absent(f, source))
			continue;
		value = api_field_value(f, source);
		if (!value)
			goto free_obj;
		/* Names are string literals: cJSON may keep them uncopied. */
		cJSON_AddItemToObjectCS(obj, f->name, value);
	}
	return obj;

free_obj:
	cJSON_Delete(obj);
	return NULL;
}

void api_fields_free(const struct api_table *t, void *target)
{
	const struct api_field *f;
	size_t n, i;
	char *items;

	for (f = t->fields; f < t->fields + t->n_fields; f++) {
		switch (f->kind) {
		case API_FIELD_STRING:
		case API_FIELD_CHOICE:
			free(*(char **)api_slot(f, target));
			break;
		case API_FIELD_ARRAY:
			items = api_array_items(f, target, &n);
			for (i = 0; i < n; i++)
				api_fields_free(f->sub, items + i * f->sub->size);
			free(items);
			break;
		case API_FIELD_OBJECT:
			api_fields_free(f->sub, api_slot(f, target));
			break;
		case API_FIELD_OPTIONAL:
			items = api_optional(f, target);
			if (items)
				api_fields_free(f->sub, items);
			free(items);
			break;
		case API_FIELD_SET:
		case API_FIELD_NUMBER:
		case API_FIELD_INT:
		case API_FIELD_U64:
		case API_FIELD_ENUM:
			break;  /* held by value */
		}
	}
}
