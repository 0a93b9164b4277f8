"""Figures of the data notebook (``notebooks/data/01_synthetic_datasets.ipynb``).

Each function takes readers' :class:`~pain_lib.data.base.Sample` lists (real or generated;
panels that need the simulator's truth say so) and returns a matplotlib ``Figure`` with
labelled axes and units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..data.base import Sample
from ..data.crop import crop_frames, face_boxes
from ..data.labels import frame_pspi
from ..data.summary import apex_frame, representative_frames
from ..data.video import read_clip
from .facs import AU_ORDER, SPEED_CLASSES
from .truth import cheek_trace, ecg_r_peaks, instantaneous_hr, onset_aligned, rise_time

__all__ = ["FACS_NAMES", "LEVEL_NAMES", "face_at_apex", "facs_coding_figure", "sample_faces_figure", "au_curves_figure", "speed_classes_figure",
           "physiology_figure", "physiology_by_level_figure", "posed_vs_genuine_figure"]

#: column titles of the pain levels per reader
LEVEL_NAMES = {
    "unbc": ["PSPI 0", "PSPI 1-2", "PSPI 3-5", "PSPI 6-8", "PSPI 9+"],
    "biovid": ["BL1 (0)", "PA1 (1)", "PA2 (2)", "PA3 (3)", "PA4 (4)"],
    "mint": ["Label0", "Label1", "Label2", "Label3", "Label4"],
}


def _plt():
    import matplotlib.pyplot as plt

    return plt


def face_at_apex(sample: Sample, size: int = 112, crop: str = "auto", frame: int | None = None) -> np.ndarray:
    """Frame ``frame`` (default: the most expressive) of ``sample``, face-cropped:
    ``(size, size, 3)`` uint8 RGB."""
    i = apex_frame(sample) if frame is None else int(frame)
    lo, hi = max(0, i - 4), min(sample.n_frames, i + 5)  # a few neighbours: Haar boxes get smoothed
    idx = np.arange(lo, hi)
    frames = read_clip(sample, idx)
    boxes = face_boxes(sample, frames, idx, mode=crop)
    return crop_frames(frames[i - lo:i - lo + 1], boxes[i - lo:i - lo + 1], size)[0]


def sample_faces_figure(rows: Mapping[str, tuple[str, Sequence[Sample]]], *, subjects_per_row: int = 1,
                        size: int = 112, seed: int = 0, title: str = ""):
    """Face crops at the apex, one column per pain level 0-4.

    ``rows``: row label -> (reader name ``unbc`` / ``biovid`` / ``mint``, samples).  With
    ``subjects_per_row > 1`` each dataset gets that many rows of different subjects.
    """
    plt = _plt()
    lines = []
    for label, (reader, samples) in rows.items():
        subjects = [str(x) for x in np.random.default_rng(seed).permutation(sorted({s.subject for s in samples}))]
        coverage = {subj: representative_frames([s for s in samples if s.subject == subj], seed=seed)
                    for subj in subjects}
        # subjects covering the most levels first (seeded order among equals)
        ranked = sorted(subjects, key=lambda subj: -sum(v is not None for v in coverage[subj].values()))
        for r, subj in enumerate(ranked[:subjects_per_row]):
            fill = representative_frames(samples, seed=seed + r)  # levels this subject lacks: anyone
            reps = {lv: coverage[subj][lv] or fill[lv] for lv in coverage[subj]}
            lines.append((f"{label}\n{subj}", reader, reps))
    fig, axes = plt.subplots(len(lines), 5, figsize=(10, 2.2 * len(lines) + 0.4), squeeze=False)
    for r, (label, reader, reps) in enumerate(lines):
        for c, lv in enumerate(range(5)):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            rep = reps.get(lv)
            if rep is None:
                ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
            else:
                s, i = rep
                ax.imshow(face_at_apex(s, size, frame=i))
                pspi = ""
                try:
                    pspi = f", PSPI {frame_pspi(s)[i]:.0f}"
                except KeyError:
                    pass
                other = "" if s.subject in label else f" ({s.subject})"
                ax.set_xlabel(f"{s.sample_id[-24:]} #{i}{pspi}{other}", fontsize=6)
            if r == 0:
                ax.set_title(LEVEL_NAMES.get(reader, [str(i) for i in range(5)])[c], fontsize=9)
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # room for a suptitle
    return fig


def au_curves_figure(sample: Sample):
    """AU intensities (continuous truth and FACS codes) and the PSPI trace of one sample
    (needs ``sample.meta["truth"]``)."""
    plt = _plt()
    t_ = sample.meta["truth"]
    au, coded, names = np.asarray(t_["au"]), np.asarray(t_["au_coded"]), [str(n) for n in t_["au_names"]]
    t = np.arange(len(au)) / sample.fps
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    for k, n in enumerate(names):
        if n in ("AU43", "AU45"):
            axes[1].plot(t, au[:, k], label=n + (" (eyes closed)" if n == "AU43" else " (blink)"))
        elif n in ("AU4", "AU6", "AU7", "AU9", "AU10"):
            axes[0].plot(t, au[:, k], label=n)
        elif au[:, k].max() > 0:
            axes[0].plot(t, au[:, k], ls="--", lw=1, label=n + " (distractor)")
    axes[0].set_ylabel("intensity (0-5)")
    axes[0].set_ylim(-0.2, 5.4)
    axes[0].legend(ncol=4, fontsize=7, loc="upper right")
    axes[0].set_title(f"{sample.sample_id}: speed class '{t_['speed']}', "
                      f"{'posed' if t_['posed'] else 'genuine'}, {len(t_['episodes'])} episode(s)")
    axes[1].set_ylabel("eye closure (0-1)")
    axes[1].legend(fontsize=7, loc="upper right")
    pspi = frame_pspi(sample)
    axes[2].step(t, pspi, where="mid", color="k", label="PSPI from coded AUs (label file)")
    axes[2].plot(t, 16 * np.asarray(t_["envelope"]), color="tab:red", alpha=0.6, label="pain envelope x 16")
    j = [names.index(a) for a in ("AU4", "AU6", "AU7", "AU9", "AU10", "AU43")]
    c = coded[:, j]
    recomputed = c[:, 0] + np.maximum(c[:, 1], c[:, 2]) + np.maximum(c[:, 3], c[:, 4]) + (c[:, 5] > 0)
    axes[2].plot(t, recomputed, ":", color="tab:green", label="AU4+max(AU6,AU7)+max(AU9,AU10)+AU43")
    axes[2].set_ylabel("PSPI (0-16)")
    axes[2].set_xlabel("time (s)")
    axes[2].legend(fontsize=7, loc="upper right")
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # room for a suptitle
    return fig


#: FACS names of the action units the simulator codes
FACS_NAMES = {
    "AU4": "brow lowerer", "AU6": "cheek raiser", "AU7": "lid tightener", "AU9": "nose wrinkler",
    "AU10": "upper lip raiser", "AU12": "lip corner puller", "AU25": "lips part", "AU26": "jaw drop",
    "AU43": "eyes closed", "AU45": "blink",
}


def facs_coding_figure(sample: Sample, *, size: int = 160):
    """The SCN paper's Figure 1 on a sample with FACS truth: the neutral first frame next to
    the most expressive frame, with that frame's coded action units (FACS intensity letters
    A-E, AU43 present/absent) and the PSPI they add up to (needs ``sample.meta["truth"]``)."""
    plt = _plt()
    t_ = sample.meta.get("truth")
    if t_ is None:
        raise ValueError(f"sample {sample.sample_id!r} has no FACS ground truth (a synthetic sample is needed)")
    coded, names = np.asarray(t_["au_coded"]), [str(n) for n in t_["au_names"]]
    pspi = frame_pspi(sample)
    apex = apex_frame(sample)
    neutral = int(np.argmin(pspi))
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 1, 1.25]})
    for ax, i, what in ((axes[0], neutral, "neutral"), (axes[1], apex, "pain apex")):
        ax.imshow(face_at_apex(sample, size, frame=i))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{what}: frame {i}, PSPI {pspi[i]:.0f}", fontsize=9)
    lines = []
    for k, n in enumerate(names):
        c = int(coded[apex, k])
        if c > 0:
            code = "present" if n in ("AU43", "AU45") else f"intensity {'ABCDE'[min(c, 5) - 1]} ({c})"
            lines.append(f"{n:>5}  {FACS_NAMES.get(n, ''):<18} {code}")
    ax = axes[2]
    ax.axis("off")
    ax.text(0, 1, f"FACS coding of the apex frame\n({len(lines)} component actions)\n\n" + "\n".join(lines)
            + "\n\nPSPI = AU4 + max(AU6, AU7)\n       + max(AU9, AU10) + AU43"
            + f" = {pspi[apex]:.0f}",
            va="top", ha="left", family="monospace", fontsize=8, transform=ax.transAxes)
    fig.suptitle(f"An example of facial action coding: {sample.sample_id}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def speed_classes_figure(samples: Sequence[Sample]):
    """One PSPI trace per speed class (slow / medium / sudden) -- the expression changes scn
    Figures 9-10 discuss (needs truth)."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3), sharey=True)
    for ax, speed in zip(axes, SPEED_CLASSES):
        cands = [s for s in samples if s.meta.get("truth") is not None and s.meta["truth"]["speed"] == speed
                 and s.meta["truth"]["face_response"]]
        ax.set_title(f"{speed} changes")
        ax.set_xlabel("time (s)")
        if not cands:
            ax.text(0.5, 0.5, "no sample", ha="center", transform=ax.transAxes)
            continue
        s = max(cands, key=lambda x: frame_pspi(x).max())
        t = np.arange(s.n_frames) / s.fps
        ax.step(t, frame_pspi(s), where="mid", color="k", label="frame PSPI")
        rt = rise_time(s.meta["truth"]["envelope"], s.fps)
        ax.text(0.02, 0.92, f"{s.sample_id}\nonset 10-90 %: {rt:.2f} s", transform=ax.transAxes, fontsize=7, va="top")
    axes[0].set_ylabel("PSPI")
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # room for a suptitle
    return fig


def physiology_figure(sample: Sample):
    """ECG (filtered) with R peaks, heart rate (truth vs ECG), rendered pulse vs skin colour,
    and skin conductance of one BioVid-layout sample with truth."""
    from ..data.biovid import read_biosignals

    plt = _plt()
    t_ = sample.meta["truth"]
    bio = read_biosignals(sample.physiology)
    fs = 1.0 / float(np.median(np.diff(bio["t"])))
    peaks = ecg_r_peaks(bio["ecg"].to_numpy(), fs)
    frames = read_clip(sample)
    skin = cheek_trace(frames, np.asarray(t_["landmarks"]))
    tf = np.arange(len(frames)) / sample.fps
    fig, axes = plt.subplots(4, 1, figsize=(9, 8), sharex=True)
    axes[0].plot(bio["t"], bio["ecg"], lw=0.7)
    axes[0].plot(bio["t"].to_numpy()[peaks], bio["ecg"].to_numpy()[peaks], "rv", ms=4, label="R peaks")
    axes[0].set_ylabel("ECG (mV)")
    axes[0].legend(fontsize=7)
    axes[0].set_title(f"{sample.sample_id} ({sample.labels.get('class_name', '')}): 512 Hz biosignals "
                      f"and {sample.fps:g} fps video")
    ti, hr = instantaneous_hr(peaks, fs)
    axes[1].plot(tf, t_["hr"], label="simulated heart rate")
    axes[1].plot(ti, hr, "o-", ms=3, label="from ECG R-R intervals")
    axes[1].set_ylabel("heart rate (bpm)")
    axes[1].legend(fontsize=7)
    g = skin[:, 1] - np.convolve(skin[:, 1], np.ones(9) / 9, mode="same")
    ax2 = axes[2]
    ax2.plot(tf[4:-4], g[4:-4], color="tab:green", label="cheek green mean, detrended (decoded mp4)")
    ax2.set_ylabel("green (grey levels)")
    ax3 = ax2.twinx()
    ax3.plot(tf, t_["pulse"], color="tab:red", alpha=0.5, label="rendered pulse (a.u.)")
    ax3.set_ylabel("pulse (a.u.)")
    ax2.legend(fontsize=7, loc="upper left")
    ax3.legend(fontsize=7, loc="upper right")
    axes[3].plot(bio["t"], bio["gsr"], color="tab:purple")
    axes[3].set_ylabel("GSR (uS)")
    axes[3].set_xlabel("time (s)")
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # room for a suptitle
    return fig


def physiology_by_level_figure(samples: Sequence[Sample]):
    """Heart rate relative to the subject's BL1 mean, and the fraction of windows with a
    facial response, per stimulus level (needs truth)."""
    plt = _plt()
    by_subj: dict[str, list[float]] = {}
    for s in samples:
        if s.labels["class"] == 0:
            by_subj.setdefault(s.subject, []).append(s.meta["truth"]["hr_mean"])
    base = {k: float(np.mean(v)) for k, v in by_subj.items()}
    levels = sorted({int(s.labels["class"]) for s in samples})
    dhr = [[s.meta["truth"]["hr_mean"] - base.get(s.subject, np.nan) for s in samples
            if s.labels["class"] == lv] for lv in levels]
    face = [np.mean([s.meta["truth"]["face_response"] for s in samples if s.labels["class"] == lv]) for lv in levels]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    axes[0].boxplot(dhr, positions=range(len(levels)))
    axes[0].set_xticks(range(len(levels)), [str(lv) for lv in levels])
    axes[0].axhline(0, color="grey", lw=0.5)
    axes[0].set_xlabel("stimulus level (class)")
    axes[0].set_ylabel("HR - subject's BL1 mean (bpm)")
    axes[0].set_title("heart rate rises with the stimulus")
    axes[1].bar([str(lv) for lv in levels], face, color="tab:orange")
    axes[1].set_ylim(0, 1)
    axes[1].set_xlabel("stimulus level (class)")
    axes[1].set_ylabel("fraction of windows")
    axes[1].set_title("windows with a facial response")
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # room for a suptitle
    return fig


def posed_vs_genuine_figure(genuine: Sequence[Sample], posed: Sequence[Sample]):
    """Onset-aligned AU trajectories, onset durations, AU6/7-to-AU4 ratios and heart-rate
    change of genuine (face-responding) vs posed displays (needs truth)."""
    plt = _plt()
    groups = {"genuine": [s for s in genuine if s.meta["truth"]["face_response"]],
              "posed": [s for s in posed if s.meta["truth"]["face_response"]]}
    names = list(AU_ORDER)
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.3))
    colours = {"genuine": "tab:blue", "posed": "tab:red"}
    for g, ss in groups.items():
        if not ss:
            continue
        fps = ss[0].fps
        for au, ls in (("AU4", "-"), ("AU7", "--")):
            k = names.index(au)
            tr = np.array([onset_aligned(np.asarray(s.meta["truth"]["au"])[:, k], s.meta["truth"]["envelope"], fps)
                           for s in ss])
            t = np.arange(tr.shape[1]) / fps - 0.5
            n_valid = np.sum(~np.isnan(tr), axis=0)
            mean = np.nansum(tr, axis=0) / np.maximum(n_valid, 1)
            mean[n_valid < max(2, len(ss) // 3)] = np.nan  # too few displays last that long
            axes[0].plot(t, mean, ls, color=colours[g], label=f"{g} {au}")
        rts = [rise_time(s.meta["truth"]["envelope"], s.fps) for s in ss]
        axes[1].hist(rts, bins=np.linspace(0, 3, 16), alpha=0.6, color=colours[g], label=g)
        au = [np.asarray(s.meta["truth"]["au"]) for s in ss]
        ratio = [max(a[:, names.index("AU6")].max(), a[:, names.index("AU7")].max())
                 / max(a[:, names.index("AU4")].max(), 1e-6) for a in au]
        axes[2].hist(ratio, bins=np.linspace(0, 2, 17), alpha=0.6, color=colours[g], label=g)
    base = {}
    for s in genuine:
        if s.labels.get("class") == 0:
            base.setdefault(s.subject, []).append(s.meta["truth"]["hr_mean"])
    for i, ss in enumerate(groups.values()):
        d = [s.meta["truth"]["hr_mean"] - np.mean(base[s.subject]) for s in ss if s.subject in base]
        if d:
            axes[3].boxplot([d], positions=[i])
    axes[3].set_xticks(range(len(groups)), list(groups))
    axes[0].set_xlabel("time from onset (s)")
    axes[0].set_ylabel("AU intensity (0-5)")
    axes[0].set_title("onset-aligned mean AU")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("onset duration 10-90 % (s)")
    axes[1].set_ylabel("displays")
    axes[1].set_title("posed onsets are faster")
    axes[1].legend(fontsize=7)
    axes[2].set_xlabel("max(AU6, AU7) / AU4 at apex")
    axes[2].set_ylabel("displays")
    axes[2].set_title("weaker orbital tightening when posed")
    axes[2].legend(fontsize=7)
    axes[3].axhline(0, color="grey", lw=0.5)
    axes[3].set_ylabel("HR - subject's BL1 mean (bpm)")
    axes[3].set_title("no heart-rate response when posed")
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # room for a suptitle
    return fig
