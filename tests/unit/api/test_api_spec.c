/*
 * Tests of api/api_spec.c: the job spec's fields, defaults, errors and the
 * normalized JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <cJSON.h>

#include "api/api_json.h"
#include "api_test_util.h"

/* Every field given, none at its default. */
static const char full_spec[] =
	"{\"mode\": \"propagate\", \"video\": \"clip.mp4\","
	" \"masks\": [{\"frame\": 10, \"image\": \"m10.png\"},"
	"             {\"frame\": 0, \"image\": \"m0.png\", \"weight\": 0.5}],"
	" \"mask_mode\": \"linear\","
	" \"keyframes\": [{\"frame\": 20, \"image\": \"e20.png\"},"
	"                 {\"frame\": 0, \"image\": \"e0.png\"}],"
	" \"cross_attention_weight\": 0.9, \"temperature\": 1.25, \"steps\": 4,"
	" \"seed\": 42, \"window\": 16, \"temporal_window\": 5,"
	" \"output\": {\"container\": \"mp4\", \"codec\": \"h264\", \"crf\": 0,"
	"             \"pix_fmt\": \"yuv444p\", \"preset\": \"slow\"}}";

static void test_full_spec(void **state)
{
	api_spec *spec = parse_ok(full_spec);

	(void)state;
	assert_int_equal(spec->mode, API_MODE_PROPAGATE);
	assert_string_equal(spec->video, "clip.mp4");
	assert_int_equal(spec->n_masks, 2);
	assert_int_equal(spec->masks[0].frame, 0);
	assert_string_equal(spec->masks[0].image, "m0.png");
	assert_true(spec->masks[0].weight == 0.5);
	assert_true(spec->masks[0].weight_given);
	assert_int_equal(spec->masks[1].frame, 10);
	assert_string_equal(spec->masks[1].image, "m10.png");
	assert_true(spec->masks[1].weight == 0.9);
	assert_false(spec->masks[1].weight_given);
	assert_null(spec->mask_video);
	assert_int_equal(spec->mask_mode, API_MASK_LINEAR);
	assert_int_equal(spec->n_keyframes, 2);
	assert_int_equal(spec->keyframes[0].frame, 0);
	assert_string_equal(spec->keyframes[0].image, "e0.png");
	assert_int_equal(spec->keyframes[1].frame, 20);
	assert_string_equal(spec->keyframes[1].image, "e20.png");
	assert_true(spec->cross_attention_weight == 0.9);
	assert_true(spec->temperature == 1.25);
	assert_int_equal(spec->steps, 4);
	assert_int_equal(spec->seed, 42);
	assert_int_equal(spec->window, 16);
	assert_int_equal(spec->temporal_window, 5);
	assert_string_equal(spec->output.container, "mp4");
	assert_string_equal(spec->output.codec, "h264");
	assert_int_equal(spec->output.crf, 0);
	assert_int_equal(spec->output.pix_fmt, API_PIX_YUV444P);
	assert_string_equal(spec->output.preset, "slow");
	api_spec_free(spec);
}

/* The window's default depends on the mode; a given window is kept. */
static void test_window_default_follows_mode(void **state)
{
	api_spec *spec = parse_ok("{\"mode\": \"propagate\", \"video\": \"v.mp4\","
				  " \"keyframes\": [{\"frame\": 0, \"image\": \"e.png\"}]}");

	(void)state;
	assert_int_equal(spec->window, API_DEFAULT_WINDOW);
	api_spec_free(spec);
	spec = parse_ok("{\"mode\": \"stabilize\", \"video\": \"v.mp4\", \"window\": 5}");
	assert_int_equal(spec->window, 5);
	api_spec_free(spec);
}

static void test_minimal_spec_gets_defaults(void **state)
{
	api_spec *spec = parse_ok("{\"mode\": \"stabilize\", \"video\": \"v.mp4\"}");
	char *text;

	(void)state;
	assert_int_equal(spec->mode, API_MODE_STABILIZE);
	assert_string_equal(spec->video, "v.mp4");
	assert_null(spec->masks);
	assert_int_equal(spec->n_masks, 0);
	assert_null(spec->mask_video);
	assert_int_equal(spec->mask_mode, API_MASK_TRACK);
	assert_null(spec->keyframes);
	assert_int_equal(spec->n_keyframes, 0);
	assert_true(spec->cross_attention_weight == API_DEFAULT_WEIGHT);
	assert_true(spec->temperature == API_DEFAULT_TEMPERATURE);
	assert_int_equal(spec->steps, API_DEFAULT_STEPS);
	assert_int_equal(spec->seed, API_DEFAULT_SEED);
	assert_int_equal(spec->window, API_DEFAULT_WINDOW_STABILIZE);
	assert_int_equal(spec->temporal_window, API_DEFAULT_TEMPORAL);
	assert_string_equal(spec->output.container, "mp4");
	assert_string_equal(spec->output.codec, "h264");
	assert_int_equal(spec->output.crf, API_DEFAULT_CRF);
	assert_int_equal(spec->output.pix_fmt, API_PIX_YUV420P);
	assert_string_equal(spec->output.preset, API_DEFAULT_PRESET);

	text = api_spec_to_json(spec);
	assert_string_equal(text,
			    "{\"mode\":\"stabilize\",\"video\":\"v.mp4\",\"masks\":[],"
			    "\"mask_mode\":\"track\",\"keyframes\":[],"
			    "\"cross_attention_weight\":0.85,\"temperature\":0.7,"
			    "\"steps\":2,\"seed\":0,\"window\":2,\"temporal_window\":3,"
			    "\"output\":{\"container\":\"mp4\",\"codec\":\"h264\","
			    "\"crf\":18,\"pix_fmt\":\"yuv420p\",\"preset\":\"veryfast\"},"
			    "\"outputs\":[\"video\"]}");
	free(text);
	api_spec_free(spec);
}

/* outputs defaults to the video alone; attention adds the heatmap. */
static void test_outputs(void **state)
{
	api_spec *spec = parse_ok("{\"mode\": \"stabilize\", \"video\": \"v\"}");
	char *text;

	(void)state;
	assert_int_equal(spec->outputs, API_OUTPUT_VIDEO);
	assert_null(spec->webhook);
	api_spec_free(spec);
	spec = parse_ok("{\"mode\": \"stabilize\", \"video\": \"v\","
			" \"outputs\": [\"attention\", \"video\"]}");
	assert_int_equal(spec->outputs, API_OUTPUT_VIDEO | API_OUTPUT_ATTENTION);
	text = api_spec_to_json(spec);
	assert_non_null(strstr(text, "\"outputs\":[\"video\",\"attention\"]"));
	free(text);
	api_spec_free(spec);
}

/* A webhook is kept with its URL and events; events default to completed. */
static void test_webhook(void **state)
{
	api_spec *spec = parse_ok("{\"mode\": \"stabilize\", \"video\": \"v\","
				  " \"webhook\": {\"url\": \"https://h.example/x?a=1\"}}");
	char *text;

	(void)state;
	assert_non_null(spec->webhook);
	assert_string_equal(spec->webhook->url, "https://h.example/x?a=1");
	assert_int_equal(spec->webhook->events, API_EVENT_COMPLETED);
	text = api_spec_to_json(spec);
	assert_non_null(strstr(text, "\"webhook\":{\"url\":\"https://h.example/x?a=1\","
			       "\"events\":[\"completed\"]}"));
	free(text);
	api_spec_free(spec);
	spec = parse_ok("{\"mode\": \"stabilize\", \"video\": \"v\","
			" \"webhook\": {\"url\": \"HTTP://127.0.0.1:9/\","
			" \"events\": [\"failed\", \"succeeded\"]}}");
	assert_int_equal(spec->webhook->events, API_EVENT_SUCCEEDED | API_EVENT_FAILED);
	api_spec_free(spec);
}

static void test_integral_float_accepted(void **state)
{
	api_spec *spec = parse_ok("{\"mode\": \"stabilize\", \"video\": \"v\","
				  " \"steps\": 3.0, \"seed\": 1e3,"
				  " \"output\": {\"crf\": 2.0e1}}");

	(void)state;
	assert_int_equal(spec->steps, 3);
	assert_int_equal(spec->seed, 1000);
	assert_int_equal(spec->output.crf, 20);
	api_spec_free(spec);
}

static void test_range_limits_accepted(void **state)
{
	api_spec *spec = parse_ok("{\"mode\": \"stabilize\", \"video\": \"v\","
				  " \"cross_attention_weight\": 0, \"temperature\": 100,"
				  " \"steps\": 8, \"seed\": 9007199254740992, \"window\": 1,"
				  " \"temporal_window\": 0, \"output\": {\"crf\": 51}}");

	(void)state;
	assert_true(spec->cross_attention_weight == 0);
	assert_true(spec->temperature == 100);
	assert_int_equal(spec->steps, 8);
	assert_true(spec->seed == 9007199254740992ULL);
	assert_int_equal(spec->window, 1);
	assert_int_equal(spec->temporal_window, 0);
	assert_int_equal(spec->output.crf, 51);
	api_spec_free(spec);
}

static void test_every_preset(void **state)
{
	static const char *const presets[] = {
		"ultrafast", "superfast", "veryfast", "faster", "fast",
		"medium", "slow", "slower", "veryslow",
	};
	char json[160];
	api_spec *spec;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		snprintf(json, sizeof(json),
			 "{\"mode\": \"stabilize\", \"video\": \"v\", \"output\": {\"preset\": \"%s\"}}",
			 presets[i]);
		spec = parse_ok(json);
		assert_string_equal(spec->output.preset, presets[i]);
		api_spec_free(spec);
	}
}

/* One invalid field: exactly one error, at field, whose message holds text. */
struct bad_case {
	const char *json;
	const char *field;
	const char *text;
};

/* A valid stabilize spec with more fields. */
#define STAB(rest) "{\"mode\": \"stabilize\", \"video\": \"v.mp4\", " rest "}"
/* A valid propagate spec with more fields. */
#define PROP(rest) "{\"mode\": \"propagate\", \"video\": \"v.mp4\", " \
		   "\"keyframes\": [{\"frame\": 0, \"image\": \"e.png\"}], " rest "}"

static const struct bad_case bad_cases[] = {
	/* mode */
	{ "{\"video\": \"v\"}", "mode",
	  "required; add it as one of \"propagate\", \"stabilize\"" },
	{ "{\"mode\": \"Stabilize\", \"video\": \"v\"}", "mode",
	  "must be one of \"propagate\", \"stabilize\", got \"Stabilize\"" },
	{ "{\"mode\": 1, \"video\": \"v\"}", "mode", "got 1" },
	/* video */
	{ "{\"mode\": \"stabilize\"}", "video", "required; add it as a non-empty string" },
	{ "{\"mode\": \"stabilize\", \"video\": \"\"}", "video",
	  "must be a non-empty string, got \"\"" },
	{ "{\"mode\": \"stabilize\", \"video\": [\"v\"]}", "video",
	  "must be a non-empty string, got an array" },
	/* masks */
	{ STAB("\"masks\": {\"frame\": 0}"), "masks", "must be an array of objects, got an object" },
	{ STAB("\"masks\": [\"m.png\"]"), "masks[0]", "must be an object, got the string \"m.png\"" },
	{ STAB("\"masks\": [{\"image\": \"m.png\"}]"), "masks[0].frame",
	  "required; add it as an integer between 0 and 2147483647" },
	{ STAB("\"masks\": [{\"frame\": -1, \"image\": \"m.png\"}]"), "masks[0].frame",
	  "must be an integer between 0 and 2147483647, got -1" },
	{ STAB("\"masks\": [{\"frame\": 1.5, \"image\": \"m.png\"}]"), "masks[0].frame", "got 1.5" },
	{ STAB("\"masks\": [{\"frame\": \"1\", \"image\": \"m.png\"}]"), "masks[0].frame",
	  "must be an integer between 0 and 2147483647, got the string \"1\"" },
	{ STAB("\"masks\": [{\"frame\": 0}]"), "masks[0].image", "required; add it as a non-empty string" },
	{ STAB("\"masks\": [{\"frame\": 0, \"image\": \"\"}]"), "masks[0].image", "non-empty" },
	{ STAB("\"masks\": [{\"frame\": 0, \"image\": \"a\"}, {\"frame\": 1, \"image\": \"b\"},"
	       " {\"frame\": 2, \"image\": \"c\", \"weight\": 1.5}]"), "masks[2].weight",
	  "must be a number between 0 and 1, got 1.5" },
	{ STAB("\"masks\": [{\"frame\": 0, \"image\": \"a\", \"weight\": -0.1}]"), "masks[0].weight",
	  "got -0.1" },
	{ STAB("\"masks\": [{\"frame\": 0, \"image\": \"a\", \"weight\": \"0.8\"}]"), "masks[0].weight",
	  "must be a number between 0 and 1, got the string \"0.8\"" },
	/* mask_video, mask_mode */
	{ STAB("\"mask_video\": \"\""), "mask_video", "must be a non-empty string" },
	{ STAB("\"mask_video\": null"), "mask_video", "got null" },
	{ STAB("\"mask_mode\": \"tracking\""), "mask_mode",
	  "must be one of \"track\", \"linear\", got \"tracking\"" },
	/* keyframes */
	{ STAB("\"keyframes\": 0"), "keyframes", "must be an array of objects, got 0" },
	{ STAB("\"keyframes\": [{\"image\": \"e.png\"}]"), "keyframes[0].frame", "required" },
	{ STAB("\"keyframes\": [{\"frame\": 0, \"image\": 7}]"), "keyframes[0].image",
	  "must be a non-empty string, got 7" },
	{ PROP("\"keyframes\": []"), "keyframes", "given more than once; keep one" },
	/* numbers */
	{ STAB("\"cross_attention_weight\": 1.01"), "cross_attention_weight",
	  "must be a number between 0 and 1, got 1.01" },
	{ STAB("\"cross_attention_weight\": true"), "cross_attention_weight", "got true" },
	{ STAB("\"temperature\": 0"), "temperature", "must be a number > 0 and <= 100, got 0" },
	{ STAB("\"temperature\": 100.5"), "temperature", "got 100.5" },
	{ STAB("\"temperature\": \"0.7\""), "temperature", "got the string \"0.7\"" },
	{ STAB("\"steps\": 0"), "steps", "must be an integer between 1 and 8, got 0" },
	{ STAB("\"steps\": 9"), "steps", "got 9" },
	{ STAB("\"steps\": 3.5"), "steps", "must be an integer between 1 and 8, got 3.5" },
	{ STAB("\"steps\": \"2\""), "steps",
	  "must be an integer between 1 and 8, got the string \"2\"" },
	{ STAB("\"seed\": -1"), "seed", "must be an integer between 0 and 9007199254740992, got -1" },
	{ STAB("\"seed\": 9007199254740994"), "seed", "got 9007199254740994" },
	{ STAB("\"seed\": 0.5"), "seed", "got 0.5" },
	{ STAB("\"window\": 0"), "window", "must be an integer between 1 and 64, got 0" },
	{ STAB("\"window\": 65"), "window", "got 65" },
	{ STAB("\"temporal_window\": -1"), "temporal_window",
	  "must be an integer between 0 and 15, got -1" },
	{ STAB("\"temporal_window\": 16"), "temporal_window", "got 16" },
	/* output */
	{ STAB("\"output\": \"mp4\""), "output", "must be an object, got the string \"mp4\"" },
	{ STAB("\"output\": {\"container\": \"mkv\"}"), "output.container",
	  "must be \"mp4\", got \"mkv\"" },
	{ STAB("\"output\": {\"codec\": \"h265\"}"), "output.codec", "must be \"h264\", got \"h265\"" },
	{ STAB("\"output\": {\"crf\": 52}"), "output.crf",
	  "must be an integer between 0 and 51, got 52" },
	{ STAB("\"output\": {\"crf\": -1}"), "output.crf", "got -1" },
	{ STAB("\"output\": {\"crf\": 18.5}"), "output.crf", "got 18.5" },
	{ STAB("\"output\": {\"pix_fmt\": \"rgb24\"}"), "output.pix_fmt",
	  "must be one of \"yuv420p\", \"yuv444p\", got \"rgb24\"" },
	{ STAB("\"output\": {\"preset\": \"placebo\"}"), "output.preset",
	  "must be one of \"ultrafast\", \"superfast\", \"veryfast\", \"faster\", \"fast\", \"medium\", \"slow\", \"slower\", \"veryslow\", got \"placebo\"" },
	/* unknown fields, at each level; names are case-sensitive */
	{ STAB("\"strength\": 1"), "strength",
	  "unknown field; remove it or check its spelling (known: mode, video, masks, mask_video, mask_mode, keyframes, cross_attention_weight, temperature, steps, seed, window, temporal_window, output, outputs, webhook)" },
	{ STAB("\"Seed\": 1"), "Seed", "unknown field" },
	{ STAB("\"masks\": [{\"frame\": 0, \"image\": \"a\", \"wieght\": 0.5}]"), "masks[0].wieght",
	  "unknown field; remove it or check its spelling (known: frame, image, weight)" },
	{ STAB("\"keyframes\": [{\"frame\": 0, \"weight\": 0.5}]"), "keyframes[0].weight",
	  "unknown field; remove it or check its spelling (known: frame, image)" },
	{ STAB("\"output\": {\"bitrate\": 5000}"), "output.bitrate",
	  "unknown field; remove it or check its spelling (known: container, codec, crf, pix_fmt, preset)" },
	/* outputs: a set of known values that includes "video" */
	{ STAB("\"outputs\": [\"attention\"]"), "outputs", "must include \"video\"" },
	{ STAB("\"outputs\": []"), "outputs", "must not be empty" },
	{ STAB("\"outputs\": [\"video\", \"video\"]"), "outputs[1]",
	  "\"video\" is listed more than once" },
	{ STAB("\"outputs\": [\"video\", \"audio\"]"), "outputs[1]",
	  "must be one of \"video\", \"attention\", got \"audio\"" },
	{ STAB("\"outputs\": \"video\""), "outputs",
	  "must be an array of distinct strings, each one of \"video\", \"attention\"" },
	/* webhook: an http(s) URL and a set of events */
	{ STAB("\"webhook\": {}"), "webhook.url", "required" },
	{ STAB("\"webhook\": {\"url\": \"ftp://example.com/x\"}"), "webhook.url",
	  "must be an http:// or https:// URL with a host" },
	{ STAB("\"webhook\": {\"url\": \"http:///x\"}"), "webhook.url",
	  "must be an http:// or https:// URL with a host" },
	{ STAB("\"webhook\": {\"url\": \"http://a b/\"}"), "webhook.url",
	  "must not contain spaces" },
	{ STAB("\"webhook\": {\"url\": \"http://h/\", \"events\": [\"done\"]}"),
	  "webhook.events[0]",
	  "must be one of \"completed\", \"succeeded\", \"failed\", \"canceled\", got \"done\"" },
	{ STAB("\"webhook\": {\"url\": \"http://h/\", \"events\": []}"),
	  "webhook.events", "must not be empty" },
	{ STAB("\"webhook\": {\"url\": \"http://h/\", \"secret\": \"x\"}"),
	  "webhook.secret", "unknown field; remove it or check its spelling (known: url, events)" },
	{ STAB("\"webhook\": \"http://h/\""), "webhook", "must be an object" },
	/* repeated member */
	{ STAB("\"steps\": 2, \"steps\": 3"), "steps", "given more than once; keep one" },
};

static void test_each_invalid_field(void **state)
{
	api_errors *errs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		errs = parse_fail(bad_cases[i].json);
		if (errs->count != 1)
			print_error("case %zu (%s): %zu errors, first %s: %s\n", i,
				    bad_cases[i].field, errs->count,
				    errs->items[0].field, errs->items[0].message);
		assert_int_equal(errs->count, 1);
		assert_error(errs, bad_cases[i].field, bad_cases[i].text);
		api_errors_free(errs);
	}
}

static void test_several_errors_at_once(void **state)
{
	static const char *const fields[] = {
		"extra", "mode", "video", "masks[1].weight", "steps",
		"output.crf", "output.pix_fmt",
	};
	api_errors *errs;
	size_t i;
	char line[256];

	(void)state;
	errs = parse_fail("{\"mode\": \"edit\", \"video\": 3, \"extra\": 1,"
			  " \"masks\": [{\"frame\": 0, \"image\": \"a\"},"
			  "             {\"frame\": 1, \"image\": \"b\", \"weight\": 2}],"
			  " \"steps\": 0, \"output\": {\"crf\": 99, \"pix_fmt\": \"nv12\"}}");
	assert_int_equal(errs->count, sizeof(fields) / sizeof(fields[0]));
	for (i = 0; i < errs->count; i++)
		assert_string_equal(errs->items[i].field, fields[i]);
	assert_non_null(strstr(api_errors_line(errs, line, sizeof(line)),
			       "(and 6 more)"));
	api_errors_free(errs);
}

static void test_not_json(void **state)
{
	api_errors *errs = parse_fail("{\"mode\": \"stabilize\",\n \"video\": 'v.mp4'}");

	(void)state;
	assert_int_equal(errs->count, 1);
	assert_error(errs, "", "not valid JSON");
	assert_error(errs, "", "line 2, column 11");
	api_errors_free(errs);
}

static void test_empty_body(void **state)
{
	api_errors *errs = parse_fail("");

	(void)state;
	assert_int_equal(errs->count, 1);
	assert_error(errs, "", "empty");
	api_errors_free(errs);
}

static void test_top_level_not_object(void **state)
{
	static const struct {
		const char *json;
		const char *got;
	} cases[] = {
		{ "[{\"mode\": \"stabilize\"}]", "got an array" },
		{ "\"stabilize\"", "got the string \"stabilize\"" },
		{ "42", "got 42" },
		{ "null", "got null" },
	};
	api_errors *errs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		errs = parse_fail(cases[i].json);
		assert_int_equal(errs->count, 1);
		assert_error(errs, "", "must be a JSON object");
		assert_error(errs, "", cases[i].got);
		api_errors_free(errs);
	}
}

static void test_length_bounds_the_input(void **state)
{
	const char text[] = "{\"mode\": \"stabilize\", \"video\": \"v\"}trailing";
	api_spec *spec = NULL;

	(void)state;
	assert_int_equal(api_spec_parse(text, strlen(text) - strlen("trailing"),
					&spec, NULL), 0);
	assert_string_equal(spec->video, "v");
	api_spec_free(spec);
	assert_int_equal(api_spec_parse(text, strlen(text), &spec, NULL), -EINVAL);
	assert_null(spec);
}

/* Whether two specs hold the same job (weight_given aside: see the header). */
static void assert_same_spec(const api_spec *a, const api_spec *b)
{
	size_t i;

	assert_int_equal(a->mode, b->mode);
	assert_string_equal(a->video, b->video);
	assert_int_equal(a->n_masks, b->n_masks);
	for (i = 0; i < a->n_masks; i++) {
		assert_int_equal(a->masks[i].frame, b->masks[i].frame);
		assert_string_equal(a->masks[i].image, b->masks[i].image);
		assert_true(a->masks[i].weight == b->masks[i].weight);
	}
	assert_true((a->mask_video == NULL) == (b->mask_video == NULL));
	if (a->mask_video)
		assert_string_equal(a->mask_video, b->mask_video);
	assert_int_equal(a->mask_mode, b->mask_mode);
	assert_int_equal(a->n_keyframes, b->n_keyframes);
	for (i = 0; i < a->n_keyframes; i++) {
		assert_int_equal(a->keyframes[i].frame, b->keyframes[i].frame);
		assert_true((a->keyframes[i].image == NULL) ==
			    (b->keyframes[i].image == NULL));
		if (a->keyframes[i].image)
			assert_string_equal(a->keyframes[i].image,
					    b->keyframes[i].image);
	}
	assert_true(a->cross_attention_weight == b->cross_attention_weight);
	assert_true(a->temperature == b->temperature);
	assert_int_equal(a->steps, b->steps);
	assert_true(a->seed == b->seed);
	assert_int_equal(a->window, b->window);
	assert_int_equal(a->temporal_window, b->temporal_window);
	assert_string_equal(a->output.container, b->output.container);
	assert_string_equal(a->output.codec, b->output.codec);
	assert_int_equal(a->output.crf, b->output.crf);
	assert_int_equal(a->output.pix_fmt, b->output.pix_fmt);
	assert_string_equal(a->output.preset, b->output.preset);
}

/* json parsed, written, parsed again: the same spec and the same text. */
static void assert_round_trip(const char *json)
{
	api_spec *first = parse_ok(json), *second;
	char *text, *again;

	text = api_spec_to_json(first);
	assert_non_null(text);
	second = parse_ok(text);
	assert_same_spec(first, second);
	again = api_spec_to_json(second);
	assert_string_equal(text, again);
	free(again);
	free(text);
	api_spec_free(second);
	api_spec_free(first);
}

static void test_round_trip(void **state)
{
	(void)state;
	assert_round_trip(full_spec);
	assert_round_trip("{\"mode\": \"stabilize\", \"video\": \"v\"}");
	assert_round_trip("{\"mode\": \"stabilize\", \"video\": \"v \\\"q\\\" \\u00e9\","
			  " \"mask_video\": \"mv.mp4\","
			  " \"keyframes\": [{\"frame\": 7}, {\"frame\": 2, \"image\": \"r.png\"}],"
			  " \"cross_attention_weight\": 0.30000000000000004,"
			  " \"temperature\": 1e-300, \"seed\": 9007199254740992}");
}

static void test_to_json_keeps_effective_weight(void **state)
{
	api_spec *spec = parse_ok(PROP("\"cross_attention_weight\": 0.6,"
				       " \"masks\": [{\"frame\": 3, \"image\": \"m\"}]"));
	char *text = api_spec_to_json(spec);
	cJSON *doc = cJSON_Parse(text);
	const cJSON *mask, *weight;

	(void)state;
	assert_non_null(doc);
	mask = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "masks"), 0);
	weight = cJSON_GetObjectItemCaseSensitive(mask, "weight");
	assert_true(cJSON_IsNumber(weight));
	assert_true(weight->valuedouble == 0.6);
	cJSON_Delete(doc);
	free(text);
	api_spec_free(spec);
}

static void test_to_cjson_prints_as_to_json(void **state)
{
	api_spec *spec = parse_ok(full_spec);
	char *text = api_spec_to_json(spec);
	char *printed = api_json_print(api_spec_to_cjson(spec));

	(void)state;
	assert_non_null(text);
	assert_non_null(printed);
	assert_string_equal(printed, text);
	free(printed);
	free(text);
	api_spec_free(spec);
}

static void test_mode_name(void **state)
{
	(void)state;
	assert_string_equal(api_mode_name(API_MODE_PROPAGATE), "propagate");
	assert_string_equal(api_mode_name(API_MODE_STABILIZE), "stabilize");
	assert_string_equal(api_mode_name((enum api_mode)7), "unknown");
}

static void test_free_null(void **state)
{
	(void)state;
	api_spec_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_spec),
		cmocka_unit_test(test_minimal_spec_gets_defaults),
		cmocka_unit_test(test_window_default_follows_mode),
		cmocka_unit_test(test_outputs),
		cmocka_unit_test(test_webhook),
		cmocka_unit_test(test_integral_float_accepted),
		cmocka_unit_test(test_range_limits_accepted),
		cmocka_unit_test(test_every_preset),
		cmocka_unit_test(test_each_invalid_field),
		cmocka_unit_test(test_several_errors_at_once),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_top_level_not_object),
		cmocka_unit_test(test_length_bounds_the_input),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_to_json_keeps_effective_weight),
		cmocka_unit_test(test_to_cjson_prints_as_to_json),
		cmocka_unit_test(test_mode_name),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
