/*
 * api_field: table-driven reading, writing and freeing of a C struct that
 * mirrors a JSON object. A table lists the object's fields with their kind,
 * range or choices, default and place in the struct; one walker validates
 * every field against it, so each rule is written once. Internal to api/.
 */
#ifndef API_FIELD_H
#define API_FIELD_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "api/api_json.h"

#define API_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Most fields a table may have (the walker tracks repeats in a fixed array). */
#define API_FIELDS_MAX 32

enum api_field_kind {
	API_FIELD_STRING,       /* non-empty string, copied to a char * */
	API_FIELD_NUMBER,       /* number in [min, max], stored as double */
	API_FIELD_INT,          /* integral number in [min, max], as int */
	API_FIELD_U64,          /* integral number in [min, max], as uint64_t */
	API_FIELD_ENUM,         /* one of choices, stored as its index (int) */
	API_FIELD_CHOICE,       /* one of choices, copied to a char * */
	API_FIELD_ARRAY,        /* array of sub objects: pointer + count */
	API_FIELD_OBJECT,       /* sub object, a struct inside the struct */
	API_FIELD_SET,          /* array of distinct choices, as a bit mask
				 * (unsigned: bit i for choices[i]), not empty */
	API_FIELD_OPTIONAL,     /* sub object held through a pointer to an
				 * allocated struct, NULL when absent */
};

struct api_table;

struct api_field {
	const char *name;
	enum api_field_kind kind;
	size_t offset;          /* of the value in the struct */
	bool required;
	double def;             /* default of NUMBER, INT, U64 */
	size_t def_choice;      /* default of ENUM, CHOICE: index in choices */
	unsigned def_set;       /* default of SET: bit mask */
	double min, max;        /* range of NUMBER, INT, U64 */
	bool min_open;          /* the range excludes min itself */
	const char *const *choices;     /* ENUM, CHOICE: NULL-terminated */
	const struct api_table *sub;    /* ARRAY items, OBJECT, OPTIONAL */
	size_t count_offset;    /* ARRAY: of the size_t item count */
};

struct api_table {
	const struct api_field *fields;
	size_t n_fields;        /* at most API_FIELDS_MAX */
	size_t size;            /* of the struct */
};

/*
 * Fills target, a zeroed struct, with the defaults: numbers and enums their
 * def, choices a copy of their default, sets their def_set, strings and
 * optional objects NULL, arrays empty.
 */
void api_fields_defaults(struct api_parse *p, const struct api_table *t,
			 void *target);

/*
 * Reads the JSON object obj (path names it in messages) into target, which
 * holds the defaults. Reports unknown and repeated fields, missing required
 * ones and every invalid value; an invalid value leaves the default.
 */
void api_fields_parse(struct api_parse *p, const cJSON *obj, const char *path,
		      const struct api_table *t, void *target);

/* source as a JSON object, every field in table order; NULL if out of memory. */
cJSON *api_fields_write(const struct api_table *t, const void *source);

/* Frees what the struct at target owns (not target itself). */
void api_fields_free(const struct api_table *t, void *target);

/* choices[index], or NULL when index is past the end. */
const char *api_choice_name(const char *const *choices, size_t index);

#endif
