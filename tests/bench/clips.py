"""`maskattn edit` end to end on clips, beside ffmpeg filters on the same clip.

- frames per second of both modes with default parameters and a logo mask,
  of stabilize on the whole frame (no mask), and of ffmpeg's decoding
  alone, `deflicker`, `tmix` and `nlmeans`, on the fixture clip
  (../shared/fixtures/running_car.mp4, 972x540, 292 frames) or, without
  it, on a generated clip of that size; the slow ones (whole-frame
  stabilize, nlmeans) on its first CUT_FRAMES frames;
- frames per second and peak resident memory for a 1920x1080 clip of
  HD_SECONDS (generated), both modes with a 240x200 mask; and stabilize on
  real footage at that size: the fixture clip scaled up, with its logo
  mask. The generated clip's mask lies on flat colour bars that a moving
  line crosses, so the tracked mask follows the line and grows (about 4x
  by the end): its rows measure that larger area.

Every run is timed by wall clock, process start to exit, on 2 threads.
"""
import json
import os
import subprocess
import sys
import time

import benchclip as bc

BIN = os.environ.get("MASKATTN_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "maskattn"))
FIXTURES = os.path.abspath(bc.FIXTURES)
THREADS = 2
CUT_FRAMES = 20
HD_SECONDS = 10
FFMPEG_PEERS = [("ffmpeg deflicker (defaults)", "deflicker"), ("ffmpeg tmix frames=7", "tmix=frames=7")]
NLMEANS = ("ffmpeg nlmeans (defaults)", "nlmeans")


def edit(folder, spec):
    """Runs one job; returns (seconds, peak RSS in MB, the job's --stats figures)."""
    path = os.path.join(folder, "job.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    t0 = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", BIN, "edit", "--spec", path, "--threads",
                           str(THREADS), "--stats", "--out", os.path.join(folder, "out.mp4")],
                          capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        sys.exit(f"edit failed: {proc.stderr.strip()}")
    rss_kb = int(proc.stderr.strip().splitlines()[-1])
    return seconds, rss_kb / 1024.0, json.loads(proc.stdout.strip().splitlines()[-1])


def frames_of(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
                          "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def clip_and_mask(folder):
    """The fixture clip and its logo mask, or a generated clip of the same
    size and length with a generated mask; and a label."""
    if bc.have_fixture():
        return bc.FIXTURE_CLIP, os.path.join(FIXTURES, "mask_logo.png"), "running_car.mp4"
    clip = os.path.join(folder, "clip.mp4")
    mask = os.path.join(folder, "mask.png")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=972x540:rate=25", "-frames:v", "292",
           "-c:v", "libx264", "-preset", "fast", "-crf", "20", "-pix_fmt", "yuv420p", clip)
    ffmpeg("-f", "lavfi", "-i", "color=black:size=972x540,drawbox=x=700:y=40:w=220:h=90:color=white:t=fill",
           "-frames:v", "1", mask)
    return clip, mask, "generated (no fixture)"


def cut(clip, folder, frames):
    """The first frames of clip, stream-copied."""
    path = os.path.join(folder, "cut.mp4")
    ffmpeg("-i", clip, "-map", "0:v", "-c", "copy", "-frames:v", str(frames), path)
    return path


def ffmpeg_seconds(clip, vf):
    """Wall time of decoding clip through filter vf (None: decoding alone) to null."""
    args = ["ffmpeg", "-v", "error", "-nostdin", "-threads", str(THREADS),
            "-filter_threads", str(THREADS), "-i", clip]
    if vf:
        args += ["-vf", vf]
    t0 = time.monotonic()
    subprocess.run(args + ["-f", "null", "-"], check=True)
    return time.monotonic() - t0


def row(what, size, seconds, frames, gflops=None, ours_fps=None):
    """A table row; ours_fps: the fps of ours to compare with."""
    fps = frames / seconds
    return {"what": what, "size": size, "seconds": seconds, "fps": fps, "gflops": gflops,
            "ratio": ours_fps / fps if ours_fps else None}


def ours(folder, clip, mode, mask, edit_png):
    """One job of mode on clip (mask None: the whole frame); prints its line, returns its row."""
    spec = {"mode": mode, "video": clip}
    if mask:
        spec["masks"] = [{"frame": 0, "image": mask}]
    if mode == "propagate":
        spec["keyframes"] = [{"frame": 0, "image": edit_png}]
    n = frames_of(clip)
    seconds, rss, st = edit(folder, spec)
    where = "logo mask" if mask else "whole frame"
    print(f"  {mode:9s} {where:11s} {n / seconds:6.1f} fps end to end ({seconds:.1f} s; decode "
          f"{st['decode_seconds']:.1f} s, attend {st['attend_seconds']:.1f} s, blend "
          f"{st['blend_seconds']:.1f} s, encode {st['encode_seconds']:.1f} s, overlapped; "
          f"end to end / attend {seconds / st['attend_seconds']:.2f}), peak RSS {rss:.0f} MB",
          flush=True)
    return row(f"ours {mode}, {where}", f"972x540, {n} frames", seconds, n, st["gflops"])


def clip_rows(folder):
    """Our jobs and the ffmpeg filters on one clip: the table's rows."""
    clip, mask, label = clip_and_mask(folder)
    short = cut(clip, folder, CUT_FRAMES)
    edit_png = os.path.join(folder, "edit0.png")
    ffmpeg("-i", clip, "-vf", "hue=h=90:s=1.5", "-frames:v", "1", edit_png)
    n = frames_of(clip)
    print(f"clip: {label} ({n} frames, 972x540), mask {os.path.basename(mask)}, default parameters, "
          f"{THREADS} threads; whole-frame stabilize and nlmeans on the first {CUT_FRAMES} frames", flush=True)
    rows = [ours(folder, clip, "stabilize", mask, edit_png),
            ours(folder, clip, "propagate", mask, edit_png),
            ours(folder, short, "stabilize", None, edit_png)]
    whole_fps = rows[-1]["fps"]
    rows.append(row("ffmpeg decode only (no peer: the floor)", f"972x540, {n} frames",
                    ffmpeg_seconds(clip, None), n))
    for what, vf in FFMPEG_PEERS:
        rows.append(row(what, f"972x540, {n} frames", ffmpeg_seconds(clip, vf), n, ours_fps=whole_fps))
    rows.append(row(NLMEANS[0], f"972x540, {CUT_FRAMES} frames",
                    ffmpeg_seconds(short, NLMEANS[1]), CUT_FRAMES, ours_fps=whole_fps))
    return rows


def hd_row(folder, what, spec, label):
    """One job at 1920x1080: prints its line, returns its row."""
    n = frames_of(spec["video"])
    seconds, rss, st = edit(folder, spec)
    print(f"  {what:30s} {n / seconds:5.1f} fps, peak RSS {rss:.0f} MB ({seconds:.0f} s; "
          f"end to end / attend {seconds / st['attend_seconds']:.2f})", flush=True)
    return row(f"ours {what} (peak RSS {rss:.0f} MB)", f"1920x1080, {n} frames{label}", seconds, n,
               st["gflops"])


def hd_memory(folder):
    """Both modes on a generated 1920x1080 clip (stabilize also with its mask
    held, not tracked), and stabilize on the fixture scaled to that size;
    prints their lines, returns their rows."""
    clip = os.path.join(folder, "hd.mp4")
    mask = os.path.join(folder, "hd_mask.png")
    edit_png = os.path.join(folder, "hd_edit.png")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(HD_SECONDS),
           "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-shortest", clip)
    ffmpeg("-f", "lavfi", "-i", "color=black:size=1920x1080,drawbox=x=800:y=400:w=240:h=200:color=white:t=fill",
           "-frames:v", "1", mask)
    ffmpeg("-i", clip, "-vf", "negate", "-frames:v", "1", edit_png)
    print(f"1920x1080, default parameters: generated ({HD_SECONDS} s, a 240x200 mask)"
          f"{' and the fixture scaled up (its logo mask)' if bc.have_fixture() else ''}", flush=True)
    rows = []
    for mode in ["stabilize", "propagate"]:
        spec = {"mode": mode, "video": clip, "masks": [{"frame": 0, "image": mask}]}
        if mode == "propagate":
            spec["keyframes"] = [{"frame": 0, "image": edit_png}]
        rows.append(hd_row(folder, f"{mode}, 240x200 mask", spec, ", generated"))
    # the same mask held where it is given: what the tracker does on this clip left out
    spec = {"mode": "stabilize", "video": clip, "mask_mode": "linear",
            "masks": [{"frame": 0, "image": mask}]}
    rows.append(hd_row(folder, "stabilize, 240x200 mask held", spec, ", generated"))
    if bc.have_fixture():
        scaled = os.path.join(folder, "hd_fixture.mp4")
        ffmpeg("-i", bc.FIXTURE_CLIP, "-vf", "scale=1920:1080", "-c:v", "libx264", "-preset", "ultrafast",
               "-crf", "18", "-pix_fmt", "yuv420p", scaled)
        spec = {"mode": "stabilize", "video": scaled,
                "masks": [{"frame": 0, "image": os.path.join(FIXTURES, "mask_logo.png")}]}
        rows.append(hd_row(folder, "stabilize, logo mask", spec, ", fixture scaled up"))
    return rows
