/*
 * api_json: reading a JSON document and saying what is wrong with it, and
 * the small cJSON helpers the rest of api/ shares. Internal to api/.
 */
#ifndef API_JSON_H
#define API_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "api/api_errors.h"

/* Longest field path ("masks[12].weight") kept; longer ones are cut. */
#define API_PATH_MAX 128

/* Longest message built from parts (an expected value, what came). */
#define API_MESSAGE_MAX 512

/* One validation pass: the errors found so far. */
struct api_parse {
	api_errors *errs;
	int err;                /* 0, or -ENOMEM once an allocation failed */
};

/*
 * Starts a pass. Sets *errs (when errs is not NULL) to NULL, as the public
 * functions promise. Returns 0 or -ENOMEM.
 */
int api_parse_begin(struct api_parse *p, api_errors **errs);

/*
 * Ends a pass: -ENOMEM if an allocation failed, else -EINVAL when errors
 * were reported (handed to *errs when errs is not NULL), else 0.
 */
int api_parse_end(struct api_parse *p, api_errors **errs);

/* Reports an error about path ("" for the whole document). */
void api_report(struct api_parse *p, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Reports "must be <expected>, got <item>". same_type says item has the
 * expected JSON type but a wrong value; a string of the wrong type is then
 * shown as such ("the string "2"").
 */
void api_report_invalid(struct api_parse *p, const cJSON *item,
			const char *path, const char *expected, bool same_type);

/*
 * Parses the len bytes at json as one JSON value, with only whitespace
 * around it. Returns the tree (cJSON_Delete it), or NULL after reporting
 * where the text stops being JSON.
 */
cJSON *api_json_parse(struct api_parse *p, const char *json, size_t len);

/* The path of a member of parent: "output" + "crf" gives "output.crf". */
void api_path_field(char *buf, size_t len, const char *parent,
		    const char *name);

/* The path of an element of parent: "masks" + 2 gives "masks[2]". */
void api_path_index(char *buf, size_t len, const char *parent, size_t index);

/* The shortest decimal text that reads back as v. */
void api_format_number(char *buf, size_t len, double v);

/*
 * A number item printed exactly (the shortest text that reads back as v;
 * null when v is not finite). cJSON's own printer may drop the last digits
 * (a seed of 2^53 comes out as 9.00719925474099e+15), so the item is raw
 * JSON text: read values from the C struct, not from the item.
 */
cJSON *api_json_number(double v);

/* Adds a string member, or nothing when value is NULL. False when out of memory. */
bool api_json_add_string(cJSON *obj, const char *name, const char *value);

/* doc as compact text (free with free()); deletes doc. NULL if doc is NULL. */
char *api_json_print(cJSON *doc);

#endif
