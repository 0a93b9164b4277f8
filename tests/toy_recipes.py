"""A toy recipe for the engine's own tests (store, resume, noise bands, grids): one dynamic image
per video into a tiny 2D network, written against the bare recipe contract. The recipes of the
papers' real shapes, built from the library's representations, targets and protocols, are in
``tests/test_middle_layer.py``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from pain_lib import metrics
from pain_lib.data.bank import FrameBank
from pain_lib.data.labels import frame_pspi
from pain_lib.experiments import Fitted, Recipe
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
