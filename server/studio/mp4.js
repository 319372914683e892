// The frame rate and frame count of an MP4 or MOV file's first video track,
// from its moov box (the track's mdhd time scale and its stts sample
// durations): the browser's <video> tells neither. Only the box headers and
// the moov box are read, not the whole file. null for other containers,
// fragmented files or anything unexpected.

const MAX_MOOV = 64 * 1024 * 1024;

async function view(blob, start, end) {
	return new DataView(await blob.slice(start, end).arrayBuffer());
}

function fourcc(dv, at) {
	return String.fromCharCode(dv.getUint8(at), dv.getUint8(at + 1),
		dv.getUint8(at + 2), dv.getUint8(at + 3));
}

// A box's size and header length from the bytes at `at` (end: the parent's end).
function boxSize(dv, at, end) {
	const size = dv.getUint32(at);
	if (size === 1)
		return { size: Number(dv.getBigUint64(at + 8)), header: 16 };
	return { size: size === 0 ? end - at : size, header: 8 };
}

async function findMoov(file) {
	let at = 0;
	while (at + 16 <= file.size) {
		const head = await view(file, at, at + 16);
		const { size, header } = boxSize(head, 0, file.size - at);
		if (size < header)
			return null;
		if (fourcc(head, 4) === 'moov')
			return size > MAX_MOOV ? null : view(file, at + header, at + size);
		at += size;
	}
	return null;
}

function* children(dv, box) {
	let at = box.start;
	while (at + 8 <= box.end) {
		const { size, header } = boxSize(dv, at, box.end);
		if (size < header || at + size > box.end)
			return;
		yield { type: fourcc(dv, at + 4), start: at + header, end: at + size };
		at += size;
	}
}

function child(dv, box, path) {
	for (const type of path) {
		box = [...children(dv, box)].find((b) => b.type === type);
		if (!box)
			return null;
	}
	return box;
}

function videoMedia(dv) {
	for (const trak of children(dv, { start: 0, end: dv.byteLength })) {
		if (trak.type !== 'trak')
			continue;
		const mdia = child(dv, trak, ['mdia']);
		const hdlr = mdia && child(dv, mdia, ['hdlr']);
		if (hdlr && fourcc(dv, hdlr.start + 8) === 'vide')
			return mdia;
	}
	return null;
}

export async function mp4VideoInfo(file) {
	try {
		const dv = await findMoov(file);
		const mdia = dv && videoMedia(dv);
		const mdhd = mdia && child(dv, mdia, ['mdhd']);
		const stts = mdia && child(dv, mdia, ['minf', 'stbl', 'stts']);
		if (!mdhd || !stts)
			return null;
		const timescale = dv.getUint32(mdhd.start + (dv.getUint8(mdhd.start) === 1 ? 20 : 12));
		const entries = dv.getUint32(stts.start + 4);
		let frames = 0, ticks = 0;
		for (let i = 0; i < entries; i++) {
			const count = dv.getUint32(stts.start + 8 + 8 * i);
			frames += count;
			ticks += count * dv.getUint32(stts.start + 12 + 8 * i);
		}
		if (!frames || !ticks || !timescale)
			return null;
		return { fps: frames * timescale / ticks, frames };
	} catch {
		return null;
	}
}
