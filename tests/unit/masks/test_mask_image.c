/*
 * Unit tests of masks/mask_image: real PNG files written with libpng for
 * every colour type, bit depth and interlacing, read back and compared
 * sample by sample; malformed files; rotation and aspect ratio.
 */
#include <errno.h>
#include <ftw.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "masks/mask_image.h"

#define TEST_W 13               /* odd sizes: partial bytes, uneven passes */
#define TEST_H 9
#define NOISE_W 64              /* big enough for a long IDAT */
#define NOISE_H 64
#define MAX_CHANNELS 4
#define PALETTE_TRNS 5          /* palette entries given an alpha */

struct fixture {
	char dir[64];
};

/* What to write: a colour type, a depth, and whether to add tRNS. */
struct png_case {
	int color_type;
	int depth;
	int trns;
};

/* A PNG written to disk, and what it must read back as. */
struct written_png {
	char path[128];
	int channels;
	uint16_t want[TEST_W * TEST_H * MAX_CHANNELS];
};

static int file_channels(int color_type)
{
	switch (color_type) {
	case PNG_COLOR_TYPE_GRAY_ALPHA:
		return 2;
	case PNG_COLOR_TYPE_RGB:
		return 3;
	case PNG_COLOR_TYPE_RGB_ALPHA:
		return 4;
	default:
		return 1;
	}
}

/* The file's sample at (x, y, c): spread bits so every depth sees variety. */
static unsigned int pattern(int x, int y, int c, int depth)
{
	return (unsigned int)(x * 7919 + y * 3571 + c * 31337 + 12345) &
	       ((1u << depth) - 1);
}

static uint16_t to16(unsigned int v, int depth)
{
	return (uint16_t)(v * 65535u / ((1u << depth) - 1));
}

static png_color palette_entry(int i)
{
	png_color c = {
		.red = (png_byte)(i * 37),
		.green = (png_byte)(i * 91),
		.blue = (png_byte)(255 - i),
	};
	return c;
}

static png_byte palette_alpha(int i)
{
	return i < PALETTE_TRNS ? (png_byte)(i * 50) : 255;
}

/* Packs one row of file samples MSB first, as PNG stores them. */
static void pack_row(const struct png_case *pc, int y, png_bytep row)
{
	int n = TEST_W * file_channels(pc->color_type);
	int i, bit;
	unsigned int v;

	memset(row, 0, (size_t)(n * pc->depth + 7) / 8);
	for (i = 0; i < n; i++) {
		v = pattern(i / file_channels(pc->color_type), y,
			    i % file_channels(pc->color_type), pc->depth);
		bit = i * pc->depth;
		if (pc->depth == 16) {
			row[2 * i] = (png_byte)(v >> 8);
			row[2 * i + 1] = (png_byte)v;
		} else {
			row[bit / 8] |= (png_byte)(v << (8 - pc->depth - bit % 8));
		}
	}
}

static void set_trns(png_structp png, png_infop info, const struct png_case *pc)
{
	png_color_16 key = { 0 };
	png_byte alpha[PALETTE_TRNS];
	int i, n = 1 << pc->depth;

	/* alpha for the first entries only: the others stay opaque */
	if (pc->color_type == PNG_COLOR_TYPE_PALETTE) {
		if (n > PALETTE_TRNS)
			n = PALETTE_TRNS;
		for (i = 0; i < n; i++)
			alpha[i] = palette_alpha(i);
		png_set_tRNS(png, info, alpha, n, NULL);
		return;
	}
	/* the colour of pixel (0, 0), so that some pixels are transparent */
	key.gray = (png_uint_16)pattern(0, 0, 0, pc->depth);
	key.red = key.gray;
	key.green = (png_uint_16)pattern(0, 0, 1, pc->depth);
	key.blue = (png_uint_16)pattern(0, 0, 2, pc->depth);
	png_set_tRNS(png, info, NULL, 0, &key);
}

static void set_palette(png_structp png, png_infop info, int depth)
{
	png_color pal[256];
	int i, n = 1 << depth;

	for (i = 0; i < n; i++)
		pal[i] = palette_entry(i);
	png_set_PLTE(png, info, pal, n);
}

/* Writes the case with libpng; 0 on success. */
static int write_case(const char *path, const struct png_case *pc,
		      int interlace)
{
	static png_byte rows[TEST_H][TEST_W * MAX_CHANNELS * 2];
	png_bytep ptrs[TEST_H];
	png_structp png;
	png_infop info;
	FILE *f;
	int y;

	f = fopen(path, "wb");
	if (!f)
		return -1;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png_create_info_struct(png);
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		fclose(f);
		return -1;
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, TEST_W, TEST_H, pc->depth, pc->color_type,
		     interlace, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	if (pc->color_type == PNG_COLOR_TYPE_PALETTE)
		set_palette(png, info, pc->depth);
	if (pc->trns)
		set_trns(png, info, pc);
	png_write_info(png, info);
	for (y = 0; y < TEST_H; y++) {
		pack_row(pc, y, rows[y]);
		ptrs[y] = rows[y];
	}
	png_write_image(png, ptrs);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return fclose(f);
}

/* The samples mask_image must produce for pixel (x, y) of the case. */
static int expected_pixel(const struct png_case *pc, int x, int y,
			  uint16_t *px)
{
	int fc = file_channels(pc->color_type);
	int c, opaque = 0;
	png_color pal;

	if (pc->color_type == PNG_COLOR_TYPE_PALETTE) {
		c = (int)pattern(x, y, 0, pc->depth);
		pal = palette_entry(c);
		px[0] = pal.red * 257;
		px[1] = pal.green * 257;
		px[2] = pal.blue * 257;
		px[3] = palette_alpha(c) * 257;
		return pc->trns ? 4 : 3;
	}
	for (c = 0; c < fc; c++) {
		px[c] = to16(pattern(x, y, c, pc->depth), pc->depth);
		opaque |= pattern(x, y, c, pc->depth) != pattern(0, 0, c, pc->depth);
	}
	if (!pc->trns)
		return fc;
	px[fc] = opaque ? 65535 : 0;
	return fc + 1;
}

static void expected_image(const struct png_case *pc, struct written_png *wp)
{
	int x, y;

	for (y = 0; y < TEST_H; y++)
		for (x = 0; x < TEST_W; x++)
			wp->channels = expected_pixel(pc, x, y,
				wp->want + (y * TEST_W + x) * MAX_CHANNELS);
}

static void check_image(const mask_image *img, const struct png_case *pc,
			const struct written_png *wp)
{
	int i, c;
	uint16_t got, want;

	assert_int_equal(img->width, TEST_W);
	assert_int_equal(img->height, TEST_H);
	assert_int_equal(img->channels, wp->channels);
	assert_int_equal(img->bit_depth, pc->depth);
	for (i = 0; i < TEST_W * TEST_H; i++) {
		for (c = 0; c < wp->channels; c++) {
			got = img->data[i * wp->channels + c];
			want = wp->want[i * MAX_CHANNELS + c];
			if (got != want)
				fail_msg("%s: pixel %d channel %d is %u, want %u",
					 wp->path, i, c, (unsigned int)got,
					 (unsigned int)want);
		}
	}
}

/* Reads a whole file into a malloc'd buffer. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Writes, loads (from the file and from memory) and compares each case. */
static void run_cases(const struct fixture *fx, const struct png_case *cases,
		      size_t count)
{
	static struct written_png wp;
	char err[256];
	mask_image *img;
	uint8_t *buf;
	size_t i, len;
	int interlace;

	for (i = 0; i < count; i++) {
		for (interlace = 0; interlace <= 1; interlace++) {
			snprintf(wp.path, sizeof(wp.path), "%s/c%d_d%d_t%d_i%d.png",
				 fx->dir, cases[i].color_type, cases[i].depth,
				 cases[i].trns, interlace);
			assert_int_equal(write_case(wp.path, &cases[i],
						    interlace ? PNG_INTERLACE_ADAM7 :
						    PNG_INTERLACE_NONE), 0);
			expected_image(&cases[i], &wp);

			assert_int_equal(mask_image_load(wp.path, NULL, &img,
							 err, sizeof(err)), 0);
			check_image(img, &cases[i], &wp);
			mask_image_free(img);

			buf = slurp(wp.path, &len);
			assert_int_equal(mask_image_load_mem(buf, len, NULL, &img,
							     err, sizeof(err)), 0);
			check_image(img, &cases[i], &wp);
			mask_image_free(img);
			free(buf);
		}
	}
}

static void test_gray(void **state)
{
	static const struct png_case cases[] = {
		{ PNG_COLOR_TYPE_GRAY, 1, 0 }, { PNG_COLOR_TYPE_GRAY, 2, 0 },
		{ PNG_COLOR_TYPE_GRAY, 4, 0 }, { PNG_COLOR_TYPE_GRAY, 8, 0 },
		{ PNG_COLOR_TYPE_GRAY, 16, 0 },
	};

	run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_gray_trns_becomes_alpha(void **state)
{
	static const struct png_case cases[] = {
		{ PNG_COLOR_TYPE_GRAY, 1, 1 }, { PNG_COLOR_TYPE_GRAY, 2, 1 },
		{ PNG_COLOR_TYPE_GRAY, 4, 1 }, { PNG_COLOR_TYPE_GRAY, 8, 1 },
		{ PNG_COLOR_TYPE_GRAY, 16, 1 },
	};

	run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_gray_alpha(void **state)
{
	static const struct png_case cases[] = {
		{ PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0 },
		{ PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0 },
	};

	run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_rgb(void **state)
{
	static const struct png_case cases[] = {
		{ PNG_COLOR_TYPE_RGB, 8, 0 }, { PNG_COLOR_TYPE_RGB, 16, 0 },
		{ PNG_COLOR_TYPE_RGB, 8, 1 }, { PNG_COLOR_TYPE_RGB, 16, 1 },
	};

	run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_rgba(void **state)
{
	static const struct png_case cases[] = {
		{ PNG_COLOR_TYPE_RGB_ALPHA, 8, 0 },
		{ PNG_COLOR_TYPE_RGB_ALPHA, 16, 0 },
	};

	run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_palette(void **state)
{
	static const struct png_case cases[] = {
		{ PNG_COLOR_TYPE_PALETTE, 1, 0 }, { PNG_COLOR_TYPE_PALETTE, 2, 0 },
		{ PNG_COLOR_TYPE_PALETTE, 4, 0 }, { PNG_COLOR_TYPE_PALETTE, 8, 0 },
		{ PNG_COLOR_TYPE_PALETTE, 1, 1 }, { PNG_COLOR_TYPE_PALETTE, 2, 1 },
		{ PNG_COLOR_TYPE_PALETTE, 4, 1 }, { PNG_COLOR_TYPE_PALETTE, 8, 1 },
	};

	run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Fills rows with reproducible pseudo-random bytes. */
static void fill_noise(png_byte rows[NOISE_H][NOISE_W * 8], png_bytep *ptrs)
{
	unsigned int seed = 1;
	int x, y;

	for (y = 0; y < NOISE_H; y++) {
		for (x = 0; x < NOISE_W * 8; x++) {
			seed = seed * 1103515245u + 12345u;
			rows[y][x] = (png_byte)(seed >> 16);
		}
		ptrs[y] = rows[y];
	}
}

/* A valid 16-bit RGBA PNG of noise, as bytes, to break in various ways. */
static uint8_t *noise_png(const struct fixture *fx, size_t *len)
{
	static png_byte rows[NOISE_H][NOISE_W * 8];
	png_bytep ptrs[NOISE_H];
	char path[128];
	png_structp png;
	png_infop info;
	FILE *f;

	snprintf(path, sizeof(path), "%s/noise.png", fx->dir);
	fill_noise(rows, ptrs);
	f = fopen(path, "wb");
	assert_non_null(f);
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png_create_info_struct(png);
	if (setjmp(png_jmpbuf(png)))
		fail_msg("libpng could not write %s", path);
	png_init_io(png, f);
	png_set_IHDR(png, info, NOISE_W, NOISE_H, 16, PNG_COLOR_TYPE_RGB_ALPHA,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	png_write_image(png, ptrs);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	assert_int_equal(fclose(f), 0);
	return slurp(path, len);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Offset of the first chunk of the given type (its length field). */
static size_t find_chunk(const uint8_t *buf, size_t len, const char *type)
{
	size_t off = 8;

	while (off + 12 <= len) {
		if (!memcmp(buf + off + 4, type, 4))
			return off;
		off += 12 + get_be32(buf + off);
	}
	fail_msg("no %s chunk", type);
	return 0;
}

/* CRC-32 of the PNG specification, bit by bit. */
static uint32_t crc32_png(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	int k;

	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

/* Recomputes the CRC of the chunk at off after its data was changed. */
static void fix_crc(uint8_t *buf, size_t off)
{
	uint32_t n = get_be32(buf + off);

	put_be32(buf + off + 8 + n, crc32_png(buf + off + 4, n + 4));
}

/* Writes buf as name in the fixture's folder and loads it. */
static int load_bytes(const struct fixture *fx, const char *name,
		      const uint8_t *buf, size_t len,
		      const struct mask_limits *limits, char *err,
		      size_t errlen)
{
	char path[128];
	mask_image *img = NULL;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	spit(path, buf, len);
	ret = mask_image_load(path, limits, &img, err, errlen);
	mask_image_free(img);
	if (!ret)
		fail_msg("%s loaded", name);
	return ret;
}

static void assert_contains(const char *s, const char *part)
{
	if (!strstr(s, part))
		fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

static void test_empty_file(void **state)
{
	char err[256] = "";

	assert_int_equal(load_bytes(*state, "empty.png", (const uint8_t *)"", 0,
				    NULL, err, sizeof(err)), -EINVAL);
	assert_contains(err, "empty.png: ");
	assert_contains(err, "empty file");
}

static void test_not_png(void **state)
{
	static const uint8_t jpeg[] = {
		0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1,
	};
	static const char text[] = "white = attend here\n";
	char err[256] = "";

	assert_int_equal(load_bytes(*state, "mask0.png", jpeg, sizeof(jpeg),
				    NULL, err, sizeof(err)), -EINVAL);
	assert_contains(err, "mask0.png: not a PNG image (bad signature)");
	assert_int_equal(load_bytes(*state, "text.png", (const uint8_t *)text,
				    strlen(text), NULL, err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "text.png: not a PNG image");
}

static void test_truncated_signature(void **state)
{
	size_t len;
	uint8_t *png = noise_png(*state, &len);
	char err[256] = "";

	assert_int_equal(load_bytes(*state, "sig.png", png, 5, NULL, err,
				    sizeof(err)), -EINVAL);
	assert_contains(err, "truncated");
	free(png);
}

static void test_truncated_after_header(void **state)
{
	size_t len;
	uint8_t *png = noise_png(*state, &len);
	size_t ihdr_end = find_chunk(png, len, "IHDR") + 12 + 13;
	char err[256] = "";

	assert_int_equal(load_bytes(*state, "header.png", png, ihdr_end, NULL,
				    err, sizeof(err)), -EINVAL);
	assert_contains(err, "header.png: invalid PNG image (truncated");
	free(png);
}

static void test_truncated_mid_idat(void **state)
{
	size_t len;
	uint8_t *png = noise_png(*state, &len);
	size_t idat = find_chunk(png, len, "IDAT");
	size_t cut = idat + 8 + get_be32(png + idat) / 2;
	char err[256] = "";
	mask_image *img = (mask_image *)0x1;

	assert_int_equal(load_bytes(*state, "idat.png", png, cut, NULL, err,
				    sizeof(err)), -EINVAL);
	assert_contains(err, "truncated");
	assert_int_equal(mask_image_load_mem(png, cut, NULL, &img, err,
					     sizeof(err)), -EINVAL);
	assert_ptr_equal(img, (mask_image *)0x1);
	assert_contains(err, "invalid PNG image (truncated");
	free(png);
}

static void test_missing_iend(void **state)
{
	size_t len;
	uint8_t *png = noise_png(*state, &len);
	char err[256] = "";

	assert_int_equal(load_bytes(*state, "noend.png", png,
				    find_chunk(png, len, "IEND"), NULL, err,
				    sizeof(err)), -EINVAL);
	assert_contains(err, "truncated");
	free(png);
}

static void test_bad_crc(void **state)
{
	size_t len;
	uint8_t *png = noise_png(*state, &len);
	size_t idat = find_chunk(png, len, "IDAT");
	char err[256] = "";

	png[idat + 8 + get_be32(png + idat)] ^= 0x01;
	assert_int_equal(load_bytes(*state, "crc.png", png, len, NULL, err,
				    sizeof(err)), -EINVAL);
	assert_contains(err, "crc.png: invalid PNG image (IDAT: CRC error)");
	free(png);
}

static void test_corrupt_idat(void **state)
{
	size_t len;
	uint8_t *png = noise_png(*state, &len);
	size_t idat = find_chunk(png, len, "IDAT");
	char err[256] = "";

	/* a zlib header that fails its check, under a valid CRC */
	png[idat + 8] = 0x78;
	png[idat + 9] = 0x00;
	fix_crc(png, idat);
	assert_int_equal(load_bytes(*state, "zlib.png", png, len, NULL, err,
				    sizeof(err)), -EINVAL);
	assert_contains(err, "zlib.png: invalid PNG image (IDAT");
	free(png);
}

/* The noise image with an IHDR claiming 100000 x 100000 pixels. */
static uint8_t *huge_png(const struct fixture *fx, size_t *len)
{
	uint8_t *png = noise_png(fx, len);
	size_t ihdr = find_chunk(png, *len, "IHDR");

	put_be32(png + ihdr + 8, 100000);
	put_be32(png + ihdr + 12, 100000);
	fix_crc(png, ihdr);
	return png;
}

static void test_huge_ihdr_is_implausible(void **state)
{
	size_t len;
	uint8_t *png = huge_png(*state, &len);
	char err[256] = "";

	assert_int_equal(load_bytes(*state, "huge.png", png, len, NULL, err,
				    sizeof(err)), -EINVAL);
	assert_contains(err, "huge.png: corrupt PNG image: the header claims 100000x100000 pixels");
	free(png);
}

static void test_huge_ihdr_over_limit(void **state)
{
	const struct mask_limits limits = { .max_width = 8192, .max_height = 8192 };
	size_t len;
	uint8_t *png = huge_png(*state, &len);
	char err[256] = "";

	assert_int_equal(load_bytes(*state, "huge.png", png, len, &limits, err,
				    sizeof(err)), -EFBIG);
	assert_contains(err, "huge.png: 100000x100000 pixels is over the limit of 8192x8192");
	free(png);
}

static void test_limits(void **state)
{
	struct mask_limits limits = { .max_width = NOISE_W - 1 };
	size_t len;
	uint8_t *png = noise_png(*state, &len);
	size_t decoded = NOISE_W * NOISE_H * 4 * sizeof(uint16_t);
	mask_image *img;
	char err[256] = "";

	assert_int_equal(mask_image_load_mem(png, len, &limits, &img, err,
					     sizeof(err)), -EFBIG);
	assert_contains(err, "64x64 pixels is over the limit of 63x");

	limits.max_width = NOISE_W;
	limits.max_height = NOISE_H - 1;
	assert_int_equal(mask_image_load_mem(png, len, &limits, &img, err,
					     sizeof(err)), -EFBIG);

	limits.max_height = NOISE_H;
	limits.max_pixels = NOISE_W * NOISE_H - 1;
	assert_int_equal(mask_image_load_mem(png, len, &limits, &img, err,
					     sizeof(err)), -EFBIG);
	assert_contains(err, "64x64 is over the limit of 4095 pixels");

	limits.max_pixels = NOISE_W * NOISE_H;
	limits.max_bytes = decoded - 1;
	assert_int_equal(mask_image_load_mem(png, len, &limits, &img, err,
					     sizeof(err)), -EFBIG);
	assert_contains(err, "64x64 pixels decode to 32768 bytes, over the limit of 32767 bytes");

	limits.max_bytes = decoded;
	assert_int_equal(mask_image_load_mem(png, len, &limits, &img, err,
					     sizeof(err)), 0);
	assert_int_equal(img->width, NOISE_W);
	assert_int_equal(img->channels, MASK_RGBA);
	mask_image_free(img);
	free(png);
}

static void test_missing_file(void **state)
{
	const struct fixture *fx = *state;
	char path[128], err[256] = "";
	mask_image *img;

	snprintf(path, sizeof(path), "%s/absent.png", fx->dir);
	assert_int_equal(mask_image_load(path, NULL, &img, err, sizeof(err)),
			 -ENOENT);
	assert_contains(err, path);
	assert_contains(err, strerror(ENOENT));
}

static void test_directory(void **state)
{
	const struct fixture *fx = *state;
	char err[256] = "";
	mask_image *img;

	assert_int_equal(mask_image_load(fx->dir, NULL, &img, err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "not a regular file");
}

static void test_null_message_buffer(void **state)
{
	static const uint8_t text[] = "not a png at all";
	const struct fixture *fx = *state;
	char path[128];
	mask_image *img;

	snprintf(path, sizeof(path), "%s/absent.png", fx->dir);
	assert_int_equal(mask_image_load(path, NULL, &img, NULL, 0), -ENOENT);
	assert_int_equal(mask_image_load_mem(text, sizeof(text), NULL, &img,
					     NULL, 0), -EINVAL);
}

static void test_bad_arguments(void **state)
{
	mask_image *img;
	uint8_t byte = 0;

	(void)state;
	assert_int_equal(mask_image_load(NULL, NULL, &img, NULL, 0), -EINVAL);
	assert_int_equal(mask_image_load("x.png", NULL, NULL, NULL, 0), -EINVAL);
	assert_int_equal(mask_image_load_mem(NULL, 4, NULL, &img, NULL, 0),
			 -EINVAL);
	assert_int_equal(mask_image_load_mem(&byte, 1, NULL, NULL, NULL, 0),
			 -EINVAL);
	assert_int_equal(mask_image_create(0, 1, 1, &img), -EINVAL);
	assert_int_equal(mask_image_create(1, 1, 5, &img), -EINVAL);
	assert_int_equal(mask_image_create(1, 1, 1, NULL), -EINVAL);
	mask_image_free(NULL);
}

/*
 * A tEXt chunk with a bad CRC is only worth a libpng warning: the image
 * loads, and nothing reaches stderr.
 */
static void test_warnings_stay_quiet(void **state)
{
	const struct fixture *fx = *state;
	static const uint8_t text_chunk[] = {
		0, 0, 0, 5, 't', 'E', 'X', 't', 'k', 'e', 'y', 0, 'v',
		0xde, 0xad, 0xbe, 0xef,
	};
	char path[128];
	size_t len, idat;
	uint8_t *png = noise_png(fx, &len), *bad;
	mask_image *img;
	int saved;
	FILE *capture;

	idat = find_chunk(png, len, "IDAT");
	bad = malloc(len + sizeof(text_chunk));
	assert_non_null(bad);
	memcpy(bad, png, idat);
	memcpy(bad + idat, text_chunk, sizeof(text_chunk));
	memcpy(bad + idat + sizeof(text_chunk), png + idat, len - idat);

	snprintf(path, sizeof(path), "%s/stderr.txt", fx->dir);
	capture = fopen(path, "w+");
	assert_non_null(capture);
	fflush(stderr);
	saved = dup(fileno(stderr));
	dup2(fileno(capture), fileno(stderr));
	assert_int_equal(mask_image_load_mem(bad, len + sizeof(text_chunk),
					     NULL, &img, NULL, 0), 0);
	fflush(stderr);
	dup2(saved, fileno(stderr));
	close(saved);

	assert_int_equal(img->width, NOISE_W);
	mask_image_free(img);
	assert_int_equal(fseek(capture, 0, SEEK_END), 0);
	assert_int_equal(ftell(capture), 0);
	fclose(capture);
	free(bad);
	free(png);
}

/*
 * An ancillary chunk right after IHDR that claims 2 GB, in a file that
 * ends there (found by fuzz_mask_image): refused as truncated, without
 * allocating the claim. Address space is limited to 256 MB more than the
 * test uses, so that an allocation of the claim fails (-ENOMEM); not under
 * AddressSanitizer, which reserves terabytes of it.
 */
static void test_huge_chunk_claim_not_allocated(void **state)
{
	static const uint8_t claim[] = { 0x7f, 0xff, 0xff, 0xf0, 's', 'C', 'A', 'L', '1' };
	size_t len, ihdr_end;
	struct rlimit saved, lim;
	mask_image *img = NULL;
	unsigned long pages = 0;
	char err[256] = "";
	FILE *statm;
	uint8_t *png;
	int ret;

#ifdef __SANITIZE_ADDRESS__
	skip();
#endif
	png = noise_png(*state, &len);
	ihdr_end = find_chunk(png, len, "IHDR") + 12 + 13;
	memcpy(png + ihdr_end, claim, sizeof(claim));
	statm = fopen("/proc/self/statm", "r");
	assert_non_null(statm);
	assert_int_equal(fscanf(statm, "%lu", &pages), 1);
	fclose(statm);
	assert_int_equal(getrlimit(RLIMIT_AS, &saved), 0);
	lim = saved;
	lim.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (256u << 20);
	assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
	ret = mask_image_load_mem(png, ihdr_end + sizeof(claim), NULL, &img, err,
				  sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_AS, &saved), 0);
	assert_int_equal(ret, -EINVAL);
	assert_contains(err, "truncated");
	free(png);
}

/* A 3 x 2 image whose one channel numbers its pixels 1..6 row by row. */
static mask_image *numbered_image(void)
{
	mask_image *img;
	int i;

	assert_int_equal(mask_image_create(3, 2, MASK_GRAY, &img), 0);
	for (i = 0; i < 6; i++)
		img->data[i] = (uint16_t)(i + 1);
	img->bit_depth = 8;
	return img;
}

static void check_rotation(const mask_image *img, int degrees, int w, int h,
			   const uint16_t *want)
{
	mask_image *rot;
	int i;

	assert_int_equal(mask_image_rotate(img, degrees, &rot), 0);
	assert_int_equal(rot->width, w);
	assert_int_equal(rot->height, h);
	assert_int_equal(rot->channels, img->channels);
	assert_int_equal(rot->bit_depth, img->bit_depth);
	for (i = 0; i < w * h; i++)
		assert_int_equal(rot->data[i], want[i]);
	mask_image_free(rot);
}

static void test_rotate(void **state)
{
	/*
	 * 1 2 3      90: 4 1    180: 6 5 4    270: 3 6
	 * 4 5 6          5 2         3 2 1         2 5
	 *                6 3                       1 4
	 */
	static const uint16_t r0[] = { 1, 2, 3, 4, 5, 6 };
	static const uint16_t r90[] = { 4, 1, 5, 2, 6, 3 };
	static const uint16_t r180[] = { 6, 5, 4, 3, 2, 1 };
	static const uint16_t r270[] = { 3, 6, 2, 5, 1, 4 };
	mask_image *img = numbered_image();
	mask_image *rot;

	(void)state;
	check_rotation(img, 0, 3, 2, r0);
	check_rotation(img, 90, 2, 3, r90);
	check_rotation(img, 180, 3, 2, r180);
	check_rotation(img, 270, 2, 3, r270);
	assert_int_equal(mask_image_rotate(img, 45, &rot), -EINVAL);
	assert_int_equal(mask_image_rotate(img, -90, &rot), -EINVAL);
	assert_int_equal(mask_image_rotate(NULL, 90, &rot), -EINVAL);
	mask_image_free(img);
}

static void test_rotate_keeps_channels_together(void **state)
{
	mask_image *img, *rot;
	int i;

	(void)state;
	assert_int_equal(mask_image_create(2, 1, MASK_RGBA, &img), 0);
	for (i = 0; i < 8; i++)
		img->data[i] = (uint16_t)(100 + i);
	assert_int_equal(mask_image_rotate(img, 180, &rot), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(rot->data[i], 104 + i);
		assert_int_equal(rot->data[4 + i], 100 + i);
	}
	mask_image_free(rot);
	mask_image_free(img);
}

static void test_same_aspect(void **state)
{
	(void)state;
	assert_true(mask_same_aspect(972, 540, 1296, 720));
	assert_true(mask_same_aspect(972, 540, 486, 270));
	assert_true(mask_same_aspect(972, 540, 1944, 1080));
	assert_true(mask_same_aspect(1944, 1080, 486, 270));
	assert_true(mask_same_aspect(721, 405, 1442, 810));
	assert_true(mask_same_aspect(721, 405, 360, 203));
	assert_true(mask_same_aspect(360, 203, 721, 405));
	assert_true(mask_same_aspect(1920, 1080, 1920, 1080));
	assert_false(mask_same_aspect(972, 540, 960, 540));
	assert_false(mask_same_aspect(1920, 1080, 1440, 1080));
	assert_false(mask_same_aspect(1440, 1080, 1920, 1080));
	assert_false(mask_same_aspect(1080, 1920, 1920, 1080));
	assert_false(mask_same_aspect(721, 405, 360, 205));
	assert_false(mask_same_aspect(0, 405, 360, 203));
	assert_false(mask_same_aspect(721, 405, 360, -1));
}

static int setup_dir(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_mask_image.XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int remove_dir(void **state)
{
	struct fixture *fx = *state;
	int ret = nftw(fx->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);

	free(fx);
	return ret;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gray),
		cmocka_unit_test(test_gray_trns_becomes_alpha),
		cmocka_unit_test(test_gray_alpha),
		cmocka_unit_test(test_rgb),
		cmocka_unit_test(test_rgba),
		cmocka_unit_test(test_palette),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_not_png),
		cmocka_unit_test(test_truncated_signature),
		cmocka_unit_test(test_truncated_after_header),
		cmocka_unit_test(test_truncated_mid_idat),
		cmocka_unit_test(test_missing_iend),
		cmocka_unit_test(test_bad_crc),
		cmocka_unit_test(test_corrupt_idat),
		cmocka_unit_test(test_huge_ihdr_is_implausible),
		cmocka_unit_test(test_huge_ihdr_over_limit),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_null_message_buffer),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_warnings_stay_quiet),
		cmocka_unit_test(test_huge_chunk_claim_not_allocated),
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_rotate_keeps_channels_together),
		cmocka_unit_test(test_same_aspect),
	};

	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
