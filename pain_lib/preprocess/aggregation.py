"""The *binary* paper's aggregation layer (Sec. 2.1): statistics and VLAD of a video's snippet features.

``F_X = [mean(X), var(X), min(X), max(X), VLAD(X)]`` for the features ``X (K, D)`` of the K
sampled frames, per dimension. VLAD (Jégou et al.): each feature is assigned to its nearest
codebook centroid ``c_k`` (k-means on training features), ``v_k = Σ_{x: NN(x) = k} (x - c_k)``,
then power normalisation (signed square root) and L2 normalisation of the concatenated
``(k · D,)`` vector. Torch functions (differentiable in the features, for saliency maps)::

    f = aggregate(x, centres, parts=("mean", "var", "min", "max", "vlad"))   # (4D + kD,)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["AGGREGATES", "aggregate", "vlad", "aggregate_length"]

#: the parts of the aggregation layer, in the paper's order
AGGREGATES = ("mean", "var", "min", "max", "vlad")


def vlad(x: torch.Tensor, centres: torch.Tensor, *, eps: float = 1e-12) -> torch.Tensor:
    """VLAD of features ``x (K, D)`` on ``centres (k, D)``: residual sums per nearest centroid,
    signed square root, L2 normalisation -> ``(k · D,)``. A centroid no feature is assigned to
    contributes zeros."""
    if x.dim() != 2 or centres.dim() != 2 or x.shape[1] != centres.shape[1]:
        raise ValueError(f"vlad needs features (K, D) and centres (k, D) of one D, got {tuple(x.shape)}, "
                         f"{tuple(centres.shape)}")
    centres = centres.to(x)
    nearest = torch.cdist(x.detach(), centres).argmin(1)  # hard assignment
    onehot = torch.nn.functional.one_hot(nearest, len(centres)).to(x)  # (K, k)
    v = onehot.T @ x - onehot.sum(0)[:, None] * centres  # Σ (x - c_k) over the features of k
    v = torch.sign(v) * torch.sqrt(v.abs() + eps) - torch.sign(v) * eps ** 0.5  # power; 0 stays 0
    v = v.reshape(-1)
    return v / (v.norm() + eps)


def aggregate(x: torch.Tensor, centres: torch.Tensor | None = None, *, parts: Sequence[str] = AGGREGATES
              ) -> torch.Tensor:
    """The aggregation layer on one video's snippet features ``x (K, D)``: the concatenation of
    ``parts`` (any of :data:`AGGREGATES`, in that order); ``var`` is the population variance
    (0 for one snippet). ``vlad`` needs ``centres``."""
    unknown = [p for p in parts if p not in AGGREGATES]
    if unknown or not parts:
        raise ValueError(f"unknown aggregation part(s) {unknown}; parts: {', '.join(AGGREGATES)}")
    if x.dim() != 2 or len(x) == 0:
        raise ValueError(f"aggregate needs snippet features (K >= 1, D), got shape {tuple(x.shape)}")
    out = []
    for p in AGGREGATES:
        if p not in parts:
            continue
        if p == "mean":
            out.append(x.mean(0))
        elif p == "var":
            out.append(x.var(0, unbiased=False))
        elif p == "min":
            out.append(x.min(0).values)
        elif p == "max":
            out.append(x.max(0).values)
        else:
            if centres is None:
                raise ValueError("the vlad part needs a codebook (centres)")
            out.append(vlad(x, torch.as_tensor(centres)))
    return torch.cat(out)


def aggregate_length(dim: int, words: int, parts: Sequence[str] = AGGREGATES) -> int:
    """Length of :func:`aggregate`'s output for features of ``dim`` and a codebook of ``words``."""
    return sum(dim * words if p == "vlad" else dim for p in parts)
