/*
 * api_spec: the job spec, parsed and validated once, shared by the CLI and
 * the server. Pure: no files, no sockets.
 *
 * Names are the pinned contract of DESIGN.md. File references ("video",
 * "image", "mask_video") are kept as the strings given: the CLI resolves them
 * as paths relative to the spec file, the server as multipart part names.
 */
#ifndef API_SPEC_H
#define API_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api_errors.h"

struct cJSON;

enum api_mode {
	API_MODE_PROPAGATE,
	API_MODE_STABILIZE,
};

enum api_mask_mode {
	API_MASK_TRACK,
	API_MASK_LINEAR,
};

enum api_pix_fmt {
	API_PIX_YUV420P,
	API_PIX_YUV444P,
};

struct api_mask {
	int frame;
	char *image;            /* owned */
	double weight;          /* the spec's, else cross_attention_weight */
	bool weight_given;
};

struct api_keyframe {
	int frame;
	char *image;            /* owned; NULL when omitted (stabilize only) */
};

struct api_output {
	char *container;        /* "mp4", owned */
	char *codec;            /* "h264", owned */
	int crf;                /* 0..51 */
	enum api_pix_fmt pix_fmt;
	char *preset;           /* x264 preset, "veryfast" by default, owned */
};

/* What a job writes besides the video ("outputs"), as bits. */
enum api_outputs {
	API_OUTPUT_VIDEO = 1u << 0,     /* always */
	API_OUTPUT_ATTENTION = 1u << 1, /* the entropy heatmap video */
};

/* The job events a webhook is sent for ("webhook.events"), as bits. */
enum api_events {
	API_EVENT_COMPLETED = 1u << 0,  /* any final status */
	API_EVENT_SUCCEEDED = 1u << 1,
	API_EVENT_FAILED = 1u << 2,
	API_EVENT_CANCELED = 1u << 3,
};

struct api_webhook {
	char *url;              /* http:// or https://, owned */
	unsigned events;        /* api_events, at least one */
};

typedef struct api_spec {
	enum api_mode mode;
	char *video;            /* owned */
	struct api_mask *masks; /* owned, sorted by frame */
	size_t n_masks;
	char *mask_video;       /* owned, NULL when absent */
	enum api_mask_mode mask_mode;
	struct api_keyframe *keyframes; /* owned, sorted by frame */
	size_t n_keyframes;
	double cross_attention_weight;
	double temperature;
	int steps;
	uint64_t seed;
	int window;             /* spatial radius R in pixels */
	int temporal_window;    /* K: stabilize looks at t-K..t+K */
	struct api_output output;
	unsigned outputs;       /* api_outputs; API_OUTPUT_VIDEO always set */
	struct api_webhook *webhook;    /* owned, NULL when absent */
} api_spec;

/* Defaults filled in when a field is absent. */
#define API_DEFAULT_WEIGHT       0.85
#define API_DEFAULT_TEMPERATURE  0.7
#define API_DEFAULT_STEPS        2
#define API_DEFAULT_SEED         0
#define API_DEFAULT_WINDOW       8   /* propagate */
#define API_DEFAULT_WINDOW_STABILIZE 2
#define API_DEFAULT_TEMPORAL     3
#define API_DEFAULT_CRF          18
#define API_DEFAULT_PRESET       "veryfast"

/* Accepted ranges, inclusive (temperature must also be above 0). */
#define API_MAX_TEMPERATURE      100.0
#define API_MIN_STEPS            1
#define API_MAX_STEPS            8
#define API_MAX_SEED             9007199254740992.0  /* 2^53: exact in a double */
#define API_MIN_WINDOW           1
#define API_MAX_WINDOW           64
#define API_MAX_TEMPORAL         15
#define API_MAX_CRF              51
#define API_MAX_URL              2048    /* bytes of a webhook URL */

/*
 * Parses and validates json (len bytes, need not be NUL-terminated).
 * On success returns 0 and *out is a new spec owned by the caller.
 * On invalid input returns -EINVAL and *errs lists every invalid field
 * (owned by the caller; free with api_errors_free). -ENOMEM on allocation
 * failure. *errs is NULL unless -EINVAL is returned; errs may be NULL when
 * the caller does not want the list.
 */
int api_spec_parse(const char *json, size_t len, api_spec **out,
		   api_errors **errs);

/*
 * Checks what needs the clip: every frame index below frame_count. -EINVAL
 * with *errs filled when not (as for api_spec_parse). Field paths index the
 * spec as stored, sorted by frame, which is also how the job JSON shows it.
 */
int api_spec_check_frames(const api_spec *spec, int64_t frame_count,
			  api_errors **errs);

/*
 * The normalized spec (defaults filled in, masks with their effective
 * weight) as compact JSON text owned by the caller (free with free()), NULL
 * when out of memory. Fields without a value and without a default
 * ("mask_video", a stabilize keyframe's "image") are left out. Parsing the
 * text again gives the same spec, except that every mask then has
 * weight_given set.
 */
char *api_spec_to_json(const api_spec *spec);

/*
 * The same as a cJSON object owned by the caller (cJSON_Delete), for
 * embedding in the job JSON. Its numbers are raw items (cJSON_IsRaw) so that
 * they print exactly; read values from the spec, not from the tree.
 */
struct cJSON *api_spec_to_cjson(const api_spec *spec);

void api_spec_free(api_spec *spec);

/* "propagate" or "stabilize"; "unknown" for a value outside the enum. */
const char *api_mode_name(enum api_mode mode);

#endif
