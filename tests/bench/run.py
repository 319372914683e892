"""End-to-end speed and memory of `maskattn edit` (a benchmark: it prints
figures and asserts nothing).

- frames per second for both modes with default parameters on the fixture
  clip (../shared/fixtures/running_car.mp4, 972x540, 292 frames) with the
  fixture's logo mask, and the job's useful attention GFLOP/s;
- peak resident memory for a 1920x1080 clip of 60 s (generated), both modes.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import benchclip as bc

BIN = os.environ.get("MASKATTN_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "maskattn"))
FIXTURES = os.path.abspath(bc.FIXTURES)


def edit(folder, spec):
    """Runs one job; returns (seconds, peak RSS in MB)."""
    path = os.path.join(folder, "job.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    t0 = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", BIN, "edit", "--spec", path,
                           "--out", os.path.join(folder, "out.mp4")], capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        sys.exit(f"edit failed: {proc.stderr.strip()}")
    rss_kb = int(proc.stderr.strip().splitlines()[-1])
    return seconds, rss_kb / 1024.0


def frames_of(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
                          "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def fixture_speed(folder):
    clip = os.path.join(FIXTURES, "running_car.mp4")
    mask = os.path.join(FIXTURES, "mask_logo.png")
    edit_png = os.path.join(folder, "edit0.png")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", clip, "-vf", "hue=h=90:s=1.5",
                    "-frames:v", "1", edit_png], check=True)
    n = frames_of(clip)
    print(f"fixture clip: {clip} ({n} frames, 972x540), mask {os.path.basename(mask)}, default parameters")
    for mode in ["stabilize", "propagate"]:
        spec = {"mode": mode, "video": clip, "masks": [{"frame": 0, "image": mask}]}
        if mode == "propagate":
            spec["keyframes"] = [{"frame": 0, "image": edit_png}]
        seconds, rss = edit(folder, spec)
        print(f"  {mode:9s} {n / seconds:6.1f} fps end to end ({seconds:.1f} s), peak RSS {rss:.0f} MB")


def hd_memory(folder):
    clip = os.path.join(folder, "hd.mp4")
    mask = os.path.join(folder, "hd_mask.png")
    edit_png = os.path.join(folder, "hd_edit.png")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "60",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", clip], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "color=black:size=1920x1080,drawbox=x=800:y=400:w=240:h=200:color=white:t=fill",
                    "-frames:v", "1", mask], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", clip, "-vf", "negate", "-frames:v", "1", edit_png],
                   check=True)
    print(f"1920x1080, 60 s ({frames_of(clip)} frames), a 240x200 mask, default parameters")
    for mode in ["stabilize", "propagate"]:
        spec = {"mode": mode, "video": clip, "masks": [{"frame": 0, "image": mask}]}
        if mode == "propagate":
            spec["keyframes"] = [{"frame": 0, "image": edit_png}]
        seconds, rss = edit(folder, spec)
        print(f"  {mode:9s} peak RSS {rss:.0f} MB ({seconds:.0f} s)")


def main():
    with tempfile.TemporaryDirectory() as folder:
        if bc.have_fixture():
            fixture_speed(folder)
        else:
            print("fixture clip absent: skipping the fixture speed figures")
        hd_memory(folder)


if __name__ == "__main__":
    main()
