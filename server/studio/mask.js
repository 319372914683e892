// The mask brush: a canvas over the video, at the frame's own size, where
// the pointer paints "attend" (white in the exported mask) or erases (black),
// with a size and a feather (a soft edge: a radial gradient from the
// brush's inner radius to its rim). Each frame painted on has its own layer;
// a layer keeps coverage in its alpha channel. On screen, what the mask
// leaves alone is dimmed and what it covers is clear with a light tint, which
// reads on any footage.

import { grayPng } from './png.js';

const TINT = '255, 64, 160';

export class MaskPainter {
	constructor(canvas, onChange) {
		this.canvas = canvas;
		this.ctx = canvas.getContext('2d');
		this.onChange = onChange;
		this.layers = new Map();
		this.frame = 0;
		this.size = 40;
		this.feather = 0.5;
		this.erase = false;
		this.last = null;
		this.hover = null;
		canvas.addEventListener('pointerdown', (ev) => this.down(ev));
		canvas.addEventListener('pointermove', (ev) => this.move(ev));
		canvas.addEventListener('pointerup', (ev) => this.up(ev));
		canvas.addEventListener('pointercancel', (ev) => this.up(ev));
		canvas.addEventListener('pointerleave', () => {
			this.hover = null;
			this.draw();
		});
	}

	// A new clip: frame size w x h, no layers.
	reset(w, h) {
		this.canvas.width = w;
		this.canvas.height = h;
		this.layers.clear();
		this.draw();
		this.onChange();
	}

	setFrame(frame) {
		this.frame = frame;
		this.draw();
	}

	frames() {
		return [...this.layers.keys()].sort((a, b) => a - b);
	}

	layer(create) {
		let layer = this.layers.get(this.frame);
		if (!layer && create) {
			layer = document.createElement('canvas');
			layer.width = this.canvas.width;
			layer.height = this.canvas.height;
			this.layers.set(this.frame, layer);
			this.onChange();
		}
		return layer;
	}

	clear(frame = this.frame) {
		this.layers.delete(frame);
		this.draw();
		this.onChange();
	}

	fill() {
		const ctx = this.layer(true).getContext('2d');
		ctx.globalCompositeOperation = 'source-over';
		ctx.fillStyle = `rgb(${TINT})`;
		ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
		this.draw();
	}

	point(ev) {
		const r = this.canvas.getBoundingClientRect();
		return {
			x: (ev.clientX - r.left) * this.canvas.width / r.width,
			y: (ev.clientY - r.top) * this.canvas.height / r.height,
		};
	}

	down(ev) {
		if (ev.button !== 0 || !this.canvas.width)
			return;
		ev.preventDefault();
		this.canvas.setPointerCapture(ev.pointerId);
		this.last = this.point(ev);
		this.stamp(this.last);
		this.draw();
	}

	move(ev) {
		const p = this.point(ev);
		this.hover = p;
		if (this.last) {
			const step = Math.max(1, this.size / 8);
			const dist = Math.hypot(p.x - this.last.x, p.y - this.last.y);
			for (let d = step; d <= dist; d += step) {
				const t = d / dist;
				this.stamp({ x: this.last.x + t * (p.x - this.last.x), y: this.last.y + t * (p.y - this.last.y) });
			}
			if (dist >= step)
				this.last = p;
		}
		this.draw();
	}

	up(ev) {
		if (!this.last)
			return;
		this.canvas.releasePointerCapture(ev.pointerId);
		this.last = null;
	}

	stamp({ x, y }) {
		const ctx = this.layer(true).getContext('2d');
		const r = this.size / 2;
		const inner = r * (1 - this.feather);
		ctx.globalCompositeOperation = this.erase ? 'destination-out' : 'source-over';
		if (inner < r) {
			const g = ctx.createRadialGradient(x, y, inner, x, y, r);
			g.addColorStop(0, `rgba(${TINT}, 1)`);
			g.addColorStop(1, `rgba(${TINT}, 0)`);
			ctx.fillStyle = g;
		} else {
			ctx.fillStyle = `rgb(${TINT})`;
		}
		ctx.beginPath();
		ctx.arc(x, y, r, 0, 2 * Math.PI);
		ctx.fill();
	}

	// The overlay: this frame's mask and the brush outline under the pointer.
	draw() {
		const { ctx, canvas } = this;
		ctx.clearRect(0, 0, canvas.width, canvas.height);
		const layer = this.layers.get(this.frame);
		if (layer) {
			ctx.fillStyle = 'rgba(0, 0, 0, 0.6)';
			ctx.fillRect(0, 0, canvas.width, canvas.height);
			ctx.globalCompositeOperation = 'destination-out';
			ctx.drawImage(layer, 0, 0);
			ctx.globalCompositeOperation = 'source-over';
			ctx.globalAlpha = 0.3;
			ctx.drawImage(layer, 0, 0);
			ctx.globalAlpha = 1;
		}
		if (this.hover) {
			const width = Math.max(1, canvas.width / 500);
			for (const [color, w] of [['rgba(0, 0, 0, 0.8)', 3 * width], [this.erase ? '#ff9' : '#fff', width]]) {
				ctx.lineWidth = w;
				ctx.strokeStyle = color;
				ctx.beginPath();
				ctx.arc(this.hover.x, this.hover.y, this.size / 2, 0, 2 * Math.PI);
				ctx.stroke();
			}
		}
	}

	// The mask of frame as a PNG the size of the frame: its coverage as
	// gray, white where painted, black elsewhere, soft in between.
	png(frame) {
		const layer = this.layers.get(frame);
		const { width, height } = layer;
		const rgba = layer.getContext('2d').getImageData(0, 0, width, height).data;
		const gray = new Uint8Array(width * height);
		for (let i = 0; i < gray.length; i++)
			gray[i] = rgba[4 * i + 3];
		return grayPng(width, height, gray);
	}
}
