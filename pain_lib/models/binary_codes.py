"""Deep binary codes (the *binary* paper, Sec. 2.2): an MLP encoder to ``q`` bits, the triplet
Hamming ranking loss (Eq. 3), its continuous upper bound (Eq. 5, Norouzi & Fleet's Hamming
distance metric learning), a simpler tanh relaxation, and the nearest-class Hamming decision.

Codes are ``±1`` vectors (``sign`` of the encoder's real output ``f``; a zero counts as ``+1``);
the Hamming distance of two codes is the number of bits where they differ, ``(q - h·h') / 2``.

Eq. 5, exactly. For a triplet with real outputs ``f, f⁺, f⁻`` and codes ``g, g⁺, g⁻``,

    bound = max_{g,g⁺,g⁻} [ l(g,g⁺,g⁻) + gᵀf + g⁺ᵀf⁺ + g⁻ᵀf⁻ ] - ‖f‖₁ - ‖f⁺‖₁ - ‖f⁻‖₁

(``max_h hᵀf = ‖f‖₁`` at ``h = sign f``) with ``l = max(0, d(g,g⁺) - d(g,g⁻) + 1)``. Taking
``g = sign f`` (and so on) shows the bound is at least the loss of the sign codes. The
loss-augmented inference (the first max) is exact and costs ``O(q)``: the hinge is the larger
of ``0`` and ``D + 1`` with ``D = d(g,g⁺) - d(g,g⁻) = Σᵢ cᵢ``, ``cᵢ ∈ {-1, 0, 1}`` per bit, so the
max splits into two per-bit separable maxima. Per bit, with ``a = [gᵢ ≠ g⁺ᵢ]`` and
``b = [gᵢ ≠ g⁻ᵢ]``, the best linear score is ``sᵢ(a, b) = |fᵢ + (1-2a) f⁺ᵢ + (1-2b) f⁻ᵢ|``; then
``cᵢ = a - b``. The first maximum (hinge at 0) is ``Σᵢ max_{a,b} sᵢ = ‖f‖₁+‖f⁺‖₁+‖f⁻‖₁``, the
second ``1 + Σᵢ max(sᵢ(1,0) + 1, sᵢ(0,1) - 1, sᵢ(0,0), sᵢ(1,1))``. The bound is continuous and
piecewise linear in ``f``, so its gradient reaches the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn

__all__ = ["BinaryEncoder", "binary_encoder", "codes", "hamming", "triplet_hamming_loss", "hamming_bound",
           "tanh_relaxation", "class_codes", "hamming_scores", "CLASS_CODE_RULES", "TRAINING_LOSSES"]

#: how a pain level's code is made from its training codes (see :func:`class_codes`)
CLASS_CODE_RULES = ("majority", "nearest")
#: the encoder's training objectives (see :func:`training_loss`)
TRAINING_LOSSES = ("bound", "tanh")


class BinaryEncoder(nn.Module):
    """``Φ(x|Θ)``: fully connected layers with ReLU between them, ``(B, p) -> (B, q)`` real outputs;
    :meth:`codes` is ``b(x) = sign(Φ(x))`` (Eq. 2), ``±1``.

    With ``unit_rms`` (default) each output vector is rescaled to root-mean-square 1 per bit
    (``f · √q / ‖f‖``): the codes are unchanged (a positive scale), but the scale of ``f``, which
    the bound of Eq. 5 trades against its unit margin, is fixed. Without it the bound becomes tight
    and flat as ``f`` grows (no bit is worth flipping, so no gradient, while the triplet loss is
    still positive) -- Norouzi & Fleet control the same scale through the norm of ``W``."""

    def __init__(self, in_features: int, hidden: Sequence[int], bits: int, dropout: float = 0.0,
                 unit_rms: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = int(in_features)
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU(inplace=True)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(h)
        layers.append(nn.Linear(width, int(bits)))
        self.net = nn.Sequential(*layers)
        self.in_features, self.bits, self.unit_rms = int(in_features), int(bits), bool(unit_rms)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.net(x)
        if self.unit_rms:
            f = f * (self.bits ** 0.5 / (f.norm(dim=-1, keepdim=True) + 1e-8))
        return f

    @torch.no_grad()
    def codes(self, x: torch.Tensor) -> torch.Tensor:
        return codes(self(x))


def binary_encoder(*, in_features: int, bits: int = 64, hidden: tuple[int, ...] = (256, 256),
                   dropout: float = 0.0, unit_rms: bool = True) -> BinaryEncoder:
    """The paper's MLP binary encoder (not in the model registry: a recipe saves it as its
    builder arguments and state dict).

    Args:
        in_features: ``p``, the aggregated feature's length.
        bits: ``q``, the code length.
        hidden: widths of the hidden layers (ReLU after each; the paper does not give them).
        dropout: dropout after each hidden layer (0: none).
        unit_rms: rescale each output to RMS 1 per bit (see :class:`BinaryEncoder`).
    """
    if bits < 1 or in_features < 1:
        raise ValueError(f"binary_encoder needs in_features >= 1 and bits >= 1, got {in_features}, {bits}")
    return BinaryEncoder(in_features, tuple(hidden), bits, dropout, unit_rms)


def codes(f: torch.Tensor) -> torch.Tensor:
    """``sign(f)`` as ``±1`` (zero -> ``+1``), the same dtype as ``f``."""
    return torch.where(f >= 0, torch.ones_like(f), -torch.ones_like(f))


def hamming(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamming distances of ``±1`` codes: ``(..., q), (..., q) -> (...)`` (broadcasting)."""
    return (a.shape[-1] - (a * b).sum(-1)) / 2


def triplet_hamming_loss(h_a: torch.Tensor, h_p: torch.Tensor, h_n: torch.Tensor) -> torch.Tensor:
    """Eq. 3 on ``±1`` codes ``(B, q)``: ``max(0, ‖hA - hP‖_H - ‖hA - hN‖_H + 1)`` per triplet ``(B,)``."""
    return torch.clamp(hamming(h_a, h_p) - hamming(h_a, h_n) + 1, min=0)


def hamming_bound(f_a: torch.Tensor, f_p: torch.Tensor, f_n: torch.Tensor) -> torch.Tensor:
    """The continuous upper bound of Eq. 5 on the triplet loss of ``sign(f)``, per triplet ``(B,)``
    (exact loss-augmented inference; the module docstring derives it)."""
    def s(sp: int, sn: int) -> torch.Tensor:  # best per-bit linear score for a = (1-sp)/2, b = (1-sn)/2
        return (f_a + sp * f_p + sn * f_n).abs()

    augmented = (torch.maximum(torch.maximum(s(-1, 1) + 1, s(1, -1) - 1), torch.maximum(s(1, 1), s(-1, -1)))
                 .sum(-1) + 1)
    l1 = f_a.abs().sum(-1) + f_p.abs().sum(-1) + f_n.abs().sum(-1)
    return torch.clamp(augmented - l1, min=0)


def tanh_relaxation(f_a: torch.Tensor, f_p: torch.Tensor, f_n: torch.Tensor) -> torch.Tensor:
    """The simpler relaxation (an ablation, not the paper's): codes ``tanh(f)`` in place of
    ``sign(f)``, the Hamming distance as ``(q - h·h') / 2``, the same hinge as Eq. 3, ``(B,)``."""
    t_a, t_p, t_n = torch.tanh(f_a), torch.tanh(f_p), torch.tanh(f_n)
    return torch.clamp(hamming(t_a, t_p) - hamming(t_a, t_n) + 1, min=0)


def training_loss(name: str):
    """The per-triplet objective called ``name``: ``"bound"`` (Eq. 5) or ``"tanh"`` (relaxation)."""
    losses = {"bound": hamming_bound, "tanh": tanh_relaxation}
    if name not in losses:
        raise ValueError(f"unknown binary-code loss {name!r}; losses: {', '.join(losses)}")
    return losses[name]


def class_codes(train_codes: torch.Tensor, labels: np.ndarray, num_classes: int, *, rule: str = "majority"
                ) -> tuple[torch.Tensor | list[torch.Tensor], np.ndarray]:
    """The codes that stand for each class, and which classes have any training code.

    * ``"majority"``: one code per class, the bitwise majority vote of the class's training codes
      (ties -> ``+1``): the binary centroid that minimises the summed Hamming distance to them;
    * ``"nearest"``: every training code of the class (the query takes the class of its nearest
      training code, the paper's "two videos with the smallest Hamming distance").

    Returns ``(codes, present)``: ``(C, q)`` (majority) or a list of ``(n_c, q)`` (nearest; empty
    for an absent class), and a bool array ``(C,)``.
    """
    if rule not in CLASS_CODE_RULES:
        raise ValueError(f"unknown class-code rule {rule!r}; rules: {', '.join(CLASS_CODE_RULES)}")
    labels = np.asarray(labels)
    present = np.array([(labels == c).any() for c in range(num_classes)])
    q = train_codes.shape[1]
    if rule == "majority":
        out = torch.ones(num_classes, q, dtype=train_codes.dtype)
        for c in np.flatnonzero(present):
            out[c] = codes(train_codes[torch.from_numpy(labels == c)].sum(0))
        return out, present
    return [train_codes[torch.from_numpy(labels == c)] for c in range(num_classes)], present


def hamming_scores(query: torch.Tensor, reference: torch.Tensor | list[torch.Tensor], present: np.ndarray
                   ) -> np.ndarray:
    """``(N, C)`` class scores: minus the Hamming distance from each query code to its class's code
    (majority) or to its nearest training code of the class (nearest); an absent class scores
    ``-(q + 1)`` (below any distance), so it is never chosen. The decision is the arg-max; ties go to
    the lowest class index."""
    q = query.shape[1]
    scores = np.full((len(query), len(present)), -(q + 1.0), np.float32)
    for c in np.flatnonzero(present):
        ref = reference[c]
        d = hamming(query[:, None, :], ref.reshape(1, -1, q))  # (N, codes of the class)
        scores[:, c] = -d.min(1).values.numpy()
    return scores
