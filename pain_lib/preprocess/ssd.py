"""Statistical Spatiotemporal Distillation (SSD; ssd Sec. 2.1).

A clip of ``L`` frames is cut into ``S = floor(L / l)`` non-overlapping segments of ``l``
frames (leftover frames are dropped).  For each pair of consecutive segments ``(X, Y)``, each
colour channel and each frame ``j = 1..l``, a Gaussian-scale-mixture (GSM) *information
weight* ``w_{j,i}`` is computed at every pixel ``i`` from the block (patch) of ``h x w``
pixels around it (``K = h*w``), with x from frame ``j`` of X and y from frame ``j`` of Y::

    g       = sigma_xy / sigma_x^2                   (local box statistics)
    sigma_v^2 = sigma_y^2 - g sigma_xy
    C_u     = (1/N) sum_i x_i x_i^T                  (all N blocks of segment X, per channel)
    alpha^2 = x^T C_u^{-1} x / K                     (per pixel)
    w = 1/2 sum_k log(1 + sigma_v^2/sigma_n^2
                         + (sigma_v^2/sigma_n^4 + (1+g^2)/sigma_n^2) alpha^2 lambda_k)

(ssd Eqs. 11-15; lambda_k are the eigenvalues of C_u).  The weighted MSE of Eq. 6 becomes a
map: ``e_j(i) = P w_{j,i} (x_{j,i} - y_{j,i})^2 / sum_i' w_{j,i'}`` (P = pixels per frame;
its spatial mean is exactly the printed weighted MSE), averaged over the ``l`` frames.  The
``S-1`` maps of a channel are merged by the softmax-weighted sum of the paper:
``S(i) = sum_m beta_m(i) e_m(i)``, ``beta_m(i) = exp(e_m(i)) / sum_m' exp(e_m'(i))``.

Interpretation choices (the paper is ambiguous; also listed in the notebook):

* Eq. 6 prints a product over frames ``j``; a product of ``l`` MSEs under/overflows and
  is zero wherever one frame pair agrees, so the map is the *mean* over frames.
* The weight is per pixel; the normaliser ``sum_i w`` runs over the whole frame (Eq. 6's
  sum over ``P`` points), so the map's spatial mean equals the printed scalar.
* ``g`` and ``sigma_v^2`` use locally centred box statistics over the block (as the issue and
  IW-SSIM do) rather than Eq. 14's uncentred ``x^T y / x^T x``; ``C_u`` and ``alpha^2`` use
  blocks of the segment with its per-channel mean removed (u is zero-mean); eigenvalues
  below ``1e-6 * lambda_max`` are floored there, so ``C_u^{-1}`` exists.
* Intensities are divided by ``value_scale`` (255: uint8 and 0..255 floats) before anything
  else; ``sigma_n^2 = 0.4 / 255^2`` is IW-SSIM's noise variance (0.4 grey levels^2).
* Where ``sigma_x^2 < 1e-10`` (flat block), ``g = 0`` and ``sigma_v^2 = sigma_y^2``.
* Borders: reflect padding, so every map has the input's size.
* On optical flow: the flow sequence is encoded as uint8 ``(dx, dy, |f|)`` (``flow_to_rgb``
  mode ``uvm``) and SSD runs on that 3-channel video.

Everything is vectorised in torch (box filters by ``avg_pool2d``, blocks by ``unfold``,
quadratic forms by batched matrix products): no Python loop over pixels; it runs on the
input's device (CUDA when the clip is a CUDA tensor or ``device="cuda"``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ._validate import _check_clip, _restore

__all__ = [
    "SIGMA_N2",
    "gsm_weight",
    "information_weights",
    "ssd_pair_maps",
    "ssd_maps",
    "ssd_map",
    "ssd_flow_map",
    "softmax_aggregate",
]

#: IW-SSIM's noise variance, 0.4 grey levels^2, in units of the [0, 1] intensity scale
SIGMA_N2 = 0.4 / 255.0**2
_FLAT = 1e-10
_EIG_FLOOR = 1e-6


def _patch_hw(patch) -> tuple[int, int]:
    ph, pw = (patch, patch) if isinstance(patch, (int, np.integer)) else tuple(patch)
    if not (isinstance(ph, (int, np.integer)) and isinstance(pw, (int, np.integer))):
        raise ValueError(f"patch must be an odd int or a pair of odd ints, got {patch!r}")
    if ph < 1 or pw < 1 or ph % 2 == 0 or pw % 2 == 0:
        raise ValueError(f"patch sides must be odd and positive (centred blocks), got {patch!r}")
    return int(ph), int(pw)


def _pad(x: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
    """Reflect-pad the last two dims of ``(N, C, H, W)`` by half a patch."""
    return F.pad(x, (pw // 2, pw // 2, ph // 2, ph // 2), mode="reflect")


def _box(x: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
    """Mean over the ``ph x pw`` block centred at each pixel, reflect borders. ``(N,C,H,W)``.

    Separable running sums of shifted views (``ph + pw - 2`` in-place adds): exact to float
    rounding (no cumulative-sum cancellation) and ~9x faster than ``avg_pool2d`` on the CPU.
    """
    H, W = x.shape[-2:]
    xp = _pad(x, ph, pw)
    h = xp[..., 0:W].clone()
    for j in range(1, pw):
        h += xp[..., j:j + W]
    v = h[..., 0:H, :].clone()
    for i in range(1, ph):
        v += h[..., i:i + H, :]
    return v.mul_(1.0 / (ph * pw))


def gsm_weight(var_v, g, alpha2, eigvals, sigma_n2: float = SIGMA_N2):
    """Closed-form GSM information weight (ssd Eq. 11), element-wise.

    ``w = 1/2 sum_k log(1 + var_v/sigma_n2 + (var_v/sigma_n2^2 + (1+g^2)/sigma_n2) alpha2 lambda_k)``.

    ``var_v``, ``g``, ``alpha2``: tensors/arrays of one shape ``S`` (broadcastable);
    ``eigvals``: ``(K,)`` or ``S + (K,)``. Returns shape ``S``. Increases with ``var_v``.
    """
    tv = [torch.as_tensor(v, dtype=torch.float64) if not isinstance(v, torch.Tensor) else v
          for v in (var_v, g, alpha2, eigvals)]
    var_v, g, alpha2, lam = tv
    a = 1.0 + var_v / sigma_n2
    b = (var_v / sigma_n2**2 + (1.0 + g * g) / sigma_n2) * alpha2
    return 0.5 * torch.log(a.unsqueeze(-1) + b.unsqueeze(-1) * lam).sum(-1)


def _log_prod_coefs(lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Coefficients for :func:`_log_prod_1p`: ``e_j`` of ``lam' = lam / lam_max`` per channel
    (float64 ``(C, K+1)``, ascending powers) and ``lam_max`` ``(C, 1)``."""
    lam64 = lam.double()
    lmax = lam64[:, -1:].clamp(min=torch.finfo(torch.float64).tiny)
    # np.poly gives [1, e_1, ..., e_K] of prod_k (x + lam'_k), and
    # prod_k (1 + s lam'_k) = sum_j e_j s^j, so index j is the coefficient of s^j
    coef = np.stack([np.poly(-(lam64[c] / lmax[c]).cpu().numpy()) for c in range(lam.shape[0])])
    return torch.as_tensor(coef, device=lam.device), lmax


def _log_prod_1p(r: torch.Tensor, lam: torch.Tensor, coefs=None) -> torch.Tensor:
    """``sum_k log(1 + r * lam_k)`` for ``r >= 0`` of shape ``(C, ...)`` and ``lam`` ``(C, K)``.

    Evaluated as ``log`` of the polynomial ``prod_k (1 + s lam'_k)`` (``s = r lam_max``,
    ``lam' = lam / lam_max``) by Horner's rule in float64 -- all coefficients are positive, so
    there is no cancellation -- with one logarithm per point instead of ``K``.  Points where
    the polynomial overflows fall back to the direct sum of ``log1p``.
    """
    C, K = lam.shape
    coef, lmax = _log_prod_coefs(lam) if coefs is None else coefs
    shape = (C,) + (1,) * (r.ndim - 1)
    s = r.double() * lmax.view(shape)
    p = coef[:, K].view(shape).expand_as(s).clone()
    for j in range(K - 1, -1, -1):
        p.mul_(s).add_(coef[:, j].view(shape))
    out = torch.log(p)
    # (1 + s)^K bounds the polynomial: only check for overflow when it could happen
    if K * math.log10(1.0 + float(s.max())) > 300.0:
        bad = ~torch.isfinite(out)
    else:
        bad = None
    if bad is not None and bool(bad.any()):
        idx = bad.nonzero(as_tuple=True)
        out[idx] = torch.log1p(r.double()[idx].unsqueeze(-1) * lam.double()[idx[0]]).sum(-1)
    return out.to(r.dtype)


def _blocks_view(xp: torch.Tensor, ph: int, pw: int, H: int, W: int) -> torch.Tensor:
    """Strided view ``(C, ph, pw, L, H, W)`` of every block of a padded ``(C, L, H', W')``."""
    C, L = xp.shape[:2]
    st = xp.stride()
    return xp.as_strided((C, ph, pw, L, H, W), (st[0], st[2], st[3], st[1], st[2], st[3]))


def information_weights(X: torch.Tensor, Y: torch.Tensor, patch=5, sigma_n2: float = SIGMA_N2,
                        *, tile: int | None = None):
    """GSM information weights of two segments.

    ``X, Y``: float tensors ``(C, l, H, W)`` already on the [0, 1] scale (low-level: no
    validation). Returns ``(C, l, H, W)`` weights ``w_{j,i}`` (``C_u`` estimated per channel
    from all blocks of ``X``).

    ``tile``: frames processed together (CPU default 1, so that the ``K x (tile*H*W)`` block
    matrix and every temporary stays in cache; other devices default to all ``l`` frames).
    Two passes over the tiles: the first accumulates ``C_u``, the second computes
    ``alpha^2`` (whitening GEMM), the box statistics and the closed-form weight.
    """
    ph, pw = _patch_hw(patch)
    C, L, H, W = X.shape
    K, HW = ph * pw, H * W
    if tile is None:
        tile = L if X.device.type != "cpu" else 1
    tile = max(1, min(int(tile), L))
    # blocks of the zero-mean reference segment, as a strided view (C, ph, pw, L, H, W)
    xc = X - X.mean(dim=(1, 2, 3), keepdim=True)
    xp = _pad(xc.reshape(C * L, 1, H, W), ph, pw).reshape(C, L, H + ph - 1, W + pw - 1)
    blocks = _blocks_view(xp, ph, pw, H, W)
    buf = torch.empty((C, K, tile * HW), dtype=X.dtype, device=X.device)
    # pass 1: C_u = (1/N) sum_i x_i x_i^T over the N = l*H*W blocks
    Cu = torch.zeros((C, K, K), dtype=X.dtype, device=X.device)
    for f0 in range(0, L, tile):
        n = min(tile, L - f0)
        b = buf[:, :, : n * HW]
        b.view(C, ph, pw, n, H, W).copy_(blocks[:, :, :, f0:f0 + n])
        Cu.baddbmm_(b, b.transpose(1, 2))
    Cu /= L * HW
    lam, vecs = torch.linalg.eigh(Cu)
    floor = (_EIG_FLOOR * lam[:, -1:].clamp(min=0)).clamp(min=torch.finfo(X.dtype).tiny)
    lam = torch.maximum(lam, floor)
    Wt = vecs.transpose(1, 2) / torch.sqrt(lam).unsqueeze(-1)  # whitening: (C,K,K)
    coefs = _log_prod_coefs(lam)
    # pass 2: per tile
    w = torch.empty((C, L, H, W), dtype=X.dtype, device=X.device)
    z = torch.empty_like(buf)
    for f0 in range(0, L, tile):
        n = min(tile, L - f0)
        b, zz = buf[:, :, : n * HW], z[:, :, : n * HW]
        b.view(C, ph, pw, n, H, W).copy_(blocks[:, :, :, f0:f0 + n])
        torch.bmm(Wt, b, out=zz)
        alpha2 = zz.square_().sum(1).view(C, n, H, W) / K  # x^T C_u^-1 x / K
        # local (box) statistics -> g, sigma_v^2
        xt, yt = X[:, f0:f0 + n].reshape(C * n, 1, H, W), Y[:, f0:f0 + n].reshape(C * n, 1, H, W)
        mx, my, mxx, myy, mxy = _box(torch.cat([xt, yt, xt * xt, yt * yt, xt * yt], 1), ph, pw).unbind(1)
        vx = (mxx - mx * mx).clamp_(min=0)
        vy = (myy - my * my).clamp_(min=0)
        cxy = mxy - mx * my
        flat = vx < _FLAT
        g = torch.where(flat, torch.zeros_like(cxy), cxy / torch.where(flat, torch.ones_like(vx), vx))
        vv = torch.where(flat, vy, (vy - g * cxy).clamp_(min=0))
        g, vv = g.view(C, n, H, W), vv.view(C, n, H, W)
        # w = 1/2 sum_k log(a + b lam_k) = 1/2 (K log a + sum_k log(1 + (b/a) lam_k))
        a = 1.0 + vv / sigma_n2
        r = (vv / sigma_n2**2 + (1.0 + g * g) / sigma_n2) * alpha2 / a
        w[:, f0:f0 + n] = 0.5 * (K * torch.log(a) + _log_prod_1p(r, lam, coefs))
    return w


def ssd_pair_maps(X: torch.Tensor, Y: torch.Tensor, patch=5, sigma_n2: float = SIGMA_N2) -> torch.Tensor:
    """SSD map of one pair of consecutive segments, ``(C,l,H,W) x 2 -> (C,H,W)`` (low-level).

    ``e(i) = mean_j P w_{j,i} (x_{j,i} - y_{j,i})^2 / sum_i' w_{j,i'}``.
    """
    C, L, H, W = X.shape
    w = information_weights(X, Y, patch, sigma_n2)
    d2 = (X - Y) ** 2
    wsum = w.sum(dim=(2, 3), keepdim=True)
    ok = wsum > 0
    e = torch.where(ok, (H * W) * w * d2 / torch.where(ok, wsum, torch.ones_like(wsum)), d2)
    return e.mean(dim=1)


def softmax_aggregate(maps: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``(M, C, H, W) -> (C, H, W)``: ``sum_m softmax_m(e_m / temperature) e_m`` per point."""
    beta = torch.softmax(maps / temperature, dim=0)
    return (beta * maps).sum(0)


def _segments(x: torch.Tensor, segment_length: int) -> torch.Tensor:
    C, T, H, W = x.shape
    S = T // segment_length
    return x[:, : S * segment_length].reshape(C, S, segment_length, H, W)


def _check_ssd_args(segment_length, patch, value_scale, sigma_n2, temperature):
    if not isinstance(segment_length, (int, np.integer)) or segment_length < 1:
        raise ValueError(f"segment_length must be a positive integer, got {segment_length!r}")
    _patch_hw(patch)
    for nm, v in (("value_scale", value_scale), ("sigma_n2", sigma_n2), ("temperature", temperature)):
        if not (isinstance(v, (int, float, np.floating)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{nm} must be a positive finite number, got {v!r}")


def ssd_maps(
    clip,
    segment_length: int = 20,
    patch=5,
    *,
    sigma_n2: float = SIGMA_N2,
    value_scale: float = 255.0,
    layout: str = "auto",
    device=None,
    dtype: torch.dtype = torch.float32,
):
    """The ``floor(T/l) - 1`` per-pair SSD maps before aggregation.

    ``(C,T,H,W) -> (M,C,H,W)`` / ``(T,H,W,C) -> (M,H,W,C)``; needs ``T >= 2 l``.
    """
    _check_ssd_args(segment_length, patch, value_scale, sigma_n2, 1.0)
    x, info = _check_clip(clip, channels=(1, 2, 3), layout=layout, device=device, dtype=dtype,
                          min_frames=2 * int(segment_length))
    maps = _ssd_maps(x, int(segment_length), patch, sigma_n2, value_scale)
    return _restore(maps, info, channel_dim=1)


def _ssd_maps(x: torch.Tensor, segment_length: int, patch, sigma_n2: float, value_scale: float) -> torch.Tensor:
    """Validated ``(C,T,H,W)`` float clip -> ``(M,C,H,W)`` pair maps."""
    ph, pw = _patch_hw(patch)
    if x.shape[2] <= ph // 2 or x.shape[3] <= pw // 2:
        raise ValueError(f"clip: frames of {tuple(x.shape[2:])} pixels are too small for patch {patch}")
    seg = _segments(x / value_scale, segment_length)  # (C,S,l,H,W), contiguous
    return torch.stack(
        [ssd_pair_maps(seg[:, s], seg[:, s + 1], patch, sigma_n2) for s in range(seg.shape[1] - 1)]
    )


def ssd_map(
    clip,
    segment_length: int = 20,
    patch=5,
    *,
    sigma_n2: float = SIGMA_N2,
    value_scale: float = 255.0,
    temperature: float = 1.0,
    layout: str = "auto",
    device=None,
    dtype: torch.dtype = torch.float32,
):
    """SSD representation of a clip: one image per colour channel (ssd Sec. 2.1).

    Args:
        clip: ``(T,H,W,C)`` NumPy / ``(C,T,H,W)`` torch, ``T >= 2 * segment_length``.
        segment_length: ``l``, frames per non-overlapping segment (paper: 20).
        patch: block side(s) ``H x W`` (odd; paper: 5).
        sigma_n2: GSM noise variance on the [0, 1] scale.
        value_scale: intensities are divided by it (255 for 0..255 data).
        temperature: softmax temperature of the aggregation (paper: 1).
        device, dtype: where and in which precision to compute.

    Returns:
        ``(C,H,W)`` (torch) / ``(H,W,C)`` (NumPy) non-negative float map; a static clip
        gives zeros. Use :func:`pain_lib.preprocess.rank_pooling.to_uint8_image` for a CNN.
    """
    _check_ssd_args(segment_length, patch, value_scale, sigma_n2, temperature)
    x, info = _check_clip(clip, channels=(1, 2, 3), layout=layout, device=device, dtype=dtype,
                          min_frames=2 * int(segment_length))
    maps = _ssd_maps(x, int(segment_length), patch, sigma_n2, value_scale)
    return _restore(softmax_aggregate(maps, temperature), info)


def ssd_flow_map(
    frames,
    segment_length: int = 20,
    patch=5,
    *,
    method: str = "tvl1",
    max_magnitude: float | None = None,
    layout: str = "auto",
    **kwargs,
):
    """SSD on optical flow: flow of ``frames`` (``tvl1`` as the paper, falling back to DIS
    without ``cv2.optflow``) encoded as ``(dx, dy, |f|)`` uint8, then :func:`ssd_map`.

    ``(T,H,W,3) -> (H,W,3)`` NumPy (flow is computed by OpenCV on the CPU; the result is
    NumPy channels-last unless the input was a channels-first torch tensor).
    Needs ``T - 1 >= 2 * segment_length``.
    """
    from .flow import flow_to_rgb, optical_flow

    _, info = _check_clip(frames, channels=(1, 3), layout=layout, min_frames=2 * segment_length + 1)
    flow = optical_flow(frames, method, layout=layout)
    enc = flow_to_rgb(flow, mode="uvm", max_magnitude=max_magnitude)  # (T-1,H,W,3)
    out = ssd_map(enc, segment_length, patch, layout="THWC", **kwargs)  # (H,W,3) numpy
    if not info.numpy and not info.channels_last:
        return torch.from_numpy(out).permute(2, 0, 1)
    return out
