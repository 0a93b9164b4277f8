"""The HRG analyzer (hrg Sec. III-B-4): a Gaussian of the heart-rate gain per pain level,
fitted on the training fold, its posterior (Eq. 4) and the probability fusion (Eq. 5).

``Pr(H = h | PI = p_i) = exp(-(h - µ_i)² / (2 σ_i²)) / (√(2π) σ_i)``   (Eq. 2)
``P_h,i = Pr(h | p_i) / Σ_j Pr(h | p_j)``                             (Eq. 4, uniform prior)
``P_f,i = P_h,i · P_v,i``                                             (Eq. 5)

Everything is a torch function of ``h``, so autograd gives Eqs. 10-12; :func:`eq10_gradient`
writes Eq. 10 with Eq. 11 out for the tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn

__all__ = ["GaussianAnalyzer", "eq10_gradient", "fuse_log_probabilities", "HRGScale"]


class GaussianAnalyzer(nn.Module):
    """Per-level Gaussian ``(µ_i, σ_i)`` of the HRG; ``σ_i`` is the standard deviation (the
    paper's text calls it the variance; its Eq. 2 uses it as the standard deviation)."""

    def __init__(self, mu: Sequence[float], sigma: Sequence[float]) -> None:
        super().__init__()
        mu_t = torch.as_tensor(np.asarray(mu, np.float64), dtype=torch.float32)
        sigma_t = torch.as_tensor(np.asarray(sigma, np.float64), dtype=torch.float32)
        if mu_t.ndim != 1 or mu_t.shape != sigma_t.shape or len(mu_t) < 2:
            raise ValueError(f"mu and sigma: one value per pain level (>= 2 levels), got {tuple(mu_t.shape)}, "
                             f"{tuple(sigma_t.shape)}")
        if not (torch.isfinite(mu_t).all() and (sigma_t > 0).all()):
            raise ValueError("mu must be finite and sigma positive")
        self.register_buffer("mu", mu_t)
        self.register_buffer("sigma", sigma_t)

    @classmethod
    def fit(cls, hrg: Sequence[float], levels: Sequence[int], n_levels: int, *, min_sigma: float = 1e-2) -> GaussianAnalyzer:
        """Mean and standard deviation of ``hrg`` at each level ``0..n_levels-1`` (training fold
        only); ``sigma`` floored at ``min_sigma``. A level without samples gets the pooled
        Gaussian (it then carries no information)."""
        h = np.asarray(hrg, np.float64)
        lv = np.asarray(levels)
        if h.shape != lv.shape or h.ndim != 1 or not len(h):
            raise ValueError("hrg and levels: two 1-D arrays of one non-zero length")
        mu, sd = [], []
        for i in range(n_levels):
            v = h[lv == i] if (lv == i).any() else h
            mu.append(float(v.mean()))
            sd.append(max(float(v.std()), min_sigma))
        return cls(mu, sd)

    @property
    def n_levels(self) -> int:
        return len(self.mu)

    def likelihood(self, h: torch.Tensor) -> torch.Tensor:
        """Eq. 2: ``(N,) -> (N, K)``."""
        h = torch.as_tensor(h, dtype=self.mu.dtype)
        z = (h[:, None] - self.mu) / self.sigma
        return torch.exp(-0.5 * z**2) / (math.sqrt(2 * math.pi) * self.sigma)

    def log_posterior(self, h: torch.Tensor) -> torch.Tensor:
        """``log P_h`` of Eq. 4, computed stably (log-likelihoods minus their log-sum-exp)."""
        h = torch.as_tensor(h, dtype=self.mu.dtype)
        ll = -0.5 * ((h[:, None] - self.mu) / self.sigma) ** 2 - torch.log(self.sigma)
        return ll - torch.logsumexp(ll, dim=1, keepdim=True)

    def posterior(self, h: torch.Tensor) -> torch.Tensor:
        """Eq. 4: ``P_h`` ``(N, K)``, rows summing to one."""
        return self.log_posterior(h).exp()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.posterior(h)

    def state(self) -> dict[str, np.ndarray]:
        return {"mu": self.mu.numpy().copy(), "sigma": self.sigma.numpy().copy()}

    @classmethod
    def from_state(cls, d) -> GaussianAnalyzer:
        return cls(np.asarray(d["mu"]), np.asarray(d["sigma"]))


def eq10_gradient(h: float, pv: Sequence[float], mu: Sequence[float], sigma: Sequence[float]) -> np.ndarray:
    """``∂P_f,i / ∂h`` by Eqs. 10-11 (NumPy, float64): ``P_v,i (A_i Σ Pr - Pr_i Σ A) / (Σ Pr)²`` with
    ``A_i = -(h - µ_i) / (√(2π) σ_i³) exp(-(h - µ_i)² / (2 σ_i²))``."""
    mu, sigma, pv = (np.asarray(a, np.float64) for a in (mu, sigma, pv))
    e = np.exp(-((h - mu) ** 2) / (2 * sigma**2))
    pr = e / (np.sqrt(2 * np.pi) * sigma)
    a = -(h - mu) / (np.sqrt(2 * np.pi) * sigma**3) * e
    return pv * (a * pr.sum() - pr * a.sum()) / pr.sum() ** 2


def fuse_log_probabilities(log_pv: torch.Tensor, log_ph: torch.Tensor) -> torch.Tensor:
    """``log P_f`` of Eq. 5 renormalised over the levels (``log P_v + log P_h - logsumexp``): the
    product's argmax, and a distribution the cross-entropy of Eq. 8 can read."""
    s = log_pv + log_ph
    return s - torch.logsumexp(s, dim=1, keepdim=True)


class HRGScale(nn.Module):
    """The [0, 1] normalisation of the HRG (min-max of the training fold,
    :class:`pain_lib.preprocess.hrg.HRGNormalizer`) as a differentiable map; not clipped, so the
    gradient of Eq. 10 reaches predictions outside the training range."""

    def __init__(self, lo: float, hi: float) -> None:
        super().__init__()
        if not hi > lo:
            hi = lo + 1e-6
        self.register_buffer("lo", torch.tensor(float(lo)))
        self.register_buffer("hi", torch.tensor(float(hi)))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return (h - self.lo) / (self.hi - self.lo)
