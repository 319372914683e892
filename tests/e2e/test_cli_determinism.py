"""Determinism (issue 3, acceptance 6): the same spec and seed give a
byte-identical output file, run after run, with 1 thread and with 2, and
1 against 2 (the attention's reduction order does not depend on the thread
count)."""
import filecmp
import subprocess

import pytest

from cli_media import (edit, ffmpeg, frame_png, make_box_png, make_clip, need_fixture,
                       write_spec)

RUNS = [("1", "a"), ("1", "b"), ("2", "a"), ("2", "b")]


def run_four(spec, tmp_path):
    """The spec run twice with --threads 1 and twice with --threads 2;
    returns {(threads, run): output}."""
    outs = {}
    for threads, run in RUNS:
        outs[threads, run] = edit(spec, tmp_path / f"t{threads}{run}.mp4", "--threads", threads)
    return outs


def assert_identical(outs):
    first = outs[RUNS[0]]
    for key, out in outs.items():
        assert filecmp.cmp(first, out, shallow=False), \
            f"--threads {key[0]} run {key[1]} differs from --threads 1 run a: " + \
            subprocess.run(["cmp", str(first), str(out)], capture_output=True,
                           text=True).stdout.strip()


def make_job(d, mode, **extra):
    make_clip(d / "clip.mp4", size="256x144", frames=8, audio="aac")
    make_box_png(d / "mask.png", "384x216", (60, 40, 180, 100))
    spec = {"mode": mode, "video": "clip.mp4", "masks": [{"frame": 0, "image": "mask.png"}],
            "seed": 1234}
    if mode == "propagate":
        frame_png(d / "clip.mp4", d / "edit0.png", vf="hue=h=120")
        spec["keyframes"] = [{"frame": 0, "image": "edit0.png"}]
    spec.update(extra)
    return write_spec(d, spec)


def test_propagate_deterministic(tmp_path):
    """Default parameters (2 steps, window 8, mask tracking)."""
    assert_identical(run_four(make_job(tmp_path, "propagate"), tmp_path))


def test_stabilize_deterministic(tmp_path):
    """2 steps, a smaller window than the default to keep the sanitizer pass short."""
    assert_identical(run_four(make_job(tmp_path, "stabilize", window=3, temporal_window=2),
                              tmp_path))


def test_default_thread_count_same_output(tmp_path):
    """Without --threads (one per CPU) the output is the same too."""
    spec = make_job(tmp_path, "propagate")
    one = edit(spec, tmp_path / "t1.mp4", "--threads", "1")
    default = edit(spec, tmp_path / "default.mp4")
    assert filecmp.cmp(one, default, shallow=False)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["propagate", "stabilize"])
def test_deterministic_on_real_footage(tmp_path, mode):
    """The first second of the real clip (camera and subject moving) with its
    square mask, at the defaults: 1 thread against 2, byte for byte."""
    clip = need_fixture("running_car.mp4")
    mask = need_fixture("mask_square.png")
    frames = 12 if mode == "propagate" else 10
    ffmpeg("-i", clip, "-frames:v", frames, "-c:v", "libx264", "-preset", "ultrafast",
           "-crf", "10", "-c:a", "copy", tmp_path / "clip.mp4")
    (tmp_path / "mask.png").write_bytes(mask.read_bytes())
    spec = {"mode": mode, "video": "clip.mp4", "masks": [{"frame": 0, "image": "mask.png"}],
            "seed": 99}
    if mode == "propagate":
        frame_png(tmp_path / "clip.mp4", tmp_path / "edit0.png", vf="hue=h=90:s=1.5")
        spec["keyframes"] = [{"frame": 0, "image": "edit0.png"}]
    path = write_spec(tmp_path, spec)
    one = edit(path, tmp_path / "t1.mp4", "--threads", "1")
    two = edit(path, tmp_path / "t2.mp4", "--threads", "2")
    assert filecmp.cmp(one, two, shallow=False), "1 and 2 threads differ on the real clip"
