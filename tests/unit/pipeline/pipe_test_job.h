/*
 * Helpers for the pipeline tests that need what a job needs: a spec parsed
 * from JSON text with api_spec_parse, PNG images written with libpng, and
 * files checked for. Header-only, static inline; included after cmocka.h.
 */
#ifndef PIPE_TEST_JOB_H
#define PIPE_TEST_JOB_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <png.h>

#include "api/api_spec.h"

#define SPEC_TEXT_MAX 4096

/* A spec from printf-style JSON text; it must parse. The caller frees it. */
static inline api_spec *spec_parse(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline api_spec *spec_parse(const char *fmt, ...)
{
	char json[SPEC_TEXT_MAX], line[512];
	api_errors *errs = NULL;
	api_spec *spec = NULL;
	va_list ap;
	int n, ret;

	va_start(ap, fmt);
	n = vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && n < SPEC_TEXT_MAX);
	ret = api_spec_parse(json, (size_t)n, &spec, &errs);
	if (ret)
		print_error("%s: %s\n", json, api_errors_line(errs, line, sizeof(line)));
	assert_int_equal(ret, 0);
	return spec;
}

/*
 * Writes an 8-bit PNG of w x h pixels with `channels` interleaved samples
 * (1: gray, 3: RGB) from pixels; 0 on success.
 */
static inline int png_write(const char *path, int w, int h, int channels,
			    const uint8_t *pixels)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	FILE *f = fopen(path, "wb");
	int ret = -1;

	if (!png || !info || !f)
		goto out;
	if (setjmp(png_jmpbuf(png)))
		goto out;
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
		     channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < h; y++)
		png_write_row(png, pixels + (size_t)y * w * channels);
	png_write_end(png, NULL);
	ret = 0;
out:
	png_destroy_write_struct(&png, &info);
	if (f && fclose(f))
		ret = -1;
	return ret;
}

/* A gray PNG of w x h, every pixel `level`. */
static inline int png_write_flat(const char *path, int w, int h, uint8_t level)
{
	uint8_t *pixels = malloc((size_t)w * h);
	int ret;

	if (!pixels)
		return -1;
	memset(pixels, level, (size_t)w * h);
	ret = png_write(path, w, h, 1, pixels);
	free(pixels);
	return ret;
}

/* A file holding text; 0 on success. */
static inline int text_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) || ret ? -1 : 0;
}

static inline int file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

#endif
