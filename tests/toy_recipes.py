"""Four toy recipes, one of each shape the coming papers need, on the shared engine.

Each is what a new paper adds: a small dataclass with ``fit`` / ``predict`` / ``score``; the
engine (folds, store, resume, seeds, noise bands) is not repeated. Toy models keep them fast:

* :class:`TwoStreamAnalyzer` (hrg): a two-output network on a visual feature + a Gaussian
  class-conditional heart-rate analyzer fitted on the training fold, fused;
* :class:`FixedRepresentation` (ahdi): one dynamic image per video into a small 2D network;
* :class:`PretextThenFineTune` (ssd): a self-supervised stage on the source dataset plus the
  target's training subjects (a shared store stage), then fine-tuning on the target;
* :class:`CodebookHamming` (binary): a k-means codebook + VLAD fitted on the training fold, an
  encoder trained with a relaxed Hamming triplet loss, nearest class code in Hamming distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from pain_lib import metrics
from pain_lib.data.bank import FrameBank
from pain_lib.data.labels import frame_pspi
from pain_lib.experiments import Fitted, Recipe
from pain_lib.fingerprint import fingerprint
from pain_lib.preprocess.rank_pooling import dynamic_image


def faces(samples, ctx, size=16):
    """Face crops of each sample, ``(T, size, size, 3)`` float in [0, 1]."""
    bank = FrameBank.shared(size=size, cache_dir=ctx.cache_dir)
    offsets, lengths = bank.add(samples)
    return [bank.frames[o:o + n].float().div(255).numpy() for o, n in zip(offsets, lengths)]


def train(net, x, loss_of, steps=60, lr=0.05, seed=0):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_of(net(x))
        loss.backward()
        opt.step()
    return float(loss.detach()) if steps else float("nan")


@dataclass(frozen=True)
class TwoStreamAnalyzer(Recipe):
    name = "toy-two-stream"
    steps: int = 60

    @staticmethod
    def streams(samples, ctx):
        vis = torch.tensor(np.array([[np.abs(np.diff(f, axis=0)).mean(), f.mean()] for f in faces(samples, ctx)]), dtype=torch.float32)
        hr = np.array([float(s.meta["truth"]["hr_mean"]) for s in samples])
        return vis, hr

    def fit(self, samples, y, ctx):
        vis, hr = self.streams(samples, ctx)
        classes = np.unique(y)
        analyzer = np.array([[hr[y == c].mean(), hr[y == c].var() + 1.0] for c in classes])  # Gaussian per class
        gain = torch.tensor((hr - hr.mean()) / (hr.std() + 1e-6), dtype=torch.float32)
        net = nn.Linear(2, len(classes) + 1)  # two outputs: class logits and heart-rate gain
        target = torch.as_tensor(np.searchsorted(classes, y))
        loss = train(net, vis, lambda o: nn.functional.cross_entropy(o[:, :-1], target) + nn.functional.mse_loss(o[:, -1], gain),
                     self.steps, seed=ctx.seed)
        return Fitted({"net": net.state_dict(), "analyzer": analyzer, "classes": classes}, info={"final_train_loss": loss})

    def predict(self, fitted, samples, y, ctx):
        m = fitted.model
        net = nn.Linear(2, len(m["classes"]) + 1)
        net.load_state_dict(m["net"])
        vis, hr = self.streams(samples, ctx)
        with torch.no_grad():
            visual = torch.log_softmax(net(vis)[:, :-1], 1).numpy()
        mu, var = m["analyzer"][:, 0], m["analyzer"][:, 1]
        physio = -0.5 * ((hr[:, None] - mu) ** 2 / var + np.log(var))
        return {"y_true": np.searchsorted(m["classes"], y), "y_score": visual + physio, "sample": np.arange(len(samples))}

    def score(self, outputs):
        return metrics.classification_metrics(outputs["y_true"], outputs["y_score"])


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 1))

    def forward(self, x):
        return self.body(x).squeeze(-1)


@dataclass(frozen=True)
class FixedRepresentation(Recipe):
    name = "toy-dynamic-image"
    steps: int = 40

    @staticmethod
    def images(samples, ctx):
        return torch.stack([dynamic_image(torch.from_numpy(f).permute(3, 0, 1, 2)).float() for f in faces(samples, ctx)])

    def fit(self, samples, y, ctx):
        x, target = self.images(samples, ctx), torch.tensor([frame_pspi(s).max() for s in samples], dtype=torch.float32)
        torch.manual_seed(ctx.seed)
        net = TinyCNN()
        loss = train(net, x, lambda o: nn.functional.mse_loss(o, target), self.steps, lr=0.01, seed=ctx.seed)
        return Fitted(net.state_dict(), info={"final_train_loss": loss})

    def predict(self, fitted, samples, y, ctx):
        net = TinyCNN()
        net.load_state_dict(fitted.model)
        with torch.no_grad():
            pred = net(self.images(samples, ctx)).numpy()
        return {"y_true": np.array([frame_pspi(s).max() for s in samples]), "y_pred": pred, "sample": np.arange(len(samples))}

    def score(self, outputs):
        return {"mse": metrics.mse(outputs["y_true"], outputs["y_pred"])}


@dataclass(frozen=True)
class PretextThenFineTune(Recipe):
    """``fit`` gets the source videos and the target's training subjects (a CrossDataset fold)."""

    name = "toy-pretext"
    target_prefix: str = "unbc"
    steps: int = 40

    def fit(self, samples, y, ctx):
        imgs = FixedRepresentation.images(samples, ctx)

        def pretext():  # self-supervised: recover a frame-reversed video's dynamic image sign
            torch.manual_seed(ctx.seed)
            net = TinyCNN()
            x = torch.cat([imgs, -imgs])
            z = torch.cat([torch.ones(len(imgs)), -torch.ones(len(imgs))])
            train(net, x, lambda o: nn.functional.mse_loss(o, z), self.steps, lr=0.01, seed=ctx.seed)
            return net.state_dict()

        state = ctx.stage("toy-pretext", {"samples": fingerprint(samples), "seed": ctx.seed}, pretext)
        net = TinyCNN()
        net.load_state_dict(state)
        tgt = [i for i, s in enumerate(samples) if "pspi" in s.labels]  # fine-tune on the target only
        target = torch.tensor([frame_pspi(samples[i]).max() for i in tgt], dtype=torch.float32)
        loss = train(net, imgs[tgt], lambda o: nn.functional.mse_loss(o, target), self.steps, lr=0.01, seed=ctx.seed)
        return Fitted(net.state_dict(), info={"final_train_loss": loss, "fine_tune_videos": len(tgt)})

    images = staticmethod(FixedRepresentation.images)
    predict = FixedRepresentation.predict
    score = FixedRepresentation.score


@dataclass(frozen=True)
class CodebookHamming(Recipe):
    name = "toy-binary"
    words: int = 4
    bits: int = 8
    steps: int = 60

    def vlad(self, samples, ctx, centres):
        out = []
        for f in faces(samples, ctx, size=8):
            x = f.reshape(len(f), -1)
            a = np.argmin(((x[:, None] - centres[None]) ** 2).sum(-1), 1)
            v = np.stack([(x[a == k] - centres[k]).sum(0) for k in range(len(centres))]).ravel()
            v = np.sign(v) * np.sqrt(np.abs(v))  # power, then L2 normalisation
            out.append(v / (np.linalg.norm(v) + 1e-12))
        return torch.tensor(np.array(out), dtype=torch.float32)

    def fit(self, samples, y, ctx):
        from sklearn.cluster import KMeans

        x = np.concatenate([f.reshape(len(f), -1) for f in faces(samples, ctx, size=8)])
        centres = KMeans(self.words, n_init=2, random_state=ctx.seed).fit(x).cluster_centers_
        v = self.vlad(samples, ctx, centres)
        torch.manual_seed(ctx.seed)
        enc = nn.Linear(v.shape[1], self.bits)
        rng = np.random.default_rng(ctx.seed)
        a = np.arange(len(y))
        p = np.array([rng.choice(np.flatnonzero(y == y[i])) for i in a])
        n = np.array([rng.choice(np.flatnonzero(y != y[i])) if (y != y[i]).any() else i for i in a])

        def triplet(h):  # relaxed Hamming distance: tanh codes, d = (bits - <h_a, h_b>) / 2
            h = torch.tanh(h)
            d = lambda i, j: (self.bits - (h[i] * h[j]).sum(1)) / 2  # noqa: E731
            return torch.relu(d(a, p) - d(a, n) + 1).mean()

        loss = train(enc, v, triplet, self.steps, seed=ctx.seed)
        with torch.no_grad():
            codes = torch.sign(enc(v)).numpy()
        classes = np.unique(y)
        class_codes = np.stack([np.sign(codes[y == c].mean(0) + 1e-9) for c in classes])
        return Fitted({"centres": centres, "enc": enc.state_dict(), "class_codes": class_codes, "classes": classes},
                      info={"final_train_loss": loss})

    def predict(self, fitted, samples, y, ctx):
        m = fitted.model
        enc = nn.Linear(m["enc"]["weight"].shape[1], self.bits)
        enc.load_state_dict(m["enc"])
        with torch.no_grad():
            codes = torch.sign(enc(self.vlad(samples, ctx, m["centres"]))).numpy()
        hamming = (codes[:, None, :] != m["class_codes"][None]).sum(-1)
        return {"y_true": np.asarray(y), "y_score": -hamming.astype(np.float32), "classes": np.tile(m["classes"], (len(y), 1)),
                "sample": np.arange(len(samples))}

    def score(self, outputs):
        pred = outputs["classes"][np.arange(len(outputs["y_true"])), outputs["y_score"].argmax(1)]
        return {"accuracy": metrics.accuracy(outputs["y_true"], pred)}
