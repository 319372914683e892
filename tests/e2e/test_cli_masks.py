"""Masks and keyframes through `maskattn edit` (issue 3, acceptance 1): PNG
masks of another size in every colour type and bit depth, a mask video,
keyframes every N frames, edited keyframes exported at another size with the
clip's aspect ratio, and both mask modes.

The same coverage written as any PNG type gives a byte-identical output
file (the job is deterministic); ffmpeg's PNG writers convert colours with
small rounding, so their masks are held to PSNR instead.
"""
import filecmp
import json
import subprocess

import numpy as np
import pytest

from cli_media import (Psnr, box_array, box_in, box_propagate_job, check_frames_and_times,
                       check_masked, compare, dilate, edit, erode, ffmpeg, frame_png,
                       iter_frames, job_files,
                       make_box_png, make_clip, regions, video_info, write_png, write_spec)

W, H = 256, 144
MW, MH = 200, 150          # masks at another size and aspect ratio than the clip
BOX = box_in(MW, MH)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    """A 256x144 clip of 10 frames with AAC, its edited frame 0, and the job
    (propagate, one mask at frame 0, weight 1) with an 8-bit gray mask: the
    reference output the other colour types must reproduce."""
    d = tmp_path_factory.mktemp("masks")
    make_clip(d / "clip.mp4", size=f"{W}x{H}", frames=10, audio="aac")
    frame_png(d / "clip.mp4", d / "edit0.png", vf="hue=h=120:s=2")
    write_png(d / "gray8.png", box_array(MW, MH, BOX), 0)
    edit(spec_for(d, "gray8.png"), d / "gray8.mp4")
    return d


def spec_for(d, mask, name=None):
    spec = {"mode": "propagate", "video": "clip.mp4",
            "masks": [{"frame": 0, "image": mask, "weight": 1.0}], "mask_mode": "linear",
            "keyframes": [{"frame": 0, "image": "edit0.png"}], "steps": 1, "seed": 5,
            "window": 2}
    return write_spec(d, spec, name or f"{mask}.json")


def box(value=1, dtype=np.uint8):
    return box_array(MW, MH, BOX, value, dtype)


def ones(value, dtype=np.uint8):
    return np.full((MH, MW), value, dtype)


# name: (pixels, colour type, depth, extra write_png arguments); each holds
# coverage 1 in BOX and 0 elsewhere, exactly
EXACT = {
    "gray1": lambda: (box(1), 0, 1, {}),
    "gray2": lambda: (box(3), 0, 2, {}),
    "gray4": lambda: (box(15), 0, 4, {}),
    "gray16": lambda: (box(65535, np.uint16), 0, 16, {}),
    "gray8-interlaced": lambda: (box(255), 0, 8, {"interlace": True}),
    "gray+alpha8": lambda: (np.dstack([ones(255), box(255)]), 4, 8, {}),
    "gray+alpha16": lambda: (np.dstack([ones(65535, np.uint16), box(65535, np.uint16)]), 4, 16, {}),
    "rgb8": lambda: (np.dstack([box(255)] * 3), 2, 8, {}),
    "rgb16-interlaced": lambda: (np.dstack([box(65535, np.uint16)] * 3), 2, 16,
                                 {"interlace": True}),
    "rgba8-interlaced": lambda: (np.dstack([ones(255)] * 3 + [box(255)]), 6, 8,
                                 {"interlace": True}),
    "rgba16": lambda: (np.dstack([ones(65535, np.uint16)] * 3 + [box(65535, np.uint16)]), 6,
                       16, {}),
    "palette1": lambda: (box(1), 3, 1, {"palette": [(0, 0, 0), (255, 255, 255)]}),
    "palette8-trns": lambda: (box(1), 3, 8, {"palette": [(255, 255, 255), (255, 255, 255)],
                                             "trns": bytes([0, 255])}),
}


@pytest.mark.parametrize("kind", list(EXACT))
def test_mask_png_every_type(clip_dir, tmp_path, kind):
    pixels, color_type, depth, extra = EXACT[kind]()
    d = clip_dir
    name = f"{kind}.png"
    write_png(d / name, pixels, color_type, depth, **extra)
    out = edit(spec_for(d, name), tmp_path / "result.mp4")
    assert filecmp.cmp(d / "gray8.mp4", out, shallow=False), \
        f"{kind}: the same coverage gave another output than the 8-bit gray mask"


# ffmpeg's PNG encoder in each pixel format; alpha formats carry the box in
# alpha over white (alpha, when there is one, is the coverage)
FFMPEG = ["gray", "ya8", "rgb24", "rgba", "pal8", "gray16be"]


@pytest.mark.parametrize("pix_fmt", FFMPEG)
def test_mask_png_written_by_ffmpeg(clip_dir, tmp_path, pix_fmt):
    d = clip_dir
    name = f"ffmpeg-{pix_fmt}.png"
    if pix_fmt in ("ya8", "rgba"):
        # white, with the exact gray mask as its alpha
        ffmpeg("-f", "lavfi", "-i", f"color=white:size={MW}x{MH},format=rgb24",
               "-i", d / "gray8.png", "-filter_complex", "[0][1]alphamerge",
               "-frames:v", 1, "-pix_fmt", pix_fmt, d / name)
    else:
        # converted from the exact 8-bit gray mask
        ffmpeg("-i", d / "gray8.png", "-pix_fmt", pix_fmt, d / name)
    assert probe_pix_fmt(d / name) == pix_fmt
    out = edit(spec_for(d, name), tmp_path / "result.mp4")
    p = compare(d / "gray8.mp4", out, W, H)
    assert p.value >= 30, f"{pix_fmt}: PSNR {p.value:.2f} dB against the 8-bit gray mask's output"
    check_masked(d / "clip.mp4", out, "propagate", W, H)


def probe_pix_fmt(path):
    return subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=pix_fmt", "-of",
                           "csv=p=0", str(path)], capture_output=True, text=True).stdout.strip()


def moving_patch(w, h, n, bw, bh, y0, base, patch):
    """A filter graph: `patch` (bw x bh) over `base`, moving right 4 px a
    frame; base and patch are lavfi sources up to their size option
    ("testsrc2=", "color=c=black:")."""
    return (f"{base}size={w}x{h}:rate=25[bg];{patch}size={bw}x{bh}:rate=25[p];"
            f"[bg][p]overlay=x=8+4*n:y={y0}:shortest=1")


@pytest.mark.parametrize("mode", ["propagate", "stabilize"])
def test_mask_video(tmp_path, mode):
    """One mask frame per clip frame: a patch of colour bars moves right 4 px
    a frame over the test pattern, and the mask video (FFV1 gray in MKV)
    follows it. Outside each frame's box the output is the source; in
    propagate the edit of frame 0 follows the patch."""
    w, h = W, H
    n, bw, bh, y0 = 8, w // 4, h // 2, h // 5
    clip = tmp_path / "clip.mp4"
    ffmpeg("-filter_complex", moving_patch(w, h, n, bw, bh, y0, "testsrc2=", "smptebars="),
           "-frames:v", n, "-c:v", "libx264", "-pix_fmt", "yuv420p", clip)
    ffmpeg("-filter_complex", moving_patch(w, h, n, bw, bh, y0, "color=c=black:", "color=c=white:")
           + ",format=gray", "-frames:v", n, "-c:v", "ffv1", tmp_path / "masks.mkv")
    spec = {"mode": mode, "video": "clip.mp4", "mask_video": "masks.mkv",
            "cross_attention_weight": 1.0, "steps": 1, "window": 2}
    if mode == "propagate":
        frame_png(clip, tmp_path / "edit0.png", vf="hue=h=120:s=2")
        spec["keyframes"] = [{"frame": 0, "image": "edit0.png"}]
    else:
        spec["temporal_window"] = 1
    out = edit(write_spec(tmp_path, spec), tmp_path / "result.mp4")
    check_frames_and_times(clip, out)
    for t, (a, b) in enumerate(zip(iter_frames(clip, w, h), iter_frames(out, w, h))):
        region = box_array(w, h, (8 + 4 * t, y0, bw, bh)) > 0
        p = Psnr(~dilate(region, 4))
        p.add(a, b)
        assert p.value >= 30, f"frame {t}: outside the mask video's box, PSNR {p.value:.2f} dB"
        if mode == "propagate":
            diff = np.abs(a.astype(int) - b.astype(int))[erode(region, 3)].mean()
            assert diff > 15, f"frame {t}: the edit does not follow the mask ({diff:.1f})"


def test_keyframes_every_n_propagate(tmp_path):
    """Keyframes (and masks) every 5 frames, each keyframe with its own edit:
    on each keyframe the result inside the mask is that edit, not the others'."""
    clip = make_clip(tmp_path / "clip.mp4", size=f"{W}x{H}", frames=15, audio="aac")
    hues = {0: 60, 5: 180, 10: 300}
    make_box_png(tmp_path / "mask.png", f"{MW}x{MH}", BOX)
    for t, hue in hues.items():
        frame_png(clip, tmp_path / f"edit{t}.png", frame=t, vf=f"hue=h={hue}:s=2")
    spec = {"mode": "propagate", "video": "clip.mp4",
            "masks": [{"frame": t, "image": "mask.png", "weight": 1.0} for t in hues],
            "mask_mode": "linear",
            "keyframes": [{"frame": t, "image": f"edit{t}.png"} for t in hues],
            "steps": 1, "window": 2}
    out = edit(write_spec(tmp_path, spec), tmp_path / "result.mp4")
    check_frames_and_times(clip, out)
    inside, outside = regions(W, H)
    frames = list(iter_frames(out, W, H))
    for t in hues:
        edits = {k: next(iter_frames(tmp_path / f"edit{k}.png", W, H)) for k in hues}
        dist = {k: np.abs(frames[t].astype(int) - e.astype(int))[inside].mean()
                for k, e in edits.items()}
        assert min(dist, key=dist.get) == t, f"frame {t}: distances to the edits {dist}"
    check_masked(clip, out, "propagate", W, H)


def test_keyframes_every_n_stabilize(tmp_path):
    """Reference keyframes every 4 frames without images (the source frame
    is the reference), with masks there too."""
    w, h = W, H
    clip = make_clip(tmp_path / "clip.mp4", size=f"{w}x{h}", frames=9, audio="aac")
    spec = job_files(tmp_path, clip, "stabilize",
                     masks=[{"frame": t, "image": "mask.png"} for t in (0, 4, 8)],
                     keyframes=[{"frame": t} for t in (0, 4, 8)])
    out = edit(spec, tmp_path / "result.mp4")
    check_frames_and_times(clip, out)
    check_masked(clip, out, "stabilize", w, h)


@pytest.mark.parametrize("size", ["512x288", "128x72", "1920x1080"])
def test_keyframe_at_another_size(tmp_path, size):
    """An edited keyframe exported at another size with the clip's aspect
    ratio is resized to the clip: the output is close to the one with the
    keyframe at the clip's size."""
    clip = make_clip(tmp_path / "clip.mp4", size=f"{W}x{H}", frames=6)
    spec_native = job_files(tmp_path, clip, "propagate")
    native = edit(spec_native, tmp_path / "native.mp4")
    kw, kh = (int(v) for v in size.split("x"))
    ffmpeg("-i", tmp_path / "edit0.png", "-vf", f"scale={kw}:{kh}:flags=bicubic",
           tmp_path / "edit_resized.png")
    s = json.loads(spec_native.read_text())
    s["keyframes"][0]["image"] = "edit_resized.png"
    out = edit(write_spec(tmp_path, s, "resized.json"), tmp_path / "result.mp4")
    assert video_info(out)["frames"] == 6
    inside, _ = regions(W, H)
    p = compare(native, out, W, H, region=inside)
    # a smaller export loses detail: only the colours carry over
    want = 20 if kw < W else 28
    assert p.value >= want, f"keyframe at {size}: PSNR {p.value:.2f} dB inside the mask " \
                            f"against the keyframe at {W}x{H}"
    check_masked(clip, out, "propagate", W, H)


@pytest.mark.parametrize("mask_mode", ["track", "linear"])
@pytest.mark.parametrize("mode", ["propagate", "stabilize"])
def test_mask_modes(tmp_path, mode, mask_mode):
    """Masks at frames 0 and 7 carried between them by tracking (the
    default) or linear blending, with their own weights. The box does not
    move: linear keeps the coverage in it exactly, and so does stabilize's
    tracking (by the camera motion). Propagate's tracking lets coverage onto
    look-alike background even on the masked frames (reported), so only the
    edit inside the box is checked there."""
    w, h = W, H
    clip = make_clip(tmp_path / "clip.mp4", size=f"{w}x{h}", frames=8, audio="aac")
    spec = job_files(tmp_path, clip, mode, mask_mode=mask_mode,
                     masks=[{"frame": 0, "image": "mask.png", "weight": 0.9},
                            {"frame": 7, "image": "mask.png", "weight": 0.8}])
    out = edit(spec, tmp_path / "result.mp4")
    check_frames_and_times(clip, out)
    if mode == "propagate" and mask_mode == "track":
        inside, _ = regions(w, h)
        for t, (a, b) in enumerate(zip(iter_frames(clip, w, h), iter_frames(out, w, h))):
            diff = np.abs(a.astype(int) - b.astype(int))[inside].mean()
            assert diff > 15, f"frame {t}: the edit does not show inside the mask ({diff:.1f})"
        return
    check_masked(clip, out, mode, w, h)



def test_track_keeps_the_given_mask_on_its_frame(tmp_path):
    """mask_mode track (the default): on frame 0, where the mask is given, the
    output outside the mask must be the source. Got 14-22 dB (3-12 % of the
    pixels away from the mask changed by > 20 levels) on testsrc2, smptebars
    and mandelbrot; mask_mode linear gives > 35 dB."""
    spec = box_propagate_job(tmp_path, mask_mode="track")
    out = edit(spec, tmp_path / "result.mp4")
    _, outside = regions(256, 144)
    p = Psnr(outside)
    p.add(next(iter_frames(tmp_path / "clip.mp4", 256, 144)), next(iter_frames(out, 256, 144)))
    assert p.value >= 30, f"frame 0, outside the given mask: PSNR {p.value:.2f} dB"


# 3. a limited-range mask video (any ordinary H.264 clip) is never black -------


def test_mask_video_limited_range(tmp_path):
    """Black in a yuv420p H.264 mask video is Y=16 (limited range) and must
    be coverage 0. Got coverage ~16/255 everywhere: the edit leaks over the
    whole frame (outside PSNR ~27 dB; the same masks in FFV1 gray: ~38 dB)."""
    w, h, n = 256, 144, 6
    make_clip(tmp_path / "clip.mp4", size=f"{w}x{h}", frames=n)
    ffmpeg("-f", "lavfi", "-i", f"color=c=black:size={w}x{h}:rate=25,"
           f"drawbox=x=40:y=30:w=80:h=60:color=white:t=fill",
           "-frames:v", n, "-c:v", "libx264", "-pix_fmt", "yuv420p", tmp_path / "masks.mp4")
    frame_png(tmp_path / "clip.mp4", tmp_path / "edit0.png", vf="hue=h=120:s=2")
    spec = write_spec(tmp_path, {"mode": "propagate", "video": "clip.mp4",
                                 "mask_video": "masks.mp4", "cross_attention_weight": 1.0,
                                 "keyframes": [{"frame": 0, "image": "edit0.png"}],
                                 "steps": 1})
    out = edit(spec, tmp_path / "result.mp4")
    outside = ~dilate(box_array(w, h, (40, 30, 80, 60)) > 0, 4)
    p = Psnr(outside)
    for a, b in zip(iter_frames(tmp_path / "clip.mp4", w, h), iter_frames(out, w, h)):
        p.add(a, b)
    assert p.value >= 35, f"outside the mask video's box: PSNR {p.value:.2f} dB"


# 4. messages --------------------------------------------------------------------
