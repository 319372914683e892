// The web studio in a real browser: Debian's Chromium driven by Playwright
// (playwright-core, pinned in package-lock.json), headless, against the real
// `maskattn serve` on a free loopback port with a fresh data directory and an
// API key. It uploads a clip (../shared/fixtures/running_car.mp4 when there,
// else one made with ffmpeg's lavfi sources), scrubs to a frame (and checks
// it is that frame), paints a mask with mouse drags, adds an edited keyframe
// (a hue shift made with ffmpeg), submits a bad spec (the problem shown) and
// then a good one, follows progress on the event stream, compares with the
// split slider, plays, shows the heatmap and downloads the result; then a
// stabilize job, followed by polling (its stream refused), is cancelled. Screenshots go to
// build/studio-screenshots/. Any console error, page error or failed request
// that the test did not cause on purpose fails it.
//
// Run: MASKATTN_BIN=build/maskattn node --test tests/studio/studio.test.mjs
// (`make test-studio`). MASKATTN_CHROMIUM overrides /usr/bin/chromium;
// MASKATTN_STUDIO_CLIP=lavfi uses the generated clip even when the fixture
// is there (as a fresh clone does).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = resolve(process.env.MASKATTN_BIN || join(ROOT, 'build/maskattn'));
const CHROMIUM = process.env.MASKATTN_CHROMIUM || '/usr/bin/chromium';
const FIXTURE = resolve(ROOT, '../shared/fixtures/running_car.mp4');
const SHOTS = join(ROOT, 'build/studio-screenshots');
const KEY = 'studio-test-key';
// Workers run at nice 14 to 19: on a busy machine the fixture's 292 frames take minutes.
const JOB_TIMEOUT_MS = 600_000;

function ffmpeg(...args) {
	execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
}

// The clip, its frame rate and frame count (by ffprobe), the frame to
// edit, and an edited keyframe (that frame with its hues turned).
function makeMedia(dir) {
	let clip = FIXTURE, frame = 40;
	if (!existsSync(FIXTURE) || process.env.MASKATTN_STUDIO_CLIP === 'lavfi') {
		clip = join(dir, 'clip.mp4');
		frame = 20;
		ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=24:duration=3',
			'-f', 'lavfi', '-i', 'sine=frequency=440:duration=3',
			'-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip);
	}
	const [rate, frames] = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0',
		'-count_frames', '-show_entries', 'stream=r_frame_rate,nb_read_frames', '-of', 'csv=p=0',
		clip], { encoding: 'utf8' }).trim().split(',');
	const [num, den] = rate.split('/').map(Number);
	const edit = join(dir, 'edit.png');
	ffmpeg('-i', clip, '-vf', `select=eq(n\\,${frame}),hue=h=120:s=1.4`, '-frames:v', '1', edit);
	return { clip, fps: num / den, frames: Number(frames), frame, edit };
}

// Frames n-1, n and n+1 of clip as small RGB pictures, for comparing with
// what the browser shows.
function framesAround(clip, n, w, h) {
	const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', clip, '-vf',
		`select=between(n\\,${n - 1}\\,${n + 1}),scale=${w}:${h}`, '-fps_mode', 'passthrough',
		'-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 24 });
	const size = w * h * 3;
	return [0, 1, 2].map((i) => raw.subarray(i * size, (i + 1) * size));
}

function meanDiff(a, b) {
	let sum = 0;
	for (let i = 0; i < a.length; i++)
		sum += Math.abs(a[i] - b[i]);
	return sum / a.length;
}

// Decodes an 8-bit PNG (gray, gray+alpha, RGB, RGBA) to {width, height, channels, pixels}.
function decodePng(buf) {
	assert.equal(buf.subarray(0, 8).toString('latin1'), '\x89PNG\r\n\x1a\n', 'not a PNG');
	let at = 8, width, height, channels;
	const idat = [];
	while (at < buf.length) {
		const len = buf.readUInt32BE(at);
		const type = buf.toString('latin1', at + 4, at + 8);
		const data = buf.subarray(at + 8, at + 8 + len);
		if (type === 'IHDR') {
			width = data.readUInt32BE(0);
			height = data.readUInt32BE(4);
			assert.equal(data[8], 8, 'bit depth');
			channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[data[9]];
			assert.ok(channels, `colour type ${data[9]}`);
		} else if (type === 'IDAT') {
			idat.push(data);
		}
		at += 12 + len;
	}
	const raw = inflateSync(Buffer.concat(idat));
	const stride = width * channels;
	const pixels = Buffer.alloc(stride * height);
	for (let y = 0; y < height; y++) {
		const filter = raw[y * (stride + 1)];
		for (let x = 0; x < stride; x++) {
			const v = raw[y * (stride + 1) + 1 + x];
			const a = x >= channels ? pixels[y * stride + x - channels] : 0;
			const b = y ? pixels[(y - 1) * stride + x] : 0;
			const c = x >= channels && y ? pixels[(y - 1) * stride + x - channels] : 0;
			const p = a + b - c;
			const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
			const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
			const pred = [0, a, b, (a + b) >> 1, paeth][filter];
			pixels[y * stride + x] = (v + pred) & 0xff;
		}
	}
	return { width, height, channels, pixels };
}

function freePort() {
	return new Promise((ok, fail) => {
		const srv = createServer();
		srv.on('error', fail);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => ok(port));
		});
	});
}

async function startServer(dir) {
	const port = await freePort();
	const data = join(dir, 'data');
	const log = join(dir, 'server.log');
	const proc = spawn(BIN, ['serve', '--port', String(port), '--data', data, '--workers', '1'], {
		env: { ...process.env, MASKATTN_API_KEYS: KEY },
		stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
	});
	const exited = new Promise((ok) => proc.on('exit', (code) => ok(code)));
	const base = `http://127.0.0.1:${port}`;
	const deadline = Date.now() + 20_000;
	while (Date.now() < deadline) {
		if (proc.exitCode !== null)
			throw new Error(`server exited ${proc.exitCode}: ${readFileSync(log, 'utf8').slice(-2000)}`);
		try {
			if ((await fetch(`${base}/healthz`)).ok)
				return { base, data, log, proc, exited };
		} catch {
			// not listening yet
		}
		await new Promise((ok) => setTimeout(ok, 50));
	}
	proc.kill('SIGKILL');
	throw new Error('server did not answer /healthz');
}

// What the page reports going wrong, less what the test does on purpose
// (each expected entry: {status, path} of an answer it asked for).
function watchPage(page, base) {
	const problems = [];
	const expected = [];
	const isExpected = (url, status) => expected.some((e) =>
		e.status === status && url.startsWith(base) && new URL(url).pathname.endsWith(e.path));
	page.on('pageerror', (err) => problems.push(`page error: ${err.stack || err}`));
	page.on('console', (msg) => {
		if (msg.type() !== 'error')
			return;
		const status = Number(/status of (\d+)/.exec(msg.text())?.[1]);
		if (!isExpected(msg.location().url || '', status))
			problems.push(`console error: ${msg.text()} (${msg.location().url})`);
	});
	page.on('requestfailed', (req) => {
		// A media element drops its blob: reads when its source changes.
		if (req.url().startsWith('blob:') && req.failure()?.errorText === 'net::ERR_ABORTED')
			return;
		problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
	});
	page.on('response', (res) => {
		if (res.status() >= 400 && !isExpected(res.url(), res.status()))
			problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
	});
	return { problems, expect: (status, path) => expected.push({ status, path }) };
}

test('the studio edits a clip end to end in Chromium', { timeout: 900_000 }, async (t) => {
	const dir = mkdtempSync(join(tmpdir(), 'maskattn-studio-'));
	mkdirSync(SHOTS, { recursive: true });
	const media = makeMedia(dir);
	const server = await startServer(dir);
	const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
	t.after(async () => {
		await browser.close();
		if (server.proc.exitCode === null)
			server.proc.kill('SIGKILL');
		rmSync(dir, { recursive: true, force: true });
	});
	const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

	const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
	const page = await context.newPage();
	const watch = watchPage(page, server.base);

	// The page and its files need no key; /v1 does.
	const home = await page.goto(`${server.base}/`);
	assert.equal(home.status(), 200);
	assert.match(home.headers()['content-security-policy'], /default-src 'none'/);
	await page.waitForSelector('body[data-ready=true]');
	assert.equal(await page.title(), 'maskattn studio');
	await shot(page, '01-empty');
	await page.fill('#api-key', KEY);
	await page.click('#key-form button');
	await page.waitForFunction(() => sessionStorage.getItem('maskattn.apiKey') !== null);

	// The clip: its frame rate and length read from the MP4 header.
	await page.setInputFiles('#clip-file', media.clip);
	await page.waitForSelector('#editor:not([hidden])');
	await page.waitForSelector('body[data-frame="0"]');
	assert.equal(Number(await page.getAttribute('body', 'data-fps')), media.fps);
	assert.equal(await page.getAttribute('#frame-slider', 'max'), String(media.frames - 1));

	// Scrub by keyboard on the slider, then by frame number.
	await page.focus('#frame-slider');
	for (let i = 0; i < 3; i++)
		await page.keyboard.press('ArrowRight');
	await page.waitForSelector('body[data-frame="3"]');
	assert.equal(await page.inputValue('#frame-number'), '3');
	await page.fill('#frame-number', String(media.frame));
	await page.press('#frame-number', 'Enter');
	await page.waitForSelector(`body[data-frame="${media.frame}"]`);

	// The frame on screen is that frame of the clip, not a neighbour.
	const [w, h] = [96, 54];
	const shown = Buffer.from(await page.evaluate(([w, h]) => {
		const c = document.createElement('canvas');
		c.width = w;
		c.height = h;
		const ctx = c.getContext('2d');
		ctx.drawImage(document.getElementById('source-video'), 0, 0, w, h);
		const rgba = ctx.getImageData(0, 0, w, h).data;
		return Array.from({ length: w * h * 3 }, (_, i) => rgba[Math.floor(i / 3) * 4 + i % 3]);
	}, [w, h]));
	const diffs = framesAround(media.clip, media.frame, w, h).map((f) => meanDiff(shown, f));
	assert.ok(diffs[1] < diffs[0] && diffs[1] < diffs[2], `frame ${media.frame} shown? differences ${diffs}`);

	// Paint: a broad stroke, a soft one, and an erased bit in the middle.
	const box = await page.locator('#mask-canvas').boundingBox();
	const at = (fx, fy) => [box.x + fx * box.width, box.y + fy * box.height];
	const drag = async (from, to) => {
		await page.mouse.move(...at(...from));
		await page.mouse.down();
		await page.mouse.move(...at(...to), { steps: 12 });
		await page.mouse.up();
	};
	await page.fill('#brush-size', '120');
	await page.fill('#feather', '20');
	await drag([0.25, 0.45], [0.75, 0.45]);
	await drag([0.25, 0.55], [0.75, 0.55]);
	await page.check('input[name=paint][value=erase]');
	await page.fill('#brush-size', '30');
	await drag([0.5, 0.35], [0.5, 0.65]);
	await page.check('input[name=paint][value=attend]');
	await page.mouse.move(...at(0.9, 0.15));
	assert.equal(await page.textContent('#mask-list'), `frame ${media.frame}`);

	// The edited keyframe, at the current frame by default.
	await page.setInputFiles('#edit-file', media.edit);
	assert.equal(await page.inputValue('#edit-frame'), String(media.frame));
	await page.click('#edit-add');
	await page.waitForSelector('#keyframe-list li img');
	assert.match(await page.textContent('#keyframe-list'), new RegExp(`frame ${media.frame}: edited image`));

	// Small parameters, so that the job takes seconds.
	await page.fill('#weight', '0.9');
	await page.fill('#steps', '1');
	await page.fill('#window', '4');
	if (!(await page.isChecked('#want-attention')))
		await page.check('#want-attention');
	await shot(page, '02-mask-painted');

	// A bad spec first: the problem is shown field by field.
	watch.expect(422, '/v1/jobs');
	await page.fill('#temperature', '0');
	await page.click('#submit');
	await page.waitForSelector('#problem:not([hidden])');
	const problemText = await page.textContent('#problem');
	assert.match(problemText, /422/);
	assert.match(problemText, /temperature: /);
	await shot(page, '03-problem');

	await page.fill('#temperature', '0.7');
	await page.click('#submit');
	await page.waitForSelector('#problem', { state: 'hidden' });
	await page.waitForFunction(() => document.getElementById('job-progress').value > 0.05 ||
		document.body.dataset.jobStatus === 'succeeded', null, { timeout: JOB_TIMEOUT_MS });
	await shot(page, '04-progress');
	await page.waitForSelector('body[data-job-status=succeeded]', { timeout: JOB_TIMEOUT_MS });
	assert.equal(await page.getAttribute('body', 'data-progress-via'), 'sse');
	assert.ok(Number(await page.getAttribute('body', 'data-sse-progress')) > 0, 'no progress event on the stream');

	// What was sent: the mask as a gray PNG (no alpha, which the service
	// would take as the coverage) of the frame's size, white where painted,
	// black where erased and where not painted.
	const jobId = /Job ([0-9a-f]{32})/.exec(await page.textContent('#job-info'))[1];
	const jobDir = join(server.data, 'jobs', jobId);
	const spec = JSON.parse(readFileSync(join(jobDir, 'spec.json'), 'utf8'));
	assert.deepEqual(spec.masks.map((m) => m.frame), [media.frame]);
	assert.deepEqual(spec.keyframes.map((k) => k.frame), [media.frame]);
	const pngs = readdirSync(jobDir).map((f) => readFileSync(join(jobDir, f)))
		.filter((b) => b.subarray(1, 4).toString() === 'PNG').map(decodePng);
	const mask = pngs.find((p) => p.channels === 1);
	assert.ok(mask, 'no gray mask PNG among the job inputs');
	const video = await page.evaluate(() => [document.getElementById('source-video').videoWidth,
		document.getElementById('source-video').videoHeight]);
	assert.deepEqual([mask.width, mask.height], video);
	const value = (fx, fy) => mask.pixels[(Math.floor(fy * mask.height) * mask.width +
		Math.floor(fx * mask.width)) * mask.channels];
	assert.equal(value(0.3, 0.5), 255, 'painted');
	assert.equal(value(0.5, 0.5), 0, 'erased');
	assert.equal(value(0.05, 0.05), 0, 'not painted');

	// And so the service took it: its mask of that frame is the one painted.
	const used = decodePng(Buffer.from(await (await fetch(
		`${server.base}/v1/jobs/${jobId}/frames/${media.frame}.png?view=mask`,
		{ headers: { Authorization: `Bearer ${KEY}` } })).arrayBuffer()));
	const usedAt = (fx, fy) => used.pixels[(Math.floor(fy * used.height) * used.width +
		Math.floor(fx * used.width)) * used.channels];
	assert.ok(usedAt(0.3, 0.5) > 200 && usedAt(0.5, 0.5) < 50 && usedAt(0.05, 0.05) < 50,
		`mask used: ${[usedAt(0.3, 0.5), usedAt(0.5, 0.5), usedAt(0.05, 0.05)]}`);

	// Compare: the split slider by pointer-free fill and by keyboard.
	await page.waitForSelector(`body[data-compare-ready="${jobId}"]`);
	await page.fill('#split', '30');
	const clip = () => page.$eval('#compare-result', (v) => getComputedStyle(v).clipPath);
	assert.equal(await clip(), 'inset(0px 0px 0px 30%)');
	await page.focus('#split');
	for (let i = 0; i < 10; i++)
		await page.keyboard.press('ArrowRight');
	assert.equal(await clip(), 'inset(0px 0px 0px 40%)');
	await page.fill('#compare-scrub', String(media.frame));
	await page.waitForFunction(() => !document.getElementById('compare-source').seeking &&
		!document.getElementById('compare-result').seeking);
	await page.locator('.compare-panel').scrollIntoViewIfNeeded();

	// That frame as PNGs from the service: source, result, mask used
	// (and attention, below, once the heatmap is there).
	await page.waitForSelector(`body[data-views="${media.frame}"]`);
	for (const view of ['source', 'result', 'mask'])
		assert.deepEqual(await page.$eval(`#view-${view} img`, (img) => [img.naturalWidth, img.naturalHeight]),
			video, view);
	await shot(page, '05-compare');

	// Play both together, then pause: they stay in step.
	const start = await page.$eval('#compare-source', (v) => v.currentTime);
	await page.click('#play');
	await page.waitForFunction((t) => document.getElementById('compare-source').currentTime > t + 0.5, start);
	await page.click('#play');
	await page.waitForFunction(() => document.getElementById('compare-source').paused);
	const times = await page.evaluate(() => ['compare-source', 'compare-result']
		.map((id) => document.getElementById(id).currentTime));
	assert.ok(Math.abs(times[0] - times[1]) < 0.05, `out of step: ${times}`);
	await page.waitForFunction((label) => document.getElementById('compare-frame').textContent === label,
		`frame ${Math.floor(times[0] * media.fps + 1e-3)}`);

	// The heatmap in place of the result.
	await page.waitForSelector('#heatmap-toggle:not([disabled])');
	await page.check('#heatmap-toggle');
	await page.waitForSelector('body[data-right=attention]');
	assert.equal(await page.$eval('#compare-result', (v) => v.src), await page.$eval('#download-heatmap', (a) => a.href));
	await page.waitForSelector('#view-attention:not([hidden])');
	await page.waitForFunction(() => document.querySelector('#view-attention img').naturalWidth > 0);
	await shot(page, '06-heatmap');
	await page.uncheck('#heatmap-toggle');
	await page.waitForSelector('body[data-right=result]');

	// The download is the result.
	const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-result')]);
	assert.equal(download.suggestedFilename(), `maskattn-${jobId}.mp4`);
	const saved = readFileSync(await download.path());
	assert.equal(saved.subarray(4, 8).toString(), 'ftyp');
	assert.deepEqual(saved, readFileSync(join(jobDir, 'output.mp4')));

	// Stabilize with this frame as the reference, then cancel it, with the
	// event stream refused (503): the page follows the job by polling.
	watch.expect(503, '/events');
	await page.route('**/v1/jobs/*/events', (route) => route.fulfill({
		status: 503, contentType: 'application/problem+json',
		body: JSON.stringify({ title: 'Refused by the test', status: 503 }),
	}));
	await page.check('input[name=mode][value=stabilize]');
	await page.waitForSelector('#ref-add', { state: 'visible' });
	assert.ok(await page.isHidden('#edit-add'));
	await page.click('#ref-add');
	assert.match(await page.textContent('#keyframe-list'), new RegExp(`frame ${media.frame}: reference`));
	await page.fill('#temporal-window', '1');
	await page.click('#submit');
	await page.waitForSelector('#cancel:not([hidden])');
	await page.click('#cancel');
	await page.waitForSelector('body[data-job-status=canceled]', { timeout: JOB_TIMEOUT_MS });
	assert.equal(await page.getAttribute('body', 'data-progress-via'), 'polling');
	const stabilizeId = /Job ([0-9a-f]{32})/.exec(await page.textContent('#job-info'))[1];
	const stabilize = JSON.parse(readFileSync(join(server.data, 'jobs', stabilizeId, 'spec.json'), 'utf8'));
	assert.equal(stabilize.mode, 'stabilize');
	assert.deepEqual(stabilize.keyframes, [{ frame: media.frame }]);
	assert.equal(stabilize.temporal_window, 1);
	await shot(page, '07-canceled');

	assert.deepEqual(watch.problems, []);
	await context.close();
	server.proc.kill('SIGTERM');
	assert.equal(await server.exited, 0);
});
