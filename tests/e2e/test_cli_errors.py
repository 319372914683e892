"""Bad input to `maskattn edit` (issue 3, acceptance 8): each case exits
non-zero (1: the job failed, 2: usage or spec) without a signal, prints
exactly one line on stderr, "maskattn: ...", that names what to fix (the
field, option or file), nothing on stdout, and leaves no output file."""
import shutil
import subprocess

import pytest

from cli_media import (BIN, box_propagate_job, edit, error_line, ffmpeg, frame_png,
                       make_box_png, make_clip, maskattn_lines, run_edit, write_spec)

W, H = 128, 72


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A good clip (MP4 with the index at the end, as ffmpeg writes it), the
    same with the index in front (+faststart), a mask and an edit."""
    d = tmp_path_factory.mktemp("bad_input")
    make_clip(d / "clip.mp4", size=f"{W}x{H}", frames=15, audio="aac")
    make_clip(d / "faststart.mp4", size=f"{W}x{H}", frames=15, audio="aac",
              extra=("-movflags", "+faststart"))
    make_box_png(d / "mask.png", f"{W}x{H}", (20, 15, 50, 30))
    frame_png(d / "clip.mp4", d / "edit0.png", vf="hue=h=120")
    return d


def good_spec(**extra):
    spec = {"mode": "propagate", "video": "clip.mp4",
            "masks": [{"frame": 0, "image": "mask.png"}],
            "keyframes": [{"frame": 0, "image": "edit0.png"}], "steps": 1, "window": 2}
    spec.update(extra)
    return spec


def job_dir(media, tmp_path):
    """A fresh job folder holding copies of the good media."""
    for f in media.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def fails(tmp_path, spec, *words, code, args=None):
    """Runs the spec (a dict, raw text, or None for no spec file) and checks
    the failure: exit code, one line naming each of words, no output."""
    out = tmp_path / "result.mp4"
    path = write_spec(tmp_path, spec) if spec is not None else tmp_path / "job.json"
    r = run_edit(*(args if args is not None else ["--spec", path, "--out", out]))
    line = error_line(r)
    assert r.returncode == code, f"exit {r.returncode}, want {code}: {line}"
    for w in words:
        assert w.lower() in line.lower(), f"{w!r} not named in: {line}"
    assert not out.exists(), f"{out.name} left behind after: {line}"
    return line


# --- the clip ------------------------------------------------------------------

def test_truncated_clip(media, tmp_path):
    d = job_dir(media, tmp_path)
    data = (d / "clip.mp4").read_bytes()
    (d / "cut.mp4").write_bytes(data[:len(data) // 2])
    fails(d, good_spec(video="cut.mp4"), "cut.mp4", code=1)


def test_truncated_clip_index_in_front(media, tmp_path):
    """With the index in front the file opens and decodes until the cut:
    the job must still fail, not end early with a short output."""
    d = job_dir(media, tmp_path)
    data = (d / "faststart.mp4").read_bytes()
    (d / "cut.mp4").write_bytes(data[:len(data) // 2])
    fails(d, good_spec(video="cut.mp4"), "cut.mp4", code=1)


def test_truncated_clip_stabilize(media, tmp_path):
    d = job_dir(media, tmp_path)
    data = (d / "faststart.mp4").read_bytes()
    (d / "cut.mp4").write_bytes(data[:len(data) // 2])
    spec = {"mode": "stabilize", "video": "cut.mp4", "steps": 1, "window": 2,
            "temporal_window": 1}
    fails(d, spec, "cut.mp4", code=1)


def test_corrupt_clip(media, tmp_path):
    """2000 bytes of garbage in the middle of the file."""
    d = job_dir(media, tmp_path)
    data = bytearray((d / "faststart.mp4").read_bytes())
    mid = len(data) // 2
    data[mid:mid + 2000] = bytes((i * 97 + 13) & 0xFF for i in range(2000))
    (d / "corrupt.mp4").write_bytes(bytes(data))
    fails(d, good_spec(video="corrupt.mp4"), "corrupt.mp4", code=1)


def test_not_a_video(media, tmp_path):
    d = job_dir(media, tmp_path)
    (d / "notes.mp4").write_text("this is a text file, not a video\n" * 20)
    fails(d, good_spec(video="notes.mp4"), "notes.mp4", code=1)


def test_empty_video_file(media, tmp_path):
    d = job_dir(media, tmp_path)
    (d / "empty.mp4").write_bytes(b"")
    fails(d, good_spec(video="empty.mp4"), "empty.mp4", code=1)


def test_missing_video(media, tmp_path):
    d = job_dir(media, tmp_path)
    fails(d, good_spec(video="nowhere.mp4"), "nowhere.mp4", code=1)


# --- masks and keyframes ---------------------------------------------------------

def test_mask_not_png(media, tmp_path):
    d = job_dir(media, tmp_path)
    shutil.copy(d / "clip.mp4", d / "mask_is_video.png")
    fails(d, good_spec(masks=[{"frame": 0, "image": "mask_is_video.png"}]),
          "masks[0].image", "mask_is_video.png", code=1)


def test_mask_jpeg(media, tmp_path):
    d = job_dir(media, tmp_path)
    ffmpeg("-i", d / "mask.png", d / "mask.jpg")
    fails(d, good_spec(masks=[{"frame": 0, "image": "mask.jpg"}]), "masks[0].image", "mask.jpg",
          code=1)


@pytest.mark.parametrize("keep", [0.5, 0.1, 33 / 2000])
def test_mask_png_truncated(media, tmp_path, keep):
    """A PNG cut short: in its image data, or right after the header."""
    d = job_dir(media, tmp_path)
    data = (d / "mask.png").read_bytes()
    (d / "cut.png").write_bytes(data[:max(33, int(len(data) * keep))])
    fails(d, good_spec(masks=[{"frame": 0, "image": "cut.png"}]), "masks[0].image", "cut.png",
          code=1)


def test_mask_png_bad_crc(media, tmp_path):
    d = job_dir(media, tmp_path)
    data = bytearray((d / "mask.png").read_bytes())
    data[-20] ^= 0xFF                     # inside the last IDAT chunk
    (d / "crc.png").write_bytes(bytes(data))
    fails(d, good_spec(masks=[{"frame": 0, "image": "crc.png"}]), "masks[0].image", "crc.png",
          code=1)


def test_missing_mask(media, tmp_path):
    d = job_dir(media, tmp_path)
    fails(d, good_spec(masks=[{"frame": 0, "image": "nowhere.png"}]), "nowhere.png", code=1)


def test_keyframe_not_png(media, tmp_path):
    d = job_dir(media, tmp_path)
    (d / "edit.png").write_text("not an image")
    fails(d, good_spec(keyframes=[{"frame": 0, "image": "edit.png"}]), "keyframes[0].image",
          "edit.png", code=1)


def test_keyframe_out_of_range(media, tmp_path):
    d = job_dir(media, tmp_path)
    fails(d, good_spec(keyframes=[{"frame": 15, "image": "edit0.png"}]), "keyframes[0].frame",
          code=1)


def test_mask_frame_out_of_range(media, tmp_path):
    d = job_dir(media, tmp_path)
    fails(d, good_spec(masks=[{"frame": 99, "image": "mask.png"}]), "masks[0].frame", code=1)


def test_keyframe_other_aspect_ratio(media, tmp_path):
    d = job_dir(media, tmp_path)
    make_box_png(d / "square.png", "100x100", (10, 10, 20, 20))
    line = fails(d, good_spec(keyframes=[{"frame": 0, "image": "square.png"}]),
                 "keyframes[0].image", code=1)
    assert "aspect" in line, line


def test_mask_video_too_short(media, tmp_path):
    d = job_dir(media, tmp_path)
    make_clip(d / "masks.mp4", size=f"{W}x{H}", frames=5, source="testsrc2")
    fails(d, {"mode": "stabilize", "video": "clip.mp4", "mask_video": "masks.mp4", "steps": 1,
              "window": 2}, "mask_video", code=1)


# --- the spec --------------------------------------------------------------------

def test_wrong_type(media, tmp_path):
    d = job_dir(media, tmp_path)
    fails(d, good_spec(steps="two"), "steps", code=2)


@pytest.mark.parametrize("field,value", [
    ("mode", "morph"), ("temperature", 0), ("cross_attention_weight", 1.5),
    ("window", 0), ("seed", -1), ("mask_mode", "wobble"),
])
def test_value_out_of_range(media, tmp_path, field, value):
    d = job_dir(media, tmp_path)
    fails(d, good_spec(**{field: value}), field, code=2)


def test_mask_weight_out_of_range(media, tmp_path):
    d = job_dir(media, tmp_path)
    fails(d, good_spec(masks=[{"frame": 0, "image": "mask.png", "weight": 2}]),
          "masks[0].weight", code=2)


def test_output_field(media, tmp_path):
    d = job_dir(media, tmp_path)
    fails(d, good_spec(output={"pix_fmt": "rgb24"}), "output.pix_fmt", code=2)


def test_unknown_field(media, tmp_path):
    d = job_dir(media, tmp_path)
    fails(d, good_spec(colour_boost=3), "colour_boost", code=2)


def test_unknown_nested_field(media, tmp_path):
    d = job_dir(media, tmp_path)
    fails(d, good_spec(masks=[{"frame": 0, "image": "mask.png", "feather": 2}]), "feather",
          code=2)


def test_propagate_without_keyframe(media, tmp_path):
    d = job_dir(media, tmp_path)
    spec = good_spec()
    del spec["keyframes"]
    fails(d, spec, "keyframes", code=2)


@pytest.mark.parametrize("text", ['mode: propagate\nvideo: clip.mp4\n',
                                  '{"mode": "propagate", "video": "clip.mp4",',
                                  '', '[1, 2]'])
def test_not_json(media, tmp_path, text):
    d = job_dir(media, tmp_path)
    fails(d, text, "job.json", code=2)


def test_missing_spec_file(media, tmp_path):
    d = job_dir(media, tmp_path)
    fails(d, None, "job.json", code=2)


# --- the command line ------------------------------------------------------------

def usage_error(r, *words):
    """A usage error: exit 2, no output file, and one 'maskattn: ' line, the
    last, naming words. (The usage text is printed above it; see the
    report.)"""
    assert r.returncode == 2, r
    assert r.stdout == ""
    lines = maskattn_lines(r)
    assert len(lines) == 1 and r.stderr.splitlines()[-1] == lines[0], r.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_missing_out(media, tmp_path):
    d = job_dir(media, tmp_path)
    spec = write_spec(d, good_spec())
    usage_error(run_edit("--spec", spec), "--out")
    assert sorted(p.name for p in d.glob("*.mp4")) == ["clip.mp4", "faststart.mp4"]


def test_missing_spec_option(media, tmp_path):
    usage_error(run_edit("--out", tmp_path / "result.mp4"), "--spec")
    assert not (tmp_path / "result.mp4").exists()


def test_unknown_option(media, tmp_path):
    d = job_dir(media, tmp_path)
    spec = write_spec(d, good_spec())
    usage_error(run_edit("--spec", spec, "--out", d / "result.mp4", "--turbo"), "--turbo")
    assert not (d / "result.mp4").exists()


@pytest.mark.parametrize("value", ["0", "two", "-3"])
def test_bad_threads(media, tmp_path, value):
    d = job_dir(media, tmp_path)
    spec = write_spec(d, good_spec())
    usage_error(run_edit("--spec", spec, "--out", d / "result.mp4", "--threads", value),
                "--threads")
    assert not (d / "result.mp4").exists()


def test_output_folder_missing(media, tmp_path):
    d = job_dir(media, tmp_path)
    spec = write_spec(d, good_spec())
    r = run_edit("--spec", spec, "--out", d / "no" / "such" / "result.mp4")
    line = error_line(r)
    assert r.returncode == 1 and "result.mp4" in line, line
    assert not (d / "no").exists()


def test_paths_relative_to_spec(media, tmp_path):
    """The spec's paths are relative to the spec file, not to the working
    directory: a spec in a sub-folder naming ../clip.mp4 works when run from
    another folder, given by a relative path or an absolute one."""
    d = job_dir(media, tmp_path)
    (d / "jobs").mkdir()
    (d / "elsewhere").mkdir()
    spec = good_spec(video="../clip.mp4", masks=[{"frame": 0, "image": "../mask.png"}],
                     keyframes=[{"frame": 0, "image": "../edit0.png"}])
    path = write_spec(d / "jobs", spec)
    for i, given in enumerate([path, "../jobs/job.json"]):
        r = run_edit("--spec", given, "--out", f"result{i}.mp4", cwd=d / "elsewhere")
        assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), r.stderr
        assert (d / "elsewhere" / f"result{i}.mp4").is_file()



def test_out_same_as_video_keeps_the_source(tmp_path):
    spec = box_propagate_job(tmp_path)
    before = (tmp_path / "clip.mp4").read_bytes()
    r = run_edit("--spec", spec, "--out", tmp_path / "clip.mp4")
    assert r.returncode == 2 and "--out" in r.stderr, r.stderr
    assert (tmp_path / "clip.mp4").read_bytes() == before, "the source clip was destroyed"


def test_out_same_as_mask_keeps_the_mask(tmp_path):
    spec = box_propagate_job(tmp_path)
    before = (tmp_path / "mask.png").read_bytes()
    r = run_edit("--spec", spec, "--out", tmp_path / "mask.png")
    assert r.returncode != 0
    assert (tmp_path / "mask.png").exists() and (tmp_path / "mask.png").read_bytes() == before


def test_failed_job_keeps_previous_result(tmp_path):
    """A failing re-run deletes the result of the previous run."""
    spec = box_propagate_job(tmp_path)
    out = edit(spec, tmp_path / "result.mp4")
    previous = out.read_bytes()
    (tmp_path / "mask.png").write_text("not a png")
    r = run_edit("--spec", spec, "--out", out)
    assert r.returncode == 1
    assert out.exists() and out.read_bytes() == previous, "the previous result was deleted"


# 2. propagate's mask tracking puts coverage outside the given mask --------------


def test_usage_error_is_one_line(tmp_path):
    spec = box_propagate_job(tmp_path)
    for args in (["--spec", spec], ["--spec", spec, "--out", tmp_path / "r.mp4", "--turbo"], []):
        r = run_edit(*args)
        assert r.returncode == 2
        assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("maskattn: "), r.stderr


def test_no_command_is_one_line():
    r = subprocess.run([BIN], capture_output=True, text=True)
    assert r.returncode == 2
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("maskattn: "), r.stderr


def test_spec_is_a_folder(tmp_path):
    r = run_edit("--spec", tmp_path, "--out", tmp_path / "r.mp4")
    assert r.returncode == 2
    assert "Cannot allocate memory" not in r.stderr and "folder" in r.stderr, r.stderr


def test_out_in_a_missing_folder_names_it(tmp_path):
    spec = box_propagate_job(tmp_path)
    r = run_edit("--spec", spec, "--out", tmp_path / "nope" / "r.mp4")
    assert r.returncode == 1
    assert "nope" in r.stderr, r.stderr
