"""The simulator's study knobs (ahdi/09's posed-onset study): which genuine classes are written,
and posed displays that differ from genuine ones only in onset speed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pain_lib import synth
from pain_lib.synth.face import sample_identity
from pain_lib.synth.facs import sample_episode
from pain_lib.synth.render import Domain
from pain_lib.synth.scales import STUDY_KNOBS, get_scale
from pain_lib.synth.sequence import SequenceSpec, plan_sequence

SMALL = {"n_subjects": 2, "windows_per_class": 1, "posed_per_subject": 3, "genuine_levels": (4,)}


def _posed_truth(root: Path) -> dict[str, dict]:
    return json.loads((root / "PartD" / "synth_truth" / "index.json").read_text())["samples"]


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    base = tmp_path_factory.mktemp("knobs")
    return {s: synth.generate("synth-biovid", "tiny", base / f"x{s}", progress=False, posed_onset_speedup=s, **SMALL)
            for s in (1.0, 4.0)}


def test_study_knobs_stay_out_of_a_default_sets_marker():
    for flavour in ("synth-unbc", "synth-biovid", "synth-mint"):
        params = get_scale(flavour, "standard")
        assert not set(STUDY_KNOBS) & set(params.as_dict())
        assert set(STUDY_KNOBS) <= params.fields()
    changed = get_scale("synth-biovid", "tiny").replace(posed_onset_speedup=2, genuine_levels=[0, 4]).as_dict()
    assert changed["posed_onset_speedup"] == 2.0 and changed["genuine_levels"] == (0, 4)


@pytest.mark.parametrize("bad", [{"genuine_levels": (5,)}, {"genuine_levels": ()}, {"genuine_levels": (4, 0)},
                                 {"posed_onset_speedup": -1.0}])
def test_bad_study_knobs_are_refused(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        get_scale("synth-biovid", "tiny").replace(**bad)


def test_genuine_levels_writes_only_those_classes(variants):
    rows = (variants[1.0] / "PartA" / "starting_point" / "samples.csv").read_text().splitlines()[1:]
    assert len(rows) == 2 and {r.split("\t")[3] for r in rows} == {"PA4"}
    assert len(_posed_truth(variants[1.0])) == 2 * 3


def test_posed_onset_speedup_changes_only_the_onset_and_offset(variants):
    slow, fast = _posed_truth(variants[1.0]), _posed_truth(variants[4.0])
    assert slow.keys() == fast.keys()
    responded = 0
    for name, a in slow.items():
        b = fast[name]
        assert a["posed"] and b["posed"] and a["face_response"] == b["face_response"]
        for (s0, r0, h0, f0, p0), (s1, r1, h1, f1, p1) in zip(a["episodes"], b["episodes"], strict=True):
            responded += 1
            assert (s1, h1, p1) == (s0, h0, p0)  # same start, apex and peak
            assert r1 == pytest.approx(r0 / 4) and f1 == pytest.approx(f0 / 4)
            window = a["n_frames"] / a["fps"]
            assert 0.2 * window <= h0 <= 0.5 * window  # a genuine window's hold, not the actors' flat one
    assert responded > 0


def test_a_posed_display_with_the_genuine_mix_moves_the_face_as_a_genuine_one():
    rng = np.random.default_rng(3)
    identity = sample_identity(rng, skin_tones=np.array([[220.0, 180.0, 150.0]]))
    domain = Domain(64, 48, 30)
    episode = sample_episode(np.random.default_rng(1), 0.5, 0.9, "medium")
    plans = {}
    for label, kwargs in {"genuine": {}, "posed, genuine mix": {"posed": True, "au_mix": "genuine"},
                          "posed": {"posed": True}}.items():
        spec = SequenceSpec(n_frames=60, fps=25.0, episodes=(episode,), biosignals=False, **kwargs)
        plans[label] = plan_sequence(identity, domain, spec, np.random.default_rng(7))
    g, pg, p = (plans[k].au for k in ("genuine", "posed, genuine mix", "posed"))
    for au in ("AU4", "AU6", "AU7", "AU9", "AU10", "AU43"):
        np.testing.assert_array_equal(g[au], pg[au])
    assert p["AU6"].max() < 0.5 * g["AU6"].max()  # the actors' mix: weak orbital tightening
    with pytest.raises(ValueError, match="au_mix"):
        plan_sequence(identity, domain, SequenceSpec(n_frames=5, fps=25.0, au_mix="acted"), np.random.default_rng(0))


def test_ensure_gives_a_variant_its_own_folder_and_reuses_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PAIN_LIB_DATA", str(tmp_path))
    root = synth.ensure("synth-biovid", "tiny", progress=False, posed_onset_speedup=2.0, **SMALL)
    assert root.name == "synth-biovid-tiny-genuine_levels4-n_subjects2-posed_onset_speedup2-posed_per_subject3-windows_per_class1"
    stamp = (root / synth.COMPLETE_MARKER).stat().st_mtime_ns
    assert synth.ensure("synth-biovid", "tiny", progress=False, posed_onset_speedup=2.0, **SMALL) == root
    assert (root / synth.COMPLETE_MARKER).stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="unknown generator parameter"):
        synth.ensure("synth-biovid", "tiny", progress=False, posed_onset=2.0)


# ------------------------------------------------------------------ the domain-gap knob (ssd/06)
def test_interpolate_domain_moves_every_condition_from_the_source_to_the_own_domain():
    from pain_lib.synth.scales import interpolate_domain

    src, own = get_scale("synth-unbc", "standard").domain, get_scale("synth-biovid", "standard").domain
    at0, at1, at2 = (interpolate_domain(src, own, g) for g in (0.0, 1.0, 2.0))
    assert at1 == own
    for name in ("face_px", "noise_sigma", "blur_sigma", "pose_jitter", "light_side_drift"):
        assert getattr(at0, name) == pytest.approx(getattr(src, name))
        assert getattr(at2, name) == pytest.approx(max(2 * getattr(own, name) - getattr(src, name), 0.0))
    np.testing.assert_allclose(at0.bg_rgb, src.bg_rgb)
    np.testing.assert_allclose(np.mean(at0.skin_tones, 0), np.mean(src.skin_tones, 0))  # the mix moves...
    assert len(at0.skin_tones) == len(own.skin_tones)  # ...the number of tones stays
    assert at2.bg_clutter == 0.0  # 0.15 -> 0.0 -> clipped at 0, not -0.15
    assert (at0.width, at0.height) == (own.width, own.height)


def test_domain_gap_is_validated():
    p = get_scale("synth-biovid", "tiny")
    with pytest.raises(ValueError, match="domain_gap needs domain_source"):
        p.replace(domain_gap=0.5)
    with pytest.raises(ValueError, match="domain_gap must be a finite number >= 0"):
        p.replace(domain_gap=-1.0, domain_source="synth-unbc")
    with pytest.raises(ValueError, match="another flavour"):
        synth.scales.resolve_domain("synth-biovid", "tiny", p.replace(domain_gap=0.0, domain_source="synth-biovid"))
    with pytest.raises(ValueError, match="unknown synthetic flavour"):
        synth.scales.resolve_domain("synth-biovid", "tiny", p.replace(domain_gap=0.0, domain_source="synth-x"))


def test_a_gap_of_zero_renders_the_source_background(tmp_path):
    """The top-left corner of the first frame is background: at gap 0 a BioVid-like video has
    UNBC's background colour, at gap 1 its own; the marker records the domain it was made with."""
    from pain_lib.data import open_dataset
    from pain_lib.data.video import read_clip

    small = {"n_subjects": 1, "windows_per_class": 1, "posed_per_subject": 1}
    corner = {}
    for g in (0.0, 1.0):
        kw = {"domain_gap": g, "domain_source": "synth-unbc"} if g != 1.0 else {}
        root = synth.generate("synth-biovid", "tiny", tmp_path / f"g{g}", progress=False, **small, **kw)
        clip = read_clip(open_dataset("synth-biovid", root).samples[0], [0])
        corner[g] = clip[0, :6, :6].reshape(-1, 3).mean(0)
        marker = synth.read_marker(root)
        assert marker["params"].get("domain_gap", 1.0) == g
    unbc_bg = np.array(get_scale("synth-unbc", "tiny").domain.bg_rgb)
    biovid_bg = np.array(get_scale("synth-biovid", "tiny").domain.bg_rgb)
    assert np.abs(corner[0.0] - unbc_bg).sum() < np.abs(corner[0.0] - biovid_bg).sum()
    assert np.abs(corner[1.0] - biovid_bg).sum() < np.abs(corner[1.0] - unbc_bg).sum()
