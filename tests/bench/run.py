"""make bench: one table measured in one run, on 2 threads.

- the limit: OpenBLAS sgemm GFLOP/s at 2048^3 and at our tile shapes, from
  build/bench/attn_bench (whose figures are printed as they come);
- attention on equal work: our kernel, a NumPy and a PyTorch reference on
  the same inputs, checked equal to 1e-3 (equal.py);
- whole jobs: `maskattn edit` beside ffmpeg's nlmeans, deflicker and tmix
  on the same clip, and both modes at 1920x1080 with their peak memory
  (clips.py).

A benchmark: it prints figures; only a reference that disagrees with our
kernel, or a run that fails, is an error.
"""
import os
import re
import subprocess
import tempfile

import clips
import equal

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_DIR = os.environ.get("MASKATTN_BENCH_DIR", os.path.join(HERE, "..", "..", "build", "bench"))
CORE = re.compile(r"^OpenBLAS core (\S+)$", re.M)
SGEMM = re.compile(r"^OpenBLAS sgemm (\S+)(?: \((?:a )?(.*?)\))?, (\d+) threads? +([\d.]+) GFLOP/s")
# which of our cases each sgemm shape is the limit of
LIMIT_OF = {None: "dense", "dense tile": "dense", "window tile": "window_r8"}


def attn_bench():
    """Runs attn_bench, printing its lines; returns its sgemm figures
    (shape, what, threads, GFLOP/s). The OpenBLAS core it ran on (the one
    maskattn picks) is set for everything run after it, the NumPy and
    PyTorch references too, so that all run on the same kernels."""
    out = subprocess.run([os.path.join(BENCH_DIR, "attn_bench")], check=True,
                         capture_output=True, text=True).stdout
    print(out, end="", flush=True)
    core = CORE.search(out)
    if core:
        os.environ["OPENBLAS_CORETYPE"] = core.group(1)
    found = [m.groups() for m in map(SGEMM.match, out.splitlines()) if m]
    if not found:
        raise SystemExit("attn_bench printed no sgemm figure")
    return [(shape, what, int(threads), float(gflops)) for shape, what, threads, gflops in found]


def limit_rows(sgemm, cases):
    """sgemm rows, each beside the case it bounds (1-thread figures doubled for 2 cores)."""
    rows = []
    for shape, what, threads, gflops in sgemm:
        name = LIMIT_OF.get(what, "dense")
        case = cases[name]
        ours = case["flops"] / case["seconds"] * 1e-9
        bound = gflops * case["threads"] / threads
        scaled = "" if threads == case["threads"] else f"{case['threads']}x "
        rows.append({"what": f"OpenBLAS sgemm{', ' + what if what else ''}, {threads} thread"
                             f"{'s' if threads > 1 else ''}",
                     "size": shape, "seconds": None, "fps": None, "gflops": gflops,
                     "vs": f"ours {name} at {ours / bound:.0%} of {scaled}this"})
    return rows


def faster(ratio):
    return f"ours {ratio:.1f}x faster" if ratio >= 1 else f"ours {1 / ratio:.1f}x slower"


def cells(row):
    seconds = row["seconds"]
    time_text = "" if seconds is None else f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
    vs = row.get("vs") or (faster(row["ratio"]) if row.get("ratio") else "")
    return [row["what"], row["size"], time_text,
            "" if row["fps"] is None else f"{row['fps']:.2f}",
            "" if row["gflops"] is None else f"{row['gflops']:.1f}", vs]


def print_table(sections):
    """sections: [(title, rows)], printed as one table."""
    head = ["what", "size", "time", "fps", "GFLOP/s useful", "vs ours"]
    lines = [cells(r) for _, rows in sections for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *lines)]
    align = ["<", "<", ">", ">", ">", "<"]

    def fmt(values):
        return "  ".join(f"{v:{a}{w}}" for v, a, w in zip(values, align, widths)).rstrip()
    print(fmt(head))
    for title, rows in sections:
        print(f"-- {title}")
        for r in rows:
            print(fmt(cells(r)))


def load():
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    load_start = load()
    with tempfile.TemporaryDirectory() as folder:
        sgemm = attn_bench()
        attention, cases, check_lines = equal.rows(BENCH_DIR, folder)
        clip_rows = clips.clip_rows(folder)
        hd_rows = clips.hd_memory(folder)
    print(f"\nmake bench: 2 threads; load average (1, 5, 15 min) {load_start} at the start, "
          f"{load()} at the end")
    print_table([("the limit", limit_rows(sgemm, cases)),
                 ("attention on equal work (same inputs, outputs equal to 1e-3)", attention),
                 ("whole jobs on one clip, 2 threads (ffmpeg rows: vs ours stabilize, whole frame)",
                  clip_rows),
                 ("whole jobs at 1920x1080", hd_rows)])
    print("equality checks:")
    for line in check_lines:
        print("  " + line)


if __name__ == "__main__":
    main()
