"""The simulator: layouts, label consistency, detectability, physiology, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from _synth_data import estimate_hr, tiny_root

from pain_lib import synth
from pain_lib.data import open_dataset, read_clip
from pain_lib.data.unbc import read_facs_file, read_number_file
from pain_lib.synth.face import sample_identity
from pain_lib.synth.facs import (
    RISE_SECONDS,
    code_aus,
    episode_envelope,
    pain_au_curves,
    pspi,
    sample_episode,
)
from pain_lib.synth.physiology import ecg_wave, simulate_physiology, stimulus_drive
from pain_lib.synth.scales import get_scale
from pain_lib.synth.sequence import SequenceSpec, plan_sequence
from pain_lib.synth.writers.biovid import write_mp4


@pytest.fixture(scope="module")
def unbc_root(tmp_path_factory):
    return tiny_root(tmp_path_factory, "synth-unbc")


@pytest.fixture(scope="module")
def biovid_root(tmp_path_factory):
    return tiny_root(tmp_path_factory, "synth-biovid")


@pytest.fixture(scope="module")
def mint_root(tmp_path_factory):
    return tiny_root(tmp_path_factory, "synth-mint")


# ---------------------------------------------------------------- layouts and labels
def test_unbc_layout_and_pspi_equals_formula_on_facs(unbc_root):
    facs_files = sorted((unbc_root / "Frame_Labels" / "FACS").rglob("*_facs.txt"))
    assert len(facs_files) > 100
    n_pain = 0
    for f in facs_files:
        rel = f.relative_to(unbc_root / "Frame_Labels" / "FACS")
        codes = read_facs_file(f)
        expected = codes.get(4, 0) + max(codes.get(6, 0), codes.get(7, 0)) \
            + max(codes.get(9, 0), codes.get(10, 0)) + (1 if codes.get(43, 0) else 0)
        got = read_number_file(unbc_root / "Frame_Labels" / "PSPI" / rel)
        assert got == expected, f
        n_pain += got > 0
        img = unbc_root / "Images" / rel.parent / rel.name.replace("_facs.txt", ".png")
        assert img.is_file()
        lm = np.loadtxt(unbc_root / "AAM_landmarks" / rel.parent / rel.name.replace("_facs.txt", "_aam.txt"))
        assert lm.shape == (66, 2)
    assert n_pain > 0, "the tiny set must contain painful frames"
    for kind in ("AFF", "OPR", "SEN", "VAS"):
        assert list((unbc_root / "Sequence_Labels" / kind).rglob("*.txt"))
    subject_dirs = [d.name for d in (unbc_root / "Images").iterdir()]
    assert all(len(n) == 9 and n[3] == "-" for n in subject_dirs), subject_dirs


def test_pspi_formula_unit():
    au = {"AU4": np.array([0, 2, 5]), "AU6": np.array([1, 0, 3]), "AU7": np.array([2, 1, 4]),
          "AU9": np.array([0, 3, 1]), "AU10": np.array([1, 0, 5]), "AU43": np.array([0, 1, 1])}
    np.testing.assert_array_equal(pspi(au), [0 + 2 + 1 + 0, 2 + 1 + 3 + 1, 5 + 4 + 5 + 1])


def test_biovid_layout(biovid_root):
    for part in ("PartA", "PartD"):
        lines = (biovid_root / part / "starting_point" / "samples.csv").read_text().splitlines()
        assert lines[0].split("\t") == ["subject_id", "subject_name", "class_id", "class_name",
                                        "sample_id", "sample_name"]
        for line in lines[1:]:
            sid, subj, cid, cname, _, name = line.split("\t")
            assert name.startswith(f"{subj}-{cname}-")
            assert (biovid_root / part / "video" / subj / f"{name}.mp4").is_file()
            bio = biovid_root / part / "biosignals_filtered" / subj / f"{name}_bio.csv"
            assert bio.read_text().splitlines()[0] == "time\tgsr\tecg\temg_trapezius"
    ds = open_dataset("synth-biovid", biovid_root)
    assert sorted({s.labels["class_name"] for s in ds.samples}) == ["BL1", "PA1", "PA2", "PA3", "PA4"]
    s = ds.samples[0]
    assert s.n_frames == int(round(get_scale("synth-biovid", "tiny").window_s * 25))


def test_biovid_ecg_gives_the_true_heart_rate(biovid_root):
    from scipy.signal import find_peaks

    from pain_lib.data import read_biosignals

    ds = open_dataset("synth-biovid", biovid_root)
    errors = []
    for s in ds.samples:
        df = read_biosignals(s.physiology)
        fs = 1 / np.median(np.diff(df["t"]))
        assert abs(fs - 512) < 1
        # R peaks: about 1 mV above their surroundings (T waves about 0.4 mV)
        peaks, _ = find_peaks(df["ecg"].to_numpy(), prominence=0.7, distance=int(0.3 * fs))
        if len(peaks) >= 2:
            errors.append(60 * fs / np.mean(np.diff(peaks)) - s.meta["truth"]["hr_mean"])
    assert len(errors) >= len(ds.samples) // 2
    assert np.median(np.abs(errors)) < 3 and np.max(np.abs(errors)) < 8


def test_mint_layout(mint_root):
    ds = open_dataset("synth-mint", mint_root)
    assert len(ds.subjects) == 4
    assert all(" " in s for s in ds.subjects)
    s = ds.samples[0]
    assert 8 <= s.n_frames <= 28
    assert s.frames[0].name.startswith("RGB-") and s.frames[0].parent.name == "RGB"
    assert len(s.meta["depth_frames"]) == s.n_frames == len(s.meta["thermal_frames"])
    assert abs(s.fps - 15) < 0.2
    assert sorted({x.labels["level"] for x in ds.samples}) == [0, 1, 2, 3, 4]


def test_truth_sidecar_attached(unbc_root):
    ds = open_dataset("synth-unbc", unbc_root)
    for s in ds.samples:
        t = s.meta["truth"]
        assert t["speed"] in RISE_SECONDS
        assert t["au"].shape == (s.n_frames, 10) and t["hr"].shape == (s.n_frames,)
        np.testing.assert_array_equal(t["pspi"], s.labels["pspi"])


# ---------------------------------------------------------------- detectability
@pytest.mark.parametrize("flavour", ["synth-unbc", "synth-biovid", "synth-mint"])
def test_haar_finds_the_face(tmp_path_factory, flavour):
    from pain_lib.synth.validate import haar_detection_rate

    found, total = haar_detection_rate(open_dataset(flavour, tiny_root(tmp_path_factory, flavour)), every=3)
    assert total > 50
    assert found / total >= 0.95, f"{flavour}: Haar found the face in {found}/{total} frames"


# ---------------------------------------------------------------- physiology
def _skin_means(frames: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    out = np.empty((len(frames), 3))
    for i, (f, lm) in enumerate(zip(frames, landmarks)):
        x0, x1 = int(lm[1, 0]) + 2, int(lm[15, 0]) - 2
        y0, y1 = int(lm[28, 1]), int(lm[33, 1])
        out[i] = f[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
    return out


@pytest.mark.parametrize("flavour,subject,encode", [("synth-unbc", 0, False), ("synth-biovid", 1, True),
                                                      ("synth-mint", 2, False)])
def test_heart_rate_recovered_from_rendered_skin(tmp_path, flavour, subject, encode):
    """20 s clip; POS on the mean skin colour recovers the simulated heart rate within 5 bpm."""
    p = get_scale(flavour, "tiny")
    rng = np.random.default_rng(1000 + subject)
    identity = sample_identity(rng, skin_tones=np.array(p.domain.skin_tones, float))
    fps = 25.0
    plan = plan_sequence(identity, p.domain, SequenceSpec(n_frames=int(20 * fps), fps=fps, drive="stimulus",
                                                          level=2, smile_prob=0, talk_prob=0), rng)
    frames = np.stack(list(plan.frames()))
    if encode:  # through OpenCV's mp4v, as the BioVid flavour stores it
        path = tmp_path / "clip.mp4"
        write_mp4(path, frames, fps, (p.domain.width, p.domain.height))
        from pain_lib.data.video import read_video

        frames = read_video(path)
    est = estimate_hr(_skin_means(frames, plan.landmarks), fps)
    assert abs(est - plan.physiology.frame_hr.mean()) < 5.0


def test_heart_rate_rises_with_stimulus_and_not_when_posed():
    rng = np.random.default_rng(3)
    identity = sample_identity(rng)
    t = np.arange(0, 5.5, 1 / 25)
    hr = {}
    for level in (0, 4):
        vals = [simulate_physiology(5.5, identity, np.random.default_rng(k), drive=stimulus_drive(level),
                                    frame_times=t, level=level).frame_hr.mean() for k in range(8)]
        hr[level] = np.mean(vals)
    assert hr[4] - hr[0] > 4 * identity.hr_gain * 0.5
    posed = plan_sequence(identity, get_scale("synth-biovid", "tiny").domain,
                          SequenceSpec(n_frames=50, fps=25, posed=True, level=4, drive="stimulus"),
                          np.random.default_rng(0))
    assert abs(posed.physiology.frame_hr.mean() - hr[0]) < 4


def test_ecg_morphology():
    ph = np.linspace(0, 1, 1000, endpoint=False)
    e = ecg_wave(ph)
    assert np.argmax(e) == 0  # R peak at phase 0
    assert 0.8 < e.max() < 1.3
    assert e.min() < 0  # S wave


# ---------------------------------------------------------------- expressions
def test_speed_classes_and_posed_dynamics():
    rng = np.random.default_rng(0)
    identity = sample_identity(rng)
    fps = 25.0
    t = np.arange(0, 8, 1 / fps)
    for speed, (lo, hi) in RISE_SECONDS.items():
        e = sample_episode(rng, 1.0, 1.0, speed)
        assert lo <= e.rise <= hi
        env = episode_envelope(t, [e])
        assert env.max() == pytest.approx(1.0, abs=1e-6)
        # 10-90 % rise time grows with the speed class duration
        i10, i90 = np.argmax(env > 0.1), np.argmax(env > 0.9)
        assert (i90 - i10) / fps <= hi
    # posed: orbital tightening weaker relative to brow lowering than in genuine displays
    e_g = sample_episode(rng, 0.5, 0.9, "medium")
    env = episode_envelope(t, [e_g])
    gen = pain_au_curves(env, identity, fps, np.random.default_rng(1))
    pos = pain_au_curves(env, identity, fps, np.random.default_rng(1), posed=True)
    ratio = lambda c: max(c["AU6"].max(), c["AU7"].max()) / c["AU4"].max()  # noqa: E731
    assert ratio(pos) < 0.6 * ratio(gen)
    assert sample_episode(rng, 0, 1, "slow", posed=True).rise < 0.31


def test_low_stimulus_often_without_face_response(biovid_root):
    from pain_lib.synth.writers.biovid import FACE_RESPONSE_PROB

    assert FACE_RESPONSE_PROB[0] == 0 and FACE_RESPONSE_PROB[1] < 0.2 < 0.7 < FACE_RESPONSE_PROB[4]
    ds = open_dataset("synth-biovid", biovid_root)
    for s in ds.samples:
        if s.labels["class"] == 0:
            assert not s.meta["truth"]["face_response"]
            assert s.meta["truth"]["max_pspi"] <= 2  # at most a blink/distractor


def test_rendered_pixels_follow_the_aus():
    """Brow lowering + eye closure change the eye region; neutral frames stay alike."""
    from pain_lib.synth.render import FaceRenderer, Pose, make_background

    p = get_scale("synth-unbc", "tiny")
    rng = np.random.default_rng(5)
    r = FaceRenderer(sample_identity(rng), p.domain)
    bg = make_background(p.domain, rng)
    neutral, lm = r.render({}, Pose(), 0.0, (1.0, 0.0), bg, None)
    pain, lm2 = r.render({"AU4": 5, "AU6": 4, "AU7": 4, "AU9": 3, "AU10": 3, "AU43": 1}, Pose(), 0.0,
                         (1.0, 0.0), bg, None)
    assert lm2[19, 1] > lm[19, 1] + 1  # brow lowered (pixels)
    y0, y1 = int(lm[19, 1]) - 2, int(lm[41, 1]) + 3
    x0, x1 = int(lm[36, 0]) - 2, int(lm[45, 0]) + 3
    diff = np.abs(pain[y0:y1, x0:x1].astype(float) - neutral[y0:y1, x0:x1]).mean()
    assert diff > 5


# ---------------------------------------------------------------- determinism, markers
def _label_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix == ".txt"}


def test_same_seed_same_labels_and_seed_matters(tmp_path, unbc_root):
    again = synth.generate("synth-unbc", "tiny", tmp_path / "again", seed=0, progress=False)
    assert _label_bytes(again) == _label_bytes(unbc_root)
    assert synth.read_marker(again)["label_sha256"] == synth.read_marker(unbc_root)["label_sha256"]
    other = synth.generate("synth-unbc", "tiny", tmp_path / "other", seed=1, progress=False, n_subjects=1)
    assert synth.read_marker(other)["label_sha256"] != synth.read_marker(again)["label_sha256"]


def test_subset_is_identical_to_part_of_larger_set(tmp_path, biovid_root):
    small = synth.generate("synth-biovid", "tiny", tmp_path / "small", seed=0, progress=False, n_subjects=2)
    for part in ("PartA", "PartD"):
        big_rows = (biovid_root / part / "starting_point" / "samples.csv").read_text().splitlines()
        small_rows = (small / part / "starting_point" / "samples.csv").read_text().splitlines()
        assert small_rows == big_rows[:len(small_rows)] and len(small_rows) < len(big_rows)
        for row in small_rows[1:]:
            subj, name = row.split("\t")[1], row.split("\t")[5]
            a = (small / part / "biosignals_raw" / subj / f"{name}_bio.csv").read_bytes()
            b = (biovid_root / part / "biosignals_raw" / subj / f"{name}_bio.csv").read_bytes()
            assert a == b
            ta = np.load(small / part / "synth_truth" / f"{name}.npz")
            tb = np.load(biovid_root / part / "synth_truth" / f"{name}.npz")
            np.testing.assert_array_equal(ta["au"], tb["au"])


def test_ensure_reuses_and_redoes_interrupted(tmp_path, monkeypatch):
    from pain_lib.synth.scales import SCALES

    small = SCALES["synth-mint"]["tiny"].replace(n_subjects=1, trials=1, depth_thermal=False)
    monkeypatch.setitem(SCALES["synth-mint"], "tiny", small)  # keep the test fast
    monkeypatch.setenv("PAIN_LIB_DATA", str(tmp_path))  # stale sets are redone only in the project's data dir
    root = tmp_path / "m"
    synth.generate("synth-mint", "tiny", root, progress=False, sweep_frames=(8, 9))
    # a marker with other parameters is stale -> ensure regenerates with the scale's parameters
    assert json.loads((root / ".synth_complete.json").read_text())["params"]["sweep_frames"] == [8, 9]
    out = synth.ensure("synth-mint", "tiny", root, progress=False)
    assert json.loads((out / ".synth_complete.json").read_text())["params"]["sweep_frames"] == [8, 14]
    stamp = (out / ".synth_complete.json").stat().st_mtime_ns
    assert synth.ensure("synth-mint", "tiny", root, progress=False) == out
    assert (out / ".synth_complete.json").stat().st_mtime_ns == stamp  # reused, not redone
    # interrupted: marker gone, progress marker present -> redone
    (out / ".synth_complete.json").unlink()
    (out / ".synth_in_progress.json").write_text("{}")
    synth.ensure("synth-mint", "tiny", root, progress=False)
    assert (out / ".synth_complete.json").exists() and not (out / ".synth_in_progress.json").exists()


def test_generate_refuses_foreign_folder_and_bad_names(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(synth.SyntheticDataError, match="refusing"):
        synth.generate("synth-unbc", "tiny", tmp_path, progress=False)
    with pytest.raises(ValueError, match="unknown synthetic flavour"):
        synth.generate("synth-foo", "tiny", tmp_path / "x")
    with pytest.raises(ValueError, match="unknown scale"):
        synth.ensure("synth-unbc", "huge", tmp_path / "y")
    with pytest.raises(ValueError, match="unknown generator parameter"):
        synth.generate("synth-unbc", "tiny", tmp_path / "z", n_subject=3)


def test_default_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PAIN_LIB_DATA", str(tmp_path))
    assert synth.default_root("synth-unbc", "tiny") == tmp_path / "synth-unbc-tiny"
    assert synth.default_root("synth-unbc", "tiny", seed=3).name == "synth-unbc-tiny-seed3"


def test_coded_aus_are_integer_intensities():
    coded = code_aus({"AU4": np.array([0.2, 0.6, 4.6, 5.0]), "AU43": np.array([0.1, 0.6, 1, 0])})
    np.testing.assert_array_equal(coded["AU4"], [0, 1, 5, 5])
    np.testing.assert_array_equal(coded["AU43"], [0, 1, 1, 0])


def test_frames_are_rgb(unbc_root):
    s = open_dataset("synth-unbc", unbc_root).samples[0]
    rgb = read_clip(s, [0])[0]
    bgr = cv2.imread(str(s.frames[0]))
    np.testing.assert_array_equal(rgb, bgr[..., ::-1])


def test_facs_coding_figure_lists_the_apex_codes_and_their_pspi(tmp_path_factory):
    import dataclasses

    import matplotlib

    matplotlib.use("Agg")
    from pain_lib.data.labels import frame_pspi
    from pain_lib.synth.figures import apex_frame, facs_coding_figure

    samples = open_dataset("synth-unbc", tiny_root(tmp_path_factory, "synth-unbc")).samples
    most = max(samples, key=lambda s: s.labels["max_pspi"])
    fig = facs_coding_figure(most, size=64)
    text = "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)
    truth = most.meta["truth"]
    apex = apex_frame(most)
    coded = {str(n): int(c) for n, c in zip(truth["au_names"], np.asarray(truth["au_coded"])[apex])}
    import re

    listed = set(re.findall(r"^\s*(AU\d+)  ", text, flags=re.M))
    assert listed == {name for name, c in coded.items() if c > 0}
    assert text.rstrip().endswith(f"= {frame_pspi(most)[apex]:.0f}")
    with pytest.raises(ValueError, match="no FACS ground truth"):
        facs_coding_figure(dataclasses.replace(most, meta={}))
