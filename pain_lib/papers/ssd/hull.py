"""The affine-hull dissimilarity of the SSD paper's pretext (Sec. 2.2, Eqs. 16-21).

A batch of deep features ``H`` (one row per sample, from the network's last fully connected
layer) is modelled as the affine hull of its samples, ``{mu + U v}`` (Eq. 17): ``mu`` the batch
mean, the columns of ``U`` the orthonormal basis of the centred features from their SVD. Two
halves ``H_i``, ``H_j`` of a batch are compared by the convex problem of Eq. 21::

    min_{v_i, v_j, a, b}  |(mu_i + U_i v_i) - (mu_j + U_j v_j)|^2
                          + lambda1 (|mu_i + U_i v_i - H_i^T a|^2 + |mu_j + U_j v_j - H_j^T b|^2)
                          + lambda2 |a|_1 + lambda3 |b|_1

and their dissimilarity is the problem's optimal value. ``lambda1`` = 0.01 and ``lambda2`` =
``sparsity`` x ``lambda2*`` with ``lambda2* = max |2 lambda1 H_i mu_i|`` (the smallest value for
which ``a = 0`` is optimal, Sec. 3.1; ``sparsity`` = 0.1), likewise ``lambda3``.

The solver (:func:`solve`) is a fixed number of accelerated proximal-gradient steps (FISTA:
a gradient step on the smooth least-squares part, soft-thresholding of ``a`` and ``b``), every
operation a differentiable torch operation, so the dissimilarity can be back-propagated to the
features (and through them to the network) by unrolling. The step is ``1 / L`` with ``L`` the
Lipschitz constant of the smooth part's gradient (twice the largest squared singular value of
its stacked matrix, computed without gradient). :func:`reference_solution` solves the same
problem to high accuracy with SciPy's L-BFGS-B on the split ``a = a+ - a-`` (a different
algorithm: the tests' reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["AffineHull", "affine_hull", "sparsity_bound", "Solution", "solve", "dissimilarity",
           "objective", "reference_solution"]

LAMBDA1 = 0.01
SPARSITY = 0.1


@dataclass
class AffineHull:
    """``(mu, U, H)`` of one set of features (Eq. 17): ``mu`` ``(D,)``, ``U`` ``(D, d)``
    orthonormal, ``H`` ``(n, D)`` the samples themselves."""

    mu: torch.Tensor
    U: torch.Tensor
    H: torch.Tensor


def affine_hull(H: torch.Tensor, *, rank_tol: float = 1e-6) -> AffineHull:
    """The affine hull model of the rows of ``H`` ``(n, D)``: the mean and the left singular
    vectors of the centred ``(D, n)`` matrix whose singular values exceed ``rank_tol`` x the
    largest (at most ``n - 1``: centring removes one dimension)."""
    if H.dim() != 2 or H.shape[0] < 2:
        raise ValueError(f"an affine hull needs a (n >= 2, D) feature matrix, got shape {tuple(H.shape)}")
    mu = H.mean(0)
    U, S, _ = torch.linalg.svd((H - mu).T, full_matrices=False)
    keep = int((S > rank_tol * S[0].clamp_min(torch.finfo(S.dtype).tiny)).sum().clamp(min=1, max=H.shape[0] - 1))
    return AffineHull(mu, U[:, :keep], H)


def sparsity_bound(hull: AffineHull, lambda1: float = LAMBDA1) -> torch.Tensor:
    """``lambda* = max |2 lambda1 H mu|`` (Sec. 3.1): above it, zero coefficients are optimal."""
    return (2 * lambda1 * hull.H @ hull.mu).abs().max()


@dataclass
class Solution:
    """Coefficients of Eq. 21 (``v_i, v_j`` model, ``a, b`` sample coefficients), the objective
    value (the dissimilarity) and the ``lambda``\\ s used."""

    v_i: torch.Tensor
    v_j: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    value: torch.Tensor
    lambdas: tuple[float, float, float]


def objective(hi: AffineHull, hj: AffineHull, v_i, v_j, a, b, lambdas) -> torch.Tensor:
    """The objective of Eq. 21 at ``(v_i, v_j, a, b)``."""
    l1, l2, l3 = lambdas
    pi = hi.mu + hi.U @ v_i
    pj = hj.mu + hj.U @ v_j
    return ((pi - pj).square().sum() + l1 * ((pi - hi.H.T @ a).square().sum() + (pj - hj.H.T @ b).square().sum())
            + l2 * a.abs().sum() + l3 * b.abs().sum())


def _lambdas(hi: AffineHull, hj: AffineHull, lambda1: float, sparsity: float) -> tuple[float, float, float]:
    return (float(lambda1), float(sparsity * sparsity_bound(hi, lambda1).detach()),
            float(sparsity * sparsity_bound(hj, lambda1).detach()))


def _soft(x: torch.Tensor, t: float) -> torch.Tensor:
    return torch.sign(x) * torch.clamp(x.abs() - t, min=0)


def solve(H_i: torch.Tensor, H_j: torch.Tensor, *, steps: int = 100, lambda1: float = LAMBDA1,
          sparsity: float = SPARSITY, lambdas: tuple[float, float, float] | None = None) -> Solution:
    """Eq. 21 for the feature halves ``H_i`` ``(n_i, D)`` and ``H_j`` ``(n_j, D)`` by ``steps``
    FISTA iterations from zero; differentiable in ``H_i``, ``H_j`` (unrolled). ``lambdas``
    overrides the rule of Sec. 3.1."""
    if H_i.dim() != 2 or H_j.dim() != 2 or H_i.shape[1] != H_j.shape[1]:
        raise ValueError(f"two (n, D) feature halves of one dimension D are needed, got {tuple(H_i.shape)} "
                         f"and {tuple(H_j.shape)}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    hi, hj = affine_hull(H_i), affine_hull(H_j)
    lam = lambdas if lambdas is not None else _lambdas(hi, hj, lambda1, sparsity)
    l1, l2, l3 = lam
    di, dj, ni, nj = hi.U.shape[1], hj.U.shape[1], H_i.shape[0], H_j.shape[0]
    D = H_i.shape[1]
    # smooth part |A z - c|^2, z = (v_i, v_j, a, b); A's blocks give the Lipschitz constant
    with torch.no_grad():
        s1 = float(l1) ** 0.5
        A = torch.zeros(3 * D, di + dj + ni + nj, dtype=H_i.dtype, device=H_i.device)
        A[:D, :di], A[:D, di:di + dj] = hi.U, -hj.U
        A[D:2 * D, :di], A[D:2 * D, di + dj:di + dj + ni] = s1 * hi.U, -s1 * H_i.T
        A[2 * D:, di:di + dj], A[2 * D:, di + dj + ni:] = s1 * hj.U, -s1 * H_j.T
        L = 2 * float(torch.linalg.matrix_norm(A, 2)) ** 2
    t = 1.0 / max(L, 1e-12)
    z = [torch.zeros(k, dtype=H_i.dtype, device=H_i.device) for k in (di, dj, ni, nj)]
    y = list(z)
    theta = 1.0
    for _ in range(steps):
        vi, vj, a, b = y
        pi, pj = hi.mu + hi.U @ vi, hj.mu + hj.U @ vj
        ri, rj = pi - H_i.T @ a, pj - H_j.T @ b
        d = pi - pj
        g_vi = 2 * hi.U.T @ (d + l1 * ri)
        g_vj = 2 * hj.U.T @ (-d + l1 * rj)
        g_a = -2 * l1 * H_i @ ri
        g_b = -2 * l1 * H_j @ rj
        new = [vi - t * g_vi, vj - t * g_vj, _soft(a - t * g_a, t * l2), _soft(b - t * g_b, t * l3)]
        theta_next = (1 + (1 + 4 * theta * theta) ** 0.5) / 2
        mom = (theta - 1) / theta_next
        y = [n + mom * (n - o) for n, o in zip(new, z)]
        z, theta = new, theta_next
    value = objective(hi, hj, *z, lam)
    return Solution(*z, value=value, lambdas=tuple(lam))


def dissimilarity(H_i: torch.Tensor, H_j: torch.Tensor, **kwargs) -> torch.Tensor:
    """The optimal value of Eq. 21 for two feature halves (a scalar tensor with gradient)."""
    return solve(H_i, H_j, **kwargs).value


def reference_solution(H_i: np.ndarray, H_j: np.ndarray, lambdas: tuple[float, float, float] | None = None, *,
                       lambda1: float = LAMBDA1, sparsity: float = SPARSITY) -> tuple[float, np.ndarray]:
    """Eq. 21 solved to high accuracy in float64 by L-BFGS-B on ``a = a+ - a-``, ``b = b+ - b-``
    (``a+, a- >= 0``: a smooth bound-constrained problem with the same minimum); returns the
    optimal value and ``(v_i, v_j, a, b)`` concatenated. For tests on small inputs."""
    from scipy.optimize import minimize

    Hi, Hj = torch.as_tensor(np.asarray(H_i, np.float64)), torch.as_tensor(np.asarray(H_j, np.float64))
    hi, hj = affine_hull(Hi), affine_hull(Hj)
    lam = lambdas if lambdas is not None else _lambdas(hi, hj, lambda1, sparsity)
    di, dj, ni, nj = hi.U.shape[1], hj.U.shape[1], Hi.shape[0], Hj.shape[0]
    sizes = [di, dj, ni, ni, nj, nj]

    def unpack(x):
        parts = np.split(x, np.cumsum(sizes)[:-1])
        return [torch.as_tensor(p) for p in parts]

    def fun(x):
        xt = torch.as_tensor(x).requires_grad_(True)
        vi, vj, ap, am, bp, bm = torch.split(xt, sizes)
        # a = ap - am with ap, am >= 0: |a|_1 = sum(ap + am) at the optimum
        l1, l2, l3 = lam
        pi, pj = hi.mu + hi.U @ vi, hj.mu + hj.U @ vj
        f = ((pi - pj).square().sum() + l1 * ((pi - Hi.T @ (ap - am)).square().sum()
                                              + (pj - Hj.T @ (bp - bm)).square().sum())
             + l2 * (ap + am).sum() + l3 * (bp + bm).sum())
        f.backward()
        return float(f.detach()), xt.grad.numpy().copy()

    bounds = [(None, None)] * (di + dj) + [(0, None)] * (2 * ni + 2 * nj)
    res = minimize(fun, np.zeros(sum(sizes)), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 50})
    vi, vj, ap, am, bp, bm = unpack(res.x)
    z = np.concatenate([vi.numpy(), vj.numpy(), (ap - am).numpy(), (bp - bm).numpy()])
    return float(res.fun), z
