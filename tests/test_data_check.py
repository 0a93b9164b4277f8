"""check_dataset against the manifests, on generated and hand-built trees."""

from __future__ import annotations

import yaml
from _synth_data import tiny_root
from test_data_layouts import make_unbc

from pain_lib.datacheck import check_dataset, load_manifest, manifest_dir


def test_manifests_exist_and_name_protocols_and_access():
    for name in ("unbc", "biovid", "mint"):
        m = load_manifest(name)
        assert m["name"] == name and m["layout"] and m["access"] and m["protocols"]
    assert load_manifest("unbc")["counts"] == {"subjects": 25, "samples": 200, "frames": 48398}
    for name in ("synth-unbc", "synth-biovid", "synth-mint"):
        m = yaml.safe_load((manifest_dir() / f"{name}.yaml").read_text())
        assert set(m["scales"]) >= {"tiny", "standard"}
        assert len(m["scales"]["standard"]["label_sha256"]) == 64


def test_check_synthetic_tiny_is_ok(tmp_path_factory):
    for flavour in ("synth-unbc", "synth-biovid", "synth-mint"):
        report = check_dataset(flavour, tiny_root(tmp_path_factory, flavour))
        assert report.ok, report.text
        assert "labels sha256" in report.text and "ok" in report.text


def test_check_detects_edited_labels(tmp_path_factory, tmp_path):
    import shutil

    root = shutil.copytree(tiny_root(tmp_path_factory, "synth-unbc"), tmp_path / "u")
    f = next((root / "Frame_Labels" / "PSPI").rglob("*_facs.txt"))
    f.write_text("  9.0000000e+00\n")
    report = check_dataset("synth-unbc", root)
    assert not report.ok and "checksum" in report.text


def test_check_real_layout_counts_and_errors(tmp_path):
    report = check_dataset("unbc", make_unbc(tmp_path / "u"))
    assert report.ok, report.text  # a correct 1-subject tree is a subset: reported, not a failure
    assert "subjects" in report.text and "MISMATCH (manifest: 25)" in report.text
    assert report.counts == {"subjects": 1, "samples": 1, "frames": 4}
    assert report.count_mismatches[0] == "subjects: found 1, manifest says 25"
    strict = check_dataset("unbc", tmp_path / "u", strict=True)
    assert not strict.ok and "subjects: found 1, manifest says 25" in strict.problems
    bad = check_dataset("unbc", tmp_path / "missing")
    assert not bad.ok and "does not exist" in bad.text
