"""Benchmark clips with ground truth, built from real footage.

Everything is rendered in RGB with numpy and written losslessly, so the
only error a benchmark measures is the engine's. Frames go through ffmpeg
as raw rgb24 over pipes.
"""
import json
import math
import os
import subprocess

import numpy as np

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "fixtures")
FIXTURE_CLIP = os.path.abspath(os.path.join(FIXTURES, "running_car.mp4"))


def have_fixture():
    return os.path.exists(FIXTURE_CLIP)


def read_frames(path, size=None, start=0, count=None, pix="rgb24"):
    """Decoded frames of path as uint8 arrays (N, H, W, 3), optionally scaled."""
    vf = []
    if start or count:
        end = start + (count if count else 10**9)
        vf.append(f"select='between(n\\,{start}\\,{end - 1})'")
    if size:
        vf.append(f"scale={size[0]}:{size[1]}:flags=area")
    args = ["ffmpeg", "-v", "error", "-i", path]
    if vf:
        args += ["-vf", ",".join(vf), "-vsync", "0"]
    args += ["-f", "rawvideo", "-pix_fmt", pix, "-"]
    raw = subprocess.run(args, check=True, capture_output=True).stdout
    w, h = probe_size(path) if not size else size
    ch = 3 if pix == "rgb24" else 1
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, ch)
    return frames if ch == 3 else frames[..., 0]


def probe_size(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0",
                          "-show_entries", "stream=width,height", "-of", "json", path],
                         check=True, capture_output=True).stdout
    s = json.loads(out)["streams"][0]
    return s["width"], s["height"]


def write_clip(path, frames, fps=25):
    """Lossless H.264 4:4:4 (RGB converted with the default BT.601 matrix)."""
    n, h, w, _ = frames.shape
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "libx264",
                    "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv444p", path],
                   input=np.ascontiguousarray(frames).tobytes(), check=True)


def write_mask_clip(path, masks, fps=25):
    """Per-frame masks (N, H, W) in 0..1 as a lossless gray FFV1 clip."""
    n, h, w = masks.shape
    data = np.clip(np.round(masks * 255), 0, 255).astype(np.uint8)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray",
                    "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "ffv1", path],
                   input=data.tobytes(), check=True)


def write_png(path, image):
    """An RGB (H, W, 3) or gray (H, W) uint8 image as PNG."""
    h, w = image.shape[:2]
    pix = "rgb24" if image.ndim == 3 else "gray"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", pix,
                    "-s", f"{w}x{h}", "-i", "-", "-frames:v", "1", path],
                   input=np.ascontiguousarray(image).tobytes(), check=True)


def psnr(a, b, where=None):
    """PSNR in dB of uint8 images a against b, over pixels where mask is set."""
    d = a.astype(np.float64) - b.astype(np.float64)
    if where is not None:
        d = d[where]
    mse = float(np.mean(d * d))
    return 99.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def bilinear(img, xs, ys):
    """Samples img (H, W, C) float at float coordinates (clamped)."""
    h, w = img.shape[:2]
    x0 = np.clip(np.floor(xs).astype(int), 0, w - 1)
    y0 = np.clip(np.floor(ys).astype(int), 0, h - 1)
    x1 = np.clip(x0 + 1, 0, w - 1)
    y1 = np.clip(y0 + 1, 0, h - 1)
    ax = np.clip(xs - np.floor(xs), 0, 1)[..., None]
    ay = np.clip(ys - np.floor(ys), 0, 1)[..., None]
    top = img[y0, x0] * (1 - ax) + img[y0, x1] * ax
    bot = img[y1, x0] * (1 - ax) + img[y1, x1] * ax
    return top * (1 - ay) + bot * ay


# --- edits applied as ground truth ---

def regrade(rgb):
    """A colour re-grade: teal-orange channel mix and a gamma lift."""
    x = rgb.astype(np.float64) / 255.0
    m = np.array([[1.10, 0.10, -0.15], [-0.05, 0.95, 0.10], [-0.20, 0.15, 1.15]])
    y = np.clip(x @ m.T, 0, 1) ** 0.8
    return np.clip(np.round(y * 255), 0, 255).astype(np.uint8)


def box_blur(x, r):
    """Mean over the (2r+1)^2 square, edges clamped (x: H, W, ...)."""
    pad = np.pad(x, [(r, r), (r, r)] + [(0, 0)] * (x.ndim - 2), mode="edge")
    c = np.cumsum(np.cumsum(pad, 0), 1)
    c = np.pad(c, [(1, 0), (1, 0)] + [(0, 0)] * (x.ndim - 2))
    n = 2 * r + 1
    return (c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]) / (n * n)


def stylize(rgb):
    """A local texture filter, like a comic-ink look: strong local contrast,
    boosted saturation, edges inked dark. Continuous in its input, so a
    frame that looks the same gets the same look."""
    x = rgb.astype(np.float64)
    base = box_blur(box_blur(x, 2), 2)
    y = base + 2.5 * (x - base)
    lum = y @ np.array([0.299, 0.587, 0.114])
    y = lum[..., None] + 1.4 * (y - lum[..., None])
    l0 = x @ np.array([0.299, 0.587, 0.114])
    gx = np.zeros_like(l0)
    gy = np.zeros_like(l0)
    gx[:, 1:-1] = l0[:, 2:] - l0[:, :-2]
    gy[1:-1, :] = l0[2:, :] - l0[:-2, :]
    edge = np.clip(np.hypot(gx, gy) / 60.0, 0, 1)[..., None]
    y = y * (1 - 0.6 * edge)
    return np.clip(np.round(y), 0, 255).astype(np.uint8)


EDITS = {"regrade": regrade, "stylize": stylize}


# --- propagate: a textured object moving over real footage ---

def propagate_scene(size=(640, 360), frames=72, start=100):
    """Source frames, per-frame masks and the object's path.

    The object is a textured crop of the fixture's first frame (the rally
    car's livery), an ellipse of soft edge, moving about 150 px right and
    swinging vertically with a slight rotation, over frames of the same
    (moving-camera) footage.
    """
    w, h = size
    bg = read_frames(FIXTURE_CLIP, size=size, start=start, count=frames).astype(np.float64)
    tex_src = read_frames(FIXTURE_CLIP, size=(972, 540), start=0, count=1)[0].astype(np.float64)
    tex = tex_src[150:370, 200:500]                     # the "-30" roundel and lettering
    th, tw = tex.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    src = np.empty((frames, h, w, 3), np.uint8)
    masks = np.empty((frames, h, w))
    for t in range(frames):
        u = t / (frames - 1)
        cx = 150 + 160 * u
        cy = 180 + 30 * math.sin(2 * math.pi * u)
        ang = math.radians(5 * math.sin(math.pi * u))
        c, s = math.cos(ang), math.sin(ang)
        dx, dy = xx - cx, yy - cy
        tx = c * dx + s * dy + tw / 2
        ty = -s * dx + c * dy + th / 2
        ex = (tx - tw / 2) / (tw / 2 - 2)
        ey = (ty - th / 2) / (th / 2 - 2)
        r = np.sqrt(ex * ex + ey * ey)
        # soft edge about one pixel wide
        m = np.clip((1 - r) * (min(tw, th) / 2 - 2), 0, 1)
        obj = bilinear(tex, tx, ty)
        frame = bg[t] * (1 - m[..., None]) + obj * m[..., None]
        src[t] = np.clip(np.round(frame), 0, 255).astype(np.uint8)
        masks[t] = m
    return src, masks


def apply_edit(src, masks, edit):
    """Ground truth: the edit blended in by the mask, frame by frame."""
    out = np.empty_like(src)
    for t in range(len(src)):
        e = EDITS[edit](src[t]).astype(np.float64)
        m = masks[t][..., None]
        out[t] = np.clip(np.round(src[t] * (1 - m) + e * m), 0, 255).astype(np.uint8)
    return out


# --- stabilize: a static sign that flickers and wobbles ---

def smooth_field(h, w, rng, amp):
    """A smooth random displacement field (dx, dy) of about amp pixels."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    fields = []
    for _ in range(2):
        f = np.zeros((h, w))
        for _ in range(3):
            kx, ky = rng.uniform(0.5, 2.0, 2) * 2 * math.pi / np.array([w, h])
            f += np.sin(kx * xx + ky * yy + rng.uniform(0, 2 * math.pi))
        fields.append(amp * f / 3 * rng.uniform(0.7, 1.3))
    return fields


def stabilize_scene(size=(640, 360), frames=48, start=120, seed=7):
    """Ground truth, flickering input and the mask of a static sign.

    The sign (a textured crop of the fixture's livery, a rounded rectangle
    with soft edges) is fixed on screen over the moving footage. In the
    input, every frame scales the sign's brightness by a random gain within
    +-8% and warps it by a smooth random field of 1-2 pixels.
    """
    w, h = size
    rng = np.random.default_rng(seed)
    bg = read_frames(FIXTURE_CLIP, size=size, start=start, count=frames).astype(np.float64)
    livery = read_frames(FIXTURE_CLIP, size=(972, 540), start=0, count=1)[0].astype(np.float64)
    sw, sh, x0, y0 = 240, 150, 360, 40
    sign = livery[170:170 + sh, 220:220 + sw]
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float64)
    r = 20.0
    qx = np.maximum(np.abs(xx - (sw - 1) / 2) - (sw / 2 - r), 0)
    qy = np.maximum(np.abs(yy - (sh - 1) / 2) - (sh / 2 - r), 0)
    alpha = np.clip(r - np.hypot(qx, qy), 0, 1)
    mask = np.zeros((h, w))
    mask[y0:y0 + sh, x0:x0 + sw] = alpha
    gt = np.empty((frames, h, w, 3), np.uint8)
    src = np.empty_like(gt)
    a = alpha[..., None]
    for t in range(frames):
        frame = bg[t].copy()
        clean = frame[y0:y0 + sh, x0:x0 + sw] * (1 - a) + sign * a
        fx, fy = smooth_field(sh, sw, rng, rng.uniform(1.0, 2.0))
        warped = bilinear(sign, xx + fx, yy + fy) * rng.uniform(0.92, 1.08)
        noisy = frame[y0:y0 + sh, x0:x0 + sw] * (1 - a) + warped * a
        g = frame.copy()
        g[y0:y0 + sh, x0:x0 + sw] = clean
        gt[t] = np.clip(np.round(g), 0, 255).astype(np.uint8)
        frame[y0:y0 + sh, x0:x0 + sw] = noisy
        src[t] = np.clip(np.round(frame), 0, 255).astype(np.uint8)
    return gt, src, mask


def flicker(frames, mask):
    """Mean absolute frame-to-frame change of the mean luma inside mask."""
    lum = frames.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    sel = mask > 0.5
    means = np.array([f[sel].mean() for f in lum])
    return float(np.mean(np.abs(np.diff(means))))
