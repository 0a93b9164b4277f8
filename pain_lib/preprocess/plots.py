"""Figures of the representations notebook (``notebooks/data/02_representations.ipynb``).

The notebook stays thin: it picks clips, calls :func:`compute_representations` (cached on
disk with :class:`~pain_lib.preprocess.cache.FeatureCache`) and the ``plot_*`` functions here.

* :func:`plot_representations` -- per flavour: frames, mean image, optical flow, dynamic image,
  MDV, AHDI, SSD side by side;
* :func:`plot_ahdi_figure` -- ahdi Figure 2 as a data figure: the motion-activity curve with
  the adaptive (overlapping) segmentation, the layer-1 dynamic images and the AHDI;
* :func:`plot_ssd_lengths` -- ssd Figure 4: SSD maps at several segment lengths;
* :func:`heart_rate_table` / :func:`plot_heart_rate` -- rPPG (POS, CHROM) vs ECG heart rate.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import ahdi as _ahdi
from . import flow as _flow
from . import rank_pooling as rp
from . import rppg as _rppg
from . import ssd as _ssd
from .cache import FeatureCache
from .ecg import ecg_heart_rate
from .hrg import heart_rate_gain

__all__ = [
    "pick_sample",
    "pick_ahdi_clip",
    "sample_with_ecg",
    "load_face_clip",
    "compute_representations",
    "plot_representations",
    "plot_ahdi_figure",
    "plot_ssd_lengths",
    "heart_rate_table",
    "plot_heart_rate",
]


def _level(sample) -> float:
    lab = sample.labels
    for k in ("max_pspi", "class", "level"):
        if k in lab and lab[k] is not None:
            return float(lab[k])
    return 0.0


def pick_sample(dataset, *, min_frames: int = 8, posed: bool = False):
    """The longest of the most painful samples (most facial dynamics to look at)."""
    cands = [s for s in dataset.samples if int(s.labels.get("posed", 0) or 0) == int(posed)]
    cands = cands or list(dataset.samples)
    return max(cands, key=lambda s: (_level(s), s.n_frames >= min_frames, s.n_frames))


def pick_ahdi_clip(rows: dict[str, tuple[np.ndarray, dict]], min_frames: int = 16) -> str:
    """The key of the first clip (``name -> (clip, representations)``) with at least
    ``min_frames`` frames, for the AHDI figure (several segments of several frames).  When no
    clip is that long, the longest one, with a warning saying which lengths were found."""
    if not rows:
        raise ValueError("no clips to choose from for the AHDI figure")
    lengths = {key: int(clip.shape[0]) for key, (clip, _) in rows.items()}
    for key, n in lengths.items():
        if n >= min_frames:
            return key
    best = max(lengths, key=lengths.get)
    found = ", ".join(f"{k.splitlines()[0]} {n}" for k, n in lengths.items())
    warnings.warn(
        f"no clip has the {min_frames} frames the AHDI figure wants (frames per clip: {found}); showing "
        f"the longest ({lengths[best]} frames), whose segments are short. Longer clips: a dataset with "
        f"longer sequences, a larger max_frames, or all_flavours=True for the other synthetic sets",
        stacklevel=2)
    return best


def _ecg_samples(dataset) -> list:
    """Genuine (not posed) samples with a biosignal (ECG) file, or a ValueError saying what is missing."""
    with_bio = [s for s in dataset.samples if s.physiology is not None]
    genuine = [s for s in with_bio if not int(s.labels.get("posed", 0) or 0)]
    if genuine:
        return genuine
    name = getattr(dataset, "paper_name", "") or type(dataset).__name__
    root = getattr(dataset, "root", "?")
    what = (f"its {len(with_bio)} samples with biosignals are all posed" if with_bio else
            f"none of its {len(dataset.samples)} samples has a biosignal file "
            f"(BioVid layout: biosignals_filtered/<subject_name>/<sample_name>_bio.csv, or biosignals_raw/)")
    raise ValueError(f"the rPPG-vs-ECG heart-rate panel needs genuine samples with an ECG, but {name} at "
                     f"{str(root)!r} has none: {what}")


def sample_with_ecg(dataset):
    """The first genuine sample of ``dataset`` with a biosignal (ECG) file; a ValueError saying
    what is missing when there is none."""
    return _ecg_samples(dataset)[0]


def load_face_clip(sample, size: int = 112, max_frames: int | None = None, *, crop: str = "auto",
                   cache: FeatureCache | None = None) -> np.ndarray:
    """Face-cropped clip ``(T, size, size, 3)`` uint8 RGB (``pain_lib.data`` readers and crop),
    at most ``max_frames`` frames from the start; cached (keyed by the crop's version too, so a
    change of the face detection recomputes it)."""
    from pain_lib.data.crop import face_crop_params, load_face_frames

    cache = cache or FeatureCache()
    params = face_crop_params(size, crop)
    faces = cache.get_or_compute("face_clip", sample, params,
                                 lambda: load_face_frames(sample, size, crop=crop))
    return faces if max_frames is None else faces[:max_frames]


def compute_representations(
    clip: np.ndarray,
    *,
    flow_method: str = "farneback",
    mdv_window: int = 20,
    mdv_stride: int = 10,
    ahdi_segments: int = 4,
    ahdi_patch: int = 9,
    ahdi_options: Mapping[str, Any] | None = None,
    ssd_lengths: Sequence[int] = (5, 10, 20, 40, 60),
    ssd_patch: int = 5,
    device=None,
    cache: FeatureCache | None = None,
    identity=None,
) -> dict[str, np.ndarray]:
    """Every representation of one clip ``(T,H,W,3)`` uint8 RGB, as a dict of NumPy arrays.

    Keys: ``mean``, ``dynamic`` (``(H,W,3)`` float), ``flow`` (``(T-1,H,W,2)``),
    ``mdv`` (``(N,H,W,3)``), ``ahdi``, ``ahdi_motion``, ``ahdi_segments``, ``ahdi_windows``,
    ``ahdi_level1``, ``ssd_lengths`` (the lengths that fit: ``T >= 2 l``) and ``ssd_<l>``.
    ``ahdi_options``: further keyword arguments of :func:`~pain_lib.preprocess.ahdi.ahdi_details`
    (a paper's reading, e.g. the ``ahdi`` package's ``AHDI_PARAMS``).
    Windows longer than the clip shrink to fit (MDV window ``min(M, T)``).  Cached on disk
    under ``identity`` (default: the clip's content) and the parameters.
    """
    cache = cache or FeatureCache()
    T = clip.shape[0]
    params = dict(flow_method=flow_method, mdv_window=mdv_window, mdv_stride=mdv_stride,
                  ahdi_segments=ahdi_segments, ahdi_patch=ahdi_patch, ssd_lengths=list(ssd_lengths),
                  ssd_patch=ssd_patch, shape=list(clip.shape), ahdi_options=dict(ahdi_options or {}))

    def compute():
        out: dict[str, np.ndarray] = {}
        out["mean"] = rp.mean_image(clip)
        out["dynamic"] = rp.dynamic_image(clip)
        fl = _flow.optical_flow(clip, flow_method)
        out["flow"] = fl
        out["mdv"] = rp.multiple_dynamic_images(clip, max(2, min(mdv_window, T)), mdv_stride)
        motion = _ahdi.motion_activity(clip, flow=fl if flow_method == "farneback" else None)
        det = _ahdi.ahdi_details(clip, n_segments=ahdi_segments, patch_size=ahdi_patch, motion=motion,
                                 device=device, **dict(ahdi_options or {}))
        out.update(ahdi=det.image, ahdi_motion=det.motion, ahdi_segments=det.segments,
                   ahdi_windows=det.windows, ahdi_level1=det.level1)
        fits = [int(v) for v in ssd_lengths if T >= 2 * int(v)]
        out["ssd_lengths"] = np.array(fits, dtype=np.int64)
        for v in fits:
            out[f"ssd_{v}"] = _ssd.ssd_map(clip, v, ssd_patch, device=device)
        return out

    return cache.get_or_compute("representations", clip if identity is None else identity, params, compute)


# ----------------------------------------------------------------------------------- plotting
def _show(ax, img, title, *, signed=True):
    img = np.asarray(img)
    img = rp.to_uint8_image(img) if signed else img
    if img.ndim == 3 and img.shape[-1] == 1:  # a one-channel map (the pairs hierarchy's layer 1)
        ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(img)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def _most_active(flow: np.ndarray) -> int:
    mag, _ = _flow.flow_magnitude_angle(flow)
    return int(np.argmax(mag.reshape(len(mag), -1).mean(1)))


def plot_representations(rows: dict[str, tuple[np.ndarray, dict]], *, n_frames: int = 3):
    """Grid: one row per clip (``name -> (clip, representations)``), columns = frames, mean,
    flow, dynamic image, first MDV images, AHDI and SSD (longest fitting length <= 20)."""
    import matplotlib.pyplot as plt

    n_mdv = 2
    ncol = n_frames + 4 + n_mdv + 1
    fig, axes = plt.subplots(len(rows), ncol, figsize=(1.55 * ncol, 1.75 * len(rows)), squeeze=False)
    for r, (name, (clip, rep)) in enumerate(rows.items()):
        ax = axes[r]
        T = clip.shape[0]
        for k, t in enumerate(np.linspace(0, T - 1, n_frames).round().astype(int)):
            _show(ax[k], clip[t], f"frame {t}", signed=False)
        ax[0].set_ylabel(name, fontsize=7)
        c = n_frames
        _show(ax[c], rep["mean"], "mean image")
        t = _most_active(rep["flow"])
        _show(ax[c + 1], _flow.flow_to_rgb(rep["flow"][t]), f"flow {t}->{t + 1}", signed=False)
        _show(ax[c + 2], rep["dynamic"], f"dynamic image (T={T})")
        for k in range(n_mdv):
            if k < len(rep["mdv"]):
                _show(ax[c + 3 + k], rep["mdv"][k], f"MDV #{k + 1}")
            else:
                ax[c + 3 + k].axis("off")
        _show(ax[c + 3 + n_mdv], rep["ahdi"], f"AHDI (m={len(rep['ahdi_segments'])})")
        lengths = [int(v) for v in rep["ssd_lengths"]]
        if lengths:
            best = max([v for v in lengths if v <= 20] or lengths[:1])
            _show(ax[c + 4 + n_mdv], rep[f"ssd_{best}"], f"SSD (l={best})")
        else:
            ax[c + 4 + n_mdv].text(0.5, 0.5, f"SSD needs\nT >= 2l\n(T={T})", ha="center", va="center", fontsize=7)
            ax[c + 4 + n_mdv].axis("off")
    fig.tight_layout(rect=(0, 0, 1, 0.93))  # room for a suptitle (run.save_figure adds one)
    return fig


def plot_ahdi_figure(clip: np.ndarray, rep: dict, *, title: str = ""):
    """ahdi Figure 2 as a data figure: motion activity with the adaptive segments (shaded) and
    the windows that were rank-pooled (bars: the overlapping segments, or the pairs of
    consecutive segments of the ``pairs`` hierarchy), each window's layer-1 dynamic image, and
    the AHDI image."""
    import matplotlib.pyplot as plt

    seg, win, motion = rep["ahdi_segments"], rep["ahdi_windows"], rep["ahdi_motion"]
    m, k = len(seg), len(win)
    fig = plt.figure(figsize=(2.0 * (k + 1), 4.6))
    gs = fig.add_gridspec(2, k + 1, height_ratios=[1.1, 1.0])
    ax = fig.add_subplot(gs[0, :])
    t = np.arange(len(motion))
    ax.plot(t, motion, color="k", lw=1.2, label="motion activity $MA_t$")
    seg_colours = plt.cm.Pastel1(np.arange(m) % 9)
    win_colours = plt.cm.tab10(np.arange(k) % 10)
    top = float(motion.max()) if motion.max() > 0 else 1.0
    for i, (s, e) in enumerate(seg):
        ax.axvspan(s - 0.5, e - 0.5, color=seg_colours[i], alpha=0.5)
        ax.text((s + e - 1) / 2, top * 0.95, f"$L_{i + 1}$={e - s}", ha="center", va="top", fontsize=8)
    for i, (ws, we) in enumerate(win):
        ax.hlines(top * (1.06 + 0.05 * (i % 3)), ws - 0.5, we - 0.5, color=win_colours[i], lw=4)
    ax.set_xlabel("frame t")
    ax.set_ylabel("mean |flow| (px/frame)")
    ax.set_xlim(-0.5, len(motion) - 0.5)
    ax.set_ylim(0, top * 1.25)
    ax.set_title("Adaptive segments (shaded; shorter where motion is high) and the rank-pooled windows (bars)",
                 fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    for i in range(k):
        a = fig.add_subplot(gs[1, i])
        ws, we = win[i]
        _show(a, rep["ahdi_level1"][i], f"dynamic image of window {i + 1}\nframes {ws}-{we - 1}")
    a = fig.add_subplot(gs[1, k])
    _show(a, rep["ahdi"], "AHDI")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_ssd_lengths(rows: dict[str, tuple[np.ndarray, dict]], lengths: Sequence[int], *, patch: int = 5):
    """ssd Figure 4: rows = clips, columns = segment lengths; a clip too short for a length
    (``T < 2 l``) leaves that cell empty with a note.  The maps of a row share one scale (their
    99.5th percentile maps to full brightness, each RGB channel its own SSD map), shown by the
    row's colourbar, so lengths can be compared."""
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    lengths = [int(v) for v in lengths]
    ncol = len(lengths) + 1
    fig, axes = plt.subplots(len(rows), ncol, figsize=(1.9 * ncol + 0.6, 2.35 * len(rows)), squeeze=False)
    for r, (name, (clip, rep)) in enumerate(rows.items()):
        _show(axes[r, 0], clip[len(clip) // 2], f"{name}\nframe {len(clip) // 2} of {len(clip)}", signed=False)
        fits = [v for v in lengths if v in set(int(q) for q in rep["ssd_lengths"])]
        vmax = max([float(np.percentile(rep[f"ssd_{v}"], 99.5)) for v in fits] or [1.0]) or 1.0
        for c, v in enumerate(lengths, start=1):
            ax = axes[r, c]
            if v in fits:
                img = np.clip(np.asarray(rep[f"ssd_{v}"]) / vmax, 0, 1)
                ax.imshow(img)
                npair = len(clip) // v - 1
                ax.set_title(f"l = {v} ({npair} pair{'s' if npair > 1 else ''})", fontsize=8)
            else:
                ax.text(0.5, 0.5, f"l = {v}:\nneeds T >= {2 * v}\n(T = {len(clip)})", ha="center",
                        va="center", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        sm = ScalarMappable(Normalize(0, vmax), colormaps["gray"])
        cb = fig.colorbar(sm, ax=list(axes[r, 1:]), fraction=0.02, pad=0.01)
        cb.set_label("SSD per channel", fontsize=7)
        cb.ax.tick_params(labelsize=6)
    fig.suptitle(f"SSD maps vs segment length l ({patch}x{patch} blocks; R, G, B = the three channels' maps)",
                 fontsize=9)
    return fig


def _ecg_of(sample):
    from pain_lib.data import read_biosignals

    df = read_biosignals(sample.physiology)
    fs = 512.0
    if "t" in df.columns and len(df) > 1:
        fs = float(round(1.0 / np.median(np.diff(df["t"].to_numpy())), 3))
    return df["ecg"].to_numpy(np.float64), fs


def heart_rate_table(dataset, *, n: int = 20, size: int = 112, crop: str = "auto",
                     cache: FeatureCache | None = None):
    """Heart rate of up to ``n`` genuine (not posed) samples with an ECG: from the ECG (R-peaks), from rPPG (POS,
    CHROM) of the face crop, and the simulator's mean heart rate when known.

    Returns a DataFrame: ``subject, sample_id, level, hr_ecg, hr_pos, hr_chrom, hr_truth,
    seconds, hrg, hrg_source``; ``hrg`` is the heart-rate gain (HR over the subject's mean
    no-pain HR, :func:`~pain_lib.preprocess.hrg.heart_rate_gain`) from the ECG when every
    window has one, else from POS; ``NaN`` for subjects without a no-pain window.  A dataset
    without any genuine sample with an ECG raises a ValueError saying so.
    """
    import pandas as pd

    cache = cache or FeatureCache()
    rows = []
    samples = _ecg_samples(dataset)[:n]
    for s in samples:
        faces = load_face_clip(s, size, crop=crop, cache=cache)
        trace = cache.get_or_compute("rgb_trace", s, {"size": size, "crop": crop},
                                     lambda faces=faces: _rppg.rgb_trace(faces))
        ecg, fs = _ecg_of(s)
        try:
            hr_ecg = ecg_heart_rate(ecg, fs)
        except ValueError:
            hr_ecg = float("nan")
        truth = s.meta.get("truth")
        rows.append(dict(
            subject=s.subject, sample_id=s.sample_id, level=_level(s),
            hr_ecg=hr_ecg,
            hr_pos=_rppg.estimate_heart_rate(trace, s.fps, "pos"),
            hr_chrom=_rppg.estimate_heart_rate(trace, s.fps, "chrom"),
            hr_truth=float(truth["hr_mean"]) if truth is not None and "hr_mean" in truth else float("nan"),
            seconds=len(trace) / s.fps,
        ))
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    source = "hr_ecg" if df["hr_ecg"].notna().all() else "hr_pos"
    df["hrg"] = np.nan
    df["hrg_source"] = source[3:]
    has_base = df.groupby("subject")["level"].transform(lambda v: bool((v == 0).any()))
    if has_base.any():
        sub = df[has_base]
        df.loc[has_base, "hrg"] = heart_rate_gain(sub[source].to_numpy(), sub["subject"].to_numpy(),
                                                  sub["level"].to_numpy())
    return df


def plot_heart_rate(df, *, example_trace: np.ndarray | None = None, fps: float | None = None):
    """Left: rPPG (POS, CHROM) vs ECG heart rate with the identity line and MAEs in the legend;
    right (when ``example_trace`` is given): the band-passed POS pulse spectrum of one sample."""
    import matplotlib.pyplot as plt

    ncol = 2 if example_trace is not None else 1
    fig, axes = plt.subplots(1, ncol, figsize=(5.2 * ncol, 4.2), squeeze=False)
    ax = axes[0, 0]
    ref = df["hr_ecg"].to_numpy()
    lo = np.nanmin(df[["hr_ecg", "hr_pos", "hr_chrom"]].to_numpy()) - 5
    hi = np.nanmax(df[["hr_ecg", "hr_pos", "hr_chrom"]].to_numpy()) + 5
    ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--", label="rPPG = ECG")
    for col, mk in (("hr_pos", "o"), ("hr_chrom", "s")):
        mae = float(np.nanmean(np.abs(df[col].to_numpy() - ref)))
        ax.scatter(ref, df[col], marker=mk, alpha=0.75, label=f"{col[3:].upper()} (MAE {mae:.1f} bpm)")
    ax.set_xlabel("heart rate from ECG R-peaks (bpm)")
    ax.set_ylabel("heart rate from face video, rPPG (bpm)")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    secs = float(df["seconds"].median()) if "seconds" in df else float("nan")
    ax.set_title(f"rPPG vs ECG heart rate ({len(df)} windows of ~{secs:.1f} s)", fontsize=9)
    ax.legend(fontsize=8)
    if example_trace is not None:
        ax = axes[0, 1]
        pulse = _rppg.bandpass(_rppg.pos_signal(example_trace, fps), fps)
        nfft = 1 << 14
        spec = np.abs(np.fft.rfft((pulse - pulse.mean()) * np.hanning(len(pulse)), nfft)) ** 2
        f = np.fft.rfftfreq(nfft, 1 / fps) * 60
        sel = (f >= 30) & (f <= 200)
        ax.plot(f[sel], spec[sel] / spec[sel].max(), color="C0")
        bpm = _rppg.spectral_peak_bpm(pulse, fps)
        ax.axvline(bpm, color="C3", ls=":", label=f"POS peak {bpm:.1f} bpm")
        ax.axvspan(45, 180, color="grey", alpha=0.08, label="band 0.75-3 Hz")
        ax.set_xlabel("frequency (bpm)")
        ax.set_ylabel("normalised power")
        ax.set_title("POS pulse spectrum of one window (zero-padded FFT)", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.93))  # room for a suptitle (run.save_figure adds one)
    return fig
