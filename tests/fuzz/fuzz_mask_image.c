/*
 * fuzz_mask_image: libFuzzer target for the PNG loader, fed the bytes of an
 * uploaded mask or keyframe image, with the limits the service and the CLI
 * put on them.
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks what the
 * header promises of a loaded image: a size within the limits, 1 to 4
 * channels, a PNG bit depth; and of a refused one: an error code of the
 * documented set with a message.
 *
 * Every chunk's CRC is set right before loading, as anyone crafting a file
 * would: otherwise almost every mutation dies at libpng's CRC check and the
 * fuzzer never reaches the decoding behind it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "masks/mask_image.h"

#define FUZZ_PNG_SIG 8

/*
 * What pipe_limits_for_images makes of pipe_limits_default: 8192x8192 at
 * most, 8192x4320 pixels, as 16-bit RGBA (8 bytes a pixel) decoded.
 */
#define FUZZ_MAX_PIXELS ((uint64_t)8192 * 4320)
static const struct mask_limits fuzz_limits = {
	.max_width = 8192,
	.max_height = 8192,
	.max_pixels = FUZZ_MAX_PIXELS,
	.max_bytes = (size_t)FUZZ_MAX_PIXELS * 8,
};

static int fuzz_bit_depth_ok(int depth)
{
	return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
}

static uint32_t fuzz_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Rewrites the CRC of every whole chunk after the signature. */
static void fuzz_fix_crcs(uint8_t *png, size_t size)
{
	size_t pos = FUZZ_PNG_SIG, len;
	uLong crc;

	while (pos <= size && size - pos >= 12) {
		len = fuzz_be32(png + pos);
		if (len > size - pos - 12)
			break;
		crc = crc32(0L, png + pos + 4, (uInt)(len + 4));
		png[pos + 8 + len] = (uint8_t)(crc >> 24);
		png[pos + 9 + len] = (uint8_t)(crc >> 16);
		png[pos + 10 + len] = (uint8_t)(crc >> 8);
		png[pos + 11 + len] = (uint8_t)crc;
		pos += 12 + len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mask_image *img = NULL;
	char err[256] = "";
	uint8_t *png;
	int ret;

	png = malloc(size ? size : 1);      /* exactly size: ASan sees over-reads */
	if (!png)
		return 0;
	memcpy(png, data, size);
	fuzz_fix_crcs(png, size);
	ret = mask_image_load_mem(png, size, &fuzz_limits, &img, err, sizeof(err));
	free(png);
	if (!ret) {
		if (img->width <= 0 || img->height <= 0 ||
		    (uint32_t)img->width > fuzz_limits.max_width ||
		    (uint32_t)img->height > fuzz_limits.max_height ||
		    (uint64_t)img->width * img->height > fuzz_limits.max_pixels ||
		    img->channels < MASK_GRAY || img->channels > MASK_RGBA ||
		    !fuzz_bit_depth_ok(img->bit_depth) || !img->data)
			abort();
		mask_image_free(img);
	} else if ((ret != -EINVAL && ret != -EFBIG && ret != -ENOMEM) || !err[0]) {
		abort();
	}
	return 0;
}
