"""The one atomic writer and the one paths module."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from pain_lib import io, paths


def test_atomic_write_never_leaves_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "t.csv"
    io.atomic_write_text(target, "old\n")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(io.os, "replace", boom)
    with pytest.raises(OSError):
        io.atomic_write_text(target, "new\n")
    assert target.read_text() == "old\n"  # untouched
    assert [p.name for p in target.parent.iterdir()] == ["t.csv"]  # no temp file left


def test_concurrent_writers_of_one_path_never_collide(tmp_path):
    target = tmp_path / "entry.npy"
    errors: list[BaseException] = []

    def write(v: int) -> None:
        try:
            for _ in range(20):
                io.atomic_write(target, lambda fh: np.save(fh, np.full(1000, v)))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(v,)) for v in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    a = np.load(target)
    assert len(set(a.tolist())) == 1  # one writer's complete content
    assert [p.name for p in tmp_path.iterdir()] == ["entry.npy"]


def test_sha256(tmp_path):
    p = io.atomic_write_bytes(tmp_path / "x", b"abc")
    assert io.sha256_file(p) == io.sha256_bytes(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_environment_variables_move_every_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PAIN_LIB_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("PAIN_LIB_DATA", str(tmp_path / "d"))
    monkeypatch.delenv("PAIN_LIB_EXPERIMENTS", raising=False)
    assert paths.cache_root() == tmp_path / "c"
    assert paths.face_cache_dir("synth-unbc-tiny") == tmp_path / "c" / "data" / "synth-unbc-tiny"
    assert paths.preprocess_cache_dir() == tmp_path / "c" / "preprocess"
    assert paths.experiments_dir() == tmp_path / "c" / "experiments"
    assert paths.synth_data_dir() == tmp_path / "d"
    monkeypatch.setenv("PAIN_LIB_EXPERIMENTS", str(tmp_path / "e"))
    assert paths.experiments_dir() == tmp_path / "e"


def test_portable_paths_name_no_machine_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PAIN_LIB_DATA", str(tmp_path / "d"))
    root = paths.project_root()
    assert paths.portable(root / "results" / "scn" / "table-1.csv") == "results/scn/table-1.csv"
    assert paths.portable(tmp_path / "d" / "synth-unbc-standard") == "<data>/synth-unbc-standard"
    assert paths.portable("/somewhere/private/UNBC/Images") == ".../UNBC/Images"
    assert paths.portable(None) is None
