/*
 * mask_image: PNG images read through libpng, and the little geometry the
 * pipeline needs on them (rotation, aspect ratio).
 */
#include "masks/mask_image.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PNG_SIG_BYTES 8
#define MSG_NO_MEMORY "out of memory reading the image"

/*
 * Deflate codes at best 258 bytes in 2 bits, so no compressed stream holds
 * more than 1032 times its size: an IHDR that claims more pixels than the
 * file could hold is corrupt, and is refused before anything is allocated.
 */
#define DEFLATE_MAX_RATIO 1032.0

/* Where the PNG bytes come from: an open file, or a caller's buffer. */
struct png_source {
	FILE *file;
	const uint8_t *buf;
	size_t len;
	size_t pos;
	double size;            /* total bytes, for the plausibility check */
};

/* State shared with the libpng callbacks through the error/mem pointers. */
struct png_read_ctx {
	struct png_source *src;
	const char *name;       /* file name for messages, or NULL */
	const struct mask_limits *limits;       /* or NULL */
	int out_of_memory;      /* a libpng allocation failed */
	char reason[128];       /* libpng's text of the error */
};

static void set_error(char *err, size_t errlen, const char *name,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Writes "name: message" (or just the message) into err when there is one. */
static void set_error(char *err, size_t errlen, const char *name,
		      const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!err || !errlen)
		return;
	if (name)
		n = snprintf(err, errlen, "%s: ", name);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

int mask_image_create(int width, int height, int channels, mask_image **out)
{
	mask_image *img;

	if (width <= 0 || height <= 0 || channels < MASK_GRAY ||
	    channels > MASK_RGBA || !out)
		return -EINVAL;
	img = malloc(sizeof(*img));
	if (!img)
		return -ENOMEM;
	img->data = calloc((size_t)width * height,
			   (size_t)channels * sizeof(*img->data));
	if (!img->data) {
		free(img);
		return -ENOMEM;
	}
	img->width = width;
	img->height = height;
	img->channels = channels;
	img->bit_depth = 16;
	*out = img;
	return 0;
}

void mask_image_free(mask_image *img)
{
	if (!img)
		return;
	free(img->data);
	free(img);
}

static size_t source_read(struct png_source *src, void *dst, size_t n)
{
	if (src->file)
		return fread(dst, 1, n, src->file);
	if (n > src->len - src->pos)
		n = src->len - src->pos;
	memcpy(dst, src->buf + src->pos, n);
	src->pos += n;
	return n;
}

/* libpng read callback: a short read is a truncated file. */
static void png_read_cb(png_structp png, png_bytep data, size_t n)
{
	struct png_read_ctx *ctx = png_get_io_ptr(png);

	if (source_read(ctx->src, data, n) == n)
		return;
	if (ctx->src->file && ferror(ctx->src->file))
		png_error(png, "read error");
	png_error(png, "truncated: the data ends early");
}

/* Keeps libpng's message for ours and unwinds to the decoder's setjmp. */
static void png_error_cb(png_structp png, png_const_charp msg)
{
	struct png_read_ctx *ctx = png_get_error_ptr(png);

	snprintf(ctx->reason, sizeof(ctx->reason), "%s", msg);
	png_longjmp(png, 1);
}

/* libpng's warnings (bad ancillary chunks, ...) are not the user's business. */
static void png_warning_cb(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* Allocations through libpng, so that a failed one reads as -ENOMEM. */
static png_voidp png_malloc_cb(png_structp png, png_alloc_size_t size)
{
	struct png_read_ctx *ctx = png_get_mem_ptr(png);
	void *p = malloc(size);

	if (!p)
		ctx->out_of_memory = 1;
	return p;
}

static void png_free_cb(png_structp png, png_voidp p)
{
	(void)png;
	free(p);
}

/* Reads and checks the signature ourselves, for a message that says so. */
static int check_signature(struct png_read_ctx *ctx, char *err, size_t errlen)
{
	png_byte sig[PNG_SIG_BYTES];
	size_t n = source_read(ctx->src, sig, sizeof(sig));

	if (n == 0) {
		set_error(err, errlen, ctx->name,
			  "empty file; masks and keyframes must be PNG images");
		return -EINVAL;
	}
	if (png_sig_cmp(sig, 0, n)) {
		set_error(err, errlen, ctx->name,
			  "not a PNG image (bad signature); masks and keyframes must be PNG files");
		return -EINVAL;
	}
	if (n < sizeof(sig)) {
		set_error(err, errlen, ctx->name,
			  "truncated PNG image (ends inside the signature); export it again");
		return -EINVAL;
	}
	return 0;
}

/* Hands the size limits to libpng, which enforces them while reading IHDR. */
static void apply_limits(png_structp png, const struct mask_limits *limits)
{
	png_uint_32 w = png_get_user_width_max(png);
	png_uint_32 h = png_get_user_height_max(png);

	if (!limits)
		return;
	if (limits->max_width)
		w = limits->max_width;
	if (limits->max_height)
		h = limits->max_height;
	png_set_user_limits(png, w, h);
	/* chunk buffers, where libpng checks this, get the pixels' byte budget */
	if (limits->max_bytes)
		png_set_chunk_malloc_max(png, limits->max_bytes);
}

/* Refuses an IHDR whose pixels the rest of the data cannot possibly hold. */
static int check_plausible(struct png_read_ctx *ctx, png_structp png,
			   png_infop info, char *err, size_t errlen)
{
	png_uint_32 w = png_get_image_width(png, info);
	png_uint_32 h = png_get_image_height(png, info);
	double raw = (double)h * png_get_rowbytes(png, info);

	if (raw <= ctx->src->size * DEFLATE_MAX_RATIO)
		return 0;
	set_error(err, errlen, ctx->name,
		  "corrupt PNG image: the header claims %ux%u pixels, more than %.0f bytes of data can hold; export it again",
		  w, h, ctx->src->size);
	return -EINVAL;
}

/*
 * Refuses an image of more than limits->max_pixels, or whose decoded
 * samples exceed limits->max_bytes.
 */
static int check_decoded_size(struct png_read_ctx *ctx, png_structp png,
			      png_infop info, char *err, size_t errlen)
{
	png_uint_32 w = png_get_image_width(png, info);
	png_uint_32 h = png_get_image_height(png, info);
	size_t rowbytes = png_get_rowbytes(png, info);

	if (ctx->limits && ctx->limits->max_pixels &&
	    (uint64_t)w * h > ctx->limits->max_pixels) {
		set_error(err, errlen, ctx->name,
			  "%ux%u is over the limit of %llu pixels; scale the image down",
			  w, h, (unsigned long long)ctx->limits->max_pixels);
		return -EFBIG;
	}
	if (!ctx->limits || !ctx->limits->max_bytes ||
	    rowbytes <= ctx->limits->max_bytes / h)
		return 0;
	set_error(err, errlen, ctx->name,
		  "%ux%u pixels decode to %.0f bytes, over the limit of %zu bytes; scale the image down",
		  w, h, (double)rowbytes * h, ctx->limits->max_bytes);
	return -EFBIG;
}

/* Turns a libpng error (the longjmp) into an errno value and a message. */
static int libpng_failure(struct png_read_ctx *ctx, png_structp png,
			  png_infop info, char *err, size_t errlen)
{
	png_uint_32 w = png_get_image_width(png, info);
	png_uint_32 h = png_get_image_height(png, info);
	png_uint_32 max_w = png_get_user_width_max(png);
	png_uint_32 max_h = png_get_user_height_max(png);

	if (ctx->out_of_memory) {
		set_error(err, errlen, ctx->name, MSG_NO_MEMORY);
		return -ENOMEM;
	}
	/* IHDR's size is stored before libpng checks it against the limits */
	if (w > max_w || h > max_h) {
		set_error(err, errlen, ctx->name,
			  "%ux%u pixels is over the limit of %ux%u; scale the image down",
			  w, h, max_w, max_h);
		return -EFBIG;
	}
	set_error(err, errlen, ctx->name,
		  "invalid PNG image (%s); export it again", ctx->reason);
	return -EINVAL;
}

/*
 * Asks libpng for the one layout we keep: png_set_expand_16 expands palette
 * to RGB, tRNS to an alpha channel and gray 1/2/4 to 8 bits (scaled to full
 * range) like png_set_expand, then widens 8-bit samples v to v * 257.
 */
static void set_transforms(png_structp png)
{
	const uint16_t one = 1;

	png_set_expand_16(png);
	/* PNG samples are big-endian; have them in host order */
	if (*(const uint8_t *)&one)
		png_set_swap(png);
	png_set_interlace_handling(png);
}

/* Row pointers into img's samples, for png_read_image. NULL: no memory. */
static png_bytep *row_pointers(mask_image *img)
{
	size_t stride = (size_t)img->width * img->channels;
	png_bytep *rows = malloc((size_t)img->height * sizeof(*rows));
	int y;

	if (!rows)
		return NULL;
	for (y = 0; y < img->height; y++)
		rows[y] = (png_bytep)(img->data + y * stride);
	return rows;
}

/*
 * Reads the chunks up to the image data, checks the size and sets up the
 * transforms. libpng errors unwind to the caller's setjmp.
 */
static int read_header(struct png_read_ctx *ctx, png_structp png,
		       png_infop info, int *bit_depth, char *err, size_t errlen)
{
	int ret;

	png_read_info(png, info);
	ret = check_plausible(ctx, png, info, err, errlen);
	if (ret)
		return ret;
	*bit_depth = png_get_bit_depth(png, info);
	set_transforms(png);
	png_read_update_info(png, info);
	return check_decoded_size(ctx, png, info, err, errlen);
}

/* Decodes the image after the signature; libpng errors land at setjmp. */
static int decode(struct png_read_ctx *ctx, png_structp png, png_infop info,
		  mask_image **out, char *err, size_t errlen)
{
	mask_image *volatile img = NULL;
	png_bytep *volatile rows = NULL;
	mask_image *tmp;
	int bit_depth;
	int ret;

	if (setjmp(png_jmpbuf(png))) {
		ret = libpng_failure(ctx, png, info, err, errlen);
		goto out_free_rows;
	}
	ret = read_header(ctx, png, info, &bit_depth, err, errlen);
	if (ret)
		goto out_free_rows;
	ret = mask_image_create(png_get_image_width(png, info),
				png_get_image_height(png, info),
				png_get_channels(png, info), &tmp);
	if (ret) {
		set_error(err, errlen, ctx->name, MSG_NO_MEMORY);
		goto out_free_rows;
	}
	img = tmp;
	img->bit_depth = bit_depth;
	rows = row_pointers(img);
	if (!rows) {
		set_error(err, errlen, ctx->name, MSG_NO_MEMORY);
		ret = -ENOMEM;
		goto out_free_rows;
	}
	png_read_image(png, rows);
	/* the chunks after the image data: catches truncation and bad CRCs */
	png_read_end(png, NULL);
	*out = img;
	img = NULL;
out_free_rows:
	/* rows and image, whichever exist (both NULL-safe) */
	free(rows);
	mask_image_free(img);
	return ret;
}

static int load_source(struct png_source *src, const char *name,
		       const struct mask_limits *limits, mask_image **out,
		       char *err, size_t errlen)
{
	struct png_read_ctx ctx = {
		.src = src,
		.name = name,
		.limits = limits,
	};
	png_structp png;
	png_infop info = NULL;
	int ret;

	ret = check_signature(&ctx, err, errlen);
	if (ret)
		return ret;
	png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &ctx,
				       png_error_cb, png_warning_cb, &ctx,
				       png_malloc_cb, png_free_cb);
	if (!png) {
		set_error(err, errlen, name, MSG_NO_MEMORY);
		return -ENOMEM;
	}
	info = png_create_info_struct(png);
	if (!info) {
		set_error(err, errlen, name, MSG_NO_MEMORY);
		ret = -ENOMEM;
		goto out_destroy_png;
	}
	png_set_read_fn(png, &ctx, png_read_cb);
	png_set_sig_bytes(png, PNG_SIG_BYTES);
	apply_limits(png, limits);
	/*
	 * Only IHDR, PLTE, tRNS, IDAT and IEND make the image; every other chunk
	 * is skipped unread. libpng (1.6.39) allocates an ancillary chunk's
	 * claimed length before reading its data, whatever the chunk malloc
	 * limit, so a 43-byte file claiming a 2 GB sCAL chunk cost 2 GB.
	 */
	png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
	ret = decode(&ctx, png, info, out, err, errlen);
out_destroy_png:
	png_destroy_read_struct(&png, &info, NULL);
	return ret;
}

int mask_image_load(const char *path, const struct mask_limits *limits,
		    mask_image **out, char *err, size_t errlen)
{
	struct png_source src = { 0 };
	struct stat st;
	int ret;

	if (!path || !out)
		return -EINVAL;
	src.file = fopen(path, "rb");
	if (!src.file) {
		set_error(err, errlen, path, "cannot open: %s; check the path",
			  strerror(errno));
		return -ENOENT;
	}
	if (fstat(fileno(src.file), &st) || !S_ISREG(st.st_mode)) {
		set_error(err, errlen, path,
			  "not a regular file; give the path of a PNG image");
		ret = -EINVAL;
		goto out_close;
	}
	src.size = st.st_size;
	ret = load_source(&src, path, limits, out, err, errlen);
out_close:
	fclose(src.file);
	return ret;
}

int mask_image_load_mem(const uint8_t *buf, size_t len,
			const struct mask_limits *limits, mask_image **out,
			char *err, size_t errlen)
{
	struct png_source src = {
		.buf = buf,
		.len = len,
		.size = len,
	};

	if ((!buf && len) || !out)
		return -EINVAL;
	return load_source(&src, NULL, limits, out, err, errlen);
}

/* Where the pixel at (x, y) of a w x h image lands after the rotation. */
static void rotated_position(int x, int y, int w, int h, int degrees,
			     int *dx, int *dy)
{
	switch (degrees) {
	case 90:
		*dx = h - 1 - y;
		*dy = x;
		break;
	case 180:
		*dx = w - 1 - x;
		*dy = h - 1 - y;
		break;
	case 270:
		*dx = y;
		*dy = w - 1 - x;
		break;
	default:
		*dx = x;
		*dy = y;
		break;
	}
}

int mask_image_rotate(const mask_image *img, int degrees, mask_image **out)
{
	int quarter = degrees == 90 || degrees == 270;
	int ch, x, y, dx, dy, ret;
	mask_image *rot;

	if (!img || !out || (degrees != 0 && degrees != 180 && !quarter))
		return -EINVAL;
	ret = mask_image_create(quarter ? img->height : img->width,
				quarter ? img->width : img->height,
				img->channels, &rot);
	if (ret)
		return ret;
	rot->bit_depth = img->bit_depth;
	ch = img->channels;
	for (y = 0; y < img->height; y++) {
		for (x = 0; x < img->width; x++) {
			rotated_position(x, y, img->width, img->height, degrees,
					 &dx, &dy);
			memcpy(rot->data + ((size_t)dy * rot->width + dx) * ch,
			       img->data + ((size_t)y * img->width + x) * ch,
			       ch * sizeof(*img->data));
		}
	}
	*out = rot;
	return 0;
}

/*
 * An export at another size rounds one side to whole pixels: scaled to the
 * smaller image's width (or height), the larger one's other side must land
 * within one pixel. With sw x sh the smaller and lw x lh the larger,
 * |sh - sw * lh / lw| <= 1 or |sw - sh * lw / lh| <= 1, which in integers is
 * |sw * lh - sh * lw| <= max(lw, lh).
 */
int mask_same_aspect(int iw, int ih, int fw, int fh)
{
	long long sw = iw, sh = ih, lw = fw, lh = fh, cross;

	if (iw <= 0 || ih <= 0 || fw <= 0 || fh <= 0)
		return 0;
	if (sw * sh > lw * lh) {
		sw = fw;
		sh = fh;
		lw = iw;
		lh = ih;
	}
	cross = llabs(sw * lh - sh * lw);
	return cross <= (lw > lh ? lw : lh);
}
