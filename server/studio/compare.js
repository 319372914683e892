// The split view: the source and the result (or the attention heatmap)
// stacked, the top one clipped at the slider, played, paused and scrubbed
// together. The source leads; the other follows it within a frame.
// onFrame(n) is told the frame shown.

export class Compare {
	constructor({ box, source, result, split, play, scrub, frameLabel, onFrame }) {
		Object.assign(this, { box, source, result, split, play, scrub, frameLabel, onFrame });
		this.fps = 30;
		this.frames = 1;
		split.addEventListener('input', () => this.setSplit(Number(split.value)));
		play.addEventListener('click', () => this.toggle());
		scrub.addEventListener('input', () => this.seekFrame(Number(scrub.value)));
		source.addEventListener('timeupdate', () => this.follow());
		source.addEventListener('seeked', () => this.follow());
		source.addEventListener('ended', () => this.stopped());
		source.addEventListener('pause', () => this.stopped());
		this.setSplit(Number(split.value));
	}

	// Loads both videos (object URLs) and waits until each can show a frame.
	async load(sourceUrl, rightUrl, fps, frames) {
		this.fps = fps;
		this.frames = frames;
		this.scrub.max = String(Math.max(0, frames - 1));
		this.scrub.value = '0';
		this.source.src = sourceUrl;
		await Promise.all([loaded(this.source), this.setRight(rightUrl)]);
		this.box.style.setProperty('--ar', `${this.source.videoWidth} / ${this.source.videoHeight}`);
		this.seekFrame(0);
	}

	// Swaps what is on the right (result or heatmap), keeping the time.
	async setRight(url) {
		const t = this.source.currentTime || 0;
		this.result.src = url;
		await loaded(this.result);
		this.result.currentTime = t;
		if (!this.source.paused)
			await this.result.play();
	}

	setSplit(percent) {
		this.box.style.setProperty('--split', `${percent}%`);
		this.split.setAttribute('aria-valuetext', `${percent}% source, ${100 - percent}% result`);
	}

	frameAt(t) {
		return Math.min(this.frames - 1, Math.max(0, Math.floor(t * this.fps + 1e-3)));
	}

	seekFrame(n) {
		const t = (n + 0.3) / this.fps;
		this.source.currentTime = t;
		this.result.currentTime = t;
		this.showFrame(n);
	}

	showFrame(n) {
		this.scrub.value = String(n);
		this.frameLabel.textContent = `frame ${n}`;
		this.onFrame(n);
	}

	follow() {
		const t = this.source.currentTime;
		if (Math.abs(this.result.currentTime - t) > 1 / this.fps)
			this.result.currentTime = t;
		this.showFrame(this.frameAt(t));
	}

	async toggle() {
		if (this.source.paused) {
			if (this.source.ended)
				this.seekFrame(0);
			this.play.textContent = 'Pause';
			this.play.setAttribute('aria-pressed', 'true');
			await Promise.all([this.source.play(), this.result.play()]);
		} else {
			this.source.pause();
		}
	}

	stopped() {
		this.result.pause();
		this.result.currentTime = this.source.currentTime;
		this.showFrame(this.frameAt(this.source.currentTime));
		this.play.textContent = 'Play';
		this.play.setAttribute('aria-pressed', 'false');
	}
}

// Resolves once video has its first frame (or rejects on an error).
export function loaded(video) {
	if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA)
		return Promise.resolve();
	return new Promise((resolve, reject) => {
		const done = () => {
			video.removeEventListener('loadeddata', done);
			video.removeEventListener('error', failed);
			resolve();
		};
		const failed = () => {
			video.removeEventListener('loadeddata', done);
			video.removeEventListener('error', failed);
			reject(new Error('this browser cannot play the video'));
		};
		video.addEventListener('loadeddata', done);
		video.addEventListener('error', failed);
	});
}
