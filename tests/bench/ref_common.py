"""What the attention references share: the cases attn_equal writes, the
query subsets they time, the equality check and the timing.

A case directory holds case.json and raw float32 arrays (see
tests/bench/attn_equal.c). Our output is in it; a reference computes the
same from the same inputs, and its result must match ours to TOLERANCE.
"""
import json
import os
import time

import numpy as np

TOLERANCE = 1e-3


def load_case(folder):
    """case.json as a dict, plus its arrays under "arrays", shaped."""
    with open(os.path.join(folder, "case.json")) as f:
        case = json.load(f)
    h, w, n, d, dv = case["height"], case["width"], case["planes"], case["d"], case["dv"]
    if case["kind"] == "dense":
        nq, nk = case["nq"], case["nk"]
        shapes = {"qplanes": (n, h, w), "qx": (nq,), "qy": (nq,), "keys": (nk, d),
                  "values": (nk, dv), "bias": (nk,), "out": (nq, dv), "entropy": (nq,)}
    else:
        shapes = {"qplanes": (n, h, w), "kplanes": (n, h, w), "vplanes": (dv, h, w),
                  "mask": (h, w), "cx": (h, w), "cy": (h, w), "out": (h, w, dv),
                  "entropy": (h, w)}
    case["arrays"] = {name: np.fromfile(os.path.join(folder, name + ".f32"), "<f4").reshape(shape)
                      for name, shape in shapes.items()}
    return case


def round_half_away(v):
    """C's roundf, on float32 values (exact in float64)."""
    v = np.asarray(v, np.float64)
    return np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5)).astype(np.int64)


def window_offsets(radius):
    """The (dy, dx) of a (2r+1)^2 window, as two int arrays."""
    side = np.arange(-radius, radius + 1)
    dy, dx = np.meshgrid(side, side, indexing="ij")
    return dy.ravel(), dx.ravel()


def patch_features(planes, case, xs, ys):
    """Features of the tokens at (xs, ys) (int arrays of one shape S):
    per plane the 3x3 patch, border clamped, patch mean removed where
    asked, times the plane's weight. Returns S + (d,), float32."""
    h, w = planes.shape[1:]
    dy, dx = window_offsets(case["patch_radius"])
    rows = np.clip(ys[..., None] + dy, 0, h - 1)
    cols = np.clip(xs[..., None] + dx, 0, w - 1)
    parts = []
    for c, plane in enumerate(planes):
        p = plane[rows, cols]
        if case["zero_mean"][c]:
            p = p - p.mean(axis=-1, keepdims=True, dtype=np.float32)
        parts.append(np.float32(case["weights"][c]) * p)
    return np.concatenate(parts, axis=-1)


def subset(case, fraction):
    """The queries a reference computes: all of the dense case's; a band of
    rows in the middle of a window case, fraction of its height (so the
    key rows it needs shrink with it and its time scales by 1 / fraction)."""
    if case["kind"] == "dense":
        return slice(None)
    h = case["height"]
    rows = max(1, min(h, round(h * fraction)))
    return slice((h - rows) // 2, (h - rows) // 2 + rows)


def key_rows(case, part):
    """The rows [y0, y1) of the reference that the windows of rows part reach."""
    cy = round_half_away(case["arrays"]["cy"][part])
    r, h = case["radius"], case["height"]
    return max(0, int(cy.min()) - r), min(h, int(cy.max()) + r + 1)


def warm_subset(case):
    """A few queries to warm up on: the dense case whole, two rows of a window case."""
    return slice(None) if case["kind"] == "dense" else slice(case["height"] // 2, case["height"] // 2 + 2)


def subset_share(case, part):
    """The share of the case's queries in part."""
    if case["kind"] == "dense":
        return 1.0
    return len(range(case["height"])[part]) / case["height"]


def check(case, part, out, entropy):
    """Max |ours - theirs| of the output and the entropy over the queries of
    part; an error beyond TOLERANCE."""
    ours = case["arrays"]
    d_out = float(np.max(np.abs(ours["out"][part] - out)))
    d_ent = float(np.max(np.abs(ours["entropy"][part] - entropy)))
    if not (d_out <= TOLERANCE and d_ent <= TOLERANCE):
        raise AssertionError(f"{case['name']}: differs from ours: max |out| {d_out:.2e}, "
                             f"max |entropy| {d_ent:.2e} (tolerance {TOLERANCE})")
    return d_out, d_ent


def best_time(run, warm, runs=3, budget=20.0):
    """Best wall time of run() over up to runs runs, after warm(); stops
    early once budget seconds went by. Returns (seconds, result of the last
    run, runs made)."""
    warm()
    best, made, start = float("inf"), 0, time.monotonic()
    while made < runs and (made == 0 or time.monotonic() - start < budget):
        t0 = time.monotonic()
        result = run()
        best = min(best, time.monotonic() - t0)
        made += 1
    return best, result, made


def measure(name, folder, compute, fraction):
    """Loads the case in folder, times compute(case, part) on the subset,
    checks it against ours, and returns the figures as a dict."""
    case = load_case(folder)
    case["name"] = os.path.basename(folder.rstrip("/"))
    part = subset(case, fraction)
    seconds, (out, entropy), runs = best_time(lambda: compute(case, part),
                                          lambda: compute(case, warm_subset(case)))
    d_out, d_ent = check(case, part, out, entropy)
    share = subset_share(case, part)
    return {"reference": name, "case": case["name"], "seconds": seconds / share,
            "measured_seconds": seconds, "share": share, "runs": runs,
            "max_diff_out": d_out, "max_diff_entropy": d_ent}


def main(name, compute, argv):
    """ref_*.py DIR CASE[:FRACTION]...: one JSON line of figures per case."""
    folder = argv[1]
    for spec in argv[2:]:
        case, _, fraction = spec.partition(":")
        figures = measure(name, os.path.join(folder, case), compute, float(fraction or 1))
        print(json.dumps(figures), flush=True)
