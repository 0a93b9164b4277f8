"""Readers on small hand-built trees in the *real* layouts, and bad inputs with clear errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pain_lib.data import (
    DATASET_READERS,
    CorruptMediaError,
    DataLayoutError,
    load_landmarks,
    open_dataset,
    read_biosignals,
    read_clip,
    select_task,
    sequence_label,
)
from pain_lib.data.labels import frame_pspi, pspi_levels
from pain_lib.synth.writers.biovid import write_mp4


def _img(h=48, w=64, v=0):
    rng = np.random.default_rng(v)
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


# ------------------------------------------------------------------ UNBC fixture
def make_unbc(root: Path, n_frames: int = 4) -> Path:
    subj, seq = "042-ll042", "ll042t1aaaff"
    facs = [{4: 2, 6: 1, 7: 3}, {}, {9: 1, 10: 2, 43: 0, 12: 3}, {4: 1, 43: 0}]
    for i in range(n_frames):
        stem = f"{seq}{i + 1:03d}"
        d = root / "Images" / subj / seq
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / f"{stem}.png"), _img(v=i))
        codes = facs[i % len(facs)]
        p = root / "Frame_Labels" / "FACS" / subj / seq
        p.mkdir(parents=True, exist_ok=True)
        (p / f"{stem}_facs.txt").write_text("".join(f"  {au:.7e}  {v:.7e}  0.0000000e+00\n" for au, v in codes.items()))
        val = codes.get(4, 0) + max(codes.get(6, 0), codes.get(7, 0)) + max(codes.get(9, 0), codes.get(10, 0)) \
            + (43 in codes)
        p = root / "Frame_Labels" / "PSPI" / subj / seq
        p.mkdir(parents=True, exist_ok=True)
        (p / f"{stem}_facs.txt").write_text(f"  {float(val):.7e}\n")
        p = root / "AAM_landmarks" / subj / seq
        p.mkdir(parents=True, exist_ok=True)
        lm = np.stack([np.linspace(10, 50, 66), np.linspace(5, 40, 66)], 1) + i
        (p / f"{stem}_aam.txt").write_text("\n".join(f"{x:.7e} {y:.7e}" for x, y in lm) + "\n")
    for kind, v in (("OPR", 3), ("VAS", 6), ("AFF", 7), ("SEN", 9)):
        p = root / "Sequence_Labels" / kind / subj
        p.mkdir(parents=True, exist_ok=True)
        (p / f"{seq}.txt").write_text(f"  {float(v):.7e}\n")
    return root


def test_unbc_reader(tmp_path):
    ds = open_dataset("unbc", make_unbc(tmp_path))
    assert ds.subjects == ["042-ll042"] and len(ds) == 1
    s = ds.samples[0]
    assert s.sample_id == "ll042t1aaaff" and s.n_frames == 4 and s.video is None
    np.testing.assert_array_equal(s.labels["pspi"], [5, 0, 3, 2])
    np.testing.assert_array_equal(frame_pspi(s), s.labels["pspi"])
    assert s.labels["facs"][43].tolist() == [0, 0, 1, 1]  # AU43 present => 1 even when coded 0
    assert (s.labels["opr"], s.labels["vas"], s.labels["aff"], s.labels["sen"]) == (3, 6, 7, 9)
    assert sequence_label(s, "max_pspi") == 5 and sequence_label(s, "vas") == 6
    assert load_landmarks(s).shape == (4, 66, 2)
    clip = read_clip(s, [3, 0])
    assert clip.shape == (2, 48, 64, 3)
    np.testing.assert_array_equal(clip[1], cv2.imread(str(s.frames[0]))[..., ::-1])
    assert "truth" not in s.meta and not ds.is_synthetic
    np.testing.assert_array_equal(pspi_levels(np.array([0, 1, 2, 3, 9])), [0, 1, 2, 3, 3])


def test_unbc_missing_root_says_how_to_fix(tmp_path):
    with pytest.raises(DataLayoutError) as e:
        open_dataset("unbc", tmp_path / "nope")
    msg = str(e.value)
    assert "does not exist" in msg and "synth-unbc" in msg and "Frame_Labels" in msg and "data_root" in msg


def test_unbc_missing_frame_labels(tmp_path):
    root = make_unbc(tmp_path)
    import shutil

    shutil.rmtree(root / "Frame_Labels")
    with pytest.raises(DataLayoutError, match=r"missing folder Frame_Labels/"):
        open_dataset("unbc", root)


def test_unbc_missing_one_pspi_file_is_named(tmp_path):
    root = make_unbc(tmp_path)
    (root / "Frame_Labels/PSPI/042-ll042/ll042t1aaaff/ll042t1aaaff003_facs.txt").unlink()
    with pytest.raises(DataLayoutError, match="ll042t1aaaff003_facs.txt"):
        open_dataset("unbc", root)


def test_unbc_empty_sequence(tmp_path):
    root = make_unbc(tmp_path)
    (root / "Images/042-ll042/ll042t2aaaff").mkdir()
    with pytest.raises(DataLayoutError, match=r"empty sequence folder Images/042-ll042/ll042t2aaaff"):
        open_dataset("unbc", root)


def test_unreadable_frame_names_the_file(tmp_path):
    root = make_unbc(tmp_path)
    bad = root / "Images/042-ll042/ll042t1aaaff/ll042t1aaaff002.png"
    bad.write_bytes(b"not a png")
    s = open_dataset("unbc", root).samples[0]
    with pytest.raises(CorruptMediaError, match="ll042t1aaaff002.png"):
        read_clip(s)


# ------------------------------------------------------------------ BioVid fixture
SUBJ = "071309_w_21"


def make_biovid(root: Path, *, part: str | None = "PartA", classes=("BL1", "PA4", "PA1")) -> Path:
    base = root / part if part else root
    (base / "starting_point").mkdir(parents=True)
    rows = ["subject_id\tsubject_name\tclass_id\tclass_name\tsample_id\tsample_name"]
    t = np.arange(0, 1.0, 1 / 512)
    for k, cname in enumerate(classes):
        name = f"{SUBJ}-{cname}-{81 + k:03d}"
        cid = 0 if cname == "BL1" else int(cname[-1])
        rows.append(f"1\t{SUBJ}\t{cid}\t{cname}\t{k}\t{name}")
        frames = np.stack([_img(v=10 * k + i) for i in range(6)])
        write_mp4(base / "video" / SUBJ / f"{name}.mp4", frames, 25.0, (64, 48))
        for kind in ("biosignals_raw", "biosignals_filtered"):
            d = base / kind / SUBJ
            d.mkdir(parents=True, exist_ok=True)
            tab = np.stack([np.round(t * 1e6), np.full_like(t, 5.0), np.sin(2 * np.pi * t), 0 * t], 1)
            np.savetxt(d / f"{name}_bio.csv", tab, delimiter="\t", header="time\tgsr\tecg\temg_trapezius",
                       comments="", fmt="%.6g")
    (base / "starting_point" / "samples.csv").write_text("\n".join(rows) + "\n")
    return root


def test_biovid_reader_and_tasks(tmp_path):
    ds = open_dataset("biovid", make_biovid(tmp_path))
    assert ds.root.name == "PartA" and ds.subjects == [SUBJ]
    assert [s.labels["class"] for s in ds.samples] == [0, 4, 1]
    s = ds.samples[1]
    assert s.video.name == f"{SUBJ}-PA4-082.mp4" and s.fps == 25 and s.n_frames == 6
    assert read_clip(s).shape == (6, 48, 64, 3) and read_clip(s, [5, 1]).shape == (2, 48, 64, 3)
    bio = read_biosignals(s.physiology)
    assert list(bio.columns) == ["time", "gsr", "ecg", "emg_trapezius", "t"] and bio["t"].iloc[-1] > 0.99
    chosen, y = select_task(ds.samples, "4-0")
    assert [c.labels["class_name"] for c in chosen] == ["BL1", "PA4"] and y.tolist() == [0, 1]
    _, y_all = select_task(ds.samples, "all-all")
    assert y_all.tolist() == [0, 4, 1]
    with pytest.raises(ValueError, match="unknown task"):
        select_task(ds.samples, "4-4")


def test_biovid_part_folder_as_root_and_posed_part(tmp_path):
    make_biovid(tmp_path)
    make_biovid(tmp_path, part="PartD", classes=("PA2",))
    assert open_dataset("biovid", tmp_path / "PartA").root.name == "PartA"
    posed = open_dataset("biovid", tmp_path, part="posed")
    assert posed.root.name == "PartD" and posed.samples[0].labels["posed"] == 1
    assert open_dataset("biovid", tmp_path).samples[0].labels["posed"] == 0
    with pytest.raises(DataLayoutError, match="PartB"):
        open_dataset("biovid", tmp_path, part="B")


def test_biovid_samples_csv_missing_column(tmp_path):
    root = make_biovid(tmp_path)
    csv = root / "PartA" / "starting_point" / "samples.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join("\t".join(l.split("\t")[:5]) for l in lines) + "\n")  # noqa: E741
    with pytest.raises(DataLayoutError, match=r"samples.csv lacks column\(s\) \['sample_name'\]"):
        open_dataset("biovid", root)


def test_biovid_missing_video_is_named(tmp_path):
    root = make_biovid(tmp_path)
    (root / "PartA" / "video" / SUBJ / f"{SUBJ}-PA4-082.mp4").unlink()
    with pytest.raises(DataLayoutError, match=f"{SUBJ}-PA4-082.mp4"):
        open_dataset("biovid", root)


def test_truncated_mp4_names_the_file(tmp_path):
    root = make_biovid(tmp_path)
    ds = open_dataset("biovid", root)
    s = ds.samples[0]
    data = s.video.read_bytes()
    s.video.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptMediaError, match=s.video.name):
        read_clip(s)
    s.video.write_bytes(b"")
    with pytest.raises(CorruptMediaError, match=s.video.name):
        read_clip(s, [0])


def test_biosignals_missing_column(tmp_path):
    p = tmp_path / "x_bio.csv"
    p.write_text("time\tgsr\tecg\n0\t1\t2\n")
    with pytest.raises(DataLayoutError, match=r"x_bio.csv.*emg_trapezius"):
        read_biosignals(p)


# ------------------------------------------------------------------ MIntPAIN fixture
def make_mint(root: Path) -> Path:
    for sub, name in ((1, "Daniel Simonsen"), (2, "Ida Jensen")):
        for trial in (1, 2):
            for sweep, label in ((1, 0), (2, 3)):
                d = (root / f"Sub{sub} {name}" / f"Annotated_data_Sub{sub:02d}_Trial{trial:02d}"
                     / f"Sub{sub:02d}_Trial{trial:02d}_Sweep{sweep:02d}_Label{label}" / "RGB")
                d.mkdir(parents=True)
                for i in range(8):
                    ms = 100 * i
                    cv2.imwrite(str(d / f"RGB-10-23-{45 + ms // 1000:02d}-{ms % 1000:03d}.jpg"), _img(v=i))
    return root


def test_mint_reader(tmp_path):
    ds = open_dataset("mint", make_mint(tmp_path))
    assert ds.subjects == ["Sub1 Daniel Simonsen", "Sub2 Ida Jensen"]
    assert len(ds) == 8
    s = ds.samples[1]
    assert s.sample_id == "Sub01_Trial01_Sweep02_Label3" and s.labels["level"] == 3 == s.labels["class"]
    assert s.meta["trial"] == 1 and s.meta["sweep"] == 2 and s.n_frames == 8
    assert s.fps == pytest.approx(10.0)
    assert read_clip(s).shape == (8, 48, 64, 3)


def test_mint_bad_layouts(tmp_path):
    with pytest.raises(DataLayoutError, match="Sub1 Daniel Simonsen"):
        open_dataset("mint", tmp_path)  # empty root: says what a subject folder looks like
    root = make_mint(tmp_path / "m")
    rgb = root / "Sub1 Daniel Simonsen/Annotated_data_Sub01_Trial01/Sub01_Trial01_Sweep01_Label0/RGB"
    for p in rgb.iterdir():
        p.unlink()
    with pytest.raises(DataLayoutError, match="empty sequence.*Sweep01_Label0/RGB"):
        open_dataset("mint", root)


# ------------------------------------------------------------------ registry
def test_registry_and_unknown_names(tmp_path):
    assert set(DATASET_READERS) == {"unbc", "biovid", "mint", "synth-unbc", "synth-biovid", "synth-mint"}
    assert DATASET_READERS["synth-unbc"] is DATASET_READERS["unbc"]
    with pytest.raises(ValueError, match="unknown dataset"):
        open_dataset("ck+", tmp_path)
    with pytest.raises(DataLayoutError, match="licensed"):
        open_dataset("unbc", None)
    with pytest.raises(DataLayoutError, match="layout error"):
        open_dataset("biovid", make_unbc(tmp_path / "u"))  # wrong dataset at the root
