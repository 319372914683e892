"""Fidelity on real footage (issue 3, acceptance 3), measured on
../shared/fixtures/running_car.mp4 (972x540, 25 fps, H.264 + AAC) with
mask_square.png (432x240, resized by the tool to the frame):

- outside the mask (coverage 0: the mask resized to 972x540, grown by 4 px,
  inverted) the output matches the decoded source at PSNR >= 40 dB (RGB,
  over all frames) with the default crf (18) and pixel format (yuv420p);
- the frame count and every frame's timestamp equal the source's;
- the audio packets are bit-exact.

A propagate job with mask_mode linear, so the coverage stays the given mask
on every frame (tracking moves it). Skipped when the fixture is absent.
Run `pytest -s -k fidelity tests/e2e` to see the figures.
"""
import pytest

from cli_media import (Psnr, audio_packet_hashes, dilate, edit, frame_png, iter_frames,
                       need_fixture, read_png_gray, video_info, video_pts, write_spec)

GROW = 4              # px around the resized mask counted as inside


@pytest.mark.slow
def test_fidelity_outside_the_mask(tmp_path):
    clip = need_fixture("running_car.mp4")
    mask = need_fixture("mask_square.png")
    src = video_info(clip)
    w, h = src["width"], src["height"]
    frame_png(clip, tmp_path / "edit0.png", vf="hue=h=90:s=1.5")
    spec = write_spec(tmp_path, {
        "mode": "propagate", "video": str(clip),
        "masks": [{"frame": 0, "image": str(mask), "weight": 0.85}], "mask_mode": "linear",
        "keyframes": [{"frame": 0, "image": "edit0.png"}], "steps": 1, "seed": 1,
    })
    out = edit(spec, tmp_path / "result.mp4")

    # frames and timestamps
    res = video_info(out)
    assert (res["width"], res["height"], res["pix_fmt"]) == (w, h, "yuv420p"), res
    assert res["frames"] == src["frames"], f"{res['frames']} frames, source {src['frames']}"
    sp, op = video_pts(clip), video_pts(out)
    bad = [i for i, (a, b) in enumerate(zip(sp, op)) if a != b]
    assert len(sp) == len(op) and not bad, \
        f"timestamps differ at frames {bad[:10]}: source {[float(sp[i]) for i in bad[:3]]}, " \
        f"output {[float(op[i]) for i in bad[:3]]}"

    # audio packets
    sa, oa = audio_packet_hashes(clip), audio_packet_hashes(out)
    assert sa, "the fixture has no audio"
    assert oa == sa, f"audio: {len(oa)} packets, source {len(sa)}; first differing " \
                     f"{next((i for i, (a, b) in enumerate(zip(sa, oa)) if a != b), None)}"

    # pixels outside the mask
    coverage = read_png_gray(mask, w, h)
    outside = ~dilate(coverage > 0, GROW)
    inside = coverage >= 1.0
    p_out, p_in = Psnr(outside), Psnr(inside)
    for a, b in zip(iter_frames(clip, w, h), iter_frames(out, w, h)):
        p_out.add(a, b)
        p_in.add(a, b)
    assert p_out.frames == src["frames"]
    figures = (f"fidelity on running_car.mp4 ({src['frames']} frames, crf 18, yuv420p): "
               f"PSNR outside the mask {p_out.value:.2f} dB (worst frame {p_out.worst:.2f} dB, "
               f"{outside.mean() * 100:.1f}% of the frame); inside it {p_in.value:.2f} dB "
               f"(the edit); frames {res['frames']}/{src['frames']}, {len(op)} timestamps equal, "
               f"{len(oa)}/{len(sa)} audio packets bit-exact")
    print("\n" + figures)
    assert p_out.value >= 40.0, figures
    # coverage 0 passes the source through, so the one loss is the encoder's:
    # the hardest frame for x264 at crf 18 is near 40 dB, not far under it
    assert p_out.worst >= 37.0, figures
