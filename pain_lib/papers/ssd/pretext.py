"""Self-supervised pretexts on the unlabelled videos of a fold, then supervised fine-tuning: the
SSD paper's Siamese affine-hull pretext (Sec. 2.2) and the self-supervised baselines of its
Tables 6-7 that run at small scale (order prediction, jigsaw, deep clustering).

Every recipe here is an :class:`~pain_lib.experiments.ImageRecipe` whose
:meth:`initial_state` trains the 2D backbone on a pretext task, once per (unlabelled samples,
representation, network, pretext settings, seed) -- a store stage shared by every configuration
that asks for the same pretext -- and hands the trunk's weights to the engine's fine-tuning on the
labelled training fold (the head is new). The unlabelled samples are the fold's pretext role
(``ctx.unlabelled``: with :func:`~pain_lib.experiments.two_datasets`, the source dataset plus a
share of the target's training subjects); with a one-dataset protocol, the training fold's own
videos with their labels unread.

=========================  ======================================================================
recipe                     pretext
=========================  ======================================================================
:class:`SiameseRecipe`     two augmented views of half a batch are *similar*, the other half
                           *dissimilar*; the affine-hull dissimilarity of Eq. 21 between the
                           halves' features enters a contrastive loss (the paper leaves its loss
                           implicit; :meth:`SiameseRecipe.loss`)
:class:`OPNRecipe`         order prediction (Lee et al. 2017): 4 frames of a video shuffled, the
                           12 orders (an order and its reverse are one class) predicted from the
                           pairwise concatenated frame features
:class:`JigsawRecipe`      jigsaw (Noroozi & Favaro 2016): 3 x 3 tiles of the image permuted by
                           one of ``permutations`` maximally different permutations, predicted
                           from the tiles' concatenated features (each tile through the trunk)
:class:`ClusteringRecipe`  deep clustering (Caron et al. 2018): k-means on the PCA-whitened,
                           L2-normalised features gives pseudo-labels, a fresh linear classifier
                           learns them, alternating every epoch, clusters sampled uniformly
=========================  ======================================================================
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ...data.base import Sample
from ...experiments import ImageRecipe, Representation, representation_tensor
from ...experiments.recipe import FitContext
from ...models import get_model
from .hull import LAMBDA1, SPARSITY, dissimilarity

__all__ = ["SelfSupervisedRecipe", "SiameseRecipe", "OPNRecipe", "JigsawRecipe", "ClusteringRecipe",
           "augment", "siamese_loss", "jigsaw_permutations", "opn_orders"]


def augment(x: torch.Tensor, gen: torch.Generator, shift: int = 2, jitter: float = 0.2) -> torch.Tensor:
    """Random horizontal flips, shifts of up to ``shift`` px (reflect-padded crops) and a
    per-image brightness / contrast jitter of standardised images ``(B, C, S, S)`` (the paper's
    size jittering, cropping and flipping, at small scale)."""
    B, _, S, _ = x.shape
    flip = torch.rand(B, generator=gen) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    if shift:
        xp = F.pad(x, (shift,) * 4, mode="reflect")
        dx, dy = (torch.randint(0, 2 * shift + 1, (B,), generator=gen) for _ in range(2))
        x = torch.stack([xp[i, :, dy[i]:dy[i] + S, dx[i]:dx[i] + S] for i in range(B)])
    scale = 1 + jitter * (2 * torch.rand(B, 1, 1, 1, generator=gen) - 1)
    offset = jitter * (2 * torch.rand(B, 1, 1, 1, generator=gen) - 1)
    return x * scale + offset


def _standardise(x: torch.Tensor) -> torch.Tensor:
    dims = [d for d in range(x.dim()) if d != x.dim() - 3]
    return (x - x.mean(dims, keepdim=True)) / x.std(dims, keepdim=True).clamp_min(1e-6)


@dataclass(frozen=True)
class SelfSupervisedRecipe(ImageRecipe):
    """An image recipe whose backbone starts from a pretext stage on unlabelled videos (see the
    module docstring). Subclasses implement :meth:`train_pretext`."""

    #: passes over the unlabelled videos
    pretext_epochs: int = 1
    #: videos per pretext batch
    pretext_batch: int = 16
    #: SGD (momentum 0.9) learning rate of the pretext, multiplied by 0.2 per epoch (the paper's annealing)
    pretext_lr: float = 0.01

    name = "ssl"
    pretext_name: ClassVar[str] = "pretext"

    def pretext_representation(self) -> Representation:
        """What the pretext sees of each unlabelled video (default: the fine-tuning's representation)."""
        return self.representation

    def pretext_identity(self) -> dict[str, Any]:
        """What the pretext's result depends on besides the samples and seed."""
        skip = {"setup", "target", "pooling"}
        return {k: v for k, v in self.identity().items() if k not in skip} | {"pretext_rep": self.pretext_representation()}

    def trunk(self) -> nn.Module:
        """The backbone without a head: ``(B, 3, S, S) -> (B, D)`` pooled features."""
        return get_model(self.model, **dict(self.cfg), head="none")

    def train_pretext(self, x: torch.Tensor, ctx: FitContext) -> nn.Module:
        raise NotImplementedError

    def initial_state(self, samples: Sequence[Sample], ctx: FitContext) -> tuple[dict | None, dict[str, Any]]:
        unlabelled = list(ctx.unlabelled) or list(samples)
        rep = self.pretext_representation()

        def compute() -> dict:
            x, _ = representation_tensor(unlabelled, rep, cache_dir=ctx.cache_dir)
            torch.manual_seed(ctx.seed)
            net = self.train_pretext(_standardise(x.float()), ctx)
            return {k: v.detach().cpu() for k, v in net.state_dict().items()}

        state = ctx.stage(f"ssd-{self.pretext_name}", {"samples": unlabelled, "seed": ctx.seed,
                                                        **self.pretext_identity()}, compute)
        return state, {"pretext_videos": len(unlabelled), "pretext_from_training_fold": not ctx.unlabelled}

    # -- shared pretext training loop ---------------------------------------------------
    def _optimise(self, modules: Sequence[nn.Module], batches, loss_of, ctx: FitContext) -> None:
        """SGD over ``batches(epoch, gen)`` (an iterable of batch index arrays per epoch) with
        ``loss_of(idx, gen) -> loss``."""
        params = [p for m in modules for p in m.parameters()]
        opt = torch.optim.SGD(params, lr=self.pretext_lr, momentum=0.9, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.2)
        gen = torch.Generator().manual_seed(int(ctx.seed))
        for m in modules:
            m.to(ctx.device).train()
        for epoch in range(self.pretext_epochs):
            for idx in batches(epoch, gen):
                opt.zero_grad()
                loss = loss_of(idx, gen)
                loss.backward()
                nn.utils.clip_grad_norm_(params, 5.0)
                opt.step()
            sched.step()
        for m in modules:
            m.cpu().eval()

    def _shuffled(self, n: int, batch: int):
        def batches(epoch: int, gen: torch.Generator):
            order = torch.randperm(n, generator=gen)
            return [order[i:i + batch] for i in range(0, n - batch + 1, batch)] or [order]
        return batches


def siamese_loss(d_similar: torch.Tensor, d_dissimilar: torch.Tensor, margin: float) -> torch.Tensor:
    """The contrastive loss on the affine-hull dissimilarity (Hadsell, Chopra & LeCun 2006, the
    loss of the Siamese networks the paper cites): similar halves are pulled together
    (``d_similar``), dissimilar halves pushed at least ``margin`` apart."""
    return d_similar + torch.relu(margin - d_dissimilar)


@dataclass(frozen=True)
class SiameseRecipe(SelfSupervisedRecipe):
    """The paper's pretext (Sec. 2.2): a Siamese network -- one backbone on both inputs -- whose
    batch features from its last fully connected layer (``projection`` outputs, L2-normalised)
    are compared as affine hulls by Eq. 21 (:mod:`.hull`). Each batch of
    ``pretext_batch`` videos is split evenly: the first half seen twice, in two random
    augmentations (a *similar* pair of halves), and the second half once (*dissimilar* to the
    first); the loss is :func:`siamese_loss`."""

    projection: int = 32
    margin: float = 0.5
    solver_steps: int = 30
    lambda1: float = LAMBDA1
    sparsity: float = SPARSITY

    name = "siamese"
    pretext_name = "siamese"

    def loss(self, trunk: nn.Module, fc: nn.Module, x: torch.Tensor, gen: torch.Generator,
             device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(loss, d_similar, d_dissimilar)`` of one batch ``x`` (at least 4 standardised images)."""
        m = len(x) // 2
        first, second = x[:m], x[m:2 * m]
        views = torch.cat([augment(first, gen), augment(first, gen), augment(second, gen)]).to(device)
        h = F.normalize(fc(trunk(views)), dim=1).double()
        a, a2, b = h[:m], h[m:2 * m], h[2 * m:]
        kw = {"steps": self.solver_steps, "lambda1": self.lambda1, "sparsity": self.sparsity}
        d_sim, d_dis = dissimilarity(a, a2, **kw), dissimilarity(a, b, **kw)
        return siamese_loss(d_sim, d_dis, self.margin).float(), d_sim.detach(), d_dis.detach()

    def train_pretext(self, x: torch.Tensor, ctx: FitContext) -> nn.Module:
        if len(x) < 4:
            raise ValueError(f"the Siamese pretext needs at least 4 unlabelled videos, got {len(x)}")
        trunk = self.trunk()
        fc = nn.Linear(_feature_dim(trunk, x), self.projection)
        batch = max(4, min(self.pretext_batch, len(x)))
        self._optimise([trunk, fc], self._shuffled(len(x), batch),
                       lambda idx, gen: self.loss(trunk, fc, x[idx], gen, ctx.device)[0], ctx)
        return trunk


def _feature_dim(trunk: nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad():
        trunk.eval()
        d = int(trunk(x[:2]).shape[1])
        trunk.train()
    return d


def opn_orders() -> list[tuple[int, ...]]:
    """The 12 classes of order prediction: the orders of 4 frames with an order and its reverse
    as one class (the lexicographically smaller represents it)."""
    return [p for p in itertools.permutations(range(4)) if p <= p[::-1]]


@dataclass(frozen=True)
class OPNRecipe(SelfSupervisedRecipe):
    """Order prediction (Lee et al. 2017) on 4 frames of each unlabelled video, one from each
    quarter (the ``frames`` representation, ``k`` = 4), whatever the fine-tuning representation
    is: OPN is a pretext on frame sequences."""

    name = "opn"
    pretext_name = "opn"

    def pretext_representation(self) -> Representation:
        return Representation("frames", {"k": 4}, size=self.representation.size, crop=self.representation.crop)

    def train_pretext(self, x: torch.Tensor, ctx: FitContext) -> nn.Module:
        orders = torch.tensor(opn_orders())
        trunk = self.trunk()
        d = _feature_dim(trunk, x[:, 0])
        pairs = list(itertools.combinations(range(4), 2))
        pair_fc = nn.Sequential(nn.Linear(2 * d, 64), nn.ReLU())
        cls = nn.Linear(64 * len(pairs), len(orders))

        def loss_of(idx, gen):
            B = len(idx)
            label = torch.randint(0, len(orders), (B,), generator=gen)
            perm = orders[label]
            reverse = torch.rand(B, generator=gen) < 0.5
            perm = torch.where(reverse.view(-1, 1), perm.flip(1), perm)
            clips = x[idx][torch.arange(B).view(-1, 1), perm]  # (B, 4, C, S, S) shuffled
            clips = torch.stack([augment(clips[:, k], gen, jitter=0.0) for k in range(4)], 1)
            f = trunk(clips.flatten(0, 1).to(ctx.device)).view(B, 4, -1)
            z = torch.cat([pair_fc(torch.cat([f[:, i], f[:, j]], 1)) for i, j in pairs], 1)
            return F.cross_entropy(cls(z), label.to(ctx.device))

        self._optimise([trunk, pair_fc, cls], self._shuffled(len(x), max(2, min(self.pretext_batch, len(x)))),
                       loss_of, ctx)
        return trunk


def jigsaw_permutations(count: int, seed: int = 0, tiles: int = 9) -> list[tuple[int, ...]]:
    """``count`` permutations of ``tiles`` tiles chosen greedily for the largest minimal Hamming
    distance (Noroozi & Favaro's selection), from a seeded pool of candidates."""
    rng = np.random.default_rng(seed)
    pool = np.array([rng.permutation(tiles) for _ in range(2000)])
    chosen = [pool[0]]
    dist = (pool != pool[0]).sum(1)
    for _ in range(count - 1):
        k = int(np.argmax(dist))
        chosen.append(pool[k])
        dist = np.minimum(dist, (pool != pool[k]).sum(1))
    return [tuple(int(v) for v in p) for p in chosen]


@dataclass(frozen=True)
class JigsawRecipe(SelfSupervisedRecipe):
    """Jigsaw puzzles (Noroozi & Favaro 2016) on each unlabelled image (the fine-tuning's
    representation): 3 x 3 tiles with a 1-px gap cut from a random crop, permuted by one of
    ``permutations``, each tile through the shared trunk, the concatenated features classify
    the permutation."""

    permutations: int = 24

    name = "jigsaw"
    pretext_name = "jigsaw"

    def train_pretext(self, x: torch.Tensor, ctx: FitContext) -> nn.Module:
        perms = torch.tensor(jigsaw_permutations(self.permutations, seed=int(ctx.seed)))
        S = x.shape[-1]
        tile = (S - 2) // 3
        trunk = self.trunk()
        probe = x[:2, :, :tile, :tile]
        d = _feature_dim(trunk, probe)
        tile_fc = nn.Sequential(nn.Linear(d, 64), nn.ReLU())
        cls = nn.Linear(9 * 64, len(perms))

        def loss_of(idx, gen):
            img = augment(x[idx], gen, shift=1)
            B = len(img)
            room = S - (3 * tile + 2)  # the grid's random position in the image
            oy, ox = (int(torch.randint(0, room + 1, (1,), generator=gen)) for _ in range(2))
            tiles = torch.stack([img[:, :, oy + r * (tile + 1):oy + r * (tile + 1) + tile,
                                     ox + c * (tile + 1):ox + c * (tile + 1) + tile]
                                 for r in range(3) for c in range(3)], 1)  # (B, 9, C, t, t)
            label = torch.randint(0, len(perms), (B,), generator=gen)
            shuffled = tiles[torch.arange(B).view(-1, 1), perms[label]]
            f = tile_fc(trunk(shuffled.flatten(0, 1).to(ctx.device))).view(B, -1)
            return F.cross_entropy(cls(f), label.to(ctx.device))

        self._optimise([trunk, tile_fc, cls], self._shuffled(len(x), max(2, min(self.pretext_batch, len(x)))),
                       loss_of, ctx)
        return trunk


@dataclass(frozen=True)
class ClusteringRecipe(SelfSupervisedRecipe):
    """Deep clustering (Caron et al. 2018) on each unlabelled image: every epoch the trunk's
    features of all images are PCA-reduced to ``pca`` dimensions, whitened and L2-normalised,
    clustered by k-means into ``clusters`` groups, and the trunk with a fresh linear classifier
    learns the cluster assignments (batches drawn uniformly over the clusters)."""

    clusters: int = 8
    pca: int = 16

    name = "deepcluster"
    pretext_name = "deepcluster"

    def train_pretext(self, x: torch.Tensor, ctx: FitContext) -> nn.Module:
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA

        trunk = self.trunk()
        d = _feature_dim(trunk, x)
        k = max(2, min(self.clusters, len(x) // 2))
        outer = self.pretext_epochs
        gen = torch.Generator().manual_seed(int(ctx.seed))
        for epoch in range(outer):
            trunk.to(ctx.device).eval()
            with torch.no_grad():
                feats = torch.cat([trunk(x[i:i + 64].to(ctx.device)).cpu() for i in range(0, len(x), 64)]).numpy()
            n_comp = max(1, min(self.pca, feats.shape[1], len(x) - 1))
            z = PCA(n_comp, whiten=True, random_state=int(ctx.seed)).fit_transform(feats.astype(np.float64))
            z /= np.linalg.norm(z, axis=1, keepdims=True).clip(1e-12)
            assign = KMeans(k, n_init=3, random_state=int(ctx.seed) + epoch).fit_predict(z)
            labels = torch.as_tensor(assign, dtype=torch.int64)
            cls = nn.Linear(d, k)
            present = [np.flatnonzero(assign == c) for c in range(k) if (assign == c).any()]
            batch = max(2, min(self.pretext_batch, len(x)))

            def batches(_epoch, g, present=present, batch=batch):
                # uniform over clusters: each batch draws its clusters first, then a member of each
                steps = max(1, len(x) // batch)
                out = []
                for _ in range(steps):
                    cs = torch.randint(0, len(present), (batch,), generator=g)
                    out.append(torch.tensor([int(present[c][int(torch.randint(0, len(present[c]), (1,), generator=g))])
                                             for c in cs.tolist()]))
                return out

            one = dataclass_replace_epochs(self)
            one._optimise([trunk, cls], batches,
                          lambda idx, g, cls=cls, labels=labels: F.cross_entropy(
                              cls(trunk(augment(x[idx], g).to(ctx.device))), labels[idx].to(ctx.device)),
                          _seeded(ctx, int(torch.randint(0, 2**31 - 1, (1,), generator=gen))))
        return trunk


def dataclass_replace_epochs(recipe: SelfSupervisedRecipe) -> SelfSupervisedRecipe:
    """The recipe with one pretext epoch (deep clustering alternates one epoch of training per
    clustering)."""
    import dataclasses

    return dataclasses.replace(recipe, pretext_epochs=1)


def _seeded(ctx: FitContext, seed: int) -> FitContext:
    import dataclasses

    return dataclasses.replace(ctx, seed=seed)
