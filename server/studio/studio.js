// The studio: a clip, masks painted on its frames and keyframes, a job
// submitted to POST /v1/jobs, its progress (Server-Sent Events, or polling
// when the stream cannot be had) and the result beside the source. Only the
// public API is used. State the tests read is mirrored in data-* attributes
// of <body>: data-fps, data-frame (the frame shown), data-job-status,
// data-progress-via (sse or polling), data-sse-progress (progress events
// received on the stream), data-right (result or attention), data-views
// (the frame whose PNG views are shown).

import { apiKey, setApiKey, ApiError, authHeaders, getBlob, getJSON, postJSON, showProblem, upload } from './api.js';
import { Compare, loaded } from './compare.js';
import { MaskPainter } from './mask.js';
import { mp4VideoInfo } from './mp4.js';
import { readEvents } from './sse.js';

// Browsers do not tell a video's frame rate: MP4 and MOV files have it in
// their header (mp4.js); for other containers this guess shows until the
// user corrects it.
const DEFAULT_FPS = 30;
const FINAL = ['succeeded', 'failed', 'canceled'];
const POLL_MS = 1000;
const VIEWS_DELAY_MS = 300;
const VIEWS = ['source', 'result', 'attention', 'mask'];
const MODE_HELP = {
	propagate: 'Carries your edited keyframes through the clip inside the mask, following the motion.',
	stabilize: 'Anchors the masked region to its look in the reference frame: flicker and warping removed.',
};

const $ = (id) => document.getElementById(id);
const body = document.body;

const state = {
	clip: null,             // File
	clipUrl: null,
	fps: DEFAULT_FPS,
	frames: 1,
	frame: 0,
	edits: [],              // propagate: {frame, blob, url}
	refs: [],               // stabilize: frame numbers
	job: null,
	watch: null,            // AbortController of the job being watched
	resultUrl: null,
	heatmapUrl: null,
	viewsTimer: null,
	viewsFor: '',
	viewUrls: {},
};

const video = $('source-video');
const painter = new MaskPainter($('mask-canvas'), showMasks);
const compare = new Compare({
	box: $('compare'), source: $('compare-source'), result: $('compare-result'),
	split: $('split'), play: $('play'), scrub: $('compare-scrub'), frameLabel: $('compare-frame'),
	onFrame: scheduleViews,
});

// --- API key ---------------------------------------------------------------

function showKeyState() {
	$('key-state').textContent = apiKey() ? 'key in use for this tab' : 'no key';
}

$('api-key').value = apiKey();
showKeyState();
$('key-form').addEventListener('submit', (ev) => {
	ev.preventDefault();
	setApiKey($('api-key').value.trim());
	showKeyState();
});

// --- the clip ----------------------------------------------------------------

async function openClip(file) {
	if (!file)
		return;
	if (state.clipUrl)
		URL.revokeObjectURL(state.clipUrl);
	state.clip = file;
	state.clipUrl = URL.createObjectURL(file);
	$('clip-info').textContent = `Opening ${file.name}…`;
	video.src = state.clipUrl;
	try {
		await loaded(video);
	} catch (err) {
		$('clip-info').textContent = `${file.name}: ${err.message}. The service may still take it: submit to find out.`;
		return;
	}
	const info = await mp4VideoInfo(file);
	state.fps = info ? Math.round(info.fps * 1000) / 1000 : DEFAULT_FPS;
	$('fps').value = String(state.fps);
	setFrameCount(info ? info.frames : null);
	$('stage').style.setProperty('--ar', `${video.videoWidth} / ${video.videoHeight}`);
	painter.reset(video.videoWidth, video.videoHeight);
	$('editor').hidden = false;
	$('clip-info').textContent = `${file.name}: ${video.videoWidth}×${video.videoHeight}, ` +
		`${state.frames} frames at ${state.fps} fps` + (info ? '' : ' (frame rate guessed: correct it below)');
	body.dataset.fps = String(state.fps);
	state.edits = [];
	state.refs = [];
	showKeyframes();
	await seekFrame(0);
}

// The clip's frame count: from its header, else from its duration.
function setFrameCount(frames) {
	state.frames = frames || Math.max(1, Math.round(video.duration * state.fps));
	const max = String(state.frames - 1);
	for (const el of [$('frame-slider'), $('frame-number'), $('edit-frame')])
		el.max = max;
	$('frame-total').textContent = `of ${state.frames}`;
}

// Shows frame n: seeked to 0.3 frame past its start, so that frame n is
// the one on screen whatever the rounding (a time t is frame floor(t * fps)).
async function seekFrame(n) {
	n = Math.min(state.frames - 1, Math.max(0, Math.round(Number(n) || 0)));
	state.frame = n;
	$('frame-slider').value = String(n);
	$('frame-number').value = String(n);
	$('edit-frame').value = String(n);
	painter.setFrame(n);
	const seeked = new Promise((resolve) => video.addEventListener('seeked', resolve, { once: true }));
	video.currentTime = (n + 0.3) / state.fps;
	await seeked;
	if (state.frame === n)
		body.dataset.frame = String(n);
}

$('clip-file').addEventListener('change', () => openClip($('clip-file').files[0]));
const drop = $('drop');
drop.addEventListener('dragover', (ev) => {
	ev.preventDefault();
	drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (ev) => {
	ev.preventDefault();
	drop.classList.remove('over');
	openClip(ev.dataTransfer.files[0]);
});
$('frame-slider').addEventListener('input', () => seekFrame($('frame-slider').value));
$('frame-number').addEventListener('change', () => seekFrame($('frame-number').value));
$('fps').addEventListener('change', () => {
	const fps = Number($('fps').value);
	if (!(fps > 0))
		return;
	state.fps = fps;
	body.dataset.fps = String(fps);
	setFrameCount(null);
	seekFrame(state.frame);
});

// --- the brush ---------------------------------------------------------------

function showMasks() {
	const list = $('mask-list');
	const frames = painter.frames();
	list.replaceChildren();
	if (!frames.length) {
		list.textContent = 'none yet; paint on the frame above';
		return;
	}
	for (const f of frames) {
		const b = document.createElement('button');
		b.type = 'button';
		b.className = 'link';
		b.textContent = `frame ${f}`;
		b.setAttribute('aria-label', `Go to the mask of frame ${f}`);
		b.addEventListener('click', () => seekFrame(f));
		list.append(...(list.childNodes.length ? [', ', b] : [b]));
	}
}

for (const radio of document.querySelectorAll('input[name=paint]'))
	radio.addEventListener('change', () => { painter.erase = radio.value === 'erase' && radio.checked; });
$('brush-size').addEventListener('input', () => {
	painter.size = Number($('brush-size').value);
	$('brush-size-out').value = $('brush-size').value;
});
$('feather').addEventListener('input', () => {
	painter.feather = Number($('feather').value) / 100;
	$('feather-out').value = $('feather').value;
});
$('mask-fill').addEventListener('click', () => painter.fill());
$('mask-clear').addEventListener('click', () => painter.clear());

// --- mode and keyframes ------------------------------------------------------

function mode() {
	return document.querySelector('input[name=mode]:checked').value;
}

function showMode() {
	body.dataset.mode = mode();
	$('mode-help').textContent = MODE_HELP[mode()];
	showKeyframes();
}

for (const radio of document.querySelectorAll('input[name=mode]'))
	radio.addEventListener('change', showMode);

function keyframeItem(label, remove, url) {
	const li = document.createElement('li');
	if (url) {
		const img = document.createElement('img');
		img.src = url;
		img.alt = '';
		li.append(img);
	}
	const text = document.createElement('span');
	text.textContent = label;
	const button = document.createElement('button');
	button.type = 'button';
	button.textContent = 'Remove';
	button.setAttribute('aria-label', `Remove ${label}`);
	button.addEventListener('click', remove);
	li.append(text, button);
	return li;
}

function showKeyframes() {
	const list = $('keyframe-list');
	list.replaceChildren();
	if (mode() === 'propagate') {
		for (const k of state.edits)
			list.append(keyframeItem(`frame ${k.frame}: edited image`, () => {
				URL.revokeObjectURL(k.url);
				state.edits = state.edits.filter((e) => e !== k);
				showKeyframes();
			}, k.url));
	} else {
		for (const f of state.refs)
			list.append(keyframeItem(`frame ${f}: reference (the source frame)`, () => {
				state.refs = state.refs.filter((r) => r !== f);
				showKeyframes();
			}));
	}
}

// The keyframe image as PNG (the service takes PNG only): other formats are
// converted in a canvas.
async function asPng(file) {
	if (file.type === 'image/png')
		return file;
	const bitmap = await createImageBitmap(file);
	const canvas = document.createElement('canvas');
	canvas.width = bitmap.width;
	canvas.height = bitmap.height;
	canvas.getContext('2d').drawImage(bitmap, 0, 0);
	return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}

$('edit-add').addEventListener('click', async () => {
	const file = $('edit-file').files[0];
	const problem = $('problem');
	if (!file) {
		showProblem(problem, { title: 'Choose an edited keyframe image first' });
		return;
	}
	const frame = Math.round(Number($('edit-frame').value) || 0);
	let blob;
	try {
		blob = await asPng(file);
	} catch {
		showProblem(problem, { title: `${file.name} is not an image this browser can read` });
		return;
	}
	problem.hidden = true;
	state.edits = state.edits.filter((k) => k.frame !== frame);
	state.edits.push({ frame, blob, url: URL.createObjectURL(blob) });
	state.edits.sort((a, b) => a.frame - b.frame);
	$('edit-file').value = '';
	showKeyframes();
});

$('ref-add').addEventListener('click', () => {
	if (!state.refs.includes(state.frame))
		state.refs = [...state.refs, state.frame].sort((a, b) => a - b);
	showKeyframes();
});

// --- parameters --------------------------------------------------------------

$('weight-range').addEventListener('input', () => { $('weight').value = $('weight-range').value; });
$('weight').addEventListener('input', () => { $('weight-range').value = $('weight').value; });

function numberField(id) {
	const text = $(id).value.trim();
	return text === '' ? undefined : Number(text);
}

// The job spec and its multipart form: the clip as part "video", mask i as
// "mask<i>", edited keyframe i as "edit<i>".
async function buildForm() {
	const form = new FormData();
	const spec = {
		mode: mode(),
		video: 'video',
		cross_attention_weight: numberField('weight'),
		temperature: numberField('temperature'),
		steps: numberField('steps'),
		window: numberField('window'),
		output: { pix_fmt: $('pix-fmt').value },
	};
	if (spec.mode === 'stabilize')
		spec.temporal_window = numberField('temporal-window');
	const frames = painter.frames();
	if (frames.length)
		spec.masks = [];
	for (const [i, frame] of frames.entries()) {
		spec.masks.push({ frame, image: `mask${i}` });
		form.append(`mask${i}`, await painter.png(frame), `mask${i}.png`);
	}
	if (spec.mode === 'propagate') {
		spec.keyframes = state.edits.map((k, i) => ({ frame: k.frame, image: `edit${i}` }));
		state.edits.forEach((k, i) => form.append(`edit${i}`, k.blob, `edit${i}.png`));
	} else if (state.refs.length) {
		spec.keyframes = state.refs.map((frame) => ({ frame }));
	}
	if ($('want-attention').checked)
		spec.outputs = ['video', 'attention'];
	form.append('spec', new Blob([JSON.stringify(spec)], { type: 'application/json' }), 'spec.json');
	form.append('video', state.clip, state.clip.name);
	return form;
}

$('job-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const problem = $('problem');
	problem.hidden = true;
	if (!state.clip) {
		showProblem(problem, { title: 'Choose a clip first', detail: 'step 1, at the top left' });
		return;
	}
	const submit = $('submit');
	submit.disabled = true;
	$('submit-state').textContent = 'Uploading…';
	try {
		const job = await upload('/v1/jobs', await buildForm(), (f) => {
			$('submit-state').textContent = `Uploading… ${Math.round(f * 100)} %`;
		});
		$('submit-state').textContent = `Job ${job.id} accepted.`;
		watchJob(job);
	} catch (err) {
		$('submit-state').textContent = '';
		if (!(err instanceof ApiError))
			throw err;
		showProblem(problem, err.problem, err.status, err.retryAfter);
		if (err.status === 401)
			$('api-key').focus();
	} finally {
		submit.disabled = false;
	}
});

// --- progress ----------------------------------------------------------------

function duration(seconds) {
	if (!Number.isFinite(seconds) || seconds < 0)
		return '–';
	seconds = Math.round(seconds);
	return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

function showStatus(status) {
	const el = $('job-status');
	el.textContent = status;
	el.className = `status ${status}`;
	body.dataset.jobStatus = status;
	$('cancel').hidden = FINAL.includes(status);
}

function showNumbers(done, total, fps, eta) {
	const bar = $('job-progress');
	bar.value = total ? done / total : 0;
	bar.setAttribute('aria-valuetext', total ? `${done} of ${total} frames` : 'waiting');
	const parts = [total ? `${done} / ${total} frames` : 'waiting for a worker'];
	if (fps > 0)
		parts.push(`${fps.toFixed(1)} fps`);
	if (total && done < total && !FINAL.includes(body.dataset.jobStatus))
		parts.push(`ETA ${duration(eta)}`);
	$('job-numbers').textContent = parts.join(' · ');
}

function showJob(job) {
	state.job = job;
	showStatus(job.status);
	const fps = job.metrics?.fps || 0;
	const left = (job.frames_total || 0) - (job.frames_done || 0);
	showNumbers(job.frames_done || 0, job.frames_total || 0, fps, fps > 0 ? left / fps : NaN);
	$('job-info').textContent = `Job ${job.id}` +
		(job.metrics?.attention_entropy_mean !== undefined && job.status === 'succeeded'
			? ` · mean attention entropy ${job.metrics.attention_entropy_mean.toFixed(3)}` : '');
}

function sleep(ms, signal) {
	return new Promise((resolve) => {
		const timer = setTimeout(resolve, ms);
		signal.addEventListener('abort', () => {
			clearTimeout(timer);
			resolve();
		}, { once: true });
	});
}

// Follows the job on its event stream; true when the stream brought its end.
async function followEvents(id, signal) {
	let ended = false;
	let progressEvents = 0;
	body.dataset.sseProgress = '0';
	await readEvents(`/v1/jobs/${id}/events`, {
		headers: authHeaders(),
		signal,
		onEvent(ev) {
			body.dataset.progressVia = 'sse';
			const data = JSON.parse(ev.data);
			if (ev.type === 'progress') {
				body.dataset.sseProgress = String(++progressEvents);
				showNumbers(data.frames_done, data.frames_total, data.fps, data.eta);
			} else if (ev.type === 'status' || ev.type === 'end') {
				showJob(data);
				ended = ev.type === 'end';
			}
		},
	});
	return ended;
}

async function watchJob(job) {
	state.watch?.abort();
	const watch = new AbortController();
	state.watch = watch;
	$('job-problem').hidden = true;
	$('compare-area').hidden = true;
	$('compare-empty').hidden = false;
	delete body.dataset.progressVia;
	showJob(job);
	let ended = FINAL.includes(job.status);
	if (!ended) {
		try {
			ended = await followEvents(job.id, watch.signal);
		} catch (err) {
			if (watch.signal.aborted)
				return;
			console.info(`event stream unavailable (${err.message}); polling instead`);
		}
	}
	while (!ended && !watch.signal.aborted) {
		body.dataset.progressVia = body.dataset.progressVia || 'polling';
		try {
			job = await getJSON(`/v1/jobs/${job.id}`);
			showJob(job);
			ended = FINAL.includes(job.status);
		} catch (err) {
			if (!(err instanceof ApiError))
				throw err;
			showProblem($('job-problem'), err.problem, err.status);
		}
		if (!ended)
			await sleep(POLL_MS, watch.signal);
	}
	if (!watch.signal.aborted)
		finished(state.job);
}

$('cancel').addEventListener('click', async () => {
	try {
		showJob(await postJSON(`/v1/jobs/${state.job.id}/cancel`));
	} catch (err) {
		showProblem($('job-problem'), err.problem, err.status);
	}
});

// --- the result ----------------------------------------------------------------

function replaceUrl(name, blob) {
	if (state[name])
		URL.revokeObjectURL(state[name]);
	state[name] = blob ? URL.createObjectURL(blob) : null;
	return state[name];
}

async function finished(job) {
	if (job.status === 'failed') {
		showProblem($('job-problem'), job.error || { title: 'The job failed' }, job.error?.status);
		return;
	}
	if (job.status !== 'succeeded')
		return;
	showNumbers(job.frames_total, job.frames_total, job.metrics?.fps || 0, 0);
	try {
		const result = replaceUrl('resultUrl', await getBlob(`/v1/jobs/${job.id}/output`));
		$('download-result').href = result;
		$('download-result').download = `maskattn-${job.id}.mp4`;
		$('compare-empty').hidden = true;
		$('compare-area').hidden = false;
		$('heatmap-toggle').checked = false;
		body.dataset.right = 'result';
		$('right-tag').textContent = 'result';
		await compare.load(state.clipUrl, result, state.fps, job.frames_total || state.frames);
		body.dataset.compareReady = job.id;
	} catch (err) {
		showProblem($('job-problem'), err.problem || { title: err.message }, err.status);
		return;
	}
	await loadHeatmap(job);
}

// The heatmap: offered when the job asked for it and the service has it.
async function loadHeatmap(job) {
	const toggle = $('heatmap-toggle');
	const note = $('heatmap-note');
	toggle.disabled = true;
	$('download-heatmap').hidden = true;
	replaceUrl('heatmapUrl', null);
	if (!(job.spec?.outputs || []).includes('attention')) {
		note.textContent = 'Tick “Attention heatmap” before submitting to get one.';
		return;
	}
	try {
		const url = replaceUrl('heatmapUrl', await getBlob(`/v1/jobs/${job.id}/attention`));
		$('download-heatmap').href = url;
		$('download-heatmap').download = `maskattn-${job.id}-attention.mp4`;
		$('download-heatmap').hidden = false;
		toggle.disabled = false;
		note.textContent = 'Dark: attention was sure of its match; bright: unsure; gray: outside the mask.';
		state.viewsFor = '';
		scheduleViews(Number($('compare-scrub').value));
	} catch (err) {
		if (!(err instanceof ApiError))
			throw err;
		note.textContent = err.status === 404 ? 'This service has no heatmaps.'
			: `No heatmap: ${err.problem.title}`;
	}
}

// --- one frame as PNG (GET /v1/jobs/{id}/frames/{n}.png?view=...) ------------

// The views of frame n, once the compare view has rested on it.
function scheduleViews(n) {
	clearTimeout(state.viewsTimer);
	state.viewsTimer = setTimeout(() => loadViews(n), VIEWS_DELAY_MS);
}

async function loadView(job, n, view, key) {
	const figure = $(`view-${view}`);
	const img = figure.querySelector('img');
	figure.hidden = view === 'attention' && !state.heatmapUrl;
	if (figure.hidden)
		return;
	try {
		const blob = await getBlob(`/v1/jobs/${job.id}/frames/${n}.png?view=${view}`);
		if (state.viewsFor !== key)
			return;
		if (state.viewUrls[view])
			URL.revokeObjectURL(state.viewUrls[view]);
		state.viewUrls[view] = URL.createObjectURL(blob);
		img.src = state.viewUrls[view];
		img.alt = `frame ${n}, ${view}`;
		await img.decode();
	} catch (err) {
		if (!(err instanceof ApiError))
			throw err;
		img.removeAttribute('src');
		img.alt = `${view}: ${err.problem.title}`;
	}
}

async function loadViews(n) {
	const job = state.job;
	const key = `${job?.id}/${n}`;
	if (job?.status !== 'succeeded' || state.viewsFor === key)
		return;
	state.viewsFor = key;
	$('views-title').textContent = `Frame ${n} as the service sees it`;
	await Promise.all(VIEWS.map((view) => loadView(job, n, view, key)));
	if (state.viewsFor === key)
		body.dataset.views = String(n);
}

$('heatmap-toggle').addEventListener('change', async () => {
	const on = $('heatmap-toggle').checked;
	$('right-tag').textContent = on ? 'attention' : 'result';
	await compare.setRight(on ? state.heatmapUrl : state.resultUrl);
	body.dataset.right = on ? 'attention' : 'result';
});

showMode();
body.dataset.ready = 'true';
