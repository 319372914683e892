// An 8-bit grayscale PNG (colour type 0, no alpha) from one byte a pixel.
// A canvas exports RGBA, and the service reads a PNG's alpha channel as the
// mask's coverage (an opaque one covers everything), so masks are written
// here with the coverage as gray. The image data is compressed with the
// browser's CompressionStream ('deflate' is the zlib format PNG wants).

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
	let c = n;
	for (let k = 0; k < 8; k++)
		c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
	return c;
});

function crc32(bytes) {
	let c = 0xffffffff;
	for (const b of bytes)
		c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
	const out = new Uint8Array(12 + data.length);
	const dv = new DataView(out.buffer);
	dv.setUint32(0, data.length);
	out.set(new TextEncoder().encode(type), 4);
	out.set(data, 8);
	dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
	return out;
}

async function deflate(bytes) {
	const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'));
	return new Uint8Array(await new Response(stream).arrayBuffer());
}

// gray: width * height bytes, row by row. Resolves with an image/png Blob.
export async function grayPng(width, height, gray) {
	const header = new Uint8Array(13);
	const dv = new DataView(header.buffer);
	dv.setUint32(0, width);
	dv.setUint32(4, height);
	header[8] = 8;          // bit depth; colour type 0 (gray), deflate, filter 0, no interlace
	const rows = new Uint8Array((width + 1) * height);
	for (let y = 0; y < height; y++)
		rows.set(gray.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
	const signature = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
	return new Blob([signature, chunk('IHDR', header), chunk('IDAT', await deflate(rows)),
		chunk('IEND', new Uint8Array(0))], { type: 'image/png' });
}
