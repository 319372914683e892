"""Our attention kernel beside the NumPy and PyTorch references on equal work.

build/bench/attn_equal writes the inputs of each case with our output and
time; ref_numpy.py and ref_torch.py (each in a process of its own, 2
threads) compute the same from the same inputs, time themselves and fail
unless they match ours to 1e-3. A reference too slow for the whole of a
window case computes a band of its rows (FRACTIONS), and its time is scaled
to the whole frame.
"""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = 3
# case: (NumPy's share of the rows, PyTorch's)
FRACTIONS = {"dense": (1.0, 1.0), "window_r2": (1.0, 1.0), "window_r8": (0.25, 0.25)}
REFERENCES = [("NumPy", "ref_numpy.py", 0), ("PyTorch", "ref_torch.py", 1)]


def run_ours(bench_dir, folder):
    """Runs attn_equal into folder; returns its case headers by name."""
    subprocess.run([os.path.join(bench_dir, "attn_equal"), folder, str(RUNS)], check=True)
    cases = {}
    for name in FRACTIONS:
        with open(os.path.join(folder, name, "case.json")) as f:
            cases[name] = json.load(f)
    return cases


def run_reference(script, folder, which):
    """One reference over every case; its figures by case name."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2")
    specs = [f"{name}:{fractions[which]}" for name, fractions in FRACTIONS.items()]
    proc = subprocess.run(["/usr/bin/python3", os.path.join(HERE, script), folder] + specs,
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{script} failed:\n{proc.stderr.strip()}")
    figures = [json.loads(line) for line in proc.stdout.splitlines()]
    return {f["case"]: f for f in figures}


def size_of(case):
    if case["kind"] == "dense":
        return f"{case['nq']} q x {case['nk']} keys, d={case['d']} dv={case['dv']}"
    return (f"{case['width']}x{case['height']} r={case['radius']}, d={case['d']} dv={case['dv']}, "
            f"{case['block']}x{case['block']} blocks")


def case_rows(name, case, refs):
    """Our row and the references' rows for one case."""
    fps = case["kind"] == "window"
    share = case["useful"] / case["scores"]
    rows = [{"what": f"ours, attn_attend ({case['threads']} threads, {share:.0%} of scores useful)",
             "size": size_of(case), "seconds": case["seconds"],
             "fps": 1 / case["seconds"] if fps else None,
             "gflops": case["flops"] / case["seconds"] * 1e-9}]
    for ref in refs:
        f = ref[name]
        band = "" if f["share"] == 1 else f", {f['share']:.0%} of rows, time scaled"
        rows.append({"what": f"{f['reference']} reference{band}", "size": "same inputs",
                     "seconds": f["seconds"], "fps": 1 / f["seconds"] if fps else None,
                     "gflops": case["flops"] / f["seconds"] * 1e-9,
                     "ratio": f["seconds"] / case["seconds"]})
    return rows


def checks(refs):
    """One line per reference and case: the max differences from ours."""
    return [f"{f['reference']:8s} {f['case']:10s} max |ours - theirs| out {f['max_diff_out']:.1e}, "
            f"entropy {f['max_diff_entropy']:.1e} ({f['runs']} timed runs)"
            for ref in refs for f in ref.values()]


def rows(bench_dir, folder):
    """The table's attention rows, our cases' headers, and the check lines."""
    cases = run_ours(bench_dir, folder)
    refs = [run_reference(script, folder, which) for _, script, which in REFERENCES]
    table = [r for name, case in cases.items() for r in case_rows(name, case, refs)]
    return table, cases, checks(refs)
