"""Reference: our attention in PyTorch (float32, CPU, 2 threads). Computes
what attn_attend computes for the cases that tests/bench/attn_equal writes,
times itself, and checks its result against ours (see ref_common.py).

    /usr/bin/python3 ref_torch.py DIR CASE[:FRACTION]...

Patch features come from torch.nn.functional.unfold over the replicate-
padded planes. Dense: one score matrix, softmax. Window: each query's
(2r+1)^2 keys gathered around its own centre (the centres vary per query,
so a fixed unfold window does not fit), then batched products and softmax,
in chunks of queries. torch 1.13 has no scaled_dot_product_attention, and
it would not take the |k|^2 term, the prior or the windows anyway.
"""
import sys

import torch
import torch.nn.functional as F

import ref_common as rc

CHUNK_SCORES = 1 << 22    # window scores per batch of queries


def feature_rows(planes, case, y0, y1):
    """Features of every token of rows [y0, y1): (rows, width, d)."""
    r = case["patch_radius"]
    n, h, w = planes.shape
    x = F.pad(planes[None], (r, r, r, r), mode="replicate")[:, :, y0:y1 + 2 * r]
    cols = F.unfold(x, 2 * r + 1).view(n, (2 * r + 1) ** 2, y1 - y0, w)
    zero_mean = torch.tensor(case["zero_mean"], dtype=torch.bool).view(n, 1, 1, 1)
    cols = torch.where(zero_mean, cols - cols.mean(dim=1, keepdim=True), cols)
    cols = cols * torch.tensor(case["weights"], dtype=torch.float32).view(n, 1, 1, 1)
    return cols.reshape(n * (2 * r + 1) ** 2, y1 - y0, w).permute(1, 2, 0)


def softmax_out(s, values):
    """Output (p v, batched when values is 3-D) and entropy of scores s,
    -inf where a key is left out; zero where no key was seen."""
    p = torch.softmax(s, dim=-1).nan_to_num(0.0)
    out = torch.bmm(p[:, None], values)[:, 0] if values.dim() == 3 else p @ values
    return out, -torch.special.xlogy(p, p).sum(dim=-1)


def dense(case, part):
    a = case["arrays"]
    scale = case["scale"]
    qx = torch.from_numpy(a["qx"][part]).long()
    qy = torch.from_numpy(a["qy"][part]).long()
    y0, y1 = int(qy.min()), int(qy.max()) + 1
    q = feature_rows(torch.from_numpy(a["qplanes"]), case, y0, y1)[qy - y0, qx]
    k = torch.from_numpy(a["keys"])
    s = torch.addmm(torch.from_numpy(a["bias"]) - scale * (k * k).sum(dim=1), q, k.t(),
                    alpha=2 * scale)
    return softmax_out(s, torch.from_numpy(a["values"]))


def window_chunk(case, t, q, cx, cy):
    """Output and entropy of queries q (n, d) with centres cx, cy (n)."""
    h, w = case["height"], case["width"]
    rcx = torch.where(cx >= 0, torch.floor(cx.double() + 0.5), torch.ceil(cx.double() - 0.5)).long()
    rcy = torch.where(cy >= 0, torch.floor(cy.double() + 0.5), torch.ceil(cy.double() - 0.5)).long()
    kx, ky = rcx[:, None] + t["dx"], rcy[:, None] + t["dy"]
    inside = (kx >= 0) & (kx < w) & (ky >= 0) & (ky < h)
    idx = (ky.clamp(0, h - 1) - t["y0"]) * w + kx.clamp(0, w - 1)
    k = t["kf"][idx]
    dot = torch.bmm(k, q[:, :, None])[:, :, 0]
    prior = (kx.float() - cx[:, None]) ** 2 + (ky.float() - cy[:, None]) ** 2
    s = case["scale"] * (2 * dot - t["knorm"][idx]) + t["logm"][idx] - case["lambda"] * prior
    s = s.masked_fill(~(inside & t["covered"][idx]), float("-inf"))
    return softmax_out(s, t["values"][idx])


def window(case, part):
    a = case["arrays"]
    y0, y1 = rc.key_rows(case, part)
    rows = range(case["height"])[part]
    q = feature_rows(torch.from_numpy(a["qplanes"]), case, rows[0], rows[-1] + 1)
    kf = feature_rows(torch.from_numpy(a["kplanes"]), case, y0, y1).reshape(-1, case["d"])
    mask = torch.from_numpy(a["mask"][y0:y1]).reshape(-1)
    dy, dx = rc.window_offsets(case["radius"])
    tables = {"kf": kf, "knorm": (kf * kf).sum(dim=1), "covered": mask > 0,
              "logm": torch.log(torch.where(mask > 0, mask, torch.ones_like(mask))),
              "values": torch.from_numpy(a["vplanes"][:, y0:y1]).reshape(case["dv"], -1).t(),
              "dx": torch.from_numpy(dx), "dy": torch.from_numpy(dy), "y0": y0}
    q = q.reshape(-1, case["d"])
    cx = torch.from_numpy(a["cx"][part]).reshape(-1)
    cy = torch.from_numpy(a["cy"][part]).reshape(-1)
    chunk = CHUNK_SCORES // len(dy)
    parts = [window_chunk(case, tables, q[i:i + chunk], cx[i:i + chunk], cy[i:i + chunk])
             for i in range(0, len(q), chunk)]
    out = torch.cat([p[0] for p in parts]).view(len(rows), case["width"], case["dv"])
    entropy = torch.cat([p[1] for p in parts]).view(len(rows), case["width"])
    return out, entropy


def compute(case, part):
    with torch.no_grad():
        out, entropy = dense(case, part) if case["kind"] == "dense" else window(case, part)
    return out.numpy(), entropy.numpy()


if __name__ == "__main__":
    torch.set_num_threads(2)
    rc.main("PyTorch", compute, sys.argv)
