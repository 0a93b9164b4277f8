"""Training-step benchmark of the clip recipes: clips/s, GPU utilisation, model-FLOP utilisation.

Each configuration trains a registered 3D network the way :class:`pain_lib.experiments.ClipRecipe`
does -- clips gathered from a uint8 frame bank on the training device, channels-last 3D layout,
bf16 autocast when the profile asks for it and the device computes bf16 natively (CUDA, AMX CPUs), SGD -- on random frames (no dataset needed).
Per configuration it prints and writes:

* ``clips/s``: training clips per second over the timed steps (after warm-up);
* ``step ms`` and ``peak GiB`` (CUDA memory); ``warmup_s``: the first three steps (with cuDNN
  autotuning, ``--cudnn autotune``, every new conv shape is searched there);
* ``GPU util %``: the share of the timed window in which a kernel was running (NVML, sampled
  every 50 ms; CUDA only);
* ``TFLOP/s`` and ``MFU %``: forward+backward FLOPs of one step (``torch.utils.flop_counter``)
  per second, and that as a share of the device's dense bf16 peak (``--peak``; H100/H200 SXM:
  989 TFLOP/s).

Usage::

    python bench/training.py                                  # CPU: the standard and full configurations
    python bench/training.py --device cuda --paper            # + the paper-size steps (batch 64, 32×112×112)
    python bench/training.py --device cuda --out results/benchmarks/training-h100.md

Configurations come from the profiles (``standard``, ``full``, ``paper``), so the numbers describe
what those profiles run.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import pandas as pd
import torch

from pain_lib.config import get_profile, seed_everything
from pain_lib.data.bank import FrameBank, random_clips
from pain_lib.experiments import StandardisedMSE, to_memory_format
from pain_lib.experiments.clips import ClipSetup
from pain_lib.io import atomic_write_text
from pain_lib.models import get_model
from pain_lib.train import bf16_native, cpu_bf16_native, make_sgd

#: dense bf16 peak (FLOP/s) by device-name fragment
PEAKS = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


def configurations(paper: bool) -> list[tuple[str, str, dict, str]]:
    """(label, model, builder args, profile) of every benchmarked configuration."""
    out = [("standard SCN-26", "scn", {"depth": 26}, "standard"),
           ("full SCN-26", "scn", {"depth": 26}, "full"),
           ("full Res3D-26", "res3d", {"depth": 26}, "full"),
           ("full C3D", "c3d", {}, "full"),
           ("full SCN-152", "scn", {"depth": 152}, "full")]
    if paper:
        out += [("paper SCN-26", "scn", {"depth": 26}, "paper"),
                ("paper Res3D-50", "res3d", {"depth": 50}, "paper"),
                ("paper SCN-50", "scn", {"depth": 50}, "paper"),
                # the sweeps' network at paper (scn Tables 2, 4-6): bench/cluster_cost.py reads its step
                ("paper SCN-101", "scn", {"depth": 101}, "paper")]
    return out


class Utilisation:
    """Samples NVML's GPU utilisation in a thread (``torch.cuda.utilization``) while running."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.samples, self._stop = device, [], threading.Event()

    def __enter__(self):
        if self.device.type == "cuda":
            self._t = threading.Thread(target=self._run, daemon=True)
            self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(torch.cuda.utilization(self.device))
            except Exception:  # noqa: BLE001 - NVML missing: no utilisation
                return
            time.sleep(0.05)

    def __exit__(self, *exc) -> None:
        self._stop.set()

    @property
    def mean(self) -> float:
        return float(sum(self.samples) / len(self.samples)) if self.samples else float("nan")


def bench(label: str, model: str, cfg: dict, profile_name: str, device: torch.device, *, seconds: float,
          peak: float | None, deterministic: bool | None = None) -> dict:
    profile = get_profile(profile_name)
    setup = ClipSetup.from_profile(profile)
    deterministic = profile.deterministic if deterministic is None else deterministic
    seed_everything(0, deterministic=deterministic)
    net = to_memory_format(get_model(model, base_width=profile.base_width, **cfg), setup, device)
    if setup.grad_checkpointing:
        net.set_grad_checkpointing(True)
    bank = FrameBank(size=setup.size, device=device)
    bank.frames = torch.randint(0, 256, (4000, setup.size, setup.size, 3), dtype=torch.uint8, device=device)
    lengths = [200] * 20
    opt = make_sgd(net, lr=setup.lr)
    loss_fn = StandardisedMSE(1.0)
    rng = __import__("numpy").random.default_rng(0)
    # the library trains bf16 on CUDA only (the same numbers on every CPU); the benchmark still
    # measures what bf16 would give on a CPU with AMX tiles
    amp = setup.amp and (bf16_native(device) or (device.type == "cpu" and cpu_bf16_native()))

    def autocast(device, enabled):
        import contextlib

        return torch.autocast(device_type=device.type, dtype=torch.bfloat16) if enabled else contextlib.nullcontext()

    def step():
        pos, idx = random_clips(lengths, clip_len=setup.clip_len, stride=setup.stride, per_sample=8, rng=rng)
        frame_index = torch.from_numpy(pos[: setup.batch_size, None] * 200 + idx[: setup.batch_size]).to(device)
        x = bank.gather(frame_index)
        with autocast(device, amp):
            y = net(x)
        loss = loss_fn(y.float(), torch.zeros_like(y, dtype=torch.float32))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    net.train()
    t_phase = time.perf_counter()
    for _ in range(3):
        step()
    sync()
    warmup_s = time.perf_counter() - t_phase  # with cuDNN autotuning: every conv shape's search
    print(f"  {label}: 3 warm-up steps {warmup_s:.1f} s", flush=True)
    from torch.utils.flop_counter import FlopCounterMode

    t_phase = time.perf_counter()
    with FlopCounterMode(display=False) as fc:
        step()
    sync()
    flops = fc.get_total_flops()
    print(f"  {label}: FLOP count {flops / 1e9:.1f} GFLOP/step in {time.perf_counter() - t_phase:.1f} s", flush=True)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    n, t0 = 0, time.perf_counter()
    with Utilisation(device) as util:
        while n < 5 or (time.perf_counter() - t0 < seconds and n < 200):
            step()
            n += 1
            if n % 5 == 0:
                sync()
        sync()
    dt = (time.perf_counter() - t0) / n
    row = {"configuration": label, "profile": profile_name, "model": model, **{f"cfg_{k}": v for k, v in cfg.items()},
           "batch": setup.batch_size, "clip": f"{setup.clip_len}×{setup.size}×{setup.size}", "width": profile.base_width,
           "bf16": amp, "grad_checkpointing": setup.grad_checkpointing, "cudnn_autotune": device.type == "cuda" and not deterministic,
           "warmup_s": warmup_s, "step_ms": 1e3 * dt,
           "clips_per_s": setup.batch_size / dt, "gpu_util_pct": util.mean,
           "tflops": flops / dt / 1e12, "mfu_pct": 100 * flops / dt / peak if peak else float("nan"),
           "peak_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")}
    return row


def markdown(df: pd.DataFrame) -> str:
    """A Markdown table (numbers to 3 significant digits)."""
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--paper", action="store_true", help="also the paper-size steps (a GPU with ~80 GB)")
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per configuration")
    ap.add_argument("--peak", type=float, default=None, help="dense bf16 peak FLOP/s (default: by device name)")
    ap.add_argument("--only", default="", help="comma-separated configuration labels to run")
    ap.add_argument("--cudnn", choices=("profile", "autotune", "deterministic"), default="profile",
                    help="cuDNN kernel choice: the profile's (full: autotune), autotuning (benchmark), or "
                         "deterministic heuristics -- compare warmup_s to see the autotuning's cost")
    ap.add_argument("--out", default=None, help="write a Markdown table (and .csv) here")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    peak = args.peak or next((v for k, v in PEAKS.items() if k in name), None)
    rows = []
    deterministic = {"profile": None, "autotune": False, "deterministic": True}[args.cudnn]
    for label, model, cfg, prof in configurations(args.paper):
        if args.only and label not in args.only.split(","):
            continue
        try:
            rows.append(bench(label, model, cfg, prof, device, seconds=args.seconds, peak=peak,
                              deterministic=deterministic))
            if device.type == "cuda":
                torch.cuda.empty_cache()
        except torch.cuda.OutOfMemoryError as exc:  # pragma: no cover - GPU only
            rows.append({"configuration": label, "profile": prof, "model": model, "error": f"out of memory: {exc}"[:120]})
            torch.cuda.empty_cache()
        print({k: (round(v, 2) if isinstance(v, float) else v) for k, v in rows[-1].items()}, flush=True)
    df = pd.DataFrame(rows)
    text = (f"# Training-step benchmark on {name}\n\ntorch {torch.__version__}; bf16 peak used for MFU: "
            f"{peak / 1e12 if peak else 'n/a'} TFLOP/s; `python bench/training.py {' '.join(argv or [])}`\n\n"
            + markdown(df) + "\n")
    print(text)
    if args.out:
        out = Path(args.out)
        atomic_write_text(out, text)
        atomic_write_text(out.with_suffix(".csv"), df.to_csv(index=False))


if __name__ == "__main__":
    main()
