// The mask brush: a canvas over the video, at the frame's own size, where
// the pointer paints "attend" (white in the exported mask) or erases (black),
// with a size and a feather (a soft edge: a radial gradient from the
// brush's inner radius to its rim). Each frame painted on has its own layer;
// a layer keeps coverage in its alpha channel and is shown tinted.

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

	// The overlay: this frame's layer and the brush outline under the pointer.
	draw() {
		const { ctx, canvas } = this;
		ctx.clearRect(0, 0, canvas.width, canvas.height);
		const layer = this.layers.get(this.frame);
		if (layer)
			ctx.drawImage(layer, 0, 0);
		if (this.hover) {
			ctx.lineWidth = Math.max(1, canvas.width / 400);
			ctx.strokeStyle = this.erase ? 'rgba(0, 0, 0, 0.9)' : 'rgba(255, 255, 255, 0.9)';
			ctx.beginPath();
			ctx.arc(this.hover.x, this.hover.y, this.size / 2, 0, 2 * Math.PI);
			ctx.stroke();
		}
	}

	// The mask of frame as a PNG the size of the frame: coverage as gray,
	// white where painted, black elsewhere, opaque.
	png(frame) {
		const layer = this.layers.get(frame);
		const { width, height } = layer;
		const white = document.createElement('canvas');
		white.width = width;
		white.height = height;
		const wctx = white.getContext('2d');
		wctx.drawImage(layer, 0, 0);
		wctx.globalCompositeOperation = 'source-in';
		wctx.fillStyle = '#fff';
		wctx.fillRect(0, 0, width, height);
		const out = document.createElement('canvas');
		out.width = width;
		out.height = height;
		const octx = out.getContext('2d');
		octx.fillStyle = '#000';
		octx.fillRect(0, 0, width, height);
		octx.drawImage(white, 0, 0);
		return new Promise((resolve) => out.toBlob(resolve, 'image/png'));
	}
}
