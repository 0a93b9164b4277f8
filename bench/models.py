"""Model benchmark: parameter counts at paper width and training/inference throughput.

Prints, for every registered model (Res3D and SCN at every depth):

* parameters at paper width (base_width 64; built on the meta device, nothing allocated), and
  for Res3D/SCN the paper's Table 9 value (``# of Parameters (×10^6)``) beside it;
* forward+backward and forward-only clips/s at a profile's clip size (default: ``standard`` =
  16 frames of 48×48, base_width 16, batch 8) on the CPU and, when present, CUDA (bf16 autocast
  with ``--amp``).

Usage::

    python bench/models.py                       # every model, standard profile, cpu (+ cuda)
    python bench/models.py --models scn res3d --profile paper --device cuda --amp
    python bench/models.py --counts-only
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from pain_lib.config import get_profile
from pain_lib.models import BOTTLENECK_LAYERS, count_parameters_meta, get_model, list_models
from pain_lib.train import autocast

PAPER_TABLE = Path(__file__).resolve().parents[1] / "pain_lib" / "paper_tables" / "scn.csv"


def specs(names: list[str], depths: list[int] | None = None) -> list[tuple[str, dict]]:
    out = []
    for n in names:
        if n in ("res3d", "scn"):
            out += [(n, {"depth": d}) for d in (depths or BOTTLENECK_LAYERS)]
        else:
            out.append((n, {}))
    return out


def paper_counts() -> dict[tuple[str, int], float]:
    if not PAPER_TABLE.is_file():
        return {}
    t = pd.read_csv(PAPER_TABLE, dtype=str)
    t = t[(t.artifact == "Table 9") & (t.metric == "params_millions")]
    res = {}
    for row, value in zip(t.row, t.value):
        model, layers = row.split(" | ")
        res[(model.lower(), int(layers.split()[0]))] = float(value)
    return res


def label(name: str, cfg: dict) -> str:
    return f"{name}-{cfg['depth']}" if "depth" in cfg else name


def throughput(name: str, cfg: dict, *, profile, device: torch.device, amp: bool, iters: int) -> tuple[float, float]:
    torch.manual_seed(0)
    model = get_model(name, base_width=profile.base_width, **cfg).to(device)
    x = torch.randn(profile.batch_size, 3, profile.clip_len, profile.image_size, profile.image_size, device=device)
    y = torch.randn(profile.batch_size, device=device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def train_step():
        with autocast(device, amp):
            loss = torch.nn.functional.mse_loss(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    model.train()
    train_step()  # warm-up
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        train_step()
    sync()
    train = iters * profile.batch_size / (time.perf_counter() - t0)
    model.eval()
    with torch.no_grad(), autocast(device, amp):
        model(x)
        sync()
        t0 = time.perf_counter()
        for _ in range(iters):
            model(x)
        sync()
    infer = iters * profile.batch_size / (time.perf_counter() - t0)
    return train, infer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="*", default=list_models("video"), help="registered video model names")
    ap.add_argument("--profile", default="standard", help="clip size / width / batch for throughput")
    ap.add_argument("--device", nargs="*", default=None, help="devices (default: cpu, plus cuda if present)")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA")
    ap.add_argument("--iters", type=int, default=3, help="timed iterations per model")
    ap.add_argument("--counts-only", action="store_true", help="only parameter counts")
    ap.add_argument("--depths", nargs="*", type=int, default=None, help="Res3D/SCN depths for throughput (default all)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()

    paper = paper_counts()
    rows = []
    for name, cfg in specs(args.models):
        n = count_parameters_meta(name, num_outputs=1000, **cfg)  # Table 3: 1000D fully connected
        p = paper.get((name, cfg.get("depth", -1)))
        rows.append({"model": label(name, cfg), "params_M (1000-way fc)": round(n / 1e6, 2),
                     "params_M (regression)": round(count_parameters_meta(name, **cfg) / 1e6, 2),
                     "paper Table 9 (M)": p, "diff %": None if p is None else round(100 * (n / 1e6 - p) / p, 1)})
    print("Parameters at paper width (base_width 64):")
    print(pd.DataFrame(rows).to_string(index=False))
    if args.counts_only:
        return

    if args.threads:
        torch.set_num_threads(args.threads)
    profile = get_profile(args.profile)
    devices = args.device or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    print(f"\nThroughput, profile {profile.name!r}: batch {profile.batch_size}, {profile.clip_len}×"
          f"{profile.image_size}×{profile.image_size} clips, base_width {profile.base_width}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    rows = []
    for dev in devices:
        device = torch.device(dev)
        name_dev = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        for name, cfg in specs(args.models, args.depths):
            train, infer = throughput(name, cfg, profile=profile, device=device, amp=args.amp, iters=args.iters)
            rows.append({"device": name_dev, "model": label(name, cfg), "amp": args.amp and device.type == "cuda",
                         "train clips/s": round(train, 1), "inference clips/s": round(infer, 1)})
            print(rows[-1], flush=True)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
