"""`maskattn edit --stats`: one JSON line on stdout with the job's figures,
and the OpenBLAS core the job ran on. OpenBLAS picks its kernels from the
CPU model when it loads and falls back to generic SSE3 ones on a CPU newer
than itself; maskattn then runs itself again with OPENBLAS_CORETYPE set to
the best core the CPU can run, unless the user set it."""
import json

import pytest

from cli_media import make_box_png, make_clip, run_edit, write_spec

FRAMES = 8
AVX512_CORES = {"skylakex", "cooperlake", "sapphirerapids"}
AVX2_CORES = {"haswell", "zen"} | AVX512_CORES
FIELDS = {"frames", "seconds", "fps", "decode_seconds", "attend_seconds", "blend_seconds",
          "encode_seconds", "gflops", "useful_share", "attention_entropy_mean", "blas_core"}


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    d = tmp_path_factory.mktemp("stats")
    make_clip(d / "clip.mp4", size="128x72", frames=FRAMES)
    make_box_png(d / "mask.png", "128x72", (20, 10, 60, 40))
    return write_spec(d, {"mode": "stabilize", "video": "clip.mp4", "steps": 1,
                          "masks": [{"frame": 0, "image": "mask.png"}]})


def stats(job, core):
    r = run_edit("--spec", job, "--out", job.parent / "out.mp4", "--stats",
                 env={"OPENBLAS_CORETYPE": core})
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout
    return json.loads(lines[0])


def test_stats_give_the_jobs_figures(job):
    s = stats(job, None)
    assert set(s) == FIELDS, s
    assert s["frames"] == FRAMES
    assert s["fps"] > 0 and s["seconds"] > 0
    assert abs(s["fps"] - FRAMES / s["seconds"]) < 0.05 * s["fps"], s
    for stage in ("decode_seconds", "attend_seconds", "blend_seconds", "encode_seconds"):
        assert 0 <= s[stage] <= s["seconds"] * 2, s
    assert 0 < s["useful_share"] <= 1


def test_runs_on_the_best_core_the_cpu_has(job):
    core = stats(job, None)["blas_core"].lower()
    flags = cpu_flags()
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        assert core in AVX512_CORES, core
    elif {"avx2", "fma"} <= flags:
        assert core in AVX2_CORES, core


def test_a_core_the_user_sets_is_kept(job):
    assert stats(job, "Prescott")["blas_core"] == "Prescott"
