"""Dataset characteristics (ssd Table 1), representative samples, truth helpers, notebook figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _synth_data import tiny_root  # noqa: E402

from pain_lib.data import open_dataset  # noqa: E402
from pain_lib.data.summary import (  # noqa: E402
    apex_frame,
    dataset_characteristics,
    pain_level,
    representative_samples,
)
from pain_lib.synth import (
    figures,  # noqa: E402
    open_real_or_synthetic,  # noqa: E402
)
from pain_lib.synth.truth import (  # noqa: E402
    ecg_r_peaks,
    instantaneous_hr,
    onset_aligned,
    rise_time,
)


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    u = open_dataset("synth-unbc", tiny_root(tmp_path_factory, "synth-unbc"))
    broot = tiny_root(tmp_path_factory, "synth-biovid")
    return u, open_dataset("synth-biovid", broot), open_dataset("synth-biovid", broot, part="posed")


def test_dataset_characteristics_counts(sets):
    u, b, _ = sets
    df = dataset_characteristics({"UNBC-McMaster": u, "BioVid (Part A)": b})
    cell = lambda r, c: df[(df.row == r) & (df.column == c)].value.item()  # noqa: E731
    assert cell("UNBC-McMaster", "Subjects") == 4 and cell("UNBC-McMaster", "Videos") == len(u.samples)
    assert cell("UNBC-McMaster", "Classes") == len(np.unique(np.concatenate([s.labels["pspi"] for s in u.samples])))
    assert cell("BioVid (Part A)", "Classes") == 5 and cell("BioVid (Part A)", "Stimuli") == "Induced Heat"
    assert set(df.columns) == {"row", "column", "metric", "value", "dataset", "paper_dataset"}
    # each row meets its own paper dataset in the side-by-side table (ssd Table 1)
    assert set(df.groupby("row")["paper_dataset"].first().items()) == {
        ("UNBC-McMaster", "UNBC-McMaster"), ("BioVid (Part A)", "BioVid-A")}


def test_levels_and_apex(sets):
    u, b, _ = sets
    for s in u.samples:
        assert pain_level(s) == int(np.searchsorted([1, 3, 6, 9], s.labels["max_pspi"], side="right"))
        assert s.labels["pspi"][apex_frame(s)] == s.labels["max_pspi"]
    reps = representative_samples(b.samples)
    assert all(reps[lv].labels["class"] == lv for lv in range(5))


def test_open_real_or_synthetic(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PAIN_LIB_DATA", str(tmp_path_factory.getbasetemp() / "synth-tiny-env"))
    root = tiny_root(tmp_path_factory, "synth-mint")
    assert open_real_or_synthetic("mint", root, scale="tiny").root == root


def test_truth_helpers():
    fps = 25.0
    env = np.clip((np.arange(100) - 20) / 25, 0, 1)
    assert rise_time(env, fps) == pytest.approx(20 / fps, abs=0.05)
    assert np.isnan(rise_time(np.zeros(10), fps))
    two = np.concatenate([0.5 * env[:60], 0.5 * env[59::-1], env])  # small then large episode
    assert rise_time(two, fps) == pytest.approx(20 / fps, abs=0.05)  # the first onset
    al = onset_aligned(np.arange(100.0), env, fps, before=0.2, after=0.4)
    assert len(al) == 16 and np.isnan(al).sum() == 0 and al[5] == pytest.approx(22.0, abs=1.01)
    fs = 512.0
    from pain_lib.synth.physiology import ecg_wave

    t = np.arange(int(10 * fs)) / fs
    ecg = ecg_wave(t * 72 / 60)
    peaks = ecg_r_peaks(ecg, fs)
    _, bpm = instantaneous_hr(peaks, fs)
    assert np.allclose(bpm, 72, atol=0.6) and len(peaks) in (11, 12, 13)


def test_notebook_figures_have_labelled_axes(sets):
    u, b, d = sets
    figs = [
        figures.sample_faces_figure({"UNBC": ("unbc", u.samples)}, size=48),
        figures.au_curves_figure(max(u.samples, key=lambda s: s.labels["max_pspi"])),
        figures.speed_classes_figure(u.samples),
        figures.physiology_figure(next(s for s in b.samples if s.labels["class"] == 4)),
        figures.physiology_by_level_figure(b.samples),
        figures.posed_vs_genuine_figure(b.samples, d.samples),
    ]
    import matplotlib.pyplot as plt

    for fig in figs[1:]:
        labelled = [ax for ax in fig.axes if ax.get_xlabel() or ax.get_ylabel()]
        assert labelled, fig
        plt.close(fig)
    assert len(figs[0].axes) == 5
    plt.close(figs[0])
