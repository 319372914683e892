"""`maskattn edit` on clips of every kind it must read (issue 3, acceptance 1):
MP4/H.264 + AAC, MOV, MKV/FFV1, WebM/VP9 + Opus, an odd size, rotation
metadata, variable frame rate, in both modes. Each output is an MP4/H.264
that decodes, with the source's frame count and timestamps, its display
rotation and its audio; outside the mask it is the source, and in propagate
the keyframe's edit shows inside it.

The clips are 256x144 with a few frames each, so the sanitizer pass stays
short.
"""
import pytest

from cli_media import (audio_codecs, audio_packet_hashes, check_frames_and_times,
                       check_masked, edit, ffmpeg, format_name, job_files, make_clip,
                       video_info, video_pts)

MODES = ["propagate", "stabilize"]
SIZE = {"propagate": "256x144", "stabilize": "256x144"}   # kept apart: tune per mode

CONTAINERS = {
    "mp4-h264-aac": dict(ext="mp4", vcodec=("-c:v", "libx264"), audio="aac"),
    "mov-h264-aac": dict(ext="mov", vcodec=("-c:v", "libx264"), audio="aac"),
    # PCM does not go in MP4: the tool transcodes it to AAC
    "mkv-ffv1-pcm": dict(ext="mkv", vcodec=("-c:v", "ffv1"), audio="pcm_s16le"),
    "webm-vp9-opus": dict(ext="webm", vcodec=("-c:v", "libvpx-vp9", "-deadline", "realtime",
                                              "-cpu-used", "8", "-b:v", "400k"),
                          audio="libopus"),
}


def check_audio(src, out, transcoded=False):
    if transcoded:
        assert audio_codecs(out) == ["aac"], audio_codecs(out)
        return
    assert audio_codecs(out) == audio_codecs(src)
    assert audio_packet_hashes(out) == audio_packet_hashes(src), \
        "audio packets were not copied untouched"


def check_output(out, width, height, pix_fmt="yuv420p"):
    assert "mp4" in format_name(out)
    info = video_info(out)
    assert (info["codec"], info["width"], info["height"], info["pix_fmt"]) == \
        ("h264", width, height, pix_fmt), info
    return info


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", list(CONTAINERS))
def test_container(tmp_path, kind, mode):
    c = CONTAINERS[kind]
    clip = make_clip(tmp_path / f"clip.{c['ext']}", size=SIZE[mode], frames=8,
                     vcodec=c["vcodec"], audio=c["audio"])
    w, h = (int(v) for v in SIZE[mode].split("x"))
    out = edit(job_files(tmp_path, clip, mode), tmp_path / "result.mp4")
    check_output(out, w, h)
    check_frames_and_times(clip, out)
    check_audio(clip, out, transcoded=c["audio"] == "pcm_s16le")
    check_masked(clip, out, mode, w, h)


# 4:2:0 codes even sizes only: the output is padded to 722x406 (the decoded
# picture's top-left 721x405 is the clip); 4:4:4 keeps the size.
@pytest.mark.parametrize("mode,pix_fmt,coded", [
    ("propagate", "yuv420p", (722, 406)),
    ("propagate", "yuv444p", (721, 405)),
    ("stabilize", "yuv420p", (722, 406)),
    ("stabilize", "yuv444p", (721, 405)),
])
def test_odd_size(tmp_path, mode, pix_fmt, coded):
    clip = make_clip(tmp_path / "clip.mkv", size="721x405", frames=3,
                     vcodec=("-c:v", "ffv1"), pix_fmt="yuv444p", source="smptebars")
    assert video_info(clip)["width"] == 721
    spec = job_files(tmp_path, clip, mode, output={"pix_fmt": pix_fmt})
    out = edit(spec, tmp_path / "result.mp4")
    check_output(out, *coded, pix_fmt=pix_fmt)
    check_frames_and_times(clip, out)
    check_masked(clip, out, mode, 721, 405, vf_out="format=rgb24,crop=721:405:0:0")


@pytest.mark.parametrize("mode,rotate", [("propagate", 90), ("propagate", 270),
                                         ("propagate", 180), ("stabilize", 90)])
def test_rotation(tmp_path, mode, rotate):
    """The clip is edited as it is displayed (mask and keyframe are drawn
    upright) and the output keeps the display matrix, so players turn it the
    same way."""
    plain = make_clip(tmp_path / "plain.mp4", size=SIZE[mode], frames=6, audio="aac")
    clip = tmp_path / "clip.mp4"
    # ffmpeg 5 writes the display matrix from the tag when it copies the stream
    ffmpeg("-i", plain, "-c", "copy", "-metadata:s:v:0", f"rotate={rotate}", clip)
    src = video_info(clip)
    assert src["rotation"] != 0, "ffmpeg did not write the rotation"
    out = edit(job_files(tmp_path, clip, mode), tmp_path / "result.mp4")
    w, h = src["width"], src["height"]
    info = check_output(out, w, h)
    assert info["rotation"] == src["rotation"], (src, info)
    check_frames_and_times(clip, out)
    check_audio(clip, out)
    if rotate in (90, 270):
        w, h = h, w
    # ffmpeg turns both clips upright when decoding: the mask's box lands
    # where it was drawn only if the tool applied it the same way
    check_masked(clip, out, mode, w, h)


@pytest.mark.parametrize("mode", MODES)
def test_variable_frame_rate(tmp_path, mode):
    """Irregular frame times (1 ms time base) come out the same, frame by frame."""
    clip = make_clip(tmp_path / "clip.mp4", size=SIZE[mode], frames=12, audio="aac",
                     vf="settb=1/1000,setpts=N*40+floor(N/3)*25+mod(N*N\\,3)*7",
                     extra=("-fps_mode", "passthrough", "-enc_time_base", "1:1000",
                            "-video_track_timescale", "1000"))
    pts = video_pts(clip)
    gaps = {b - a for a, b in zip(pts, pts[1:])}
    assert len(gaps) > 2, f"the clip is not variable frame rate: {sorted(gaps)}"
    out = edit(job_files(tmp_path, clip, mode), tmp_path / "result.mp4")
    w, h = (int(v) for v in SIZE[mode].split("x"))
    check_output(out, w, h)
    check_frames_and_times(clip, out)
    check_audio(clip, out)
    check_masked(clip, out, mode, w, h)
