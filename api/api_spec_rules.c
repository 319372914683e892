/*
 * api_spec_rules: the rules of the job spec that involve more than one
 * field, and the frame check against the clip.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_spec_rules.h"

/*
 * Masks and keyframes both start with their frame, so one helper reads,
 * compares and sorts either.
 */
_Static_assert(offsetof(struct api_mask, frame) == 0, "frame comes first");
_Static_assert(offsetof(struct api_keyframe, frame) == 0, "frame comes first");

/* A frame and the position it was given at, for finding repeats. */
struct api_frame_ref {
	int frame;
	size_t index;
};

/* The frame of element i of items, an array of size-byte masks or keyframes. */
static int api_frame_at(const void *items, size_t i, size_t size)
{
	return *(const int *)((const char *)items + i * size);
}

static int api_cmp_frame(const void *a, const void *b)
{
	int fa = *(const int *)a, fb = *(const int *)b;

	return (fa > fb) - (fa < fb);
}

/* Orders frame refs by frame, then by position, so a repeat follows its first use. */
static int api_cmp_ref(const void *a, const void *b)
{
	const struct api_frame_ref *ra = a, *rb = b;
	int by_frame = api_cmp_frame(a, b);

	if (by_frame)
		return by_frame;
	return (ra->index > rb->index) - (ra->index < rb->index);
}

/* The path of element index's frame: "keyframes[3].frame". */
static void api_frame_path(char *buf, size_t len, const char *name,
			   size_t index)
{
	char elem[API_PATH_MAX];

	api_path_index(elem, sizeof(elem), name, index);
	api_path_field(buf, len, elem, "frame");
}

/* Reports every element of items (named name) whose frame an earlier one has. */
static void api_check_unique(struct api_parse *p, const char *name,
			     const void *items, size_t n, size_t size)
{
	char path[API_PATH_MAX], first[API_PATH_MAX];
	struct api_frame_ref *refs;
	size_t i, run = 0;

	if (n < 2)
		return;
	refs = calloc(n, sizeof(*refs));
	if (!refs) {
		p->err = -ENOMEM;
		return;
	}
	for (i = 0; i < n; i++)
		refs[i] = (struct api_frame_ref){ api_frame_at(items, i, size), i };
	qsort(refs, n, sizeof(*refs), api_cmp_ref);
	for (i = 1; i < n; i++) {
		if (refs[i].frame != refs[run].frame || refs[i].frame == API_NO_FRAME) {
			run = i;
			continue;
		}
		api_frame_path(path, sizeof(path), name, refs[i].index);
		api_path_index(first, sizeof(first), name, refs[run].index);
		api_report(p, path, "frame %d is already used by %s; give each frame once",
			   refs[i].frame, first);
	}
	free(refs);
}

/*
 * A mask without its own weight takes cross_attention_weight. Indexed, not
 * a pointer range: masks is NULL when there are none, and NULL + 0 is
 * undefined.
 */
static void api_fill_weights(api_spec *spec)
{
	struct api_mask *m;
	size_t i;

	for (i = 0; i < spec->n_masks; i++) {
		m = &spec->masks[i];
		m->weight_given = !isnan(m->weight);
		if (!m->weight_given)
			m->weight = spec->cross_attention_weight;
	}
}

/*
 * stabilize aligns its windows by the camera motion, so a small window
 * serves; propagate searches around a coarser match. Unless given.
 */
static void api_fill_window(const cJSON *root, api_spec *spec)
{
	if (spec->mode == API_MODE_STABILIZE &&
	    !cJSON_GetObjectItemCaseSensitive(root, "window"))
		spec->window = API_DEFAULT_WINDOW_STABILIZE;
}

/* Masks come from images or from a mask video, not both. */
static void api_check_mask_source(struct api_parse *p, const api_spec *spec)
{
	if (spec->n_masks && spec->mask_video)
		api_report(p, "mask_video", "give either masks (images at keyframes) or mask_video (one mask frame per clip frame), not both");
}

/*
 * propagate carries edited keyframes through the clip, so it needs at least
 * one, each with its image. Skipped when the mode itself is in doubt, and
 * for fields already reported, so one mistake gives one error.
 */
static void api_check_propagate(struct api_parse *p, const cJSON *root,
				const api_spec *spec)
{
	const cJSON *keyframes, *item;
	char elem[API_PATH_MAX], path[API_PATH_MAX];
	size_t i = 0;

	if (spec->mode != API_MODE_PROPAGATE || api_errors_find(p->errs, "mode"))
		return;
	if (!spec->n_keyframes) {
		if (!api_errors_find(p->errs, "keyframes"))
			api_report(p, "keyframes", "propagate needs at least one keyframe with its edited image, such as [{\"frame\": 0, \"image\": \"edit0.png\"}]");
		return;
	}
	keyframes = cJSON_GetObjectItemCaseSensitive(root, "keyframes");
	cJSON_ArrayForEach(item, keyframes) {
		api_path_index(elem, sizeof(elem), "keyframes", i++);
		if (!cJSON_IsObject(item) ||
		    cJSON_GetObjectItemCaseSensitive(item, "image"))
			continue;
		api_path_field(path, sizeof(path), elem, "image");
		api_report(p, path, "required in propagate mode; give the edited image of this frame");
	}
}

/* The video is what a job is for: "outputs" adds to it. */
static void api_check_outputs(struct api_parse *p, const api_spec *spec)
{
	if (!(spec->outputs & API_OUTPUT_VIDEO) && !api_errors_find(p->errs, "outputs"))
		api_report(p, "outputs", "must include \"video\", such as [\"video\", \"attention\"]");
}

/* Bytes of the scheme and "://" url starts with (http or https), else 0. */
static size_t api_url_scheme(const char *url)
{
	if (!strncasecmp(url, "http://", 7))
		return 7;
	if (!strncasecmp(url, "https://", 8))
		return 8;
	return 0;
}

/*
 * A webhook URL: http or https, a host, at most API_MAX_URL bytes, no
 * spaces or control characters. Where it may point is the server's to say.
 */
static void api_check_webhook(struct api_parse *p, const api_spec *spec)
{
	const char *url = spec->webhook ? spec->webhook->url : NULL;
	size_t scheme, i;

	if (!url)
		return;
	scheme = api_url_scheme(url);
	if (!scheme || strchr("/?#", url[scheme])) {
		api_report(p, "webhook.url", "must be an http:// or https:// URL with a host, such as \"https://example.com/hooks/maskattn\"");
		return;
	}
	if (strlen(url) > API_MAX_URL) {
		api_report(p, "webhook.url", "is longer than %d bytes", API_MAX_URL);
		return;
	}
	for (i = 0; url[i]; i++) {
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) {
			api_report(p, "webhook.url", "must not contain spaces or control characters; percent-encode them");
			return;
		}
	}
}

/* Sorts n masks or keyframes of size bytes by frame. */
static void api_sort_frames(void *items, size_t n, size_t size)
{
	if (n > 1)
		qsort(items, n, size, api_cmp_frame);
}

void api_spec_apply_rules(struct api_parse *p, const cJSON *root,
			  api_spec *spec)
{
	api_fill_weights(spec);
	api_fill_window(root, spec);
	api_check_unique(p, "masks", spec->masks, spec->n_masks,
			 sizeof(*spec->masks));
	api_check_unique(p, "keyframes", spec->keyframes, spec->n_keyframes,
			 sizeof(*spec->keyframes));
	api_check_mask_source(p, spec);
	api_check_propagate(p, root, spec);
	api_check_outputs(p, spec);
	api_check_webhook(p, spec);
	api_sort_frames(spec->masks, spec->n_masks, sizeof(*spec->masks));
	api_sort_frames(spec->keyframes, spec->n_keyframes,
			sizeof(*spec->keyframes));
}

/* Reports every element of items (named name) at or past frame_count. */
static void api_check_in_clip(struct api_parse *p, const char *name,
			      const void *items, size_t n, size_t size,
			      int64_t frame_count)
{
	char path[API_PATH_MAX];
	size_t i;
	int frame;

	for (i = 0; i < n; i++) {
		frame = api_frame_at(items, i, size);
		if (frame < frame_count)
			continue;
		api_frame_path(path, sizeof(path), name, i);
		if (frame_count > 0)
			api_report(p, path, "frame %d is past the end of the clip (%" PRId64 " frames, 0..%" PRId64 ")",
				   frame, frame_count, frame_count - 1);
		else
			api_report(p, path, "frame %d is past the end of the clip (it has no frames)",
				   frame);
	}
}

int api_spec_check_frames(const api_spec *spec, int64_t frame_count,
			  api_errors **errs)
{
	struct api_parse p;
	int ret;

	ret = api_parse_begin(&p, errs);
	if (ret < 0)
		return ret;
	api_check_in_clip(&p, "masks", spec->masks, spec->n_masks,
			  sizeof(*spec->masks), frame_count);
	api_check_in_clip(&p, "keyframes", spec->keyframes, spec->n_keyframes,
			  sizeof(*spec->keyframes), frame_count);
	return api_parse_end(&p, errs);
}
