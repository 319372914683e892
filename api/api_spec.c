/*
 * api_spec: the job spec's field tables, and parsing, writing and freeing a
 * spec through them. The rules across fields are in api_spec_rules.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "api/api_field.h"
#include "api/api_spec.h"
#include "api/api_spec_rules.h"

/* A table row for member of type; the JSON name is the member's name. */
#define FIELD(type, member, field_kind, ...)                            \
	{ .name = #member, .kind = (field_kind),                        \
	  .offset = offsetof(type, member), __VA_ARGS__ }

/* ENUM fields are stored through an int. */
_Static_assert(sizeof(enum api_mode) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum api_mask_mode) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum api_pix_fmt) == sizeof(int), "enum stored as int");

/* Names of the enum values, in enum order. */
static const char *const mode_names[] = { "propagate", "stabilize", NULL };
static const char *const mask_mode_names[] = { "track", "linear", NULL };
static const char *const pix_fmt_names[] = { "yuv420p", "yuv444p", NULL };

static const char *const container_names[] = { "mp4", NULL };
/* In the order of the bits of api_outputs and api_events. */
static const char *const output_names[] = { "video", "attention", NULL };
static const char *const event_names[] = {
	"completed", "succeeded", "failed", "canceled", NULL
};
static const char *const codec_names[] = { "h264", NULL };
/* The x264 presets, fastest first. */
static const char *const preset_names[] = {
	"ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
	"slow", "slower", "veryslow", NULL
};
#define PRESET_DEFAULT 2        /* API_DEFAULT_PRESET, "veryfast" */

/* A frame is required; API_NO_FRAME marks a missing or invalid one. */
#define FRAME_FIELD(type)                                               \
	FIELD(type, frame, API_FIELD_INT, .required = true,             \
	      .min = 0, .max = INT_MAX, .def = API_NO_FRAME)

static const struct api_field mask_fields[] = {
	FRAME_FIELD(struct api_mask),
	FIELD(struct api_mask, image, API_FIELD_STRING, .required = true),
	FIELD(struct api_mask, weight, API_FIELD_NUMBER,
	      .min = 0, .max = 1, .def = API_NO_WEIGHT),
};

/* "image" is required in propagate only: api_spec_rules checks it. */
static const struct api_field keyframe_fields[] = {
	FRAME_FIELD(struct api_keyframe),
	FIELD(struct api_keyframe, image, API_FIELD_STRING),
};

static const struct api_field output_fields[] = {
	FIELD(struct api_output, container, API_FIELD_CHOICE,
	      .choices = container_names),
	FIELD(struct api_output, codec, API_FIELD_CHOICE,
	      .choices = codec_names),
	FIELD(struct api_output, crf, API_FIELD_INT,
	      .min = 0, .max = API_MAX_CRF, .def = API_DEFAULT_CRF),
	FIELD(struct api_output, pix_fmt, API_FIELD_ENUM,
	      .choices = pix_fmt_names),
	FIELD(struct api_output, preset, API_FIELD_CHOICE,
	      .choices = preset_names, .def_choice = PRESET_DEFAULT),
};

/* The URL's form is checked by api_spec_rules. */
static const struct api_field webhook_fields[] = {
	FIELD(struct api_webhook, url, API_FIELD_STRING, .required = true),
	FIELD(struct api_webhook, events, API_FIELD_SET, .choices = event_names,
	      .def_set = API_EVENT_COMPLETED),
};

static const struct api_table mask_table = {
	mask_fields, API_ARRAY_SIZE(mask_fields), sizeof(struct api_mask)
};
static const struct api_table keyframe_table = {
	keyframe_fields, API_ARRAY_SIZE(keyframe_fields),
	sizeof(struct api_keyframe)
};
static const struct api_table output_table = {
	output_fields, API_ARRAY_SIZE(output_fields), sizeof(struct api_output)
};
static const struct api_table webhook_table = {
	webhook_fields, API_ARRAY_SIZE(webhook_fields), sizeof(struct api_webhook)
};

/* The top level, in the order the normalized spec is written. */
static const struct api_field spec_fields[] = {
	FIELD(api_spec, mode, API_FIELD_ENUM, .required = true,
	      .choices = mode_names),
	FIELD(api_spec, video, API_FIELD_STRING, .required = true),
	FIELD(api_spec, masks, API_FIELD_ARRAY, .sub = &mask_table,
	      .count_offset = offsetof(api_spec, n_masks)),
	FIELD(api_spec, mask_video, API_FIELD_STRING),
	FIELD(api_spec, mask_mode, API_FIELD_ENUM, .choices = mask_mode_names),
	FIELD(api_spec, keyframes, API_FIELD_ARRAY, .sub = &keyframe_table,
	      .count_offset = offsetof(api_spec, n_keyframes)),
	FIELD(api_spec, cross_attention_weight, API_FIELD_NUMBER,
	      .min = 0, .max = 1, .def = API_DEFAULT_WEIGHT),
	FIELD(api_spec, temperature, API_FIELD_NUMBER, .min = 0,
	      .min_open = true, .max = API_MAX_TEMPERATURE,
	      .def = API_DEFAULT_TEMPERATURE),
	FIELD(api_spec, steps, API_FIELD_INT, .min = API_MIN_STEPS,
	      .max = API_MAX_STEPS, .def = API_DEFAULT_STEPS),
	FIELD(api_spec, seed, API_FIELD_U64, .min = 0, .max = API_MAX_SEED,
	      .def = API_DEFAULT_SEED),
	FIELD(api_spec, window, API_FIELD_INT, .min = API_MIN_WINDOW,
	      .max = API_MAX_WINDOW, .def = API_DEFAULT_WINDOW),
	FIELD(api_spec, temporal_window, API_FIELD_INT, .min = 0,
	      .max = API_MAX_TEMPORAL, .def = API_DEFAULT_TEMPORAL),
	FIELD(api_spec, output, API_FIELD_OBJECT, .sub = &output_table),
	FIELD(api_spec, outputs, API_FIELD_SET, .choices = output_names,
	      .def_set = API_OUTPUT_VIDEO),
	FIELD(api_spec, webhook, API_FIELD_OPTIONAL, .sub = &webhook_table),
};

static const struct api_table spec_table = {
	spec_fields, API_ARRAY_SIZE(spec_fields), sizeof(api_spec)
};

_Static_assert(API_ARRAY_SIZE(spec_fields) <= API_FIELDS_MAX, "table too long");

/* Reads root, the parsed document, into spec, a zeroed spec. */
static void api_spec_read(struct api_parse *p, const cJSON *root,
			  api_spec *spec)
{
	api_fields_defaults(p, &spec_table, spec);
	if (!cJSON_IsObject(root)) {
		api_report_invalid(p, root, "", "a JSON object such as {\"mode\": \"propagate\", \"video\": \"clip.mp4\", ...}",
				   false);
		return;
	}
	api_fields_parse(p, root, "", &spec_table, spec);
	api_spec_apply_rules(p, root, spec);
}

int api_spec_parse(const char *json, size_t len, api_spec **out,
		   api_errors **errs)
{
	struct api_parse p;
	api_spec *spec;
	cJSON *root;
	int ret;

	*out = NULL;
	ret = api_parse_begin(&p, errs);
	if (ret < 0)
		return ret;
	spec = calloc(1, sizeof(*spec));
	root = api_json_parse(&p, json, len);
	if (!spec)
		p.err = -ENOMEM;
	else if (root)
		api_spec_read(&p, root, spec);
	cJSON_Delete(root);
	ret = api_parse_end(&p, errs);
	if (ret < 0)
		goto free_spec;
	*out = spec;
	return 0;

free_spec:
	api_spec_free(spec);
	return ret;
}

cJSON *api_spec_to_cjson(const api_spec *spec)
{
	return api_fields_write(&spec_table, spec);
}

char *api_spec_to_json(const api_spec *spec)
{
	return api_json_print(api_spec_to_cjson(spec));
}

void api_spec_free(api_spec *spec)
{
	if (!spec)
		return;
	api_fields_free(&spec_table, spec);
	free(spec);
}

const char *api_mode_name(enum api_mode mode)
{
	const char *name = api_choice_name(mode_names, (size_t)mode);

	return name ? name : "unknown";
}
