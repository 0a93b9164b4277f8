"""Faults a user found in the data layer, each injected and checked.

1. damaged cache entries are detected by their checksum and recomputed; keys cover every frame;
2. a synthetic ``data_root`` the user named is never deleted;
3. garbage labels are rejected by the readers, naming the file;
4. MIntPAIN folders that do not parse are reported;
5. a dataset without the samples a figure needs says so (no bare ``StopIteration``);
6. ``pain-lib data check`` lists every problem, decodes media, and accepts a subset.

Plus: ``PAIN_LIB_CACHE`` moves every cache of the data and preprocess layers.
"""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import pytest
from _synth_data import tiny_root
from test_data_layouts import make_biovid, make_mint, make_unbc

from pain_lib.data import DataLayoutError, Sample, open_dataset
from pain_lib.data import cache as clip_cache_mod
from pain_lib.data.cache import ClipCache
from pain_lib.io import CacheIntegrityWarning
from pain_lib.preprocess import cache as feature_cache_mod
from pain_lib.preprocess.cache import FeatureCache


@pytest.fixture(scope="module")
def unbc(tmp_path_factory):
    return open_dataset("synth-unbc", tiny_root(tmp_path_factory, "synth-unbc"))


def _new_process(monkeypatch):
    """Forget which cache entries this process verified (as a new process would)."""
    monkeypatch.setattr(clip_cache_mod, "_VERIFIED", {})
    monkeypatch.setattr(feature_cache_mod, "_VERIFIED", {})


def _copy_sample(sample: Sample, folder) -> Sample:
    """A sample whose frame files are private copies (so a test may touch them)."""
    import dataclasses

    folder.mkdir(parents=True)
    frames = [shutil.copy2(p, folder / p.name) for p in sample.frames]
    from pathlib import Path

    return dataclasses.replace(sample, frames=[Path(p) for p in frames], meta={})


# ----------------------------------------------------------------------- 1. cache integrity
def test_clip_cache_garbled_pixels_with_valid_header_are_recomputed(tmp_path, unbc, monkeypatch):
    cache = ClipCache(tmp_path / "c")
    s = unbc.samples[0]
    good = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    calls = []

    def compute():
        calls.append(1)
        return good

    cache.get_or_compute(s, {"size": 8}, compute)
    digest = cache.digest(s, {"size": 8})
    p = cache.path(cache.key(s, {"size": 8}))
    assert digest is not None and len(digest) == 64
    # garble pixels only: the .npy header still parses
    raw = bytearray(p.read_bytes())
    raw[200:260] = bytes(60)
    p.write_bytes(bytes(raw))
    assert np.load(p, mmap_mode="r").shape == good.shape  # NumPy alone would accept it
    _new_process(monkeypatch)
    with pytest.warns(CacheIntegrityWarning, match=p.name):
        out = cache.get_or_compute(s, {"size": 8}, compute)
    assert len(calls) == 2  # recomputed, not the garbled pixels
    np.testing.assert_array_equal(out, good)
    _new_process(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten entry verifies cleanly
        np.testing.assert_array_equal(cache.get_or_compute(s, {"size": 8}, compute), good)
        assert cache.digest(s, {"size": 8}) == digest
    assert len(calls) == 2


def test_clip_cache_digest_verifies_and_is_none_without_entry(tmp_path, unbc, monkeypatch):
    cache = ClipCache(tmp_path)
    s = unbc.samples[0]
    assert cache.digest(s, {"size": 4}) is None
    cache.get_or_compute(s, {"size": 4}, lambda: np.zeros((2, 4, 4, 3), np.uint8))
    p = cache.path(cache.key(s, {"size": 4}))
    p.write_bytes(p.read_bytes()[:-5])  # truncated trailer
    _new_process(monkeypatch)
    with pytest.warns(CacheIntegrityWarning, match=p.name):
        assert cache.digest(s, {"size": 4}) is None
    assert not p.exists()  # discarded


def test_clip_cache_verifies_once_per_process(tmp_path, unbc, monkeypatch):
    cache = ClipCache(tmp_path)
    s = unbc.samples[0]
    cache.get_or_compute(s, {}, lambda: np.ones((3, 4, 4, 3), np.uint8))
    _new_process(monkeypatch)
    hashes = []
    real_sha256 = clip_cache_mod.hashlib.sha256

    def counting_sha256(*a):
        hashes.append(1)
        return real_sha256(*a)

    monkeypatch.setattr(clip_cache_mod.hashlib, "sha256", counting_sha256)
    for _ in range(3):
        cache.get_or_compute(s, {}, lambda: pytest.fail("recomputed"))
    assert len(hashes) == 1  # the file is hashed once; later loads only memory-map it


def test_clip_cache_key_covers_every_frame(tmp_path, unbc):
    s = _copy_sample(unbc.samples[0], tmp_path / "frames")
    cache = ClipCache(tmp_path / "c")
    k0 = cache.key(s, {"size": 8})
    mid = s.frames[len(s.frames) // 2]
    st = mid.stat()
    os.utime(mid, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touch a middle frame only
    k1 = cache.key(s, {"size": 8})
    assert k1 != k0
    mid.write_bytes(mid.read_bytes() + b"\0")  # same mtime, other size
    os.utime(mid, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cache.key(s, {"size": 8}) != k1
    renamed = mid.with_name("x" + mid.name)
    mid.rename(renamed)
    frames = list(s.frames)
    frames[len(frames) // 2] = renamed
    import dataclasses

    assert cache.key(dataclasses.replace(s, frames=frames), {"size": 8}) not in (k0, k1)


def test_feature_cache_checksum_mismatch_is_recomputed(tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"img": np.arange(12.0).reshape(3, 4)}

    cache.get_or_compute("fn", "id-1", {"l": 2}, compute)
    digest = cache.digest("fn", "id-1", {"l": 2})
    (p,) = tmp_path.rglob("*.npz")
    with np.load(p) as z:  # rewrite a well-formed archive whose pixels differ from its checksum
        members = {k: z[k] for k in z.files}
    members["img"] = members["img"] + 1
    np.savez(p, **members)
    _new_process(monkeypatch)
    with pytest.warns(CacheIntegrityWarning, match=p.name):
        out = cache.get_or_compute("fn", "id-1", {"l": 2}, compute)
    assert len(calls) == 2
    np.testing.assert_array_equal(out["img"], np.arange(12.0).reshape(3, 4))
    assert cache.digest("fn", "id-1", {"l": 2}) == digest


def test_feature_cache_sample_identity_covers_every_frame(tmp_path, unbc):
    from pain_lib.preprocess.cache import cache_key

    s = _copy_sample(unbc.samples[0], tmp_path / "frames")
    k0 = cache_key("f", s, {})
    mid = s.frames[len(s.frames) // 2]
    st = mid.stat()
    os.utime(mid, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cache_key("f", s, {}) != k0


# ----------------------------------------------------------------------- 2. synthetic data roots
def _tree(root):
    return sorted((p.relative_to(root).as_posix(), p.stat().st_size) for p in root.rglob("*") if p.is_file())


def _copy_set(tmp_path_factory, tmp_path, flavour, name, **marker_changes):
    """A private copy of a tiny generated set, its completion marker edited."""
    import json

    from pain_lib import synth

    root = shutil.copytree(tiny_root(tmp_path_factory, flavour), tmp_path / name)
    if marker_changes:
        m = synth.read_marker(root)
        m.update(marker_changes)
        (root / synth.COMPLETE_MARKER).write_text(json.dumps(m))
    return root


def test_ensure_never_deletes_a_set_of_another_flavour(tmp_path_factory, tmp_path):
    from pain_lib import synth

    root = _copy_set(tmp_path_factory, tmp_path, "synth-biovid", "biovid")
    before = _tree(root)
    with pytest.raises(synth.SyntheticDataError) as e:
        synth.ensure("synth-unbc", "tiny", root, progress=False)
    msg = str(e.value)
    assert "holds synth-biovid (scale tiny, seed 0" in msg and "synth-unbc (scale tiny, seed 0)" in msg
    assert _tree(root) == before  # untouched
    with pytest.raises(synth.SyntheticDataError, match="refusing to replace it"):
        synth.generate("synth-unbc", "tiny", root, progress=False)  # generate refuses too
    assert _tree(root) == before


def test_ensure_never_deletes_a_set_of_another_seed_and_synth_seed_selects_it(tmp_path_factory, tmp_path):
    from types import SimpleNamespace

    from pain_lib import synth
    from pain_lib.notebook import Run

    root = _copy_set(tmp_path_factory, tmp_path, "synth-unbc", "seed1", seed=1)
    before = _tree(root)
    with pytest.raises(synth.SyntheticDataError, match=r"seed 1.*synth_seed=1"):
        synth.ensure("synth-unbc", "tiny", root, seed=0, progress=False)
    assert _tree(root) == before
    assert synth.ensure("synth-unbc", "tiny", root, seed=1, progress=False) == root.resolve()
    # the notebook's data root resolution passes the synth_seed parameter (default 0)
    run = SimpleNamespace(dataset="synth-unbc", is_synthetic=True, profile=SimpleNamespace(synth_scale="tiny"),
                          params={"data_root": str(root)})
    run.resolve_root = lambda *a, **kw: Run.resolve_root(run, *a, **kw)
    with pytest.raises(synth.SyntheticDataError, match="seed 1"):
        Run._resolve_data_root(run)
    run.params["synth_seed"] = 1
    assert Run._resolve_data_root(run) == root.resolve()
    assert _tree(root) == before


def test_ensure_refuses_unmarked_stale_and_partial_folders_outside_the_data_dir(tmp_path_factory, tmp_path,
                                                                               monkeypatch):
    from pain_lib import synth

    monkeypatch.setenv("PAIN_LIB_DATA", str(tmp_path / "project-data"))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    with pytest.raises(synth.SyntheticDataError, match="holds files but no synthetic-dataset marker"):
        synth.ensure("synth-unbc", "tiny", mine, progress=False)
    assert (mine / "notes.txt").read_text() == "precious"
    stale = _copy_set(tmp_path_factory, tmp_path, "synth-unbc", "stale", generator_version="0.9")
    before = _tree(stale)
    with pytest.raises(synth.SyntheticDataError, match=r"generator 0\.9.*not regenerated in place"):
        synth.ensure("synth-unbc", "tiny", stale, progress=False)
    assert _tree(stale) == before
    partial = _copy_set(tmp_path_factory, tmp_path, "synth-unbc", "partial")
    (partial / synth.COMPLETE_MARKER).rename(partial / synth.PROGRESS_MARKER)
    before = _tree(partial)
    with pytest.raises(synth.SyntheticDataError, match="interrupted generation"):
        synth.ensure("synth-unbc", "tiny", partial, progress=False)
    assert _tree(partial) == before
    # the project's own data dir: a partial set there of another flavour is not redone either
    own = _copy_set(tmp_path_factory, tmp_path / "project-data", "synth-biovid", "synth-unbc-tiny")
    (own / synth.COMPLETE_MARKER).rename(own / synth.PROGRESS_MARKER)
    with pytest.raises(synth.SyntheticDataError, match="interrupted generation of synth-biovid"):
        synth.ensure("synth-unbc", "tiny", progress=False)
    assert (own / "PartA").is_dir()


# ----------------------------------------------------------------------- 3. labels
PSPI_FILE = "Frame_Labels/PSPI/042-ll042/ll042t1aaaff/ll042t1aaaff002_facs.txt"


@pytest.mark.parametrize("text, why", [("nan\n", "not a finite number"), ("  inf\n", "not a finite number"),
                                       ("-1\n", "outside the valid range 0-16"), ("17.0\n", "outside the valid range 0-16"),
                                       ("abc\n", "does not start with a number"), ("", "is empty"),
                                       (b"\xff\xfe\x00garbage", "does not start with a number")])
def test_unbc_bad_pspi_label_is_rejected_naming_the_file(tmp_path, text, why):

    root = make_unbc(tmp_path)
    f = root / PSPI_FILE
    f.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(DataLayoutError, match=why) as e:
        open_dataset("unbc", root)
    assert "ll042t1aaaff002_facs.txt" in str(e.value)


def test_unbc_bad_sequence_and_facs_labels_are_rejected(tmp_path):

    root = make_unbc(tmp_path / "a")
    (root / "Sequence_Labels/VAS/042-ll042/ll042t1aaaff.txt").write_text("11\n")
    with pytest.raises(DataLayoutError, match=r"VAS label file .*ll042t1aaaff.txt.* outside the valid range 0-10"):
        open_dataset("unbc", root)
    root = make_unbc(tmp_path / "b")
    (root / "Sequence_Labels/OPR/042-ll042/ll042t1aaaff.txt").write_text("nan\n")
    with pytest.raises(DataLayoutError, match="OPR label file"):
        open_dataset("unbc", root)
    root = make_unbc(tmp_path / "c")
    (root / "Frame_Labels/FACS/042-ll042/ll042t1aaaff/ll042t1aaaff001_facs.txt").write_text("4 9 0 0\n")
    with pytest.raises(DataLayoutError, match=r"ll042t1aaaff001_facs.txt.*AU4 intensity 9"):
        open_dataset("unbc", root)


def test_unbc_label_ranges_are_the_manifests():
    import re

    from pain_lib.data.unbc import LABEL_RANGES
    from pain_lib.datacheck import load_manifest

    labels = load_manifest("unbc")["labels"]
    for kind, (lo, hi) in LABEL_RANGES.items():
        text = labels[kind.lower() if kind == "PSPI" else kind]
        assert re.search(rf"\b{lo:g}-{hi:g}\b", text), (kind, text)


def _edit_samples_csv(root, line_no, **fields):
    csv = root / "PartA" / "starting_point" / "samples.csv"
    lines = csv.read_text().splitlines()
    header = lines[0].split("\t")
    row = lines[line_no - 1].split("\t")
    for k, v in fields.items():
        row[header.index(k)] = v
    lines[line_no - 1] = "\t".join(row)
    csv.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("fields, why", [
    ({"class_id": "9", "class_name": "PAX"}, "class_id 9 is outside 0-4"),
    ({"class_id": "9"}, "class_id 9 is outside 0-4"),
    ({"class_id": "-1"}, "class_id -1 is outside 0-4"),
    ({"class_id": "nan"}, "class_id 'nan' is not an integer"),
    ({"class_id": "2"}, "class_id 2 contradicts class_name 'PA4'"),
])
def test_biovid_class_id_outside_0_4_is_rejected_naming_the_file(tmp_path, fields, why):

    root = make_biovid(tmp_path)  # rows: BL1, PA4, PA1 (file lines 2-4)
    _edit_samples_csv(root, 3, **fields)
    with pytest.raises(DataLayoutError, match=rf"samples.csv line 3: {why}"):
        open_dataset("biovid", root)


# ----------------------------------------------------------------------- 4. MIntPAIN folders
@pytest.mark.parametrize("bad, why", [
    ("Sub3Jensen", r"folder 'Sub3Jensen' under the root is not a subject folder: expected 'Sub<k> <first name>"),
    ("Sub1 Daniel Simonsen/Trial01", r"'Sub1 Daniel Simonsen/Trial01' is not a trial folder: expected 'Annotated_data_Sub01_TrialNN'"),
    ("Sub1 Daniel Simonsen/Annotated_data_Sub01_Trial1x", r"is not a trial folder"),
    ("Sub1 Daniel Simonsen/Annotated_data_Sub02_Trial03", r"names subject 2, but its subject folder is Sub1"),
    ("Sub1 Daniel Simonsen/Annotated_data_Sub01_Trial01/Sub01_Trial01_Sweep03_Label7/RGB",
     r"Sweep03_Label7'?: label 7 is outside 0-4"),
    ("Sub1 Daniel Simonsen/Annotated_data_Sub01_Trial01/sweep3", r"expected SubNN_TrialNN_SweepNN_LabelN"),
])
def test_mint_unparsable_folders_are_reported(tmp_path, bad, why):
    import cv2

    root = make_mint(tmp_path)
    d = root / bad
    d.mkdir(parents=True)
    if d.name == "RGB":
        cv2.imwrite(str(d / "RGB-10-23-45-000.jpg"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DataLayoutError, match=why):
        open_dataset("mint", root)


def test_mint_ignores_truth_sidecar_hidden_folders_and_files(tmp_path):

    root = make_mint(tmp_path)
    (root / "synth_truth").mkdir()
    (root / ".thumbnails").mkdir()
    (root / "README.txt").write_text("x")
    (root / "Sub1 Daniel Simonsen" / "notes.txt").write_text("x")
    assert len(open_dataset("mint", root)) == 8


# ----------------------------------------------------------------------- 6. pain-lib data check
def _pspi_files(root, k):
    """The first PSPI label file of each of the first ``k`` sequences."""
    seqs = sorted(d for d in (root / "Frame_Labels" / "PSPI").glob("*/*") if d.is_dir())[:k]
    return [sorted(d.glob("*_facs.txt"))[0] for d in seqs]


def test_check_lists_every_bad_label_file_not_only_the_first(tmp_path_factory, tmp_path):
    from pain_lib.datacheck import check_dataset

    root = _copy_set(tmp_path_factory, tmp_path, "synth-unbc", "u")
    bad = _pspi_files(root, 3)
    bad[0].write_text("nan\n")
    bad[1].write_text("garbage\n")
    bad[2].write_text("99\n")
    seq_label = next((root / "Sequence_Labels" / "VAS").rglob("*.txt"))
    seq_label.write_text("-3\n")
    report = check_dataset("unbc", root)  # the real-data reader on the same layout
    assert not report.ok
    text = "\n".join(report.problems)
    for f in (*bad, seq_label):
        assert f.name in text, (f, report.text)
    assert bad[0].name in report.problems[0]  # the first problem is the first file that differs
    assert "PROBLEMS (4)" in report.text


def test_check_decodes_media_truncated_png_jpeg_and_mp4(tmp_path_factory, tmp_path):
    from pain_lib.datacheck import check_dataset

    unbc = _copy_set(tmp_path_factory, tmp_path, "synth-unbc", "u")
    png = sorted((unbc / "Images").glob("*/*/*.png"))[0]  # a first frame: always decoded
    png.write_bytes(png.read_bytes()[:-40])
    mid = sorted(png.parent.glob("*.png"))[20]
    mid.write_bytes(mid.read_bytes()[: mid.stat().st_size // 2])
    quick = check_dataset("unbc", unbc)
    assert not quick.ok and any(png.name in p and "truncated" in p for p in quick.problems), quick.text
    full = check_dataset("unbc", unbc, full=True)
    assert any(png.name in p for p in full.problems) and any(mid.name in p for p in full.problems)

    mint = _copy_set(tmp_path_factory, tmp_path, "synth-mint", "m")
    jpg = sorted(next(mint.glob("Sub*/Annotated*/*_Label*")).glob("RGB/*.jpg"))[-1]  # a last frame
    jpg.write_bytes(jpg.read_bytes()[: jpg.stat().st_size // 2])
    report = check_dataset("mint", mint)
    assert not report.ok and any(jpg.name in p and "end-of-image" in p for p in report.problems), report.text

    biovid = _copy_set(tmp_path_factory, tmp_path, "synth-biovid", "b")
    mp4 = sorted((biovid / "PartA" / "video").rglob("*.mp4"))[1]
    mp4.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    report = check_dataset("biovid", biovid)
    assert not report.ok and any(mp4.name in p for p in report.problems), report.text
    assert report.counts["PartA.samples"] == 19  # the other videos are counted


def test_check_mint_lists_every_unparsable_folder(tmp_path):
    from pain_lib.datacheck import check_dataset

    root = make_mint(tmp_path)
    (root / "Sub3Jensen").mkdir()
    (root / "Sub2 Ida Jensen" / "Trial01").mkdir()
    report = check_dataset("mint", root)
    assert not report.ok
    assert any("'Sub3Jensen'" in p and "Sub<k> <first name>" in p for p in report.problems)
    assert any("'Sub2 Ida Jensen/Trial01'" in p and "Annotated_data_Sub02_TrialNN" in p for p in report.problems)
    assert report.counts["samples"] == 8  # the well-formed sweeps are still read


def test_cli_data_check_subset_passes_strict_fails_layout_error_names_the_file(tmp_path, capsys):
    from pain_lib import cli

    root = make_unbc(tmp_path / "u")
    assert cli.main(["data", "check", "--dataset", "unbc", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "MISMATCH (manifest: 25)" in out and "--strict" in out
    assert cli.main(["data", "check", "--dataset", "unbc", "--root", str(root), "--strict"]) == 1
    assert "subjects: found 1, manifest says 25" in capsys.readouterr().out
    (root / PSPI_FILE).unlink()
    assert cli.main(["data", "check", "--dataset", "unbc", "--root", str(root), "--full"]) == 1
    out = capsys.readouterr().out
    assert "missing PSPI label file" in out and "ll042t1aaaff002_facs.txt" in out


# ----------------------------------------------------------------------- 5. representations notebook
def test_ahdi_clip_choice_says_what_is_missing_instead_of_stopiteration():
    from pain_lib.preprocess import plots

    short = {"synth-mint\nSub01_Trial01_Sweep02_Label4": (np.zeros((12, 8, 8, 3), np.uint8), {}),
             "synth-mint\nSub02_Trial01_Sweep02_Label4": (np.zeros((9, 8, 8, 3), np.uint8), {})}
    with pytest.warns(UserWarning, match=r"no clip has the 16 frames.*synth-mint 12, synth-mint 9.*longest \(12"):
        assert plots.pick_ahdi_clip(short, 16) == "synth-mint\nSub01_Trial01_Sweep02_Label4"
    long = {**short, "synth-unbc\nx": (np.zeros((40, 8, 8, 3), np.uint8), {})}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plots.pick_ahdi_clip(long, 16) == "synth-unbc\nx"
    with pytest.raises(ValueError, match="no clips"):
        plots.pick_ahdi_clip({}, 16)


def test_heart_rate_panel_without_ecg_says_what_is_missing(tmp_path):
    from pain_lib.preprocess import plots

    root = make_biovid(tmp_path / "a")
    for kind in ("biosignals_raw", "biosignals_filtered"):
        shutil.rmtree(root / "PartA" / kind)
    ds = open_dataset("biovid", root)
    with pytest.raises(ValueError, match=r"needs genuine samples with an ECG.*none of its 3 samples has a "
                                         r"biosignal file.*biosignals_filtered"):
        plots.sample_with_ecg(ds)
    with pytest.raises(ValueError, match="none of its 3 samples"):
        plots.heart_rate_table(ds, n=2, size=32, cache=FeatureCache(tmp_path / "c"))
    make_biovid(tmp_path / "b", part="PartD", classes=("PA2",))
    posed = open_dataset("biovid", tmp_path / "b", part="posed")
    with pytest.raises(ValueError, match="all posed"):
        plots.sample_with_ecg(posed)
    assert plots.sample_with_ecg(open_dataset("biovid", make_biovid(tmp_path / "c"))).physiology is not None


# ----------------------------------------------------------------------- PAIN_LIB_CACHE
def test_pain_lib_cache_moves_every_data_and_preprocess_cache(tmp_path, monkeypatch, unbc):
    from pain_lib import paths
    from pain_lib.data.bank import FrameBank
    from pain_lib.preprocess import plots

    project = tmp_path / "project"
    project.mkdir()
    moved = tmp_path / "elsewhere"
    monkeypatch.setenv("PAIN_LIB_ROOT", str(project))
    monkeypatch.setenv("PAIN_LIB_CACHE", str(moved))
    monkeypatch.delenv("PAIN_LIB_EXPERIMENTS", raising=False)
    for d in (paths.face_cache_dir("synth-unbc-tiny"), paths.preprocess_cache_dir(), paths.experiments_dir(),
              FeatureCache().root):
        assert d.is_relative_to(moved), d
    s = unbc.samples[0]
    plots.load_face_clip(s, 16, crop="full")  # default FeatureCache
    FrameBank(size=16, crop="full", cache_dir=paths.face_cache_dir("synth-unbc-tiny")).faces(s)
    written = {p.suffix for p in moved.rglob("*") if p.is_file()}
    assert written == {".npz", ".npy"}
    assert not (project / "cache").exists()
    assert paths.portable(paths.face_cache_dir("t")) == "<cache>/data/t"
