"""Helpers of the command-line end-to-end tests (tests/e2e/test_cli_*.py):
run `maskattn edit`, make clips, masks and PNGs of every colour type, and read
back what ffprobe and ffmpeg see in a file (frame count, timestamps, rotation,
audio packet hashes, decoded pixels).

Everything is made in pytest's tmp_path with ffmpeg's lavfi sources, so the
tests need nothing from outside the repository; the real clip of
../shared/fixtures is used only when it is there (`need_fixture`).
"""
import itertools
import json
import os
import struct
import subprocess
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("MASKATTN_BIN", str(REPO / "build" / "maskattn"))
FIXTURES = REPO.parent / "shared" / "fixtures"

# A run that takes longer than this is stuck (the sanitizer build is ~10x slower).
RUN_TIMEOUT = 600


# --- running the CLI ---------------------------------------------------------

def write_spec(directory, spec, name="job.json"):
    """Writes spec (a dict, or raw text) as a job file in directory."""
    path = Path(directory) / name
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec, indent=1))
    return path


def run_edit(*args, timeout=RUN_TIMEOUT, env=None, cwd=None):
    """Runs `maskattn edit ARGS` with stdin, stdout and stderr not terminals;
    env adds variables (None: removes one). Returns the CompletedProcess (text)."""
    full_env = dict(os.environ)
    for k in ("MASKATTN_SPEC", "MASKATTN_OUT", "MASKATTN_THREADS", "MASKATTN_QUIET"):
        full_env.pop(k, None)
    full_env.update(env or {})
    full_env = {k: v for k, v in full_env.items() if v is not None}
    return subprocess.run([BIN, "edit", *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, env=full_env,
                          cwd=cwd)


def edit(spec_path, out, *args, timeout=RUN_TIMEOUT):
    """Runs a job that must succeed silently (not a terminal: nothing on
    stdout or stderr) and returns out."""
    r = run_edit("--spec", spec_path, "--out", out, *args, timeout=timeout)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
    assert r.stdout == "", r.stdout
    assert r.stderr == "", r.stderr
    assert Path(out).is_file()
    return Path(out)


def error_line(r):
    """The one line a failed run must print: checks the exit code (non-zero,
    not a signal, not a sanitizer's), that stdout is empty and that stderr is
    exactly one line starting with 'maskattn: '; returns that line."""
    assert r.returncode > 0, f"exit {r.returncode} (a negative code is a signal): {r.stderr}"
    assert r.returncode in (1, 2), f"exit {r.returncode}: {r.stderr}"
    assert r.stdout == "", r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and r.stderr.endswith("\n"), f"not one line: {r.stderr!r}"
    assert lines[0].startswith("maskattn: "), lines[0]
    return lines[0]


def maskattn_lines(r):
    """The lines of stderr that start with 'maskattn: '."""
    return [l for l in r.stderr.splitlines() if l.startswith("maskattn: ")]


# --- making media ------------------------------------------------------------

def ffmpeg(*args):
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"ffmpeg {' '.join(map(str, args))}: {r.stderr}"


def make_clip(path, size="128x72", frames=15, rate=25, vcodec=("-c:v", "libx264"),
              pix_fmt="yuv420p", audio=None, vf=None, extra=(), source="testsrc2"):
    """A clip of `frames` frames from a lavfi source; audio is None, or the
    ffmpeg codec of a 440 Hz sine track ("aac", "libopus"). vf is appended to
    the source's filter chain (before the pixel format)."""
    w, h = (int(v) for v in size.split("x"))
    # lavfi test sources round odd sizes down: make an even picture and crop it
    src = f"{source}=size={w + w % 2}x{h + h % 2}:rate={rate}"
    chain = [src, f"format={pix_fmt}" if pix_fmt else None,
             f"crop={w}:{h}:0:0" if (w % 2 or h % 2) else None, vf]
    args = ["-f", "lavfi", "-i", ",".join(c for c in chain if c)]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-frames:v", frames, *vcodec]
    if pix_fmt:
        args += ["-pix_fmt", pix_fmt]
    if audio:
        args += ["-c:a", audio, "-t", f"{frames / rate:.3f}"]
    ffmpeg(*args, *extra, path)
    return Path(path)


def make_box_png(path, size, box, pix_fmt="gray", fg="white", bg="black"):
    """A PNG of `size` ("WxH"): a filled box (x, y, w, h) of fg on bg, written
    by ffmpeg's PNG encoder in pix_fmt (gray, ya8, rgb24, rgba, pal8, gray16be,
    rgb48be, ya16be, rgba64be)."""
    x, y, w, h = box
    ffmpeg("-f", "lavfi", "-i",
           f"color={bg}:size={size},format=rgba,drawbox=x={x}:y={y}:w={w}:h={h}:color={fg}:t=fill",
           "-frames:v", 1, "-pix_fmt", pix_fmt, path)
    return Path(path)


def frame_png(clip, path, frame=0, vf=None):
    """Frame `frame` of clip (displayed the way players show it) as a PNG,
    with an optional filter (e.g. "hue=h=120", an edit)."""
    chain = f"select=eq(n\\,{frame})" + (f",{vf}" if vf else "")
    ffmpeg("-i", clip, "-vf", chain, "-frames:v", 1, path)
    return Path(path)


def box_array(width, height, box, value=255, dtype=np.uint8):
    a = np.zeros((height, width), dtype)
    x, y, w, h = box
    a[y:y + h, x:x + w] = value
    return a


# A PNG encoder (numpy + zlib) for the colour types and depths ffmpeg does
# not write: 1/2/4-bit gray and palette, tRNS, Adam7 interlacing, every filter.

ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
         (1, 0, 2, 2), (0, 1, 1, 2))
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _filtered(rows, bpp):
    """Scanlines (a list of uint8 arrays), each with a filter byte: the
    filter type cycles 0..4 from row to row so a decoder sees all five."""
    out, prev = bytearray(), None
    for i, row in enumerate(rows):
        cur = row.astype(np.int32)
        up = prev if prev is not None else np.zeros_like(cur)
        left = np.concatenate([np.zeros(bpp, np.int32), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int32), up[:-bpp]])
        kind = i % 5
        pred = [np.zeros_like(cur), left, up, (left + up) // 2, _paeth(left, up, upleft)][kind]
        out.append(kind)
        out += ((cur - pred) & 0xFF).astype(np.uint8).tobytes()
        prev = cur
    return bytes(out)


def _scanlines(pixels, depth):
    """Rows of raw bytes for an (h, w, c) array of samples at depth bits."""
    h = pixels.shape[0]
    if depth == 16:
        return [pixels[y].astype(">u2").tobytes() for y in range(h)]
    if depth == 8:
        return [pixels[y].astype(np.uint8).tobytes() for y in range(h)]
    rows = []
    per = 8 // depth
    for y in range(h):
        s = pixels[y].reshape(-1).astype(np.uint8)
        s = np.concatenate([s, np.zeros((-len(s)) % per, np.uint8)]).reshape(-1, per)
        shifts = np.arange(per - 1, -1, -1) * depth
        rows.append((s << shifts).sum(axis=1).astype(np.uint8).tobytes())
    return rows


def write_png(path, pixels, color_type, depth=8, palette=None, trns=None, interlace=False):
    """Writes pixels (h, w) or (h, w, c) samples as a PNG of colour type
    color_type (0 gray, 2 RGB, 3 palette: pixels are indices, 4 gray+alpha,
    6 RGBA) and bit depth depth; palette: [(r, g, b), ...]; trns: raw tRNS
    chunk data."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    assert c == CHANNELS[color_type]
    bpp = max(1, c * depth // 8)
    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = pixels[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += _filtered([np.frombuffer(r, np.uint8) for r in _scanlines(sub, depth)], bpp)
    else:
        raw = _filtered([np.frombuffer(r, np.uint8) for r in _scanlines(pixels, depth)], bpp)
    png = b"\x89PNG\r\n\x1a\n"
    png += _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace)))
    if palette is not None:
        png += _chunk(b"PLTE", bytes(v for rgb in palette for v in rgb))
    if trns is not None:
        png += _chunk(b"tRNS", trns)
    png += _chunk(b"IDAT", zlib.compress(raw, 9))
    png += _chunk(b"IEND", b"")
    Path(path).write_bytes(png)
    return Path(path)


# --- reading media back --------------------------------------------------------

def ffprobe_json(path, *args):
    r = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *map(str, args), str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"ffprobe {path}: {r.stderr}"
    return json.loads(r.stdout)


def video_info(path):
    """The first video stream's codec, size, pixel format, decoded frame count
    and display rotation (ffprobe's side data, 0 when none)."""
    st = ffprobe_json(path, "-count_frames", "-select_streams", "v:0",
                      "-show_streams")["streams"][0]
    rotation = 0
    for sd in st.get("side_data_list", []):
        if "rotation" in sd:
            rotation = int(sd["rotation"])
    return {"codec": st["codec_name"], "width": st["width"], "height": st["height"],
            "pix_fmt": st.get("pix_fmt"), "frames": int(st["nb_read_frames"]),
            "rotation": rotation}


def format_name(path):
    return ffprobe_json(path, "-show_format")["format"]["format_name"]


def audio_codecs(path):
    return [s["codec_name"] for s in
            ffprobe_json(path, "-select_streams", "a", "-show_streams")["streams"]]


def video_pts(path):
    """The presentation times of the video frames, in presentation order, as
    exact fractions of a second (packet pts x stream time base)."""
    d = ffprobe_json(path, "-select_streams", "v:0", "-show_entries",
                     "stream=time_base:packet=pts", "-show_streams", "-show_packets")
    tb = Fraction(d["streams"][0]["time_base"])
    return sorted(int(p["pts"]) * tb for p in d["packets"])


def audio_packet_hashes(path):
    """(size, md5) of every audio packet, from ffmpeg's framemd5 muxer with
    the stream copied: the packets' bytes, without their timestamps (a
    container may count them in another time base)."""
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a",
                        "-c", "copy", "-f", "framemd5", "-"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = [l.split(",") for l in r.stdout.splitlines() if l and not l.startswith("#")]
    return [(int(f[4]), f[5].strip()) for f in rows]


def iter_frames(path, width, height, pix_fmt="rgb24", vf=None):
    """Decoded frames of path as (height, width, 3) uint8 arrays, one at a
    time (a whole clip would not fit in memory). Players' orientation (ffmpeg
    turns rotated clips)."""
    args = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path)]
    if vf:
        args += ["-vf", vf]
    args += ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-"]
    size = width * height * 3
    # stderr dropped: a reader that stops early makes ffmpeg complain of a
    # broken pipe (frame counts are checked with ffprobe)
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as p:
        try:
            while True:
                buf = p.stdout.read(size)
                if len(buf) < size:
                    break
                yield np.frombuffer(buf, np.uint8).reshape(height, width, 3)
        finally:
            p.stdout.close()
            p.kill()


def read_png_gray(path, width, height):
    """An image as a (height, width) float array in 0..1 (luma), resized by ffmpeg."""
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-vf",
                        f"scale={width}:{height}:flags=bilinear", "-f", "rawvideo",
                        "-pix_fmt", "gray", "-"], capture_output=True)
    assert r.returncode == 0, r.stderr
    return np.frombuffer(r.stdout, np.uint8).reshape(height, width) / 255.0


def dilate(region, px):
    """A boolean region grown by px pixels (a square structuring element)."""
    out = region.copy()
    h, w = region.shape
    for dy in range(-px, px + 1):
        for dx in range(-px, px + 1):
            src = region[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
            out[max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)] |= src
    return out


def erode(region, px):
    return ~dilate(~region, px)


class Psnr:
    """PSNR accumulated over frames on a boolean region (all pixels when None)."""

    def __init__(self, region=None):
        self.region = region
        self.sse = 0.0
        self.count = 0
        self.worst = float("inf")
        self.frames = 0

    def add(self, a, b):
        d = a.astype(np.float64) - b.astype(np.float64)
        d = d[self.region] if self.region is not None else d
        sse, n = float(np.sum(d * d)), d.size
        self.sse += sse
        self.count += n
        self.worst = min(self.worst, psnr_of(sse / max(n, 1)))
        self.frames += 1

    @property
    def value(self):
        return psnr_of(self.sse / max(self.count, 1))


def psnr_of(mse):
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def compare(a_path, b_path, width, height, region=None, vf_a=None, vf_b=None):
    """PSNR of b against a (RGB, decoded by ffmpeg) over region; the frame
    counts must agree."""
    p = Psnr(region)
    for a, b in itertools.zip_longest(iter_frames(a_path, width, height, vf=vf_a),
                                      iter_frames(b_path, width, height, vf=vf_b)):
        assert a is not None and b is not None, \
            f"{a_path} and {b_path} differ in frame count (after {p.frames} frames)"
        p.add(a, b)
    return p


# --- the real clip -------------------------------------------------------------

def need_fixture(name):
    """A file of ../shared/fixtures; skips the test when it is absent (a fresh clone)."""
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (real media is not part of the repository)")
    return path


# --- jobs on generated clips -----------------------------------------------------

def box_in(width, height):
    """The test masks' box in a width x height picture: off-centre and not
    square, so a turned or mirrored mask lands elsewhere."""
    return (round(width * 0.15), round(height * 0.2), round(width * 0.4), round(height * 0.5))


def regions(width, height, inner=3, outer=4):
    """(inside, outside) boolean regions of box_in: the box shrunk by `inner`
    px, and everything farther than `outer` px from it (coverage 0 even after
    the mask is resized to the frame)."""
    box = box_array(width, height, box_in(width, height)) > 0
    return erode(box, inner), ~dilate(box, outer)


def job_files(directory, clip, mode, mask_size=None, edit_vf="hue=h=120:s=2", **extra):
    """A job on clip: a box mask (box_in, drawn at mask_size, default 3/2 of
    the frame) with mask_mode linear (so the coverage stays where the box
    is), and for propagate an edited keyframe 0 (a hue turn of the source
    frame). Returns the spec's path."""
    directory = Path(directory)
    info = video_info(clip)
    w, h = info["width"], info["height"]
    if info["rotation"] in (90, -90, 270, -270):
        w, h = h, w
    mw, mh = mask_size or (w * 3 // 2, h * 3 // 2)
    make_box_png(directory / "mask.png", f"{mw}x{mh}", box_in(mw, mh))
    spec = {"mode": mode, "video": Path(clip).name if Path(clip).parent == directory else str(clip),
            "masks": [{"frame": 0, "image": "mask.png", "weight": 1.0}],
            "mask_mode": "linear", "steps": 1, "seed": 7, "window": 2}
    if mode == "propagate":
        frame_png(clip, directory / "edit0.png", vf=edit_vf)
        spec["keyframes"] = [{"frame": 0, "image": "edit0.png"}]
    else:
        spec["temporal_window"] = 1
    spec.update(extra)
    return write_spec(directory, spec)


def check_frames_and_times(src, out):
    """The output has the source's frame count and presentation times."""
    si, oi = video_info(src), video_info(out)
    assert oi["frames"] == si["frames"], (si, oi)
    sp, op = video_pts(src), video_pts(out)
    assert op == sp, \
        f"timestamps differ: source {[float(t) for t in sp]}, output {[float(t) for t in op]}"
    return si, oi


def check_masked(src, out, mode, width, height, min_psnr=30.0, vf_out=None):
    """Outside the mask the output is the source (PSNR >= min_psnr, the codec's
    loss only); in propagate the edit shows inside it. Returns the PSNR."""
    inside, outside = regions(width, height)
    p = compare(src, out, width, height, region=outside, vf_b=vf_out)
    assert p.value >= min_psnr and p.worst >= min_psnr - 3, \
        f"outside the mask: PSNR {p.value:.2f} dB (worst frame {p.worst:.2f}) < {min_psnr}"
    if mode == "propagate":
        a = next(iter_frames(src, width, height))
        b = next(iter_frames(out, width, height, vf=vf_out))
        diff = np.abs(a.astype(int) - b.astype(int))[inside].mean()
        assert diff > 15, f"the keyframe edit does not show inside the mask ({diff:.1f})"
    return p.value


def box_propagate_job(d, **extra):
    """A propagate job on a 256x144 clip with a box mask at frame 0 and an edit of frame 0."""
    make_clip(d / "clip.mp4", size="256x144", frames=6, audio="aac")
    make_box_png(d / "mask.png", "256x144", box_in(256, 144))
    frame_png(d / "clip.mp4", d / "edit0.png", vf="hue=h=120:s=2")
    spec = {"mode": "propagate", "video": "clip.mp4",
            "masks": [{"frame": 0, "image": "mask.png"}],
            "keyframes": [{"frame": 0, "image": "edit0.png"}], "steps": 1}
    spec.update(extra)
    return write_spec(d, spec)


# 1. --out naming an input destroys it ------------------------------------------
