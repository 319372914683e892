"""Reference: our attention in plain NumPy (float32; its matrix products
run on OpenBLAS). Computes what attn_attend computes for the cases that
tests/bench/attn_equal writes, times itself, and checks its result against
ours (see ref_common.py).

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 ref_numpy.py DIR CASE[:FRACTION]...

Dense: every query against every key in one score matrix. Window: one
pass over the (2r+1)^2 window offsets, each gathering one key per query.
"""
import sys

import numpy as np

import ref_common as rc


def finish(total, acc, ent_sum):
    """Output and entropy from the softmax sums; zero where no key was seen."""
    seen = total > 0
    inv = np.where(seen, 1 / np.where(seen, total, 1), 0).astype(np.float32)
    entropy = np.where(seen, np.log(np.where(seen, total, 1)) - ent_sum * inv, 0)
    return acc * inv[..., None], entropy.astype(np.float32)


def dense(case, part):
    a = case["arrays"]
    scale = np.float32(case["scale"])
    q = rc.patch_features(a["qplanes"], case, a["qx"][part].astype(np.int64),
                          a["qy"][part].astype(np.int64))
    k = a["keys"]
    kterm = a["bias"] - scale * np.einsum("jd,jd->j", k, k)
    s = (2 * scale) * (q @ k.T) + kterm
    x = s - s.max(axis=1, keepdims=True)
    e = np.exp(x)
    return finish(e.sum(axis=1), e @ a["values"], np.einsum("ij,ij->i", e, x))


def window_keys(case, part):
    """Key features, their squared norms and the log coverage of the rows
    that the windows of part reach, and the first of those rows."""
    a = case["arrays"]
    y0, y1 = rc.key_rows(case, part)
    ys, xs = np.mgrid[y0:y1, 0:case["width"]]
    kf = rc.patch_features(a["kplanes"], case, xs, ys)
    mask = a["mask"][y0:y1]
    logm = np.log(np.where(mask > 0, mask, 1)).astype(np.float32)
    return kf, np.einsum("yxd,yxd->yx", kf, kf), logm, mask > 0, y0


def window(case, part):
    a = case["arrays"]
    h, w = case["height"], case["width"]
    scale, lam = np.float32(case["scale"]), np.float32(case["lambda"])
    ys, xs = np.mgrid[0:h, 0:w]
    q = rc.patch_features(a["qplanes"], case, xs[part], ys[part])
    kf, knorm, logm, covered, y0 = window_keys(case, part)
    cx, cy = a["cx"][part], a["cy"][part]
    rcx, rcy = rc.round_half_away(cx), rc.round_half_away(cy)
    dy, dx = rc.window_offsets(case["radius"])
    s = np.empty((len(dy),) + cx.shape, np.float32)
    valid = np.empty(s.shape, bool)
    rows, cols = [], []
    for o in range(len(dy)):
        kx, ky = rcx + dx[o], rcy + dy[o]
        inside = (kx >= 0) & (kx < w) & (ky >= 0) & (ky < h)
        r, c = np.clip(ky, 0, h - 1) - y0, np.clip(kx, 0, w - 1)
        dot = np.einsum("yxd,yxd->yx", q, kf[r, c])
        prior = (kx.astype(np.float32) - cx) ** 2 + (ky.astype(np.float32) - cy) ** 2
        s[o] = scale * (2 * dot - knorm[r, c]) + logm[r, c] - lam * prior
        valid[o] = inside & covered[r, c]
        rows.append(r)
        cols.append(c)
    m = np.where(valid, s, -np.inf).max(axis=0)
    x = s - np.where(np.isfinite(m), m, 0)
    e = np.where(valid, np.exp(np.where(valid, x, 0)), 0).astype(np.float32)
    values = a["vplanes"][:, y0:].transpose(1, 2, 0)
    acc = np.zeros(cx.shape + (case["dv"],), np.float32)
    for o in range(len(dy)):
        acc += e[o][..., None] * values[rows[o], cols[o]]
    return finish(e.sum(axis=0), acc, np.einsum("o...,o...->...", e, x))


def compute(case, part):
    return dense(case, part) if case["kind"] == "dense" else window(case, part)


if __name__ == "__main__":
    rc.main("NumPy", compute, sys.argv)
